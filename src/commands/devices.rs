//! `pistream devices`: every V4L2 capture device with its driver and card, each format
//! with its sizes and frame rates (like `v4l2-ctl --list-formats-ext`, shorter), its
//! controls (what `--control` takes) and the mode `camera` would pick for the requested size
//! and rate; then the camera modules libcamera sees (`rpicam-vid --list-cameras`), with
//! their sensor modes, as `--source rpicam:N` names them.

use std::fmt::Write;

use crate::media::Geometry;
use crate::source::rpicam;
use crate::source::rpicam::list::CameraInfo;
use crate::source::v4l2;
use crate::source::v4l2::mode::{self, FormatOffer, FpsOffer, Request, SizeOffer};

/// One format's sizes and rates on a line each, e.g. `YUYV  640x480 @ 30/15/5, 1280x720 @ 10`.
pub fn describe_offer(offer: &FormatOffer) -> String {
    let rates = |fps: &FpsOffer| match fps {
        FpsOffer::Discrete(r) => {
            let mut r = r.clone();
            r.sort_by(|a, b| b.total_cmp(a));
            format!(
                " @ {}",
                r.iter()
                    .map(|f| format!("{f:.4}").trim_end_matches('0').trim_end_matches('.').to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            )
        }
        FpsOffer::Range { min, max } => format!(" @ {min:.0}-{max:.0}"),
        FpsOffer::Unknown => String::new(),
    };
    let sizes: Vec<String> = offer
        .sizes
        .iter()
        .map(|s| match s {
            SizeOffer::Discrete { width, height, fps } => format!("{width}x{height}{}", rates(fps)),
            SizeOffer::Stepwise { min, max, step, fps } => {
                format!("{}x{} to {}x{} step {}/{}{}", min.0, min.1, max.0, max.1, step.0, step.1, rates(fps))
            }
        })
        .collect();
    let supported =
        if crate::media::PixelFormat::from_fourcc(offer.fourcc).is_some() { "" } else { " (not supported)" };
    format!("{:<5} {}{supported}: {}", offer.fourcc_text(), offer.description, sizes.join(", "))
}

/// The whole report.
pub fn report(geometry: Geometry, fps: f64) -> String {
    let mut out = String::new();
    let nodes = v4l2::device_nodes();
    let request = Request { width: geometry.width, height: geometry.height, fps, forced: None };
    let mut found = 0;
    for path in &nodes {
        let Some((driver, card)) = v4l2::capture_device_info(path) else { continue };
        found += 1;
        let _ = writeln!(out, "{}: {card} (driver {driver})", path.display());
        let offers = match v4l2::Device::open(path).and_then(|d| v4l2::offers(&d)) {
            Ok(offers) => offers,
            Err(e) => {
                let _ = writeln!(out, "  cannot list formats: {e}");
                continue;
            }
        };
        for offer in &offers {
            let _ = writeln!(out, "  {}", describe_offer(offer));
        }
        let pick = match mode::choose(&path.display().to_string(), &offers, &request) {
            Ok(choice) => format!("{choice}"),
            Err(e) => format!("none: {e}"),
        };
        let _ = writeln!(out, "  camera --size {geometry} --fps {fps} would use: {pick}");
        if let Ok(controls) = v4l2::Device::open(path).and_then(|d| v4l2::controls::list(&d)) {
            if !controls.is_empty() {
                let _ = writeln!(out, "  controls (--control NAME=VALUE):");
                for control in controls {
                    let _ = writeln!(out, "    {control}");
                }
            }
        }
    }
    if found == 0 {
        let _ = writeln!(
            out,
            "no V4L2 capture devices ({} /dev/video* nodes). Connect a USB camera, or use \
             `pistream camera --source pattern` or a URL such as http://PHONE:8080/video",
            nodes.len()
        );
    }
    match rpicam::program() {
        None => {
            let _ = writeln!(
                out,
                "camera modules: rpicam-vid is not installed (for a camera module: {})",
                rpicam::PACKAGE_HINT
            );
        }
        Some(program) => match rpicam::list::list(&program) {
            Ok(cameras) if cameras.is_empty() => {
                let _ = writeln!(out, "camera modules: {} lists none", program.display());
            }
            Ok(cameras) => {
                for camera in &cameras {
                    out.push_str(&describe_module(camera));
                }
            }
            Err(e) => {
                let _ = writeln!(out, "camera modules: {e}");
            }
        },
    }
    out
}

/// A libcamera camera and its sensor modes, as `rpicam-vid --list-cameras` gave them.
pub fn describe_module(camera: &CameraInfo) -> String {
    let mut out = format!(
        "rpicam:{}: {} ({}, {}x{}{}) {}\n",
        camera.index,
        camera.sensor,
        camera.model(),
        camera.width,
        camera.height,
        if camera.has_autofocus() { ", autofocus: continuous by default" } else { "" },
        camera.id
    );
    for mode in &camera.modes {
        let fps = mode.fps.map_or(String::new(), |f| format!(" up to {f:.1} fps"));
        let _ = writeln!(out, "  sensor mode {}x{} {}{fps}", mode.width, mode.height, mode.format);
    }
    let _ = writeln!(out, "  camera --source rpicam:{} takes any even --size; the ISP scales", camera.index);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_read_at_a_glance() {
        let offer = FormatOffer {
            fourcc: *b"YUYV",
            description: "YUYV 4:2:2".into(),
            sizes: vec![
                SizeOffer::Discrete {
                    width: 640,
                    height: 480,
                    fps: FpsOffer::Discrete(vec![15.0, 30.0, 7.5]),
                },
                SizeOffer::Stepwise {
                    min: (32, 32),
                    max: (1920, 1080),
                    step: (2, 2),
                    fps: FpsOffer::Unknown,
                },
            ],
        };
        assert_eq!(
            describe_offer(&offer),
            "YUYV  YUYV 4:2:2: 640x480 @ 30/15/7.5, 32x32 to 1920x1080 step 2/2"
        );
        let bayer = FormatOffer { fourcc: *b"pRAA", description: "10-bit Bayer".into(), sizes: vec![] };
        assert!(describe_offer(&bayer).contains("(not supported)"));
    }
}
