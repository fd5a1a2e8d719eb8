//! The options several commands share, each defined (with its help text) once. argh cannot
//! flatten one struct into another, so [`command!`] writes each command's struct (deriving
//! `FromArgs` and `Debug`): its own fields as given, and for `use GROUP, ...;` each group's
//! fields at that place. Doc comments written here become `#[doc]` attributes, which argh
//! reads as the help text.
//!
//! Groups: `endpoint` (--listen, --connect, --peer), `send` (what a camera side captures and sends:
//! --source, --size, --fps, --format, --max-viewers, --wire, --h264-bitrate,
//! --keyframe-interval, --rotate, --hflip, --vflip, --camera-option, --control), `web` (--http, --http-password-file,
//! --jpeg-quality), `show` (--sink), `watch` (--verify, --frames as frames shown, --frame-log), `key`
//! (--key-file), `run` (--seconds, --stats) and `log` (-q, -v).

/// Writes an argh command struct; see the module docs.
macro_rules! command {
    (
        $(#[$attr:meta])*
        pub struct $name:ident { $($body:tt)* }
    ) => {
        command!(@munch [$(#[$attr])*] $name [] $($body)*);
    };

    (@munch [$($attr:tt)*] $name:ident [$($fields:tt)*]) => {
        #[derive(argh::FromArgs, Debug)]
        $($attr)*
        pub struct $name { $($fields)* }
    };

    // Several groups in one `use`: one at a time.
    (@munch $attr:tt $name:ident $fields:tt use $group:ident, $($more:ident),+; $($rest:tt)*) => {
        command!(@munch $attr $name $fields use $group; use $($more),+; $($rest)*);
    };

    (@munch $attr:tt $name:ident [$($fields:tt)*] use endpoint; $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)*
            /// listen on this address (IP:PORT, [::]:PORT or a bare port) and wait for the
            /// other end to connect
            #[argh(option)]
            pub listen: Option<String>,
            /// connect to the other end at HOST:PORT (port 5678 if left out), retrying until
            /// it answers
            #[argh(option)]
            pub connect: Option<String>,
            /// what the other end speaks: pistream (default) or seed, the original Python chat
            /// script (raw 640x480 BGR; no framing, authentication or integrity check)
            #[argh(option, default = "String::from(\"pistream\")")]
            pub peer: String,
        ] $($rest)*);
    };

    (@munch $attr:tt $name:ident [$($fields:tt)*] use send; $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)*
            /// where frames come from: /dev/videoN (V4L2 camera), rpicam (a Raspberry Pi camera
            /// module through rpicam-vid; rpicam:1 for the second), a URL
            /// (http://PHONE:8080/video, rtsp://...), a video file, or pattern (test pattern);
            /// default: the first V4L2 camera, else the camera module
            #[argh(option, default = "String::from(\"auto\")")]
            pub source: String,
            /// frame size WIDTHxHEIGHT (default 640x480); a camera that cannot give it is
            /// captured at the nearest size and scaled
            #[argh(option, default = "String::from(\"640x480\")")]
            pub size: String,
            /// frames per second to capture (default 30; 0 = as fast as possible, pattern only,
            /// paced by the slowest viewer: for benchmarks)
            #[argh(option, default = "30.0")]
            pub fps: f64,
            /// capture in this V4L2 format (YUYV, UYVY, NV12, NV21, YU12, RGB3, BGR3, GREY, MJPG)
            /// instead of the one pistream picks
            #[argh(option)]
            pub format: Option<String>,
            /// how many may watch this camera at once, pistream displays and HTTP clients
            /// together, a call's peer included (default 8)
            #[argh(option, default = "crate::app::config::DEFAULT_MAX_VIEWERS")]
            pub max_viewers: usize,
            /// how frames go on the wire: auto (default: raw BGR while the link carries it,
            /// then the camera's own format, 4:2:0, JPEG, then H.264 at a bitrate fitted to
            /// what the display measures arriving), bgr, native, i420, jpeg, jpeg:QUALITY or
            /// h264
            #[argh(option)]
            pub wire: Option<String>,
            /// the H.264 bitrate, e.g. 2M or 1500k (default 0.1 bit per pixel per frame: 0.9M at
            /// 640x480 and 30 fps, 2.8M at 1280x720, 6.2M at 1920x1080); with --wire auto the
            /// most a viewer gets (default there: four times that, where the link has room)
            #[argh(option)]
            pub h264_bitrate: Option<String>,
            /// frames from one H.264 keyframe to the next (default: one second's, what
            /// Frigate and NVRs want); viewers that join or miss a frame get one sooner
            #[argh(option)]
            pub keyframe_interval: Option<u32>,
            /// which H.264 encoder: auto (default: the hardware one when the machine has it,
            /// as a Pi 4, 3 or Zero 2 W does at /dev/video11, and it takes the stream; else
            /// software), hardware (an error without one) or software (OpenH264). A hardware
            /// encoder that fails mid-stream hands over to software with one warning
            #[argh(option)]
            pub h264_encoder: Option<String>,
            /// turn the picture: 0 (default) or 180 (a camera mounted upside down)
            #[argh(option, default = "0")]
            pub rotate: u32,
            /// mirror the picture left to right
            #[argh(switch)]
            pub hflip: bool,
            /// mirror the picture top to bottom
            #[argh(switch)]
            pub vflip: bool,
            /// a setting of rpicam-vid for --source rpicam, KEY=VALUE, repeatable: shutter (µs),
            /// gain, ev, awb (auto, daylight, cloudy, ...), awbgains R,B, metering, exposure,
            /// denoise, hdr, brightness, contrast, saturation, sharpness, autofocus-mode
            /// (continuous is rpicam-vid's default on cameras with autofocus), autofocus-range,
            /// lens-position, roi, mode, flicker-period, tuning-file
            #[argh(option)]
            pub camera_option: Vec<String>,
            /// a V4L2 control of a V4L2 camera, NAME=VALUE, repeatable (brightness=150,
            /// power_line_frequency=50_hz, exposure_time_absolute=100; `pistream devices` lists
            /// each camera's)
            #[argh(option)]
            pub control: Vec<String>,
        ] $($rest)*);
    };

    (@munch $attr:tt $name:ident [$($fields:tt)*] use web; $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)*
            /// also serve HTTP (the viewer page, /stream, /snapshot, /state) on this address; the
            /// camera's own port serves it anyway
            #[argh(option)]
            pub http: Option<String>,
            /// a file whose first line is USER:PASSWORD: HTTP and RTSP clients must give them
            /// (Basic auth; RTSP Digest too)
            #[argh(option)]
            pub password_file: Option<String>,
            /// the same as --password-file (its older name)
            #[argh(option)]
            pub http_password_file: Option<String>,
            /// JPEG quality of /stream and /snapshot, 1-100 (default 80)
            #[argh(option, default = "crate::output::http::DEFAULT_JPEG_QUALITY")]
            pub jpeg_quality: u8,
            /// also serve RTSP on this address, e.g. 8554 (the port NVRs and relays expect; off
            /// by default, as mediamtx and go2rtc on the same Pi take it); the camera's own port
            /// serves RTSP anyway: rtsp://HOST:PORT/stream (full size) and /sub (small)
            #[argh(option)]
            pub rtsp: Option<String>,
            /// size of the RTSP /sub stream, for detectors such as Frigate's (default 640x360)
            #[argh(option)]
            pub sub_size: Option<String>,
            /// frame rate of the RTSP /sub stream (default 5, one keyframe a second)
            #[argh(option)]
            pub sub_fps: Option<f64>,
            /// seconds an RTSP session may say nothing before it is ended (default 60)
            #[argh(option)]
            pub rtsp_timeout: Option<u64>,
            /// on (default) or off: WebRTC for browsers (WHEP at /whep, which the viewer page
            /// plays; off: the page plays MJPEG)
            #[argh(option)]
            pub webrtc: Option<String>,
            /// the UDP port WebRTC's media uses (default: the camera's own port number, over
            /// UDP; 0 picks a free one)
            #[argh(option)]
            pub webrtc_port: Option<u16>,
            /// an address browsers are told to send WebRTC media to, repeatable: auto (this
            /// machine's addresses, the default), IP, or IP:PORT for a NAT's forwarded port or
            /// a container's host; given ones replace auto unless auto is listed too
            #[argh(option)]
            pub webrtc_candidate: Vec<String>,
        ] $($rest)*);
    };

    (@munch $attr:tt $name:ident [$($fields:tt)*] use show; $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)*
            /// where received frames go: window, null or raw:PATH (default window)
            #[argh(option, default = "String::from(\"window\")")]
            pub sink: String,
        ] $($rest)*);
    };

    (@munch $attr:tt $name:ident [$($fields:tt)*] use watch; $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)*
            /// check every frame bit for bit against the test pattern and count corrupt ones
            #[argh(switch)]
            pub verify: bool,
            /// stop after showing this many frames
            #[argh(option)]
            pub frames: Option<u64>,
            /// write one line per shown frame to this file: when it was shown, its sequence
            /// number, capture time and latency (µs, wall clock) and wire format, for
            /// measuring latency over any window
            #[argh(option)]
            pub frame_log: Option<String>,
        ] $($rest)*);
    };

    (@munch $attr:tt $name:ident [$($fields:tt)*] use key; $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)*
            /// a key file made by `pistream keygen`: only peers started with the same file may
            /// connect, and everything between them is encrypted
            #[argh(option)]
            pub key_file: Option<String>,
        ] $($rest)*);
    };

    (@munch $attr:tt $name:ident [$($fields:tt)*] use run; $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)*
            /// stop after this many seconds (default: run until stopped)
            #[argh(option)]
            pub seconds: Option<f64>,
            /// print a stats line every second: on or off (default on)
            #[argh(option, default = "String::from(\"on\")")]
            pub stats: String,
        ] $($rest)*);
    };

    (@munch $attr:tt $name:ident [$($fields:tt)*] use log; $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)*
            /// quiet: print only warnings and errors (no stats, progress or summary lines)
            #[argh(switch, short = 'q')]
            pub quiet: bool,
            /// verbose: also print debug lines
            #[argh(switch, short = 'v')]
            pub verbose: bool,
        ] $($rest)*);
    };

    // A field of the command's own. The type is taken as plain tokens (`Option<String>`,
    // `f64`...), not as a `ty` fragment, which argh could no longer see `Option` in.
    (@munch $attr:tt $name:ident [$($fields:tt)*]
        $(#[$meta:meta])* pub $field:ident : $ty:ident $(<$arg:ident>)?, $($rest:tt)*) => {
        command!(@munch $attr $name [$($fields)* $(#[$meta])* pub $field: $ty $(<$arg>)?,] $($rest)*);
    };
}
