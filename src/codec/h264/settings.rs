//! An H.264 stream's settings: bitrate and keyframe interval, with the defaults `--help`
//! states.

use crate::media::Geometry;

/// How an H.264 stream is encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct H264Settings {
    pub geometry: Geometry,
    /// Frames per second the encoder budgets for (the capture's rate; 30 when unpaced).
    pub fps: f64,
    /// Target bits per second.
    pub bitrate: u32,
    /// Frames from one keyframe (IDR) to the next.
    pub keyframe_interval: u32,
}

impl H264Settings {
    /// The defaults for frames of `geometry` at `fps`: [`default_bitrate`] and one second's
    /// frames between keyframes (what Frigate and NVRs want).
    pub fn new(geometry: Geometry, fps: f64) -> H264Settings {
        let fps = if fps > 0.0 { fps } else { 30.0 };
        H264Settings {
            geometry,
            fps,
            bitrate: default_bitrate(geometry, fps),
            keyframe_interval: fps.round().max(1.0) as u32,
        }
    }
}

/// The default bitrate: 0.1 bit per pixel per frame, at least 250 kbit/s: about 0.9 Mbit/s
/// for 640x480 at 30 fps, 2.8 for 1280x720, 6.2 for 1920x1080 (BENCHMARKS.md shows where this
/// lands on the quality curve).
pub fn default_bitrate(geometry: Geometry, fps: f64) -> u32 {
    let fps = if fps > 0.0 { fps } else { 30.0 };
    let bits = f64::from(geometry.width) * f64::from(geometry.height) * fps * 0.1;
    bits.clamp(250_000.0, 50_000_000.0) as u32
}

/// The most `--wire auto` gives a viewer without `--h264-bitrate`: four times the
/// default (0.4 bit per pixel per frame: 3.7 Mbit/s at 640x480 and 30 fps, 11 at 1280x720,
/// 25 at 1920x1080), where the link has room for it (H.264 near transparent); the default
/// itself is where a fixed `--wire h264` stays.
pub fn auto_ceiling(geometry: Geometry, fps: f64) -> u32 {
    default_bitrate(geometry, fps).saturating_mul(4).min(50_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_frame_size_and_rate() {
        assert_eq!(default_bitrate(Geometry::new(640, 480), 30.0), 921_600);
        assert_eq!(default_bitrate(Geometry::new(1920, 1080), 30.0), 6_220_800);
        assert_eq!(default_bitrate(Geometry::new(160, 120), 5.0), 250_000);
        let s = H264Settings::new(Geometry::new(1280, 720), 25.0);
        assert_eq!((s.keyframe_interval, s.bitrate), (25, 2_304_000));
        assert_eq!(H264Settings::new(Geometry::new(64, 64), 0.0).keyframe_interval, 30, "unpaced: 30 fps");
    }
}
