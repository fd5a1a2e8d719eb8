//! Wire formats in use: what `--wire` asks for, the ladder `auto` climbs down and up,
//! what each step needs of the capture, and (in submodules) how a sender picks a format per
//! frame and measures its link (`send.rs`, `adapt.rs`, `link.rs`) and how a receiver turns
//! every format back into the BGR frame it shows (`receive.rs`).

pub mod adapt;
pub mod link;
pub mod receive;
pub mod send;

use std::fmt;

use crate::convert::InputFormat;
use crate::hub::Needs;
use crate::protocol::{FormatSet, WireFormat};

/// Default quality of `--wire jpeg`.
pub const DEFAULT_JPEG_QUALITY: u8 = 85;

/// What `--wire` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WireChoice {
    /// Measure the link and pick (the default).
    #[default]
    Auto,
    /// Packed BGR, as shown.
    Bgr,
    /// The camera's own format (YUYV, UYVY, NV12, I420 or its JPEGs), else BGR.
    Native,
    /// 4:2:0 planes.
    I420,
    /// JPEG at this quality.
    Jpeg(u8),
}

impl WireChoice {
    pub fn parse(text: &str) -> Result<WireChoice, String> {
        let bad = || format!("--wire '{text}': use auto, bgr, native, i420, jpeg or jpeg:QUALITY (1-100)");
        Ok(match text.to_ascii_lowercase().as_str() {
            "auto" => WireChoice::Auto,
            "bgr" | "raw" => WireChoice::Bgr,
            "native" => WireChoice::Native,
            "i420" | "yu12" | "420" => WireChoice::I420,
            "jpeg" | "mjpeg" => WireChoice::Jpeg(DEFAULT_JPEG_QUALITY),
            other => match other.strip_prefix("jpeg:").map(str::parse::<u8>) {
                Some(Ok(q)) if (1..=100).contains(&q) => WireChoice::Jpeg(q),
                _ => return Err(bad()),
            },
        })
    }
}

impl fmt::Display for WireChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireChoice::Auto => f.write_str("auto"),
            WireChoice::Bgr => f.write_str("bgr"),
            WireChoice::Native => f.write_str("native"),
            WireChoice::I420 => f.write_str("i420"),
            WireChoice::Jpeg(q) => write!(f, "jpeg:{q}"),
        }
    }
}

/// One step of what goes on the wire: a format, a JPEG quality, and whether every other
/// frame is skipped (the last step of `auto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    pub format: WireFormat,
    /// JPEG quality (0 for other formats).
    pub quality: u8,
    pub half_rate: bool,
}

impl Level {
    pub const BGR: Level = Level { format: WireFormat::Bgr24, quality: 0, half_rate: false };

    pub fn new(format: WireFormat) -> Level {
        Level { format, quality: 0, half_rate: false }
    }

    pub fn jpeg(quality: u8) -> Level {
        Level { format: WireFormat::Jpeg, quality, half_rate: false }
    }

    /// What the capture stage must make for this level, given the capture's own format.
    pub fn needs(self, native: Option<InputFormat>) -> Needs {
        let from_native = match self.format {
            WireFormat::Bgr24 => false,
            WireFormat::Yuyv | WireFormat::Uyvy | WireFormat::Nv12 => true,
            WireFormat::I420 => native.is_some_and(|f| f.is_yuv()),
            // JPEG is encoded from a Y'CbCr camera's planes (`hub::Product::Jpeg`).
            WireFormat::Jpeg => native.is_some_and(|f| f == InputFormat::Mjpeg || f.is_yuv()),
        };
        if from_native {
            Needs::NATIVE
        } else {
            Needs::BGR
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.format.name())?;
        if self.format == WireFormat::Jpeg && self.quality > 0 {
            write!(f, " q{}", self.quality)?;
        }
        if self.half_rate {
            f.write_str(" at half rate")?;
        }
        Ok(())
    }
}

/// The wire format of a capture's own bytes, when they can go out as they are.
pub fn native_wire_format(native: Option<InputFormat>) -> Option<WireFormat> {
    match native? {
        InputFormat::Yuyv => Some(WireFormat::Yuyv),
        InputFormat::Uyvy => Some(WireFormat::Uyvy),
        InputFormat::Nv12 => Some(WireFormat::Nv12),
        InputFormat::Yu12 => Some(WireFormat::I420),
        InputFormat::Mjpeg => Some(WireFormat::Jpeg),
        _ => None,
    }
}

/// The wire formats a sender can offer: BGR, its capture's own format, I420 and JPEG.
pub fn offered_formats(native: Option<InputFormat>) -> FormatSet {
    let mut set = FormatSet::of(&[WireFormat::Bgr24, WireFormat::I420, WireFormat::Jpeg]);
    if let Some(format) = native_wire_format(native) {
        set = set.with(format);
    }
    set
}

/// The wire formats this pistream can decode into BGR.
pub fn decodable_formats() -> FormatSet {
    FormatSet::all()
}

/// The levels `auto` steps through, best picture first: raw BGR, the camera's 4:2:2,
/// 4:2:0, JPEG q85, JPEG q60, then JPEG q60 at half the frame rate; only those the peer
/// decodes. A camera whose own format is 4:2:0 has no 4:2:2 step, one whose own format is
/// JPEG sends its JPEGs at the JPEG steps.
pub fn ladder(native: Option<InputFormat>, agreed: FormatSet) -> Vec<Level> {
    let mut steps = vec![Level::BGR];
    if let Some(packed) =
        native_wire_format(native).filter(|f| matches!(f, WireFormat::Yuyv | WireFormat::Uyvy))
    {
        steps.push(Level::new(packed));
    }
    let planar = match native_wire_format(native) {
        Some(WireFormat::Nv12) => WireFormat::Nv12,
        _ => WireFormat::I420,
    };
    steps.push(Level::new(planar));
    steps.push(Level::jpeg(85));
    steps.push(Level::jpeg(60));
    steps.push(Level { half_rate: true, ..Level::jpeg(60) });
    steps.retain(|l| agreed.contains(l.format));
    steps
}

/// The fixed level a `--wire` choice other than auto means, within what was agreed.
pub fn fixed_level(choice: WireChoice, native: Option<InputFormat>, agreed: FormatSet) -> Level {
    let wanted = match choice {
        WireChoice::Auto | WireChoice::Bgr => Level::BGR,
        WireChoice::Native => native_wire_format(native).map_or(Level::BGR, Level::new),
        WireChoice::I420 => Level::new(WireFormat::I420),
        WireChoice::Jpeg(q) => Level::jpeg(q),
    };
    if agreed.contains(wanted.format) {
        wanted
    } else {
        Level::BGR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_choices_parse_and_print() {
        for (text, choice) in [
            ("auto", WireChoice::Auto),
            ("BGR", WireChoice::Bgr),
            ("native", WireChoice::Native),
            ("i420", WireChoice::I420),
            ("jpeg", WireChoice::Jpeg(85)),
            ("jpeg:40", WireChoice::Jpeg(40)),
        ] {
            assert_eq!(WireChoice::parse(text), Ok(choice), "{text}");
        }
        for bad in ["jpeg:0", "jpeg:101", "h264", ""] {
            assert!(WireChoice::parse(bad).unwrap_err().contains("--wire"), "{bad}");
        }
        assert_eq!(WireChoice::Jpeg(60).to_string(), "jpeg:60");
    }

    #[test]
    fn the_ladder_follows_the_camera_and_the_peer() {
        let all = FormatSet::all();
        let names = |native| ladder(native, all).iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            names(Some(InputFormat::Yuyv)),
            ["BGR3", "YUYV", "I420", "JPEG q85", "JPEG q60", "JPEG q60 at half rate"]
        );
        assert_eq!(names(None), ["BGR3", "I420", "JPEG q85", "JPEG q60", "JPEG q60 at half rate"]);
        assert_eq!(names(Some(InputFormat::Nv12))[1], "NV12");
        let bgr_only = ladder(Some(InputFormat::Yuyv), FormatSet::only(WireFormat::Bgr24));
        assert_eq!(bgr_only, [Level::BGR]);
        assert_eq!(
            fixed_level(WireChoice::Native, Some(InputFormat::Mjpeg), all),
            Level::new(WireFormat::Jpeg)
        );
        assert_eq!(fixed_level(WireChoice::Native, None, all), Level::BGR);
        assert_eq!(Level::jpeg(85).needs(Some(InputFormat::Mjpeg)), Needs::NATIVE);
        assert_eq!(Level::jpeg(85).needs(Some(InputFormat::Yuyv)), Needs::NATIVE, "encoded from the planes");
        assert_eq!(Level::jpeg(85).needs(Some(InputFormat::Rgb24)), Needs::BGR);
        assert_eq!(Level::jpeg(85).needs(None), Needs::BGR);
    }
}
