//! Choosing a capture mode: from the formats, frame sizes and frame rates a device offers,
//! pick the one that gives the requested size and rate with the least work. Pure logic,
//! no ioctls: `v4l2/` turns a device's answers into [`FormatOffer`]s, and the tests feed
//! it format lists recorded from real cameras (`v4l2-ctl --list-formats-ext`, parsed by
//! [`parse_v4l2_ctl`]).
//!
//! Order of preference: a mode that reaches the requested frame rate (or at least 3/4 of
//! it); then the exact size, else the nearest larger one of the same aspect ratio
//! (downscaling keeps detail), else the nearest smaller one; then the cheapest conversion:
//! BGR24, RGB24, YUYV/UYVY, NV12/NV21/YU12, MJPEG, GREY.

use std::fmt;

use crate::media::PixelFormat;

/// Frame rates offered at one size.
#[derive(Clone, Debug, PartialEq)]
pub enum FpsOffer {
    /// A list of rates (from discrete frame intervals).
    Discrete(Vec<f64>),
    /// Any rate in a range (stepwise/continuous intervals).
    Range { min: f64, max: f64 },
    /// The driver does not say; assume the request can be met.
    Unknown,
}

impl FpsOffer {
    /// The highest rate available.
    pub fn max(&self) -> Option<f64> {
        match self {
            FpsOffer::Discrete(rates) => rates.iter().copied().reduce(f64::max),
            FpsOffer::Range { max, .. } => Some(*max),
            FpsOffer::Unknown => None,
        }
    }

    /// The rate to ask for: the lowest one at or above `wanted`, else the highest.
    pub fn pick(&self, wanted: f64) -> Option<f64> {
        match self {
            FpsOffer::Discrete(rates) => {
                rates.iter().copied().filter(|&r| r >= wanted - 0.01).reduce(f64::min).or_else(|| self.max())
            }
            FpsOffer::Range { min, max } => Some(wanted.clamp(*min, *max)),
            FpsOffer::Unknown => Some(wanted),
        }
    }
}

/// Frame sizes offered for one format.
#[derive(Clone, Debug, PartialEq)]
pub enum SizeOffer {
    Discrete { width: u32, height: u32, fps: FpsOffer },
    Stepwise { min: (u32, u32), max: (u32, u32), step: (u32, u32), fps: FpsOffer },
}

impl SizeOffer {
    /// The size in this offer closest to `(w, h)` (exact when a stepwise range allows it).
    fn closest(&self, w: u32, h: u32) -> (u32, u32, &FpsOffer) {
        match self {
            SizeOffer::Discrete { width, height, fps } => (*width, *height, fps),
            SizeOffer::Stepwise { min, max, step, fps } => {
                let fit = |v: u32, lo: u32, hi: u32, step: u32| {
                    let v = v.clamp(lo, hi);
                    let step = step.max(1);
                    lo + (v - lo).div_ceil(step) * step
                };
                (fit(w, min.0, max.0, step.0).min(max.0), fit(h, min.1, max.1, step.1).min(max.1), fps)
            }
        }
    }
}

/// One pixel format a device offers, with its sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatOffer {
    pub fourcc: [u8; 4],
    pub description: String,
    pub sizes: Vec<SizeOffer>,
}

impl FormatOffer {
    pub fn fourcc_text(&self) -> String {
        String::from_utf8_lossy(&self.fourcc).into_owned()
    }
}

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// `--format FOURCC`: use this format or fail.
    pub forced: Option<PixelFormat>,
}

/// The chosen mode and a sentence saying why.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// The rate to set, if the driver lists any.
    pub fps: Option<f64>,
    pub reason: String,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}x{}", self.format, self.width, self.height)?;
        if let Some(fps) = self.fps {
            write!(f, " at {fps:.1} fps")?;
        }
        write!(f, " ({})", self.reason)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error(
        "{device} offers only raw Bayer formats ({offered}): it is a camera module on the libcamera stack \
         (unicam, rp1-cfe), whose pictures come from libcamera's ISP. Use --source rpicam (through \
         rpicam-vid, package rpicam-apps), or run pistream under libcamera's V4L2 adapter: \
         `libcamerify pistream camera ...` (package libcamera-tools)"
    )]
    OnlyBayer { device: String, offered: String },
    #[error(
        "{device} offers no format pistream can convert (it offers {offered}; pistream reads {supported})"
    )]
    NothingSupported { device: String, offered: String, supported: String },
    #[error("{device} does not offer --format {forced} (it offers {offered})")]
    ForcedNotOffered { device: String, forced: String, offered: String },
    #[error("{device} offers {format} but no frame size for it")]
    NoSizes { device: String, format: String },
}

/// A mode reaching less than this share of the requested rate counts as too slow.
const RATE_SHORTFALL: f64 = 0.75;

/// Cost of converting a format to BGR, lower is cheaper.
fn conversion_rank(format: PixelFormat) -> u32 {
    match format {
        PixelFormat::Bgr24 => 0,
        PixelFormat::Rgb24 | PixelFormat::Xrgb32 | PixelFormat::Xbgr32 => 1,
        PixelFormat::Yuyv | PixelFormat::Uyvy => 2,
        PixelFormat::Nv12 | PixelFormat::Nv21 | PixelFormat::I420 => 3,
        PixelFormat::Mjpeg => 4,
        PixelFormat::Grey => 5,
        // Decoded for every picture viewer; taken only when forced or nothing else is offered.
        PixelFormat::H264 => 6,
    }
}

/// Whether pistream captures `format` from a V4L2 camera.
fn captured(format: PixelFormat) -> bool {
    format != PixelFormat::H264
}

/// Whether a fourcc is a raw Bayer (or other raw sensor) format.
pub fn is_bayer(fourcc: [u8; 4]) -> bool {
    const BAYER: [&[u8; 4]; 24] = [
        b"BA81", b"GBRG", b"GRBG", b"RGGB", b"BG10", b"GB10", b"BA10", b"RG10", b"pBAA", b"pGAA", b"pgAA",
        b"pRAA", b"BG12", b"GB12", b"BA12", b"RG12", b"pBCC", b"pGCC", b"pgCC", b"pRCC", b"BG16", b"GB16",
        b"GR16", b"RG16",
    ];
    BAYER.iter().any(|b| **b == fourcc)
        || (fourcc[0] == b'p' && fourcc[1].is_ascii_uppercase() && fourcc[3] == fourcc[2])
}

fn list(offers: &[FormatOffer]) -> String {
    offers.iter().map(FormatOffer::fourcc_text).collect::<Vec<_>>().join(", ")
}

/// Picks the capture mode for `request` from what `device` offers.
pub fn choose(device: &str, offers: &[FormatOffer], request: &Request) -> Result<Choice, NegotiationError> {
    let usable: Vec<(PixelFormat, &FormatOffer)> = offers
        .iter()
        .filter_map(|o| PixelFormat::from_fourcc(o.fourcc).map(|f| (f, o)))
        .filter(|(f, _)| captured(*f))
        .collect();
    if let Some(forced) = request.forced {
        if !usable.iter().any(|(f, _)| *f == forced) {
            return Err(NegotiationError::ForcedNotOffered {
                device: device.into(),
                forced: forced.to_string(),
                offered: list(offers),
            });
        }
    }
    if usable.is_empty() {
        if !offers.is_empty() && offers.iter().all(|o| is_bayer(o.fourcc)) {
            return Err(NegotiationError::OnlyBayer { device: device.into(), offered: list(offers) });
        }
        let supported = PixelFormat::ALL
            .iter()
            .filter(|f| captured(**f))
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(NegotiationError::NothingSupported {
            device: device.into(),
            offered: list(offers),
            supported,
        });
    }
    let (rw, rh) = (request.width, request.height);
    let requested_area = rw as u64 * rh as u64;
    // (misses the rate, size cost, conversion rank) — lower is better.
    let mut best: Option<((bool, u64, u32), Choice)> = None;
    for (format, offer) in usable.iter().filter(|(f, _)| request.forced.is_none_or(|forced| forced == *f)) {
        if offer.sizes.is_empty() && request.forced == Some(*format) {
            return Err(NegotiationError::NoSizes { device: device.into(), format: format.to_string() });
        }
        for size in &offer.sizes {
            let (w, h, fps) = size.closest(rw, rh);
            let area = w as u64 * h as u64;
            // A different aspect ratio would stretch the picture: worse than any size change.
            let aspect_differs =
                (w as u64 * rh as u64).abs_diff(h as u64 * rw as u64) * 50 > w as u64 * rh as u64;
            let size_cost = if (w, h) == (rw, rh) {
                0
            } else if w >= rw && h >= rh {
                1 + (area - requested_area)
            } else {
                1 << 40 | requested_area.abs_diff(area)
            } + if aspect_differs { 1 << 50 } else { 0 };
            // Falling short of the rate by a little (25 fps for 30) beats scaling; by a lot
            // (5 fps for 30) does not.
            let misses_rate = fps.max().is_some_and(|max| max < RATE_SHORTFALL * request.fps);
            let key = (misses_rate, size_cost, conversion_rank(*format));
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                let mut why = Vec::new();
                why.push(if size_cost == 0 {
                    "the requested size".to_string()
                } else {
                    format!("nearest size to {rw}x{rh}, scaled")
                });
                if misses_rate {
                    why.push(format!("no mode reaches {:.1} fps", request.fps));
                }
                why.push(match conversion_rank(*format) {
                    0 => "no conversion needed".to_string(),
                    _ if request.forced.is_some() => "format forced by --format".to_string(),
                    _ => "cheapest conversion on offer".to_string(),
                });
                let choice = Choice {
                    format: *format,
                    width: w,
                    height: h,
                    fps: fps.pick(request.fps),
                    reason: why.join(", "),
                };
                best = Some((key, choice));
            }
        }
    }
    best.map(|(_, choice)| choice).ok_or_else(|| NegotiationError::NoSizes {
        device: device.into(),
        format: request.forced.map_or_else(|| list(offers), |f| f.to_string()),
    })
}

/// Parses the output of `v4l2-ctl --list-formats-ext` into offers (for tests and for
/// describing devices recorded elsewhere).
pub fn parse_v4l2_ctl(text: &str) -> Vec<FormatOffer> {
    let mut offers: Vec<FormatOffer> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            // [0]: 'YUYV' (YUYV 4:2:2)
            let Some(start) = line.find('\'') else { continue };
            let fourcc: Vec<u8> = line[start + 1..].bytes().take(4).collect();
            let description =
                line.rsplit_once('(').map(|(_, d)| d.trim_end_matches(')').to_string()).unwrap_or_default();
            if let Ok(fourcc) = fourcc.try_into() {
                offers.push(FormatOffer { fourcc, description, sizes: Vec::new() });
            }
        } else if let Some(rest) = line.strip_prefix("Size: Discrete ") {
            if let (Some(offer), Some((w, h))) = (offers.last_mut(), parse_wxh(rest)) {
                offer.sizes.push(SizeOffer::Discrete { width: w, height: h, fps: FpsOffer::Unknown });
            }
        } else if let Some(rest) = line.strip_prefix("Size: Stepwise ") {
            // 32x32 - 2592x1944 with step 2/2
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if let (Some(offer), [min, "-", max, "with", "step", step, ..]) =
                (offers.last_mut(), parts.as_slice())
            {
                let step = step.split_once('/').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
                if let (Some(min), Some(max), Some(step)) = (parse_wxh(min), parse_wxh(max), step) {
                    offer.sizes.push(SizeOffer::Stepwise { min, max, step, fps: FpsOffer::Unknown });
                }
            }
        } else if let Some(rest) = line.strip_prefix("Interval: ") {
            // Discrete 0.033s (30.000 fps)  |  Stepwise 0.033s - 1.000s with step 0.000s (1.000-30.000 fps)
            let Some(inner) = rest.rsplit_once('(').map(|(_, r)| r.trim_end_matches(" fps)")) else {
                continue;
            };
            let Some(fps) = offers.last_mut().and_then(|o| o.sizes.last_mut()).map(|s| match s {
                SizeOffer::Discrete { fps, .. } | SizeOffer::Stepwise { fps, .. } => fps,
            }) else {
                continue;
            };
            if let Some((lo, hi)) = inner.split_once('-') {
                if let (Ok(min), Ok(max)) = (lo.parse(), hi.parse()) {
                    *fps = FpsOffer::Range { min, max };
                }
            } else if let Ok(rate) = inner.parse::<f64>() {
                match fps {
                    FpsOffer::Discrete(rates) => rates.push(rate),
                    _ => *fps = FpsOffer::Discrete(vec![rate]),
                }
            }
        }
    }
    offers
}

fn parse_wxh(text: &str) -> Option<(u32, u32)> {
    let (w, h) = text.trim().split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}
