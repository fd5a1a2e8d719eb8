//! Finding V4L2 capture devices and listing what each offers (formats, sizes, frame
//! rates), as input to `negotiate.rs` and for `pistream devices`. Nothing here streams.

use std::io;
use std::path::{Path, PathBuf};

use v4l::capability::Flags as CapabilityFlags;
use v4l::format::FourCC;
use v4l::frameinterval::FrameIntervalEnum;
use v4l::framesize::FrameSizeEnum;

use super::device::Device;
use crate::source::v4l2::mode::{FormatOffer, FpsOffer, SizeOffer};

/// `/dev/video*` nodes, in numeric order (the hardware codecs' search lists them too).
pub use crate::codec::m2m::video_nodes as device_nodes;

/// Driver and card name of a node, if it is a video capture device that can stream.
pub fn capture_device_info(path: &Path) -> Option<(String, String)> {
    let device = Device::open(path).ok()?;
    let caps = device.capabilities().ok()?;
    let usable = caps.capabilities.contains(CapabilityFlags::VIDEO_CAPTURE)
        && caps.capabilities.contains(CapabilityFlags::STREAMING);
    usable.then_some((caps.driver, caps.card))
}

/// The first capture device offering a format pistream reads, for `camera` without
/// `--source`.
pub fn first_usable_capture_device() -> Option<PathBuf> {
    device_nodes().into_iter().find(|path| {
        capture_device_info(path).is_some()
            && Device::open(path).and_then(|d| offers(&d)).is_ok_and(|offers| {
                offers.iter().any(|o| crate::media::PixelFormat::from_fourcc(o.fourcc).is_some())
            })
    })
}

/// The first capture device that offers only raw Bayer (a camera module's unicam or rp1-cfe
/// node), with its card name.
pub fn bayer_only_device() -> Option<(PathBuf, String)> {
    device_nodes().into_iter().find_map(|path| {
        let (_, card) = capture_device_info(&path)?;
        let offers = Device::open(&path).and_then(|d| offers(&d)).ok()?;
        (!offers.is_empty() && offers.iter().all(|o| super::mode::is_bayer(o.fourcc))).then_some((path, card))
    })
}

/// Everything a device offers, as negotiation input.
pub fn offers(device: &Device) -> io::Result<Vec<FormatOffer>> {
    let mut offers = Vec::new();
    for description in device.formats()? {
        let fourcc = description.fourcc;
        let mut sizes = Vec::new();
        for size in device.frame_sizes(fourcc).unwrap_or_default() {
            match size.size {
                FrameSizeEnum::Discrete(d) => {
                    let fps = rates(device, fourcc, d.width, d.height);
                    sizes.push(SizeOffer::Discrete { width: d.width, height: d.height, fps });
                }
                FrameSizeEnum::Stepwise(s) => sizes.push(SizeOffer::Stepwise {
                    min: (s.min_width, s.min_height),
                    max: (s.max_width, s.max_height),
                    step: (s.step_width, s.step_height),
                    fps: rates(device, fourcc, s.max_width.min(640), s.max_height.min(480)),
                }),
            }
        }
        offers.push(FormatOffer { fourcc: fourcc.repr, description: description.description, sizes });
    }
    Ok(offers)
}

fn rates(device: &Device, fourcc: FourCC, width: u32, height: u32) -> FpsOffer {
    let fps_of = |num: u32, den: u32| if num == 0 { 0.0 } else { den as f64 / num as f64 };
    let intervals = match device.frame_intervals(fourcc, width, height) {
        Ok(intervals) => intervals,
        Err(e) => {
            // libcamera's V4L2 adapter, for one, has no VIDIOC_ENUM_FRAMEINTERVALS.
            log::debug!("{fourcc} {width}x{height}: no frame rates listed ({e}); the driver keeps its own");
            return FpsOffer::Unknown;
        }
    };
    let mut discrete = Vec::new();
    for interval in intervals {
        match interval.interval {
            FrameIntervalEnum::Discrete(f) => discrete.push(fps_of(f.numerator, f.denominator)),
            FrameIntervalEnum::Stepwise(s) => {
                return FpsOffer::Range {
                    min: fps_of(s.max.numerator, s.max.denominator),
                    max: fps_of(s.min.numerator, s.min.denominator),
                }
            }
        }
    }
    if discrete.is_empty() {
        FpsOffer::Unknown
    } else {
        FpsOffer::Discrete(discrete)
    }
}
