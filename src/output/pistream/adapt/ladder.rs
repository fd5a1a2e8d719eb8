//! The wire formats a sender offers and a receiver decodes, the ladder `--wire auto` climbs
//! down and up (each step a [`Delivery`]), the fixed step another `--wire` choice means, and
//! what each step needs the capture stage to make.

use super::choice::WireChoice;
use crate::media::PixelFormat;
use crate::output::pistream::protocol::FormatSet;
use crate::pipeline::hub::{Delivery, Needs};

/// What the capture stage must make for `level`, given the capture's own format.
pub fn needs(level: Delivery, native: Option<PixelFormat>) -> Needs {
    if level.format == PixelFormat::H264 {
        // The viewer's units come from an encoder stage, which says what it needs itself.
        return Needs::NONE;
    }
    let from_native = match level.format {
        PixelFormat::Bgr24 => false,
        PixelFormat::Yuyv | PixelFormat::Uyvy | PixelFormat::Nv12 => true,
        PixelFormat::I420 => native.is_some_and(|f| f.is_yuv()),
        // JPEG is encoded from a Y'CbCr camera's planes (`codec::products::Product::Jpeg`).
        PixelFormat::Mjpeg => native.is_some_and(|f| f == PixelFormat::Mjpeg || f.is_yuv()),
        _ => false,
    };
    if from_native {
        Needs::NATIVE
    } else {
        Needs::BGR
    }
}

/// The wire format of a capture's own bytes, when they can go out as they are.
pub fn native_wire_format(native: Option<PixelFormat>) -> Option<PixelFormat> {
    match native? {
        PixelFormat::Yuyv => Some(PixelFormat::Yuyv),
        PixelFormat::Uyvy => Some(PixelFormat::Uyvy),
        PixelFormat::Nv12 => Some(PixelFormat::Nv12),
        PixelFormat::I420 => Some(PixelFormat::I420),
        PixelFormat::Mjpeg => Some(PixelFormat::Mjpeg),
        _ => None,
    }
}

/// The wire formats a sender can offer: BGR, its capture's own format, I420, JPEG and H.264.
pub fn offered_formats(native: Option<PixelFormat>) -> FormatSet {
    let mut set =
        FormatSet::of(&[PixelFormat::Bgr24, PixelFormat::I420, PixelFormat::Mjpeg, PixelFormat::H264]);
    if let Some(format) = native_wire_format(native) {
        set = set.with(format);
    }
    set
}

/// The wire formats this pistream can decode into BGR.
pub fn decodable_formats() -> FormatSet {
    FormatSet::all()
}

/// H.264 steps on the ladder: the most (`--h264-bitrate`, or four times the default for
/// the frame size: `codec::h264::auto_ceiling`), then down by √2 a step to a 64th of it (a
/// sixteenth of the default), but not below [`H264_FLOOR`]. Each bitrate in use is one
/// encoder, so viewers fitted to similar links share theirs.
pub const H264_STEPS: usize = 13;
/// The least bitrate `auto` steps down to (bits per second).
pub const H264_FLOOR: u32 = 100_000;

/// The levels `auto` steps through, best picture first: raw BGR, the camera's 4:2:2,
/// 4:2:0, JPEG q85, then H.264 from `h264_max` bits per second down in [`H264_STEPS`]
/// (without H.264: JPEG q60, then JPEG q60 at half the frame rate); only those the peer
/// decodes. A camera whose own format is 4:2:0 has no 4:2:2 step, one whose own format is
/// JPEG sends its JPEGs at the JPEG steps.
///
/// H.264 comes below JPEG q85: at the default bitrate it gives a JPEG's picture in a
/// fraction of the bytes (BENCHMARKS.md), but it costs a software encode per bitrate in use
/// and a viewer that loses a unit waits for a keyframe, so a link that carries JPEG q85
/// gets JPEG.
pub fn ladder(native: Option<PixelFormat>, agreed: FormatSet, h264_max: u32) -> Vec<Delivery> {
    let mut steps = vec![Delivery::BGR];
    if let Some(packed) =
        native_wire_format(native).filter(|f| matches!(f, PixelFormat::Yuyv | PixelFormat::Uyvy))
    {
        steps.push(Delivery::new(packed));
    }
    let planar = match native_wire_format(native) {
        Some(PixelFormat::Nv12) => PixelFormat::Nv12,
        _ => PixelFormat::I420,
    };
    steps.push(Delivery::new(planar));
    steps.push(Delivery::jpeg(85));
    if agreed.contains(PixelFormat::H264) && h264_max > 0 {
        for k in 0..H264_STEPS {
            let bitrate = (f64::from(h264_max) / 2f64.powf(k as f64 / 2.0)) as u32;
            if bitrate < H264_FLOOR && k > 0 {
                break;
            }
            steps.push(Delivery::h264(bitrate));
        }
    } else {
        steps.push(Delivery::jpeg(60));
        steps.push(Delivery { half_rate: true, ..Delivery::jpeg(60) });
    }
    steps.retain(|l| agreed.contains(l.format));
    steps
}

/// The fixed level a `--wire` choice other than auto means, within what was agreed (H.264
/// at `h264_bitrate`): the choice if the peer accepts it, else raw BGR, else the best
/// level of the ladder it accepts (a display that accepts H.264 alone gets H.264).
pub fn fixed_level(
    choice: WireChoice,
    native: Option<PixelFormat>,
    agreed: FormatSet,
    h264_bitrate: u32,
) -> Delivery {
    let wanted = match choice {
        WireChoice::Auto | WireChoice::Bgr => Delivery::BGR,
        WireChoice::Native => native_wire_format(native).map_or(Delivery::BGR, Delivery::new),
        WireChoice::I420 => Delivery::new(PixelFormat::I420),
        WireChoice::Jpeg(q) => Delivery::jpeg(q),
        WireChoice::H264 => Delivery::h264(h264_bitrate),
    };
    if agreed.contains(wanted.format) {
        wanted
    } else if agreed.contains(PixelFormat::Bgr24) {
        Delivery::BGR
    } else {
        ladder(native, agreed, h264_bitrate).first().copied().unwrap_or(Delivery::BGR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_follows_the_camera_and_the_peer() {
        let all = FormatSet::all();
        let names =
            |native| ladder(native, all, 2_000_000).iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            names(Some(PixelFormat::Yuyv)),
            [
                "BGR3",
                "YUYV",
                "I420",
                "JPEG q85",
                "H264 2.0 Mbit/s",
                "H264 1.4 Mbit/s",
                "H264 1.0 Mbit/s",
                "H264 708 kbit/s",
                "H264 500 kbit/s",
                "H264 354 kbit/s",
                "H264 250 kbit/s",
                "H264 177 kbit/s",
                "H264 125 kbit/s"
            ]
        );
        assert_eq!(names(None)[..4], ["BGR3", "I420", "JPEG q85", "H264 2.0 Mbit/s"]);
        assert_eq!(names(Some(PixelFormat::Nv12))[1], "NV12");
        let without_h264 = all.iter().filter(|f| *f != PixelFormat::H264).collect::<Vec<_>>();
        let without_h264 = ladder(None, FormatSet::of(&without_h264), 2_000_000);
        assert_eq!(
            without_h264.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["BGR3", "I420", "JPEG q85", "JPEG q60", "JPEG q60 at half rate"]
        );
        let bgr_only = ladder(Some(PixelFormat::Yuyv), FormatSet::only(PixelFormat::Bgr24), 2_000_000);
        assert_eq!(bgr_only, [Delivery::BGR]);
        assert_eq!(
            fixed_level(WireChoice::Native, Some(PixelFormat::Mjpeg), all, 0),
            Delivery::new(PixelFormat::Mjpeg)
        );
        assert_eq!(fixed_level(WireChoice::Native, None, all, 0), Delivery::BGR);
        assert_eq!(fixed_level(WireChoice::H264, None, all, 2_000_000), Delivery::h264(2_000_000));
        assert_eq!(
            fixed_level(WireChoice::H264, None, FormatSet::only(PixelFormat::Bgr24), 2_000_000),
            Delivery::BGR
        );
        assert_eq!(
            fixed_level(WireChoice::Bgr, None, FormatSet::only(PixelFormat::H264), 2_000_000),
            Delivery::h264(2_000_000),
            "a display that accepts H.264 alone"
        );
        let h264_only = ladder(Some(PixelFormat::Yuyv), FormatSet::only(PixelFormat::H264), 2_000_000);
        assert!(h264_only.len() == 9 && h264_only.iter().all(|l| l.format == PixelFormat::H264));
        let ceiling = ladder(None, FormatSet::all(), 11_000_000);
        assert_eq!(ceiling.iter().filter(|l| l.format == PixelFormat::H264).count(), H264_STEPS);
        assert_eq!(needs(Delivery::h264(1_000_000), Some(PixelFormat::Yuyv)), Needs::NONE, "the stage's own");
        assert_eq!(needs(Delivery::jpeg(85), Some(PixelFormat::Mjpeg)), Needs::NATIVE);
        assert_eq!(
            needs(Delivery::jpeg(85), Some(PixelFormat::Yuyv)),
            Needs::NATIVE,
            "encoded from the planes"
        );
        assert_eq!(needs(Delivery::jpeg(85), Some(PixelFormat::Rgb24)), Needs::BGR);
        assert_eq!(needs(Delivery::jpeg(85), None), Needs::BGR);
    }
}
