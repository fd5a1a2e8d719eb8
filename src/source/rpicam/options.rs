//! What pistream asks of `rpicam-vid`: the command line it runs (size, rate, camera, the
//! mirrors, raw YUV420 to stdout) and the user's `--camera-option KEY=VALUE` settings,
//! checked against the options rpicam-vid has (names, value shapes, choices) so that a typo
//! is a usage error naming the option, not a camera that never starts. No I/O here.
//!
//! The names and values are rpicam-apps' own (`core/options.cpp`, `core/video_options.hpp`);
//! plain numbers are used for times, which every version reads (ms for `-t`, µs for
//! `--shutter`).

use crate::media::Orientation;

/// How a value is checked.
#[derive(Clone, Copy, Debug)]
enum Value {
    /// A number within the range.
    Number { min: f64, max: f64 },
    /// One of these words.
    Choice(&'static [&'static str]),
    /// `N` numbers separated by commas (`awbgains r,b`, `roi x,y,w,h`).
    Numbers(usize),
    /// A number, or `default` (`lens-position`).
    NumberOrDefault,
    /// `W:H[:BITDEPTH[:P|U]]` (`mode`).
    Mode,
    /// A file's path.
    Path,
}

/// The rpicam-vid options `--camera-option` may set, with what their values may be.
const OPTIONS: &[(&str, Value, &str)] = &[
    ("shutter", Value::Number { min: 0.0, max: 1e9 }, "exposure time in µs (0 = automatic)"),
    ("gain", Value::Number { min: 0.0, max: 64.0 }, "analogue gain (0 = automatic)"),
    ("analoggain", Value::Number { min: 0.0, max: 64.0 }, "the same as gain"),
    ("ev", Value::Number { min: -10.0, max: 10.0 }, "exposure compensation in stops"),
    ("metering", Value::Choice(&["centre", "spot", "average", "matrix", "custom"]), "metering mode"),
    ("exposure", Value::Choice(&["normal", "sport", "short", "long", "custom"]), "exposure profile"),
    (
        "awb",
        Value::Choice(&[
            "auto",
            "normal",
            "incandescent",
            "tungsten",
            "fluorescent",
            "indoor",
            "daylight",
            "cloudy",
            "custom",
        ]),
        "white balance",
    ),
    ("awbgains", Value::Numbers(2), "fixed red,blue gains (turns automatic white balance off)"),
    ("brightness", Value::Number { min: -1.0, max: 1.0 }, "-1 to 1 (default 0)"),
    ("contrast", Value::Number { min: 0.0, max: 16.0 }, "0 to 16 (default 1)"),
    ("saturation", Value::Number { min: 0.0, max: 16.0 }, "0 to 16 (default 1; 0 = greyscale)"),
    ("sharpness", Value::Number { min: 0.0, max: 16.0 }, "0 to 16 (default 1)"),
    ("denoise", Value::Choice(&["auto", "off", "cdn_off", "cdn_fast", "cdn_hq"]), "denoising"),
    ("hdr", Value::Choice(&["off", "auto", "sensor", "single-exp"]), "HDR (Camera Module 3: sensor)"),
    ("autofocus-mode", Value::Choice(&["default", "manual", "auto", "continuous"]), "focus mode"),
    ("autofocus-range", Value::Choice(&["normal", "macro", "full"]), "focus range"),
    ("autofocus-speed", Value::Choice(&["normal", "fast"]), "focus speed"),
    ("autofocus-window", Value::Numbers(4), "x,y,w,h fractions of the picture to focus on"),
    ("lens-position", Value::NumberOrDefault, "fixed focus in dioptres (0 = infinity), or default"),
    ("roi", Value::Numbers(4), "x,y,w,h fractions of the sensor to use (digital zoom)"),
    ("mode", Value::Mode, "sensor mode W:H[:BITDEPTH[:P|U]]"),
    ("flicker-period", Value::Number { min: 0.0, max: 1e6 }, "mains flicker period in µs (10000 at 50 Hz)"),
    ("tuning-file", Value::Path, "a tuning file for the sensor"),
    ("buffer-count", Value::Number { min: 1.0, max: 32.0 }, "camera buffers (default 6)"),
];

/// rpicam-vid options pistream sets itself, with the pistream option to use instead.
const OWN: &[(&str, &str)] = &[
    ("width", "--size"),
    ("height", "--size"),
    ("framerate", "--fps"),
    ("camera", "--source rpicam:N"),
    ("hflip", "--hflip"),
    ("vflip", "--vflip"),
    ("rotation", "--rotate"),
    ("codec", "--source rpicam (pistream reads YUV420)"),
    ("output", "pistream's own outputs"),
    ("o", "pistream's own outputs"),
    ("timeout", "--seconds"),
    ("t", "--seconds"),
    ("nopreview", "nothing (pistream never opens a preview)"),
    ("n", "nothing (pistream never opens a preview)"),
    ("flush", "nothing (pistream always asks for it)"),
    ("inline", "nothing"),
    ("metadata", "nothing (it would mix into the video on stdout)"),
    ("list-cameras", "pistream devices"),
    ("verbose", "-v"),
];

/// One checked `--camera-option`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraOption {
    pub key: &'static str,
    pub value: String,
}

impl CameraOption {
    /// Parses `KEY=VALUE` (a leading `--` on the key is allowed) and checks both.
    pub fn parse(text: &str) -> Result<CameraOption, String> {
        let (key, value) = text.split_once('=').ok_or_else(|| {
            format!("--camera-option '{text}': give KEY=VALUE, e.g. --camera-option awb=daylight")
        })?;
        let key = key.trim().trim_start_matches("--");
        let value = value.trim();
        if let Some((_, instead)) = OWN.iter().find(|(own, _)| *own == key) {
            return Err(format!("--camera-option {key}: pistream sets that itself; use {instead}"));
        }
        let Some(&(name, shape, _)) = OPTIONS.iter().find(|(name, _, _)| *name == key) else {
            return Err(format!("--camera-option {key}: rpicam-vid has no such setting; {}", known()));
        };
        check(name, shape, value)?;
        Ok(CameraOption { key: name, value: value.to_string() })
    }
}

/// The settings `--camera-option` knows, for errors and `--help`.
pub fn known() -> String {
    let names: Vec<&str> = OPTIONS.iter().map(|(name, _, _)| *name).collect();
    format!("the settings are {}", names.join(", "))
}

fn check(key: &str, shape: Value, value: &str) -> Result<(), String> {
    let number = |text: &str| text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let bad = |what: String| Err(format!("--camera-option {key}={value}: {what}"));
    match shape {
        Value::Number { min, max } => match number(value) {
            Some(v) if (min..=max).contains(&v) => Ok(()),
            _ => bad(format!("give a number from {min} to {max}")),
        },
        Value::Choice(choices) if choices.contains(&value) => Ok(()),
        Value::Choice(choices) => bad(format!("use one of {}", choices.join(", "))),
        Value::Numbers(n) => {
            let parts: Vec<&str> = value.split(',').collect();
            if parts.len() == n && parts.iter().all(|p| number(p).is_some_and(|v| v >= 0.0)) {
                Ok(())
            } else {
                bad(format!("give {n} numbers separated by commas"))
            }
        }
        Value::NumberOrDefault if value == "default" || number(value).is_some_and(|v| v >= 0.0) => Ok(()),
        Value::NumberOrDefault => bad("give dioptres (0 = infinity) or default".into()),
        Value::Mode => {
            let parts: Vec<&str> = value.split(':').collect();
            let sizes_ok =
                parts.len() >= 2 && parts[..2].iter().all(|p| p.parse::<u32>().is_ok_and(|v| v > 0));
            let depth_ok = parts.get(2).is_none_or(|p| p.parse::<u32>().is_ok());
            let packing_ok = parts.get(3).is_none_or(|p| matches!(*p, "P" | "U"));
            if sizes_ok && depth_ok && packing_ok && parts.len() <= 4 {
                Ok(())
            } else {
                bad("give W:H[:BITDEPTH[:P|U]], e.g. 2304:1296:10".into())
            }
        }
        Value::Path if !value.is_empty() => Ok(()),
        Value::Path => bad("give a path".into()),
    }
}

/// Everything rpicam-vid is started with.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The camera's index in `rpicam-vid --list-cameras`.
    pub camera: u32,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub orientation: Orientation,
    pub options: Vec<CameraOption>,
}

impl Request {
    /// rpicam-vid's arguments: raw YUV420 to stdout, flushed per frame, no preview, no
    /// time limit, this camera, size and rate, the mirrors done by the ISP, then the user's
    /// settings. Autofocus is left to rpicam-vid, which runs continuous autofocus on cameras
    /// that have it (Camera Module 3) unless a lens position is given.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["-t", "0", "-n", "--flush", "--codec", "yuv420", "-o", "-"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend([
            "--camera".into(),
            self.camera.to_string(),
            "--width".into(),
            self.width.to_string(),
            "--height".into(),
            self.height.to_string(),
        ]);
        if self.fps > 0.0 {
            args.extend(["--framerate".into(), format!("{}", self.fps)]);
        }
        if self.orientation.hflip {
            args.push("--hflip".into());
        }
        if self.orientation.vflip {
            args.push("--vflip".into());
        }
        for option in &self.options {
            args.push(format!("--{}={}", option.key, option.value));
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_by_name_and_value() {
        assert_eq!(
            CameraOption::parse("awb=daylight").unwrap(),
            CameraOption { key: "awb", value: "daylight".into() }
        );
        assert!(CameraOption::parse("--shutter=20000").is_ok());
        assert!(CameraOption::parse("awbgains=1.5,2.0").is_ok());
        assert!(CameraOption::parse("lens-position=default").is_ok());
        assert!(CameraOption::parse("mode=2304:1296:10:P").is_ok());
        assert!(CameraOption::parse("hdr=sensor").is_ok());
        let typo = CameraOption::parse("shuter=100").unwrap_err();
        assert!(
            typo.contains("shuter") && typo.contains("no such setting") && typo.contains("shutter"),
            "{typo}"
        );
        let bad_value = CameraOption::parse("awb=sunny").unwrap_err();
        assert!(bad_value.contains("daylight"), "{bad_value}");
        assert!(CameraOption::parse("ev=11").unwrap_err().contains("-10 to 10"));
        assert!(CameraOption::parse("awbgains=1.5").unwrap_err().contains("2 numbers"));
        assert!(CameraOption::parse("mode=2304x1296").is_err());
        assert!(CameraOption::parse("awb").unwrap_err().contains("KEY=VALUE"));
        let own = CameraOption::parse("width=1280").unwrap_err();
        assert!(own.contains("--size"), "{own}");
        assert!(CameraOption::parse("rotation=180").unwrap_err().contains("--rotate"));
    }

    #[test]
    fn the_command_line_asks_for_raw_yuv420_on_stdout_and_passes_the_settings_on() {
        let request = Request {
            camera: 1,
            width: 1456,
            height: 1088,
            fps: 25.0,
            orientation: Orientation::new(true, false, false),
            options: vec![
                CameraOption::parse("awb=daylight").unwrap(),
                CameraOption::parse("ev=-0.5").unwrap(),
            ],
        };
        assert_eq!(
            request.args().join(" "),
            "-t 0 -n --flush --codec yuv420 -o - --camera 1 --width 1456 --height 1088 --framerate 25 \
             --hflip --vflip --awb=daylight --ev=-0.5"
        );
    }
}
