//! The command line: argh definitions of every subcommand and option (here; the options
//! several commands share are written once, in `shared`), and their validation into a
//! [`Config`](crate::app::config::Config) (`parse`). Every error names the option and says what
//! would be accepted.

use argh::FromArgs;

#[macro_use]
mod shared;
mod parse;

pub use parse::{parse_connect, parse_listen, parse_size};

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
    Encoders(EncodersArgs),
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
/// List the hardware codecs (V4L2 memory-to-memory devices: a Pi 4's H.264 encoder at
/// /dev/video11 and decoder at /dev/video10), and with --check drive each encoder through
/// a stream and decode it back with the matching decoder. Exit status 1 if a check fails
/// or --check finds no encoder.
#[argh(
    subcommand,
    name = "encoders",
    example = "pistream encoders\npistream encoders --check --size 1280x720 --frames 300"
)]
pub struct EncodersArgs {
    /// encode --frames pictures with every encoder found (a keyframe asked for a third of
    /// the way, a drain and restart two thirds of the way), decode them back and compare
    #[argh(switch)]
    pub check: bool,
    /// the picture size for --check (default 640x480)
    #[argh(option, default = "String::from(\"640x480\")")]
    pub size: String,
    /// how many pictures --check encodes (default 300)
    #[argh(option, default = "300")]
    pub frames: u32,
}

#[derive(FromArgs, Debug)]
/// Check this machine's build: every pixel-conversion kernel (SIMD/NEON included) against
/// the scalar reference, the protocol round trip, the pattern verifier, the mailbox. One
/// line per check; exit status 1 if any fails. Single-threaded (runs under qemu-user).
#[argh(subcommand, name = "selftest")]
pub struct SelftestArgs {}

command! {
    /// Stream a camera: serve its frames to pistream displays, browsers and RTSP clients
    /// (listening by default on 0.0.0.0:5678, up to --max-viewers at once), or push them to a
    /// listening display with --connect.
    #[argh(subcommand, name = "camera",
        example = "pistream camera                          # first V4L2 camera, 640x480@30, on 0.0.0.0:5678\npistream camera --source /dev/video2 --size 1280x720 --fps 15\npistream camera --source http://192.168.1.20:8080/video   # Android IP Webcam\npistream camera --source pattern         # test pattern, no camera needed\npistream camera --connect desktop.local:5678  # push to `pistream display --listen`\npistream camera --rtsp 8554 --password-file web.pw   # RTSP also on the port NVRs expect",
        note = "The same port answers HTTP: http://PI:5678/ is a viewer page (WebRTC, else MJPEG; media over UDP on the same port number), /whep is WebRTC for WHEP players, /stream is MJPEG (for Home Assistant's MJPEG camera, go2rtc, Frigate through go2rtc), /snapshot one JPEG, /state JSON; mjpg-streamer's /?action=stream and /?action=snapshot work too. It answers RTSP as well, with H.264: rtsp://PI:5678/stream (the capture's size and rate, for NVRs, Frigate's recording, go2rtc, mediamtx, VLC, OpenCV) and rtsp://PI:5678/sub (640x360 at 5 fps by default, for Frigate's detection)."
    )]
    pub struct CameraArgs {
        use endpoint, send;
        /// stop after this many frames were sent to pistream viewers, all of them counted together
        #[argh(option)]
        pub frames: Option<u64>,
        use run, key;
        /// socket send buffer in bytes (default: four frames, 1-64 MiB; 0 = kernel autotuning)
        #[argh(option)]
        pub sndbuf: Option<usize>,
        use web, log;
    }
}

command! {
    /// Show a camera's stream: connect to a camera (by default 127.0.0.1:5678, retrying until
    /// it is up), or listen for a camera started with --connect. Enter, Esc or q in the
    /// window ends it.
    #[argh(subcommand, name = "display",
        example = "pistream display --connect raspberrypi.local:5678\npistream display --connect 127.0.0.1:5678 --sink null --verify --frames 1000\npistream display --sink raw:/tmp/video.bgr",
        note = "Sinks: window (an OpenCV window), null (discard; with --verify check the test pattern), raw:PATH (append BGR frames for ffplay)."
    )]
    pub struct DisplayArgs {
        use endpoint, show, watch, run, key;
        /// the wire formats this display accepts: all (default: the camera picks, by the
        /// link) or a list from bgr, yuyv, uyvy, nv12, i420, jpeg, h264, e.g. h264 to be
        /// sent H.264 whatever the link carries
        #[argh(option)]
        pub accept: Option<String>,
        /// socket receive buffer in bytes (default: the kernel's autotuning, which measured best)
        #[argh(option)]
        pub rcvbuf: Option<usize>,
        use log;
    }
}

command! {
    /// A two-way video call on one connection: each side sends its camera and shows the
    /// peer's. One side listens, the other connects. Enter in the window hangs up both ends.
    #[argh(subcommand, name = "call",
        example = "pistream call --listen 0.0.0.0:5678          # on one machine\npistream call --connect other-host:5678        # on the other"
    )]
    pub struct CallArgs {
        use endpoint, send, show, watch, run, key, web, log;
    }
}

command! {
    /// Try pistream on one machine: a pattern camera and a display in one process, joined by
    /// a real TCP connection over loopback. Opens a window when a display is available,
    /// otherwise runs headless and prints stats.
    #[argh(subcommand, name = "demo", example = "pistream demo\npistream demo --seconds 5 --sink null --verify")]
    pub struct DemoArgs {
        /// where frames go: window, null or raw:PATH (default: window if DISPLAY is set, else null)
        #[argh(option)]
        pub sink: Option<String>,
        /// frame size WIDTHxHEIGHT of the test pattern (default 640x480)
        #[argh(option, default = "String::from(\"640x480\")")]
        pub size: String,
        /// frames per second of the test pattern (default 30; 0 = as fast as possible)
        #[argh(option, default = "30.0")]
        pub fps: f64,
        use watch, run, log;
    }
}

command! {
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
        use log;
    }
}
