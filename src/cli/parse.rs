//! Validation of the parsed arguments into the [`Config`] the program runs on, and the
//! chosen [`Verbosity`]. Every error names the option and says what would be accepted.

use std::net::{SocketAddr, ToSocketAddrs};

use super::{Args, Command};
use crate::app::config::{
    Config, Connection, DemoConfig, EndpointConfig, Limits, PeerKind, SendConfig, ShowConfig, DEFAULT_PORT,
};
use crate::media::Orientation;
use crate::media::PixelFormat;
use crate::media::{Geometry, MAX_DIMENSION};
use crate::net::BufferSizes;
use crate::output::http::{Credentials, WebSettings};
use crate::output::pistream::adapt::WireChoice;
use crate::output::pistream::protocol::keys::Psk;
use crate::output::pistream::protocol::FormatSet;
use crate::output::rtsp::RtspSettings;
use crate::output::webrtc::{CandidateSpec, WebrtcSettings};
use crate::output::H264Options;
use crate::runtime::logging::Verbosity;
use crate::sink::SinkSpec;
use crate::source::rpicam::CameraOption;
use crate::source::v4l2::ControlSetting;
use crate::source::{CameraSettings, SourceSpec};

/// Parses WIDTHxHEIGHT.
pub fn parse_size(text: &str) -> Result<Geometry, String> {
    let bad =
        || format!("--size '{text}' is not WIDTHxHEIGHT with each in 1..={MAX_DIMENSION}, e.g. 640x480");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (width, height) =
        (w.trim().parse::<u32>().map_err(|_| bad())?, h.trim().parse::<u32>().map_err(|_| bad())?);
    let geometry = Geometry::new(width, height);
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
    path.map(crate::commands::keygen::read).transpose()
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

/// The web settings of a camera's or call's arguments (`use web;` in cli/shared.rs).
macro_rules! web_settings_of {
    ($a:expr) => {
        web_settings(
            $a.http.as_deref(),
            password_file($a.password_file.as_deref(), $a.http_password_file.as_deref())?,
            $a.jpeg_quality,
        )?
    };
}

/// The RTSP settings of a camera's or call's arguments.
macro_rules! rtsp_settings_of {
    ($a:expr) => {
        rtsp_settings($a.rtsp.as_deref(), $a.sub_size.as_deref(), $a.sub_fps, $a.rtsp_timeout)?
    };
}

/// `--password-file`, or its older name `--http-password-file` (not both).
fn password_file<'a>(new: Option<&'a str>, old: Option<&'a str>) -> Result<Option<&'a str>, String> {
    match (new, old) {
        (Some(_), Some(_)) => {
            Err("--password-file and --http-password-file are the same option: give one".into())
        }
        (new, old) => Ok(new.or(old)),
    }
}

fn rtsp_settings(
    address: Option<&str>,
    sub_size: Option<&str>,
    sub_fps: Option<f64>,
    timeout: Option<u64>,
) -> Result<RtspSettings, String> {
    let defaults = RtspSettings::default();
    let sub_geometry = match sub_size {
        Some(text) => {
            let g = parse_size(text).map_err(|e| e.replace("--size", "--sub-size"))?;
            if g.width % 2 != 0 || g.height % 2 != 0 || g.width < 16 || g.height < 16 {
                return Err(format!("--sub-size {text}: give even sizes of at least 16x16, e.g. 640x360"));
            }
            g
        }
        None => defaults.sub_geometry,
    };
    let sub_fps = match sub_fps {
        Some(fps) if fps.is_finite() && (0.1..=120.0).contains(&fps) => fps,
        Some(fps) => return Err(format!("--sub-fps {fps}: give 0.1 to 120 (5 is what detectors want)")),
        None => defaults.sub_fps,
    };
    let session_timeout = match timeout {
        Some(secs) if (5..=3600).contains(&secs) => std::time::Duration::from_secs(secs),
        Some(secs) => {
            return Err(format!("--rtsp-timeout {secs}: give 5 to 3600 seconds (60 is the default)"))
        }
        None => defaults.session_timeout,
    };
    Ok(RtspSettings {
        extra_address: address
            .map(|a| parse_listen(a).map_err(|e| e.replace("--listen", "--rtsp")))
            .transpose()?,
        sub_geometry,
        sub_fps,
        session_timeout,
    })
}

/// The WebRTC settings of a camera's or call's arguments.
macro_rules! webrtc_settings_of {
    ($a:expr) => {
        webrtc_settings($a.webrtc.as_deref(), $a.webrtc_port, &$a.webrtc_candidate)?
    };
}

fn webrtc_settings(
    switch: Option<&str>,
    port: Option<u16>,
    candidates: &[String],
) -> Result<WebrtcSettings, String> {
    let enabled = match switch {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(format!("--webrtc {other}: give on (the default) or off (the page plays MJPEG)"))
        }
    };
    let candidates = if candidates.is_empty() {
        WebrtcSettings::default().candidates
    } else {
        candidates.iter().map(|c| CandidateSpec::parse(c)).collect::<Result<_, _>>()?
    };
    Ok(WebrtcSettings { port, candidates, enabled })
}

fn parse_max_viewers(n: usize) -> Result<usize, String> {
    if (1..=1000).contains(&n) {
        Ok(n)
    } else {
        Err(format!("--max-viewers {n}: give 1 to 1000 (for more, put go2rtc or mediamtx in front)"))
    }
}

fn parse_connection(
    listen: Option<String>,
    connect: Option<String>,
    default: Connection,
) -> Result<Connection, String> {
    match (listen, connect) {
        (Some(_), Some(_)) => {
            Err("--listen and --connect exclude each other: one side listens, the other connects".into())
        }
        (Some(l), None) => Ok(Connection::Listen(parse_listen(&l)?)),
        (None, Some(c)) => Ok(Connection::Connect(parse_connect(&c)?)),
        (None, None) => Ok(default),
    }
}

/// `--accept`: `all` (the default) or a comma-separated list of wire formats.
fn parse_accept(text: Option<&str>) -> Result<FormatSet, String> {
    let Some(text) = text.filter(|t| !t.eq_ignore_ascii_case("all")) else { return Ok(FormatSet::all()) };
    let bad = |item: &str| {
        format!("--accept '{item}': use all, or a list of bgr, yuyv, uyvy, nv12, i420, jpeg, h264 (e.g. h264 or bgr,jpeg)")
    };
    text.split(',').map(str::trim).try_fold(FormatSet::EMPTY, |set, item| {
        let format = match item.to_ascii_lowercase().as_str() {
            "bgr" | "bgr3" | "raw" => PixelFormat::Bgr24,
            "yuyv" => PixelFormat::Yuyv,
            "uyvy" => PixelFormat::Uyvy,
            "nv12" => PixelFormat::Nv12,
            "i420" | "yu12" => PixelFormat::I420,
            "jpeg" | "mjpeg" => PixelFormat::Mjpeg,
            "h264" | "h.264" | "avc" => PixelFormat::H264,
            _ => return Err(bad(item)),
        };
        Ok(set.with(format))
    })
}

fn parse_format(text: Option<&str>) -> Result<Option<PixelFormat>, String> {
    let Some(text) = text else { return Ok(None) };
    let upper = text.to_ascii_uppercase();
    let fourcc: Option<[u8; 4]> = match upper.as_str() {
        "RGB24" => Some(*b"RGB3"),
        "BGR24" => Some(*b"BGR3"),
        "I420" => Some(*b"YU12"),
        "MJPEG" => Some(*b"MJPG"),
        other => other.as_bytes().try_into().ok(),
    };
    let captured = |f: &PixelFormat| *f != PixelFormat::H264;
    fourcc.and_then(PixelFormat::from_fourcc).filter(captured).map(Some).ok_or_else(|| {
        let known: Vec<String> =
            PixelFormat::ALL.iter().filter(|f| captured(f)).map(ToString::to_string).collect();
        format!("--format '{text}': use one of {}", known.join(", "))
    })
}

/// The camera settings of `--rotate`, `--hflip`, `--vflip`, `--camera-option`, `--control`.
fn camera_settings(
    rotate: u32,
    hflip: bool,
    vflip: bool,
    options: &[String],
    controls: &[String],
) -> Result<CameraSettings, String> {
    let half_turn = match rotate {
        0 => false,
        180 => true,
        other => {
            return Err(format!(
                "--rotate {other}: give 0 or 180 (a quarter turn would change the frame's shape; turn the \
                 camera, or the display's window)"
            ))
        }
    };
    Ok(CameraSettings {
        orientation: Orientation::new(half_turn, hflip, vflip),
        options: options.iter().map(|o| CameraOption::parse(o)).collect::<Result<_, _>>()?,
        controls: controls.iter().map(|c| ControlSetting::parse(c)).collect::<Result<_, _>>()?,
    })
}

/// What `send_config` reads of a command that sends: `camera` and `call` share the group.
struct SendArgs<'a> {
    source: &'a str,
    size: &'a str,
    fps: f64,
    format: Option<&'a str>,
    wire: Option<&'a str>,
    camera: CameraSettings,
    h264: H264Options,
}

fn send_config(args: SendArgs<'_>) -> Result<SendConfig, String> {
    Ok(SendConfig {
        source: SourceSpec::parse(args.source)?,
        geometry: parse_size(args.size)?,
        fps: parse_fps(args.fps)?,
        format: parse_format(args.format)?,
        wire: args.wire.map(WireChoice::parse).transpose()?.unwrap_or_default(),
        camera: args.camera,
        h264: args.h264,
    })
}

/// Parses a bitrate: bits per second, or with k/K or m/M (thousands, millions).
fn parse_bitrate(text: &str) -> Result<u32, String> {
    let bad =
        || format!("--h264-bitrate '{text}': give bits per second, e.g. 2M, 1500k or 800000 (100k to 100M)");
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'm' | 'M')) => (&t[..i], 1e6),
        _ => (t, 1.0),
    };
    let bits = number.trim().parse::<f64>().map_err(|_| bad())? * scale;
    if (100_000.0..=100_000_000.0).contains(&bits) {
        Ok(bits.round() as u32)
    } else {
        Err(bad())
    }
}

/// `--h264-bitrate` and `--keyframe-interval`.
fn h264_options(
    bitrate: Option<&str>,
    keyframe_interval: Option<u32>,
    encoder: Option<&str>,
) -> Result<H264Options, String> {
    if keyframe_interval.is_some_and(|n| !(1..=3600).contains(&n)) {
        return Err(format!(
            "--keyframe-interval {}: give 1 to 3600 frames (the default is one second's)",
            keyframe_interval.unwrap_or(0)
        ));
    }
    Ok(H264Options {
        bitrate: bitrate.map(parse_bitrate).transpose()?,
        keyframe_interval,
        encoder: encoder.map(str::parse).transpose()?.unwrap_or_default(),
    })
}

/// Parses `--peer` and checks the options that go with it: the seed wire has no key, and
/// carries raw 640x480 BGR only.
fn parse_peer(
    text: &str,
    key_file: Option<&str>,
    send: Option<&SendConfig>,
    wire: Option<&str>,
) -> Result<PeerKind, String> {
    let peer = PeerKind::parse(text)?;
    if peer == PeerKind::Seed {
        if key_file.is_some() {
            return Err(
                "--peer seed and --key-file exclude each other: the seed wire has no authentication \
                 or encryption; leave out --key-file, or talk to a pistream peer"
                    .into(),
            );
        }
        if wire.is_some() {
            return Err(
                "--peer seed and --wire exclude each other: the seed wire carries raw BGR only".into()
            );
        }
        if let Some(send) = send.filter(|s| s.geometry != crate::output::seed::rules::GEOMETRY) {
            return Err(format!(
                "--peer seed with --size {}: the seed wire carries 640x480 frames only; leave out --size (a \
                 camera that cannot give 640x480 is captured at the nearest size and scaled)",
                send.geometry
            ));
        }
    }
    Ok(peer)
}

fn parse_verbosity(quiet: bool, verbose: bool) -> Result<Verbosity, String> {
    match (quiet, verbose) {
        (true, true) => Err("-q/--quiet and -v/--verbose exclude each other: give one".into()),
        (true, false) => Ok(Verbosity::Quiet),
        (false, true) => Ok(Verbosity::Verbose),
        (false, false) => Ok(Verbosity::Normal),
    }
}

impl Args {
    /// How much the command asked to print (`-q`, `-v`); commands without those options
    /// print the normal amount.
    pub fn verbosity(&self) -> Result<Verbosity, String> {
        let (quiet, verbose) = match &self.command {
            Some(Command::Camera(a)) => (a.quiet, a.verbose),
            Some(Command::Display(a)) => (a.quiet, a.verbose),
            Some(Command::Call(a)) => (a.quiet, a.verbose),
            Some(Command::Demo(a)) => (a.quiet, a.verbose),
            Some(Command::Devices(a)) => (a.quiet, a.verbose),
            Some(Command::Selftest(_) | Command::Keygen(_) | Command::Encoders(_)) | None => (false, false),
        };
        parse_verbosity(quiet, verbose)
    }

    /// Validates the parsed arguments into the settings the program runs on.
    pub fn into_config(self) -> Result<Config, String> {
        if self.version {
            return Ok(Config::Version);
        }
        let Some(command) = self.command else {
            return Err("no command given: try `pistream demo`, or `pistream --help` for all commands".into());
        };
        Ok(match command {
            Command::Camera(a) => {
                let send = send_config(SendArgs {
                    source: &a.source,
                    size: &a.size,
                    fps: a.fps,
                    format: a.format.as_deref(),
                    wire: a.wire.as_deref(),
                    camera: camera_settings(a.rotate, a.hflip, a.vflip, &a.camera_option, &a.control)?,
                    h264: h264_options(
                        a.h264_bitrate.as_deref(),
                        a.keyframe_interval,
                        a.h264_encoder.as_deref(),
                    )?,
                })?;
                let peer = parse_peer(&a.peer, a.key_file.as_deref(), Some(&send), a.wire.as_deref())?;
                Config::Endpoint(EndpointConfig {
                    connection: parse_connection(
                        a.listen,
                        a.connect,
                        Connection::Listen(SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT))),
                    )?,
                    peer,
                    send: Some(send),
                    show: None,
                    accept: FormatSet::all(),
                    limits: parse_limits(a.frames, a.seconds)?,
                    stats: parse_switch("stats", &a.stats)?,
                    buffers: BufferSizes { sndbuf: a.sndbuf, rcvbuf: None },
                    key: read_key_file(a.key_file.as_deref())?,
                    max_viewers: parse_max_viewers(a.max_viewers)?,
                    web: web_settings_of!(a),
                    rtsp: rtsp_settings_of!(a),
                    webrtc: webrtc_settings_of!(a),
                })
            }
            Command::Display(a) => Config::Endpoint(EndpointConfig {
                peer: parse_peer(&a.peer, a.key_file.as_deref(), None, None)?,
                connection: parse_connection(
                    a.listen,
                    a.connect,
                    Connection::Connect(format!("127.0.0.1:{DEFAULT_PORT}")),
                )?,
                send: None,
                show: Some(ShowConfig {
                    sink: SinkSpec::parse(&a.sink)?,
                    verify: a.verify,
                    frame_log: a.frame_log,
                }),
                accept: parse_accept(a.accept.as_deref())?,
                limits: parse_limits(a.frames, a.seconds)?,
                stats: parse_switch("stats", &a.stats)?,
                buffers: BufferSizes { sndbuf: None, rcvbuf: a.rcvbuf },
                key: read_key_file(a.key_file.as_deref())?,
                max_viewers: 1,
                web: Default::default(),
                rtsp: Default::default(),
                webrtc: Default::default(),
            }),
            Command::Call(a) => {
                if a.listen.is_none() && a.connect.is_none() {
                    return Err(
                        "call needs --listen ADDR on one side and --connect HOST:PORT on the other".into()
                    );
                }
                let send = send_config(SendArgs {
                    source: &a.source,
                    size: &a.size,
                    fps: a.fps,
                    format: a.format.as_deref(),
                    wire: a.wire.as_deref(),
                    camera: camera_settings(a.rotate, a.hflip, a.vflip, &a.camera_option, &a.control)?,
                    h264: h264_options(
                        a.h264_bitrate.as_deref(),
                        a.keyframe_interval,
                        a.h264_encoder.as_deref(),
                    )?,
                })?;
                let peer = parse_peer(&a.peer, a.key_file.as_deref(), Some(&send), a.wire.as_deref())?;
                Config::Endpoint(EndpointConfig {
                    connection: parse_connection(a.listen, a.connect, Connection::Connect(String::new()))?,
                    peer,
                    send: Some(send),
                    show: Some(ShowConfig {
                        sink: SinkSpec::parse(&a.sink)?,
                        verify: a.verify,
                        frame_log: a.frame_log,
                    }),
                    accept: FormatSet::all(),
                    limits: parse_limits(a.frames, a.seconds)?,
                    stats: parse_switch("stats", &a.stats)?,
                    buffers: BufferSizes::default(),
                    key: read_key_file(a.key_file.as_deref())?,
                    max_viewers: parse_max_viewers(a.max_viewers)?,
                    web: web_settings_of!(a),
                    rtsp: rtsp_settings_of!(a),
                    webrtc: webrtc_settings_of!(a),
                })
            }
            Command::Selftest(_) => Config::Selftest,
            Command::Keygen(a) => Config::Keygen { path: a.path.into() },
            Command::Encoders(a) => {
                if !(1..=100_000).contains(&a.frames) {
                    return Err(format!("--frames {}: give 1 to 100000", a.frames));
                }
                Config::Encoders { check: a.check, geometry: parse_size(&a.size)?, frames: a.frames }
            }
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
                    send: send_config(SendArgs {
                        source: "pattern",
                        size: &a.size,
                        fps: a.fps,
                        format: None,
                        wire: None,
                        camera: CameraSettings::default(),
                        h264: H264Options::default(),
                    })?,
                    show: ShowConfig { sink, verify: a.verify, frame_log: a.frame_log },
                    limits: parse_limits(a.frames, a.seconds)?,
                    stats: parse_switch("stats", &a.stats)?,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use argh::FromArgs;

    use super::*;

    fn config(args: &[&str]) -> Result<Config, String> {
        let parsed = Args::from_args(&["pistream"], args).map_err(|e| e.output)?;
        parsed.into_config()
    }

    #[test]
    fn camera_defaults_listen_on_5678_with_the_first_camera_at_640x480_30fps() {
        let Config::Endpoint(c) = config(&["camera"]).unwrap() else { panic!() };
        assert_eq!(c.connection, Connection::Listen("0.0.0.0:5678".parse().unwrap()));
        let send = c.send.unwrap();
        assert_eq!((send.source, send.geometry, send.fps), (SourceSpec::Auto, Geometry::new(640, 480), 30.0));
        assert!(c.show.is_none() && c.stats);
    }

    #[test]
    fn display_defaults_to_a_window_connecting_to_localhost() {
        let Config::Endpoint(c) = config(&["display"]).unwrap() else { panic!() };
        assert_eq!(c.connection, Connection::Connect("127.0.0.1:5678".into()));
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
            (&["camera", "--rotate", "90"][..], "--rotate 90"),
            (&["camera", "--camera-option", "shuter=100"][..], "--camera-option shuter"),
            (&["camera", "--camera-option", "awb=sunny"][..], "--camera-option awb=sunny"),
            (&["camera", "--control", "brightness"][..], "--control 'brightness'"),
            (&["camera", "--source", "rpicam:x"][..], "--source 'rpicam:x'"),
            (&["camera", "--h264-bitrate", "fast"][..], "--h264-bitrate 'fast'"),
            (&["camera", "--h264-bitrate", "10"][..], "--h264-bitrate '10'"),
            (&["camera", "--keyframe-interval", "0"][..], "--keyframe-interval 0"),
            (&["display", "--sink", "tv"][..], "unknown sink 'tv'"),
            (&["display", "--sink", "raw:"][..], "raw: needs a file path"),
            (&["display", "--frames", "0"][..], "--frames 0"),
            (&["display", "--listen", "1.2.3.4:1", "--connect", "a:1"][..], "exclude each other"),
            (&["call"][..], "call needs --listen"),
            (
                &["call", "--listen", "1", "--peer", "seed", "--key-file", "k"][..],
                "--peer seed and --key-file",
            ),
            (&["camera", "--peer", "seed", "--size", "320x240"][..], "--peer seed with --size 320x240"),
            (&["display", "--peer", "python"][..], "--peer 'python'"),
            (&[][..], "no command given"),
        ] {
            let err = config(args).unwrap_err();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn peer_defaults_to_pistream_and_seed_is_taken_by_every_endpoint_command() {
        let Config::Endpoint(c) = config(&["camera"]).unwrap() else { panic!() };
        assert_eq!(c.peer, PeerKind::Pistream);
        for args in [
            &["camera", "--peer", "seed"][..],
            &["display", "--peer", "seed"],
            &["call", "--listen", "1", "--peer", "seed"],
        ] {
            let Config::Endpoint(c) = config(args).unwrap() else { panic!() };
            assert_eq!(c.peer, PeerKind::Seed, "{args:?}");
        }
    }

    fn verbosity(args: &[&str]) -> Result<Verbosity, String> {
        Args::from_args(&["pistream"], args).map_err(|e| e.output)?.verbosity()
    }

    #[test]
    fn every_streaming_command_takes_quiet_and_verbose() {
        for command in ["camera", "display", "call", "demo", "devices"] {
            assert_eq!(verbosity(&[command]), Ok(Verbosity::Normal), "{command}");
            for (flags, want) in [
                (&["-q"][..], Verbosity::Quiet),
                (&["--quiet"][..], Verbosity::Quiet),
                (&["-v"][..], Verbosity::Verbose),
                (&["--verbose"][..], Verbosity::Verbose),
            ] {
                assert_eq!(verbosity(&[&[command][..], flags].concat()), Ok(want), "{command} {flags:?}");
            }
            let err = verbosity(&[command, "-q", "-v"]).unwrap_err();
            assert!(err.contains("exclude each other"), "{command}: {err}");
        }
        assert_eq!(verbosity(&["selftest"]), Ok(Verbosity::Normal));
        assert!(verbosity(&["selftest", "-q"]).is_err(), "selftest prints its checks; it has no -q");
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
