//! The cameras libcamera sees, as `rpicam-vid --list-cameras` prints them (rpicam-apps
//! `core/options.cpp`): a line per camera (`0 : imx708 [4608x2592 10-bit RGGB] (/base/...)`)
//! and its sensor modes (`'SRGGB10_CSI2P' : 1536x864 [120.13 fps - (768, 432)/3072x1728 crop]`),
//! or only `No cameras available!`. Parsing is pure; [`list`] runs the program.

use std::time::Duration;

/// One sensor mode.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorMode {
    pub format: String,
    pub width: u32,
    pub height: u32,
    /// The mode's top rate; `None` when rpicam-vid printed `nan`.
    pub fps: Option<f64>,
}

/// One camera libcamera found.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraInfo {
    pub index: u32,
    /// The sensor: `imx708` (Camera Module 3), `imx219` (2), `imx477` (HQ), `ov5647` (1)...
    pub sensor: String,
    pub width: u32,
    pub height: u32,
    /// libcamera's id for it (its place in the device tree).
    pub id: String,
    pub modes: Vec<SensorMode>,
}

impl CameraInfo {
    /// What people call the camera with this sensor.
    pub fn model(&self) -> &'static str {
        match self.sensor.as_str() {
            "imx708" | "imx708_wide" | "imx708_noir" | "imx708_wide_noir" => "Camera Module 3",
            "imx219" => "Camera Module 2",
            "ov5647" => "Camera Module 1",
            "imx477" | "imx477_noir" => "HQ Camera",
            "imx296" => "Global Shutter Camera",
            "imx500" => "AI Camera",
            _ => "libcamera camera",
        }
    }

    /// Whether the sensor has autofocus (rpicam-vid then focuses continuously by default).
    pub fn has_autofocus(&self) -> bool {
        self.sensor.starts_with("imx708")
    }
}

fn size(text: &str) -> Option<(u32, u32)> {
    let (w, h) = text.split_once('x')?;
    Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
}

/// Parses `0 : imx708 [4608x2592 10-bit RGGB] (/base/...)` (older versions print no bit
/// depth or colour filter).
fn camera_line(line: &str) -> Option<CameraInfo> {
    let (index, rest) = line.trim().split_once(" : ")?;
    let index = index.trim().parse().ok()?;
    let (sensor, rest) = rest.split_once(" [")?;
    let (inside, rest) = rest.split_once(']')?;
    let (width, height) = size(inside.split_whitespace().next()?)?;
    let id = rest.trim().strip_prefix('(')?.strip_suffix(')')?.to_string();
    Some(CameraInfo { index, sensor: sensor.trim().to_string(), width, height, id, modes: Vec::new() })
}

/// Parses `1536x864 [120.13 fps - (768, 432)/3072x1728 crop]` (after any `'FORMAT' : `).
fn mode(text: &str, format: &str) -> Option<SensorMode> {
    let (dims, rest) = text.trim().split_once(" [")?;
    let (width, height) = size(dims)?;
    let fps = rest.split_whitespace().next().and_then(|f| f.parse::<f64>().ok()).filter(|f| f.is_finite());
    Some(SensorMode { format: format.to_string(), width, height, fps })
}

/// Parses the whole listing; an empty list when it says there are none.
pub fn parse(text: &str) -> Vec<CameraInfo> {
    let mut cameras: Vec<CameraInfo> = Vec::new();
    let mut format = String::new();
    for line in text.lines() {
        if let Some(camera) = camera_line(line) {
            cameras.push(camera);
            format.clear();
            continue;
        }
        let Some(camera) = cameras.last_mut() else { continue };
        let mut rest = line.trim().trim_start_matches("Modes:").trim();
        if let Some(stripped) = rest.strip_prefix('\'') {
            if let Some((name, after)) = stripped.split_once('\'') {
                format = name.to_string();
                rest = after.trim().trim_start_matches(':').trim();
            }
        }
        if let Some(m) = mode(rest, &format) {
            camera.modes.push(m);
        }
    }
    cameras
}

/// Runs `PROGRAM --list-cameras` (at most 10 s) and parses what it prints.
pub fn list(program: &std::path::Path) -> Result<Vec<CameraInfo>, String> {
    let mut child = std::process::Command::new(program)
        .arg("--list-cameras")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{} --list-cameras did not finish within 10 s", program.display()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut out);
    }
    Ok(parse(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PI5_CM3: &str = "Available cameras
-----------------
0 : imx708 [4608x2592 10-bit RGGB] (/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a)
    Modes: 'SRGGB10_CSI2P' : 1536x864 [120.13 fps - (768, 432)/3072x1728 crop]
                             2304x1296 [56.03 fps - (0, 0)/4608x2592 crop]
                             4608x2592 [14.35 fps - (0, 0)/4608x2592 crop]

1 : imx477 [4056x3040 12-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx477@1a)
    Modes: 'SRGGB10_CSI2P' : 1332x990 [120.05 fps - (696, 528)/2664x1980 crop]
           'SRGGB12_CSI2P' : 2028x1080 [50.03 fps - (0, 440)/4056x2160 crop]
                             4056x3040 [nan fps - (0, 0)/4056x3040 crop]

";

    #[test]
    fn cameras_and_their_modes_are_read() {
        let cameras = parse(PI5_CM3);
        assert_eq!(cameras.len(), 2);
        let cm3 = &cameras[0];
        assert_eq!((cm3.index, cm3.sensor.as_str(), cm3.width, cm3.height), (0, "imx708", 4608, 2592));
        assert_eq!((cm3.model(), cm3.has_autofocus()), ("Camera Module 3", true));
        assert_eq!(cm3.modes.len(), 3);
        assert_eq!(
            cm3.modes[0],
            SensorMode { format: "SRGGB10_CSI2P".into(), width: 1536, height: 864, fps: Some(120.13) }
        );
        let hq = &cameras[1];
        assert_eq!((hq.model(), hq.has_autofocus()), ("HQ Camera", false));
        assert_eq!(hq.modes[1].format, "SRGGB12_CSI2P");
        assert_eq!(hq.modes[2].fps, None, "nan");
        assert!(parse("No cameras available!\n").is_empty());
        // Before rpicam-apps 1.2.2: no bit depth or colour filter.
        let old = parse("0 : imx219 [3280x2464] (/base/soc/i2c0mux/i2c@1/imx219@10)\n");
        assert_eq!((old[0].sensor.as_str(), old[0].width), ("imx219", 3280));
    }
}
