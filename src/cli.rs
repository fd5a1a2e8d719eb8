//! The command line: argh definitions of every subcommand and option, and their validation
//! into a [`Config`]. Every error names the option and says what would be accepted.

use std::net::{SocketAddr, ToSocketAddrs};

use argh::FromArgs;

use crate::convert::InputFormat;

use crate::config::{
    Config, DemoConfig, Endpoint, EndpointConfig, Limits, SendConfig, ShowConfig, DEFAULT_MAX_VIEWERS,
    DEFAULT_PORT,
};
use crate::frame::{Geometry, MAX_DIMENSION};
use crate::net::BufferSizes;
use crate::protocol::keys::Psk;
use crate::sink::SinkSpec;
use crate::source::SourceSpec;
use crate::web::{Credentials, WebSettings, DEFAULT_JPEG_QUALITY};
use crate::wire::WireChoice;

#[derive(FromArgs, Debug)]
/// Low-latency live video from a camera (Raspberry Pi, webcam, test pattern) to a window
/// over TCP. Start with `pistream demo`; then run `pistream camera` on the Pi and
/// `pistream display --connect PI:5678` on the desktop.
#[argh(
    example = "pistream demo --seconds 10\npistream camera --size 1280x720 --fps 30\npistream display --connect raspberrypi.local:5678",
    note = "Run `pistream <command> --help` for each command's options. Stats go to stderr once a second."
)]
pub struct Args {
    /// print the version and the enabled features, then exit
    #[argh(switch)]
    pub version: bool,
    #[argh(subcommand)]
    pub command: Option<Command>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    Camera(CameraArgs),
    Display(DisplayArgs),
    Call(CallArgs),
    Demo(DemoArgs),
    Devices(DevicesArgs),
    Selftest(SelftestArgs),
    Keygen(KeygenArgs),
}

#[derive(FromArgs, Debug)]
/// Write a new random key file (32 random bytes as hex, mode 0600) for --key-file. Copy
/// the same file to both ends; peers without it cannot connect, and everything the two
/// ends send each other is encrypted.
#[argh(
    subcommand,
    name = "keygen",
    example = "pistream keygen pistream.key\nscp pistream.key pi@raspberrypi.local:\npistream camera --key-file pistream.key           # on the Pi\npistream display --connect raspberrypi.local --key-file pistream.key"
)]
pub struct KeygenArgs {
    /// where to write the key (an existing file is not overwritten)
    #[argh(positional)]
    pub path: String,
}

#[derive(FromArgs, Debug)]
/// Check this machine's build: every pixel-conversion kernel (SIMD/NEON included) against
/// the scalar reference, the protocol round trip, the pattern verifier, the mailbox. One
/// line per check; exit status 1 if any fails. Single-threaded (runs under qemu-user).
#[argh(subcommand, name = "selftest")]
pub struct SelftestArgs {}

#[derive(FromArgs, Debug)]
/// Stream a camera: serve its frames to pistream displays and to browsers (listening by
/// default on 0.0.0.0:5678, up to --max-viewers at once), or push them to a listening
/// display with --connect.
#[argh(
    subcommand,
    name = "camera",
    example = "pistream camera                          # first V4L2 camera, 640x480@30, on 0.0.0.0:5678\npistream camera --source /dev/video2 --size 1280x720 --fps 15\npistream camera --source http://192.168.1.20:8080/video   # Android IP Webcam\npistream camera --source pattern         # test pattern, no camera needed\npistream camera --connect desktop.local:5678  # push to `pistream display --listen`",
    note = "The same port answers HTTP: http://PI:5678/ is a viewer page, /stream is MJPEG (for Home Assistant's MJPEG camera, go2rtc, Frigate through go2rtc), /snapshot one JPEG, /state JSON; mjpg-streamer's /?action=stream and /?action=snapshot work too."
)]
pub struct CameraArgs {
    /// address to listen on for displays (default 0.0.0.0:5678)
    #[argh(option)]
    pub listen: Option<String>,
    /// connect to a display listening at HOST:PORT instead of listening
    #[argh(option)]
    pub connect: Option<String>,
    /// where frames come from: /dev/videoN (V4L2 camera), a URL (http://PHONE:8080/video,
    /// rtsp://...), a video file, or pattern (test pattern); default: the first V4L2 camera
    #[argh(option, default = "String::from(\"auto\")")]
    pub source: String,
    /// frame size WIDTHxHEIGHT (default 640x480); a camera that cannot give it is
    /// captured at the nearest size and scaled
    #[argh(option, default = "String::from(\"640x480\")")]
    pub size: String,
    /// frames per second to capture (default 30; 0 = as fast as possible, pattern only)
    #[argh(option, default = "30.0")]
    pub fps: f64,
    /// capture in this V4L2 format (YUYV, UYVY, NV12, NV21, YU12, RGB3, BGR3, GREY, MJPG)
    /// instead of the one pistream picks
    #[argh(option)]
    pub format: Option<String>,
    /// stop after sending this many frames
    #[argh(option)]
    pub frames: Option<u64>,
    /// stop after this many seconds
    #[argh(option)]
    pub seconds: Option<f64>,
    /// a file holding a shared secret: only peers started with the same file may connect
    /// (HMAC-SHA256 challenge-response; make one with `head -c 32 /dev/urandom > FILE`)
    #[argh(option)]
    pub key_file: Option<String>,
    /// print a stats line every second: on or off (default on)
    #[argh(option, default = "String::from(\"on\")")]
    pub stats: String,
    /// socket send buffer in bytes (default: four frames, 1-64 MiB; 0 = kernel autotuning)
    #[argh(option)]
    pub sndbuf: Option<usize>,
    /// how many may watch at once, pistream displays and HTTP clients together (default 8)
    #[argh(option, default = "DEFAULT_MAX_VIEWERS")]
    pub max_viewers: usize,
    /// also serve HTTP (the viewer page, /stream, /snapshot, /state) on this address; the
    /// camera's own port serves it anyway
    #[argh(option)]
    pub http: Option<String>,
    /// a file whose first line is USER:PASSWORD: HTTP clients must give them (Basic auth)
    #[argh(option)]
    pub http_password_file: Option<String>,
    /// JPEG quality of /stream and /snapshot, 1-100 (default 80)
    #[argh(option, default = "DEFAULT_JPEG_QUALITY")]
    pub jpeg_quality: u8,
    /// how frames go on the wire: auto (default: raw BGR while the link carries it, then the
    /// camera's own format, 4:2:0, JPEG, as measured), bgr, native, i420, jpeg or jpeg:QUALITY
    #[argh(option)]
    pub wire: Option<String>,
}

#[derive(FromArgs, Debug)]
/// Show a camera's stream: connect to a camera (retrying until it is up), or listen for a
/// camera that connects with `camera --connect`. Enter, Esc or q in the window ends it.
#[argh(
    subcommand,
    name = "display",
    example = "pistream display --connect raspberrypi.local:5678\npistream display --connect 127.0.0.1:5678 --sink null --verify --frames 1000\npistream display --sink raw:/tmp/video.bgr",
    note = "Sinks: window (an OpenCV window), null (discard; with --verify check the test pattern), raw:PATH (append BGR frames for ffplay)."
)]
pub struct DisplayArgs {
    /// camera to connect to, HOST:PORT (default 127.0.0.1:5678)
    #[argh(option)]
    pub connect: Option<String>,
    /// listen on this address for a camera started with --connect, instead of connecting
    #[argh(option)]
    pub listen: Option<String>,
    /// where frames go: window, null or raw:PATH (default window)
    #[argh(option, default = "String::from(\"window\")")]
    pub sink: String,
    /// check every frame bit for bit against the test pattern and count corrupt ones
    #[argh(switch)]
    pub verify: bool,
    /// stop after showing this many frames
    #[argh(option)]
    pub frames: Option<u64>,
    /// stop after this many seconds
    #[argh(option)]
    pub seconds: Option<f64>,
    /// a file holding a shared secret: only peers started with the same file may connect
    /// (HMAC-SHA256 challenge-response; make one with `head -c 32 /dev/urandom > FILE`)
    #[argh(option)]
    pub key_file: Option<String>,
    /// print a stats line every second: on or off (default on)
    #[argh(option, default = "String::from(\"on\")")]
    pub stats: String,
    /// socket receive buffer in bytes (default: the kernel's autotuning, which measured best)
    #[argh(option)]
    pub rcvbuf: Option<usize>,
}

#[derive(FromArgs, Debug)]
/// A two-way video call on one connection: each side sends its camera and shows the
/// peer's. One side listens, the other connects. Enter in the window hangs up both ends.
#[argh(
    subcommand,
    name = "call",
    example = "pistream call --listen 0.0.0.0:5678          # on one machine\npistream call --connect other-host:5678        # on the other"
)]
pub struct CallArgs {
    /// wait for the other side on this address
    #[argh(option)]
    pub listen: Option<String>,
    /// call the other side at HOST:PORT
    #[argh(option)]
    pub connect: Option<String>,
    /// where this side's frames come from: /dev/videoN, a URL, a file or pattern
    /// (default: the first V4L2 camera)
    #[argh(option, default = "String::from(\"auto\")")]
    pub source: String,
    /// capture in this V4L2 format (see `camera --help`)
    #[argh(option)]
    pub format: Option<String>,
    /// where the peer's frames go: window, null or raw:PATH (default window)
    #[argh(option, default = "String::from(\"window\")")]
    pub sink: String,
    /// frame size this side sends, WIDTHxHEIGHT (default 640x480)
    #[argh(option, default = "String::from(\"640x480\")")]
    pub size: String,
    /// frames per second this side sends (default 30)
    #[argh(option, default = "30.0")]
    pub fps: f64,
    /// check the peer's frames against the test pattern
    #[argh(switch)]
    pub verify: bool,
    /// stop after showing this many frames
    #[argh(option)]
    pub frames: Option<u64>,
    /// stop after this many seconds
    #[argh(option)]
    pub seconds: Option<f64>,
    /// a file holding a shared secret: only peers started with the same file may connect
    /// (HMAC-SHA256 challenge-response; make one with `head -c 32 /dev/urandom > FILE`)
    #[argh(option)]
    pub key_file: Option<String>,
    /// print a stats line every second: on or off (default on)
    #[argh(option, default = "String::from(\"on\")")]
    pub stats: String,
    /// how many may watch this side's camera at once, the call peer included (default 8)
    #[argh(option, default = "DEFAULT_MAX_VIEWERS")]
    pub max_viewers: usize,
    /// also serve HTTP (the viewer page, /stream, /snapshot, /state) on this address; the
    /// camera's own port serves it anyway
    #[argh(option)]
    pub http: Option<String>,
    /// a file whose first line is USER:PASSWORD: HTTP clients must give them (Basic auth)
    #[argh(option)]
    pub http_password_file: Option<String>,
    /// JPEG quality of /stream and /snapshot, 1-100 (default 80)
    #[argh(option, default = "DEFAULT_JPEG_QUALITY")]
    pub jpeg_quality: u8,
    /// how frames go on the wire: auto (default: raw BGR while the link carries it, then the
    /// camera's own format, 4:2:0, JPEG, as measured), bgr, native, i420, jpeg or jpeg:QUALITY
    #[argh(option)]
    pub wire: Option<String>,
}

#[derive(FromArgs, Debug)]
/// Try pistream on one machine: a pattern camera and a display in one process, joined by
/// a real TCP connection over loopback. Opens a window when a display is available,
/// otherwise runs headless and prints stats.
#[argh(subcommand, name = "demo", example = "pistream demo\npistream demo --seconds 5 --sink null --verify")]
pub struct DemoArgs {
    /// stop after this many seconds (default: until Ctrl-C or the window is closed)
    #[argh(option)]
    pub seconds: Option<f64>,
    /// stop after showing this many frames
    #[argh(option)]
    pub frames: Option<u64>,
    /// where frames go: window, null or raw:PATH (default: window if DISPLAY is set, else null)
    #[argh(option)]
    pub sink: Option<String>,
    /// check every frame bit for bit against the test pattern
    #[argh(switch)]
    pub verify: bool,
    /// frame size WIDTHxHEIGHT (default 640x480)
    #[argh(option, default = "String::from(\"640x480\")")]
    pub size: String,
    /// frames per second (default 30; 0 = as fast as possible)
    #[argh(option, default = "30.0")]
    pub fps: f64,
    /// print a stats line every second: on or off (default on)
    #[argh(option, default = "String::from(\"on\")")]
    pub stats: String,
}

#[derive(FromArgs, Debug)]
/// List the V4L2 capture devices: driver, card, every format with its sizes and frame
/// rates, and the mode `camera` would pick for the given size and rate.
#[argh(subcommand, name = "devices", example = "pistream devices\npistream devices --size 1280x720 --fps 30")]
pub struct DevicesArgs {
    /// the size to show the pick for (default 640x480)
    #[argh(option, default = "String::from(\"640x480\")")]
    pub size: String,
    /// the rate to show the pick for (default 30)
    #[argh(option, default = "30.0")]
    pub fps: f64,
}

/// Parses WIDTHxHEIGHT.
pub fn parse_size(text: &str) -> Result<Geometry, String> {
    let bad =
        || format!("--size '{text}' is not WIDTHxHEIGHT with each in 1..={MAX_DIMENSION}, e.g. 640x480");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (width, height) =
        (w.trim().parse::<u32>().map_err(|_| bad())?, h.trim().parse::<u32>().map_err(|_| bad())?);
    let geometry = Geometry::bgr(width, height);
    geometry.is_valid().then_some(geometry).ok_or_else(bad)
}

fn parse_fps(fps: f64) -> Result<f64, String> {
    if fps.is_finite() && (0.0..=1000.0).contains(&fps) {
        Ok(fps)
    } else {
        Err(format!("--fps {fps} is out of range: use 0 (unpaced) to 1000"))
    }
}

fn parse_switch(name: &str, value: &str) -> Result<bool, String> {
    match value {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(format!("--{name} '{value}': use on or off")),
    }
}

fn parse_limits(frames: Option<u64>, seconds: Option<f64>) -> Result<Limits, String> {
    if frames == Some(0) {
        return Err("--frames 0: give a positive count, or leave it out to run until stopped".into());
    }
    if let Some(s) = seconds {
        if !(s.is_finite() && s > 0.0) {
            return Err(format!("--seconds {s}: give a positive number of seconds"));
        }
    }
    Ok(Limits { frames, seconds })
}

/// Parses a listen address; a bare port means all interfaces.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    let mut addrs = text.to_socket_addrs().map_err(|e| {
        format!("--listen '{text}': {e}; give IP:PORT such as 0.0.0.0:{DEFAULT_PORT}, [::]:{DEFAULT_PORT} or a bare port")
    })?;
    addrs.next().ok_or_else(|| format!("--listen '{text}' resolves to no address"))
}

/// Checks a connect target; a missing port means the default port.
pub fn parse_connect(text: &str) -> Result<String, String> {
    let target = if text.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{text}]:{DEFAULT_PORT}") // a bare IPv6 address
    } else if text.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
        text.to_string()
    } else {
        format!("{text}:{DEFAULT_PORT}")
    };
    if target.starts_with(':') {
        return Err(format!("--connect '{text}': give HOST:PORT, e.g. raspberrypi.local:{DEFAULT_PORT}"));
    }
    Ok(target)
}

fn read_key_file(path: Option<&str>) -> Result<Option<Psk>, String> {
    path.map(crate::keyfile::read).transpose()
}

fn web_settings(http: Option<&str>, password_file: Option<&str>, quality: u8) -> Result<WebSettings, String> {
    if !(1..=100).contains(&quality) {
        return Err(format!("--jpeg-quality {quality}: give 1 (smallest) to 100 (best); 80 is the default"));
    }
    Ok(WebSettings {
        credentials: password_file.map(Credentials::read).transpose()?,
        jpeg_quality: quality,
        extra_address: http
            .map(|a| parse_listen(a).map_err(|e| e.replace("--listen", "--http")))
            .transpose()?,
    })
}

fn parse_max_viewers(n: usize) -> Result<usize, String> {
    if (1..=1000).contains(&n) {
        Ok(n)
    } else {
        Err(format!("--max-viewers {n}: give 1 to 1000 (for more, put go2rtc or mediamtx in front)"))
    }
}

fn parse_endpoint(
    listen: Option<String>,
    connect: Option<String>,
    default: Endpoint,
) -> Result<Endpoint, String> {
    match (listen, connect) {
        (Some(_), Some(_)) => {
            Err("--listen and --connect exclude each other: one side listens, the other connects".into())
        }
        (Some(l), None) => Ok(Endpoint::Listen(parse_listen(&l)?)),
        (None, Some(c)) => Ok(Endpoint::Connect(parse_connect(&c)?)),
        (None, None) => Ok(default),
    }
}

fn parse_format(text: Option<&str>) -> Result<Option<InputFormat>, String> {
    let Some(text) = text else { return Ok(None) };
    let upper = text.to_ascii_uppercase();
    let fourcc: Option<[u8; 4]> = match upper.as_str() {
        "RGB24" => Some(*b"RGB3"),
        "BGR24" => Some(*b"BGR3"),
        "I420" => Some(*b"YU12"),
        "MJPEG" => Some(*b"MJPG"),
        other => other.as_bytes().try_into().ok(),
    };
    fourcc.and_then(InputFormat::from_fourcc).map(Some).ok_or_else(|| {
        let known: Vec<String> = InputFormat::ALL.iter().map(ToString::to_string).collect();
        format!("--format '{text}': use one of {}", known.join(", "))
    })
}

fn send_config(
    source: &str,
    size: &str,
    fps: f64,
    format: Option<&str>,
    wire: Option<&str>,
) -> Result<SendConfig, String> {
    Ok(SendConfig {
        source: SourceSpec::parse(source)?,
        geometry: parse_size(size)?,
        fps: parse_fps(fps)?,
        format: parse_format(format)?,
        wire: wire.map(WireChoice::parse).transpose()?.unwrap_or_default(),
    })
}

impl Args {
    /// Validates the parsed arguments into the settings the program runs on.
    pub fn into_config(self) -> Result<Config, String> {
        if self.version {
            return Ok(Config::Version);
        }
        let Some(command) = self.command else {
            return Err("no command given: try `pistream demo`, or `pistream --help` for all commands".into());
        };
        Ok(match command {
            Command::Camera(a) => Config::Endpoint(EndpointConfig {
                endpoint: parse_endpoint(
                    a.listen,
                    a.connect,
                    Endpoint::Listen(SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT))),
                )?,
                send: Some(send_config(&a.source, &a.size, a.fps, a.format.as_deref(), a.wire.as_deref())?),
                show: None,
                limits: parse_limits(a.frames, a.seconds)?,
                stats: parse_switch("stats", &a.stats)?,
                buffers: BufferSizes { sndbuf: a.sndbuf, rcvbuf: None },
                key: read_key_file(a.key_file.as_deref())?,
                max_viewers: parse_max_viewers(a.max_viewers)?,
                web: web_settings(a.http.as_deref(), a.http_password_file.as_deref(), a.jpeg_quality)?,
            }),
            Command::Display(a) => Config::Endpoint(EndpointConfig {
                endpoint: parse_endpoint(
                    a.listen,
                    a.connect,
                    Endpoint::Connect(format!("127.0.0.1:{DEFAULT_PORT}")),
                )?,
                send: None,
                show: Some(ShowConfig { sink: SinkSpec::parse(&a.sink)?, verify: a.verify }),
                limits: parse_limits(a.frames, a.seconds)?,
                stats: parse_switch("stats", &a.stats)?,
                buffers: BufferSizes { sndbuf: None, rcvbuf: a.rcvbuf },
                key: read_key_file(a.key_file.as_deref())?,
                max_viewers: 1,
                web: Default::default(),
            }),
            Command::Call(a) => {
                if a.listen.is_none() && a.connect.is_none() {
                    return Err(
                        "call needs --listen ADDR on one side and --connect HOST:PORT on the other".into()
                    );
                }
                Config::Endpoint(EndpointConfig {
                    endpoint: parse_endpoint(a.listen, a.connect, Endpoint::Connect(String::new()))?,
                    send: Some(send_config(
                        &a.source,
                        &a.size,
                        a.fps,
                        a.format.as_deref(),
                        a.wire.as_deref(),
                    )?),
                    show: Some(ShowConfig { sink: SinkSpec::parse(&a.sink)?, verify: a.verify }),
                    limits: parse_limits(a.frames, a.seconds)?,
                    stats: parse_switch("stats", &a.stats)?,
                    buffers: BufferSizes::default(),
                    key: read_key_file(a.key_file.as_deref())?,
                    max_viewers: parse_max_viewers(a.max_viewers)?,
                    web: web_settings(a.http.as_deref(), a.http_password_file.as_deref(), a.jpeg_quality)?,
                })
            }
            Command::Selftest(_) => Config::Selftest,
            Command::Keygen(a) => Config::Keygen { path: a.path.into() },
            Command::Devices(a) => Config::Devices { geometry: parse_size(&a.size)?, fps: parse_fps(a.fps)? },
            Command::Demo(a) => {
                let sink = match a.sink {
                    Some(s) => SinkSpec::parse(&s)?,
                    None if cfg!(feature = "opencv") && std::env::var_os("DISPLAY").is_some() => {
                        SinkSpec::Window
                    }
                    None => SinkSpec::Null,
                };
                Config::Demo(DemoConfig {
                    send: send_config("pattern", &a.size, a.fps, None, None)?,
                    show: ShowConfig { sink, verify: a.verify },
                    limits: parse_limits(a.frames, a.seconds)?,
                    stats: parse_switch("stats", &a.stats)?,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, String> {
        let parsed = Args::from_args(&["pistream"], args).map_err(|e| e.output)?;
        parsed.into_config()
    }

    #[test]
    fn camera_defaults_listen_on_5678_with_the_first_camera_at_640x480_30fps() {
        let Config::Endpoint(c) = config(&["camera"]).unwrap() else { panic!() };
        assert_eq!(c.endpoint, Endpoint::Listen("0.0.0.0:5678".parse().unwrap()));
        let send = c.send.unwrap();
        assert_eq!((send.source, send.geometry, send.fps), (SourceSpec::Auto, Geometry::bgr(640, 480), 30.0));
        assert!(c.show.is_none() && c.stats);
    }

    #[test]
    fn display_defaults_to_a_window_connecting_to_localhost() {
        let Config::Endpoint(c) = config(&["display"]).unwrap() else { panic!() };
        assert_eq!(c.endpoint, Endpoint::Connect("127.0.0.1:5678".into()));
        assert_eq!(c.show.unwrap().sink, SinkSpec::Window);
    }

    #[test]
    fn bad_values_name_the_option() {
        for (args, needle) in [
            (&["camera", "--size", "640"][..], "--size '640'"),
            (&["camera", "--size", "0x480"][..], "--size '0x480'"),
            (&["camera", "--fps", "-3"][..], "--fps -3"),
            (&["camera", "--stats", "maybe"][..], "--stats 'maybe'"),
            (&["camera", "--source", "nowhere"][..], "unknown source 'nowhere'"),
            (&["camera", "--format", "H264"][..], "--format 'H264'"),
            (&["display", "--sink", "tv"][..], "unknown sink 'tv'"),
            (&["display", "--sink", "raw:"][..], "raw: needs a file path"),
            (&["display", "--frames", "0"][..], "--frames 0"),
            (&["display", "--listen", "1.2.3.4:1", "--connect", "a:1"][..], "exclude each other"),
            (&["call"][..], "call needs --listen"),
            (&[][..], "no command given"),
        ] {
            let err = config(args).unwrap_err();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn connect_targets_get_the_default_port() {
        assert_eq!(parse_connect("pi.local").unwrap(), "pi.local:5678");
        assert_eq!(parse_connect("pi.local:9000").unwrap(), "pi.local:9000");
        assert_eq!(parse_connect("::1").unwrap(), "[::1]:5678");
        assert_eq!(parse_connect("[::1]:7").unwrap(), "[::1]:7");
        assert_eq!(parse_listen("6000").unwrap(), "0.0.0.0:6000".parse().unwrap());
        assert_eq!(parse_listen("[::]:6000").unwrap(), "[::]:6000".parse().unwrap());
    }
}
