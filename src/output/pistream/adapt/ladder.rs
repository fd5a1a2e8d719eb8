//! The wire formats a sender offers and a receiver decodes, the ladder `--wire auto` climbs
//! down and up (each step a [`Delivery`]), the fixed step another `--wire` choice means, and
//! what each step needs the capture stage to make.

use super::choice::WireChoice;
use crate::media::PixelFormat;
use crate::output::pistream::protocol::FormatSet;
use crate::pipeline::hub::{Delivery, Needs};

/// What the capture stage must make for `level`, given the capture's own format.
pub fn needs(level: Delivery, native: Option<PixelFormat>) -> Needs {
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

/// The wire formats a sender can offer: BGR, its capture's own format, I420 and JPEG.
pub fn offered_formats(native: Option<PixelFormat>) -> FormatSet {
    let mut set = FormatSet::of(&[PixelFormat::Bgr24, PixelFormat::I420, PixelFormat::Mjpeg]);
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
pub fn ladder(native: Option<PixelFormat>, agreed: FormatSet) -> Vec<Delivery> {
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
    steps.push(Delivery::jpeg(60));
    steps.push(Delivery { half_rate: true, ..Delivery::jpeg(60) });
    steps.retain(|l| agreed.contains(l.format));
    steps
}

/// The fixed level a `--wire` choice other than auto means, within what was agreed.
pub fn fixed_level(choice: WireChoice, native: Option<PixelFormat>, agreed: FormatSet) -> Delivery {
    let wanted = match choice {
        WireChoice::Auto | WireChoice::Bgr => Delivery::BGR,
        WireChoice::Native => native_wire_format(native).map_or(Delivery::BGR, Delivery::new),
        WireChoice::I420 => Delivery::new(PixelFormat::I420),
        WireChoice::Jpeg(q) => Delivery::jpeg(q),
    };
    if agreed.contains(wanted.format) {
        wanted
    } else {
        Delivery::BGR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_follows_the_camera_and_the_peer() {
        let all = FormatSet::all();
        let names = |native| ladder(native, all).iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            names(Some(PixelFormat::Yuyv)),
            ["BGR3", "YUYV", "I420", "JPEG q85", "JPEG q60", "JPEG q60 at half rate"]
        );
        assert_eq!(names(None), ["BGR3", "I420", "JPEG q85", "JPEG q60", "JPEG q60 at half rate"]);
        assert_eq!(names(Some(PixelFormat::Nv12))[1], "NV12");
        let bgr_only = ladder(Some(PixelFormat::Yuyv), FormatSet::only(PixelFormat::Bgr24));
        assert_eq!(bgr_only, [Delivery::BGR]);
        assert_eq!(
            fixed_level(WireChoice::Native, Some(PixelFormat::Mjpeg), all),
            Delivery::new(PixelFormat::Mjpeg)
        );
        assert_eq!(fixed_level(WireChoice::Native, None, all), Delivery::BGR);
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
