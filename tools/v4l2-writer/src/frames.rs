//! The frames the writer sends: the known image as a JPEG or raw YUYV, and the bad frames
//! cameras really produce (cut short, damaged, empty, without Huffman tables).

/// The JPEGs of the known image, made at build time (build.rs).
const JPEG_640X480: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bars-640x480.jpg"));
const JPEG_1280X720: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bars-1280x720.jpg"));

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Mjpeg,
    Yuyv,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "MJPG" => Ok(Format::Mjpeg),
            "YUYV" => Ok(Format::Yuyv),
            _ => Err(format!("--format takes MJPG or YUYV, not {s}")),
        }
    }

    pub fn fourcc(self) -> [u8; 4] {
        match self {
            Format::Mjpeg => *b"MJPG",
            Format::Yuyv => *b"YUYV",
        }
    }
}

/// What one frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The known image, whole.
    Good,
    /// MJPEG: the known image with its DHT segments removed (the standard tables implied).
    NoDht,
    /// MJPEG: the first half of a good frame (cut inside the scan, no EOI).
    Truncated,
    /// MJPEG: SOI, headers and EOI in place, but the frame header (SOF0) overwritten, so no
    /// decoder can read it.
    Corrupt,
    /// Bytes that are not a JPEG at all (no SOI): what a desynchronised stream gives.
    Garbage,
    /// A buffer with no bytes in it.
    Empty,
    /// Raw formats: half of the frame's bytes.
    Short,
}

impl Kind {
    pub const ALL: [(&'static str, Kind); 7] = [
        ("good", Kind::Good),
        ("nodht", Kind::NoDht),
        ("truncated", Kind::Truncated),
        ("corrupt", Kind::Corrupt),
        ("garbage", Kind::Garbage),
        ("empty", Kind::Empty),
        ("short", Kind::Short),
    ];

    pub fn parse(s: &str) -> Result<Kind, String> {
        Kind::ALL.iter().find(|(name, _)| *name == s).map(|&(_, k)| k).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown frame kind {s} (one of: {})", names.join(" "))
        })
    }

    pub fn name(self) -> &'static str {
        Kind::ALL.iter().find(|(_, k)| *k == self).map(|(n, _)| *n).unwrap_or("?")
    }

    /// Whether a camera should skip this frame.
    pub fn is_bad(self) -> bool {
        !matches!(self, Kind::Good | Kind::NoDht)
    }
}

/// The good frame of the known image in `format` at `width` x `height`.
pub fn good(format: Format, width: u32, height: u32) -> Result<Vec<u8>, String> {
    match (format, width, height) {
        (Format::Mjpeg, 640, 480) => Ok(JPEG_640X480.to_vec()),
        (Format::Mjpeg, 1280, 720) => Ok(JPEG_1280X720.to_vec()),
        (Format::Mjpeg, ..) => {
            Err(format!("MJPG frames exist at 640x480 and 1280x720, not {width}x{height}"))
        }
        (Format::Yuyv, ..) if width % 2 == 0 && width > 0 && height > 0 => {
            Ok(yuyv(width as usize, height as usize))
        }
        (Format::Yuyv, ..) => Err(format!("YUYV needs an even width, not {width}x{height}")),
    }
}

/// The image as YUYV, BT.601 limited range (what V4L2 assumes for YUYV in the sRGB
/// colorspace); each pair's chroma is the mean of its two pixels'.
fn yuyv(width: usize, height: usize) -> Vec<u8> {
    let rgb = crate::bars::rgb(width, height);
    let ycbcr = |p: &[u8]| {
        let (r, g, b) = (p[0] as f64, p[1] as f64, p[2] as f64);
        let y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
        let cb = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0;
        let cr = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0;
        (y, cb, cr)
    };
    rgb.chunks_exact(6)
        .flat_map(|pair| {
            let (y0, cb0, cr0) = ycbcr(&pair[..3]);
            let (y1, cb1, cr1) = ycbcr(&pair[3..]);
            let q = |v: f64| v.round() as u8;
            [q(y0), q((cb0 + cb1) / 2.0), q(y1), q((cr0 + cr1) / 2.0)]
        })
        .collect()
}

/// The segments of a JPEG before its first scan: (marker, start, end) of each.
fn header_segments(jpeg: &[u8]) -> Vec<(u8, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xff && jpeg[at + 1] != 0xda {
        let end = at + 2 + u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
        out.push((jpeg[at + 1], at, end.min(jpeg.len())));
        at = end;
    }
    out
}

/// A frame of `kind` made from the good frame `good` of `format`.
pub fn make(kind: Kind, format: Format, good: &[u8]) -> Result<Vec<u8>, String> {
    let jpeg_only = |what: &str| Err(format!("{what} frames are MJPEG only"));
    Ok(match kind {
        Kind::Good => good.to_vec(),
        Kind::Empty => Vec::new(),
        Kind::Short => good[..good.len() / 2].to_vec(),
        Kind::Garbage => {
            // A fixed pseudo-random sequence (xorshift) that never starts with SOI.
            let mut x: u32 = 0x2545_f491;
            let mut out: Vec<u8> = (0..good.len())
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            out[0] = 0x00;
            out
        }
        Kind::NoDht if format == Format::Mjpeg => {
            let mut out = good[..2].to_vec();
            let segments = header_segments(good);
            for &(marker, start, end) in &segments {
                if marker != 0xc4 {
                    out.extend_from_slice(&good[start..end]);
                }
            }
            let scan = segments.last().map_or(2, |s| s.2);
            out.extend_from_slice(&good[scan..]);
            out
        }
        Kind::Truncated if format == Format::Mjpeg => good[..good.len() / 2].to_vec(),
        Kind::Corrupt if format == Format::Mjpeg => {
            let mut out = good.to_vec();
            let (_, start, end) = *header_segments(good)
                .iter()
                .find(|s| s.0 == 0xc0)
                .ok_or("the good JPEG has no SOF0 segment")?;
            out[start + 4..end].fill(0xa5);
            out
        }
        Kind::NoDht => return jpeg_only("nodht"),
        Kind::Truncated => return jpeg_only("truncated"),
        Kind::Corrupt => return jpeg_only("corrupt"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_jpegs_are_what_they_say() {
        let good = good(Format::Mjpeg, 640, 480).unwrap();
        assert_eq!(&good[..2], b"\xff\xd8");
        assert_eq!(&good[good.len() - 2..], b"\xff\xd9");
        let markers = |j: &[u8]| header_segments(j).iter().map(|s| j[s.1 + 1]).collect::<Vec<u8>>();
        assert_eq!(markers(&good).iter().filter(|&&m| m == 0xc4).count(), 4);
        let nodht = make(Kind::NoDht, Format::Mjpeg, &good).unwrap();
        assert!(!markers(&nodht).contains(&0xc4));
        assert_eq!(nodht.len(), good.len() - 2 * (4 + 17 + 12) - 2 * (4 + 17 + 162));
        assert_eq!(&nodht[nodht.len() - 2..], b"\xff\xd9");
        let truncated = make(Kind::Truncated, Format::Mjpeg, &good).unwrap();
        assert!(truncated.len() == good.len() / 2 && !truncated.ends_with(b"\xff\xd9"));
        let corrupt = make(Kind::Corrupt, Format::Mjpeg, &good).unwrap();
        assert!(corrupt.starts_with(b"\xff\xd8") && corrupt.ends_with(b"\xff\xd9"));
        assert_ne!(corrupt, good);
        assert!(!make(Kind::Garbage, Format::Mjpeg, &good).unwrap().starts_with(b"\xff\xd8"));
        assert!(make(Kind::Empty, Format::Mjpeg, &good).unwrap().is_empty());
    }

    #[test]
    fn yuyv_bars_are_the_bars() {
        let f = good(Format::Yuyv, 640, 480).unwrap();
        assert_eq!(f.len(), 640 * 480 * 2);
        // On a sampled row (1/8 of the height): white at 75% is Y = 16 + 219 * 0.75,
        // Cb = Cr = 128; black is Y = 16.
        let row = 60 * 640 * 2;
        assert_eq!(&f[row + 40 * 2..][..4], &[180, 128, 180, 128]);
        assert_eq!(&f[row + 600 * 2..][..4], &[16, 128, 16, 128]);
        assert!(make(Kind::Truncated, Format::Yuyv, &f).is_err());
        assert_eq!(make(Kind::Short, Format::Yuyv, &f).unwrap().len(), 640 * 480);
    }
}
