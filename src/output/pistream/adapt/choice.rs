//! What `--wire` asks for: [`WireChoice`], and the JPEG quality `--wire jpeg` means.

use std::fmt;

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
    /// H.264 (at `--h264-bitrate`).
    H264,
}

impl WireChoice {
    pub fn parse(text: &str) -> Result<WireChoice, String> {
        let bad =
            || format!("--wire '{text}': use auto, bgr, native, i420, jpeg, jpeg:QUALITY (1-100) or h264");
        Ok(match text.to_ascii_lowercase().as_str() {
            "auto" => WireChoice::Auto,
            "bgr" | "raw" => WireChoice::Bgr,
            "native" => WireChoice::Native,
            "i420" | "yu12" | "420" => WireChoice::I420,
            "jpeg" | "mjpeg" => WireChoice::Jpeg(DEFAULT_JPEG_QUALITY),
            "h264" | "h.264" | "avc" => WireChoice::H264,
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
            WireChoice::H264 => f.write_str("h264"),
        }
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
            ("h264", WireChoice::H264),
            ("H264", WireChoice::H264),
        ] {
            assert_eq!(WireChoice::parse(text), Ok(choice), "{text}");
        }
        for bad in ["jpeg:0", "jpeg:101", "h265", ""] {
            assert!(WireChoice::parse(bad).unwrap_err().contains("--wire"), "{bad}");
        }
        assert_eq!(WireChoice::Jpeg(60).to_string(), "jpeg:60");
    }
}
