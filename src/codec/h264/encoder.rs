//! H.264 encoders as pistream drives them ([`H264Encoder`]: I420 planes in, one Annex B
//! access unit out, a keyframe when asked), and the software one, Cisco's OpenH264.
//!
//! OpenH264 is set up for live video: its camera real-time mode, Constrained Baseline (no
//! B-frames, no reordering: a decoder shows each picture as it comes), constant SPS/PPS ids
//! with the parameter sets in front of every IDR (so a viewer can start at any keyframe),
//! bitrate rate control (which skips a picture rather than overshoot), no scene-change
//! keyframes (keyframes come at
//! the interval or on request), the lowest complexity, BT.601 limited range signalled in the
//! VUI. It encodes straight from the caller's planes (strides allowed) and writes into the
//! caller's reused buffer: nothing is allocated per frame on the Rust side.

use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile,
    RateControlMode, SpsPpsStrategy, UsageType, VuiConfig,
};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};

use super::settings::H264Settings;

/// OpenH264's `ENCODER_OPTION_TRACE_LEVEL` and `WELS_LOG_ERROR` (codec_app_def.h; the
/// crate's own sys crate has them, not worth a dependency for two integers).
const TRACE_LEVEL_OPTION: i32 = 25;
const TRACE_ERRORS_ONLY: i32 = 1;

/// Why an encoder could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum H264Error {
    #[error("the H.264 encoder could not start: {0}")]
    Start(String),
    #[error("the picture's planes are too short for {width}x{height} with strides {y_stride}/{uv_stride}")]
    ShortPlanes { width: usize, height: usize, y_stride: usize, uv_stride: usize },
    #[error("H.264 encoding failed: {0}")]
    Encode(String),
}

/// A picture's I420 planes, borrowed (strides allowed: a camera module's padded rows).
#[derive(Clone, Copy, Debug)]
pub struct Planes<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
    pub y_stride: usize,
    pub uv_stride: usize,
}

impl<'a> Planes<'a> {
    /// The planes of an I420 frame laid out as [`crate::media::Layout`] describes (Y, then U,
    /// then V, chroma rows half the luma stride), checked to hold every row the encoder reads.
    pub fn of(layout: &crate::media::Layout, bytes: &'a [u8]) -> Result<Planes<'a>, H264Error> {
        let (w, h) = (layout.width as usize, layout.height as usize);
        let short = H264Error::ShortPlanes {
            width: w,
            height: h,
            y_stride: layout.stride,
            uv_stride: layout.chroma_stride(),
        };
        if layout.format != crate::media::PixelFormat::I420 || bytes.len() < layout.min_frame_len() {
            return Err(short);
        }
        let planes = Planes {
            width: w,
            height: h,
            y: &bytes[..layout.chroma_offset()],
            u: &bytes[layout.chroma_offset()..layout.v_offset()],
            v: &bytes[layout.v_offset()..],
            y_stride: layout.stride,
            uv_stride: layout.chroma_stride(),
        };
        planes.check()?;
        Ok(planes)
    }

    /// Whether every row the encoder reads is inside the slices (OpenH264 reads through raw
    /// pointers and checks nothing).
    pub fn check(&self) -> Result<(), H264Error> {
        let (ch, cw) = (self.height.div_ceil(2), self.width.div_ceil(2));
        let ok = self.y_stride >= self.width
            && self.uv_stride >= cw
            && self.y.len() >= self.y_stride * (self.height - 1) + self.width
            && self.u.len() >= self.uv_stride * (ch - 1) + cw
            && self.v.len() >= self.uv_stride * (ch - 1) + cw
            && self.width >= 16
            && self.height >= 16;
        if ok {
            Ok(())
        } else {
            Err(H264Error::ShortPlanes {
                width: self.width,
                height: self.height,
                y_stride: self.y_stride,
                uv_stride: self.uv_stride,
            })
        }
    }
}

impl YUVSource for Planes<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.y_stride, self.uv_stride, self.uv_stride)
    }

    fn y(&self) -> &[u8] {
        self.y
    }

    fn u(&self) -> &[u8] {
        self.u
    }

    fn v(&self) -> &[u8] {
        self.v
    }
}

/// What one encode made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// An IDR picture (with SPS and PPS in front): a decoder can start here.
    pub keyframe: bool,
}

/// The one interface pistream has to an H.264 encoder (the software one here; the Pi 4's
/// hardware encoder behind the same calls).
pub trait H264Encoder: Send {
    /// Encodes `planes`, captured at `at_us` (µs on any steady clock: the rate control
    /// takes the frame rate from it), into `out` (cleared first; its capacity kept), as an
    /// IDR when `keyframe`; `Ok(None)` when the encoder made nothing of this picture.
    fn encode(
        &mut self,
        planes: &Planes<'_>,
        keyframe: bool,
        at_us: u64,
        out: &mut Vec<u8>,
    ) -> Result<Option<Encoded>, H264Error>;

    /// One line for logs and `/state`: which encoder, at what settings.
    fn describe(&self) -> String;
}

/// Cisco's OpenH264, in software.
pub struct SoftwareEncoder {
    encoder: Encoder,
    settings: H264Settings,
    /// The first picture's time, and the last timestamp given (ms from it).
    first_us: Option<u64>,
    last_ms: Option<u64>,
}

impl SoftwareEncoder {
    pub fn new(settings: H264Settings) -> Result<SoftwareEncoder, H264Error> {
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .profile(Profile::Baseline)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(settings.bitrate))
            .max_frame_rate(FrameRate::from_hz(settings.fps as f32))
            // No skipped pictures: with skipping on, OpenH264 drops pictures to hold the
            // bitrate (the test pattern lost 6 % at 640x480 and the default bitrate, and
            // half its pictures at 1080p and 4 Mbit/s: 14 fps where `--wire auto` needs
            // 28, benches/wire.rs). Off, it raises the quantiser instead; a short overshoot
            // is what `auto`'s link share (four times the bitrate) is for.
            .skip_frames(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(settings.keyframe_interval))
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .scene_change_detect(false)
            .complexity(Complexity::Low)
            .num_threads(1)
            .vui(VuiConfig::bt601());
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| H264Error::Start(e.to_string()))?;
        // OpenH264 warns on stderr, at its start, that a bitrate without skipped pictures
        // "can't be controlled" (it overshoots briefly instead, as said above): errors only
        // until the crate quiets it after that start.
        let mut level = TRACE_ERRORS_ONLY;
        // SAFETY: the trace level is an option the crate itself sets (after the start, to
        // quiet); an int the encoder reads during the call.
        unsafe {
            encoder.raw_api().set_option(TRACE_LEVEL_OPTION, std::ptr::addr_of_mut!(level).cast());
        }
        Ok(SoftwareEncoder { encoder, settings, first_us: None, last_ms: None })
    }
}

impl H264Encoder for SoftwareEncoder {
    fn encode(
        &mut self,
        planes: &Planes<'_>,
        keyframe: bool,
        at_us: u64,
        out: &mut Vec<u8>,
    ) -> Result<Option<Encoded>, H264Error> {
        planes.check()?;
        if keyframe {
            self.encoder.force_intra_frame();
        }
        // Strictly rising timestamps for the rate control, from the capture times.
        let first = *self.first_us.get_or_insert(at_us);
        let ms = at_us.saturating_sub(first) / 1000;
        let ms = self.last_ms.map_or(ms, |last| ms.max(last + 1));
        self.last_ms = Some(ms);
        let stream = self
            .encoder
            .encode_at(planes, Timestamp::from_millis(ms))
            .map_err(|e| H264Error::Encode(e.to_string()))?;
        out.clear();
        let kind = stream.frame_type();
        if matches!(kind, FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        stream.write_vec(out);
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(Encoded { keyframe: kind == FrameType::IDR }))
    }

    fn describe(&self) -> String {
        format!(
            "software (OpenH264), {:.1} Mbit/s, a keyframe every {} frames",
            f64::from(self.settings.bitrate) / 1e6,
            self.settings.keyframe_interval
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::h264::{nal_units, Decoder, NalType};
    use crate::media::{Geometry, Layout, PixelFormat};

    fn picture(w: u32, h: u32, n: u8) -> Vec<u8> {
        let mut i420 = vec![128u8; PixelFormat::I420.tight_len(w, h).unwrap()];
        for y in 0..h as usize {
            for x in 0..w as usize {
                i420[y * w as usize + x] = (x as u8).wrapping_add(n).wrapping_add((y / 4) as u8);
            }
        }
        i420
    }

    #[test]
    fn encoded_units_start_at_an_idr_with_its_parameter_sets_and_decode_back() {
        let (w, h) = (64u32, 48u32);
        let settings = H264Settings {
            bitrate: 500_000,
            keyframe_interval: 10,
            ..H264Settings::new(Geometry::new(w, h), 30.0)
        };
        let mut encoder = SoftwareEncoder::new(settings).unwrap();
        let mut decoder = Decoder::new().unwrap();
        let layout = Layout::tight(PixelFormat::I420, w, h);
        let mut out = Vec::new();
        let mut back = Vec::new();
        let mut kinds = Vec::new();
        for n in 0..12u8 {
            let source = picture(w, h, n);
            let encoded = encoder
                .encode(&Planes::of(&layout, &source).unwrap(), n == 5, u64::from(n) * 33_333, &mut out)
                .unwrap()
                .unwrap();
            kinds.push(encoded.keyframe);
            let types: Vec<NalType> = nal_units(&out).map(|nal| NalType::of(nal[0])).collect();
            if encoded.keyframe {
                assert_eq!(types[..3], [NalType::Sps, NalType::Pps, NalType::Idr], "frame {n}");
            } else {
                assert!(types.iter().all(|t| *t == NalType::Slice), "frame {n}: {types:?}");
            }
            let (dw, dh) = decoder.decode(&out, &mut back).unwrap().expect("a picture");
            assert_eq!((dw, dh), (w, h));
            let worst =
                source[..(w * h) as usize].iter().zip(&back).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            assert!(worst < 40, "frame {n}: luma off by {worst}");
        }
        // The first frame, the one asked for, and the interval's (10 after the forced one).
        assert_eq!(kinds.iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i).collect::<Vec<_>>(), [0, 5]);
        // Planes too short for their strides are refused, not read past.
        let short = vec![0u8; 100];
        assert!(Planes::of(&layout, &short).is_err());
    }

    #[test]
    fn a_lost_or_truncated_unit_and_all_after_it_fail_to_decode_until_the_next_idr() {
        let (w, h) = (160u32, 120u32);
        let settings = H264Settings {
            bitrate: 300_000,
            keyframe_interval: 100,
            ..H264Settings::new(Geometry::new(w, h), 30.0)
        };
        let mut encoder = SoftwareEncoder::new(settings).unwrap();
        let layout = Layout::tight(PixelFormat::I420, w, h);
        let units: Vec<Vec<u8>> = (0..16u8)
            .map(|n| {
                let mut out = Vec::new();
                let source = picture(w, h, n.wrapping_mul(3));
                let planes = Planes::of(&layout, &source).unwrap();
                encoder.encode(&planes, n == 12, u64::from(n) * 33_333, &mut out).unwrap().unwrap();
                out
            })
            .collect();
        let mut back = Vec::new();
        for damage in ["lost", "truncated"] {
            let mut decoder = Decoder::new().unwrap();
            let results: Vec<bool> = units
                .iter()
                .enumerate()
                .filter(|(i, _)| !(damage == "lost" && *i == 5))
                .map(|(i, unit)| {
                    let unit = if i == 5 { &unit[..unit.len() / 2] } else { &unit[..] };
                    decoder.decode(unit, &mut back).is_ok_and(|p| p.is_some())
                })
                .collect();
            let expected: Vec<bool> =
                (0..16).filter(|i| !(damage == "lost" && *i == 5)).map(|i| !(5..12).contains(&i)).collect();
            assert_eq!(results, expected, "{damage}: decodes until the damage, then nothing until the IDR");
        }
    }
}
