//! How `rpicam-vid --codec yuv420` lays out a frame on its stdout, per Raspberry Pi ISP.
//!
//! rpicam-vid writes each frame as one `fwrite` of the whole ISP buffer: no header, no
//! delimiter, the same size every frame, Y then U then V, each row padded to the ISP's
//! alignment and the planes not padded in height. The stride is printed nowhere, so it is
//! computed here from the ISP the camera runs on (sources: rpicam-apps
//! `encoder/null_encoder.cpp` and `core/rpicam_encoder.hpp`; libcamera
//! `pipeline/rpi/vc4/vc4.cpp`, `pipeline/rpi/pisp/pisp.cpp:247`; libpisp
//! `common/pisp_utils.cpp`; the kernel's `bcm2835-isp-fmts.h` and `pisp_be_formats.h`; every
//! rule in docs/DESIGN.md, "Camera modules"):
//!
//! - Pi 0-4 (VC4, the bcm2835-isp): Y stride = width rounded up to 64 bytes (32 before the
//!   kernel change of June 2021);
//! - Pi 5 (PiSP back end): Y stride = width rounded up to 128 bytes;
//! - both: chroma stride = Y stride / 2, U at `stride * height`, V at `stride * height * 5 / 4`,
//!   frame = `stride * height * 3 / 2`.
//!
//! A wrong assumption shows as frames of another length; `reader.rs` catches that.

use std::fmt;

use crate::media::{Layout, PixelFormat, YuvMatrix, YuvRange};

/// The ISP whose buffers rpicam-vid writes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isp {
    /// Pi Zero, 1, 2, 3, 4 and Zero 2 W: the VideoCore IV/VI ISP (bcm2835-isp).
    Vc4,
    /// Pi 5: the PiSP back end (pispbe).
    Pisp,
}

impl Isp {
    /// Bytes a luma row is padded to.
    pub const fn row_alignment(self) -> usize {
        match self {
            Isp::Vc4 => 64,
            Isp::Pisp => 128,
        }
    }

    /// The name the ISP goes by (in logs and errors).
    pub const fn name(self) -> &'static str {
        match self {
            Isp::Vc4 => "VC4 (Pi 4 and earlier)",
            Isp::Pisp => "PiSP (Pi 5)",
        }
    }

    /// The ISP a line of rpicam-vid's stderr names, if any: libcamera's pipeline handler
    /// logs from `vc4.cpp` or `pisp.cpp` (`Registered camera ... to Unicam device ...`,
    /// `... to CFE device ... using PiSP variant ...`).
    pub fn named_in(line: &str) -> Option<Isp> {
        if line.contains(" RPI vc4.cpp:") || line.contains("to Unicam device") || line.contains("rpi/vc4") {
            Some(Isp::Vc4)
        } else if line.contains(" RPI pisp.cpp:")
            || line.contains("to CFE device")
            || line.contains("rpi/pisp")
        {
            Some(Isp::Pisp)
        } else {
            None
        }
    }
}

impl fmt::Display for Isp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rpicam-vid YUV420 frame as it comes down the pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLayout {
    pub width: usize,
    pub height: usize,
    /// Bytes per luma row, padding included.
    pub stride: usize,
    pub isp: Isp,
}

impl FrameLayout {
    /// The layout of a `width` x `height` frame (both even) from `isp`.
    pub fn new(isp: Isp, width: u32, height: u32) -> FrameLayout {
        let width = width as usize;
        FrameLayout {
            width,
            height: height as usize,
            stride: width.next_multiple_of(isp.row_alignment()),
            isp,
        }
    }

    pub fn chroma_stride(&self) -> usize {
        self.stride / 2
    }

    /// Bytes of one frame on the pipe.
    pub fn frame_len(&self) -> usize {
        self.stride * self.height * 3 / 2
    }

    /// The frame as pistream's [`Layout`] describes planes: I420 with this stride (its
    /// chroma rows half of it, the planes one after another), full range (sYCC), BT.601.
    pub fn planes(&self) -> Layout {
        Layout {
            stride: self.stride,
            ..Layout::tight(PixelFormat::I420, self.width as u32, self.height as u32)
                .with_yuv(YuvRange::Full, YuvMatrix::Bt601)
        }
    }
}

impl fmt::Display for FrameLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{} YUV420 from the {} ISP: rows of {} bytes, {} bytes a frame",
            self.width,
            self.height,
            self.isp,
            self.stride,
            self.frame_len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strides and frame sizes worked out from the ISP drivers' sources
    /// (/docs/DESIGN.md, "Camera modules"), at the widths the issue names.
    #[test]
    fn strides_and_frame_sizes_follow_each_isp() {
        let cases = [
            // width, Pi 4 stride, Pi 5 stride
            (640, 640, 640),
            (800, 832, 896),
            (1280, 1280, 1280),
            (1456, 1472, 1536),
            (1920, 1920, 1920),
            (2028, 2048, 2048),
        ];
        for (width, vc4, pisp) in cases {
            assert_eq!(FrameLayout::new(Isp::Vc4, width, 480).stride, vc4, "Pi 4 at {width}");
            assert_eq!(FrameLayout::new(Isp::Pisp, width, 480).stride, pisp, "Pi 5 at {width}");
        }
        // rpicam-apps issue 151: 4056x3040 on a Pi 4 came as 18677760-byte frames.
        assert_eq!(FrameLayout::new(Isp::Vc4, 4056, 3040).frame_len(), 18_677_760);
        assert_eq!(FrameLayout::new(Isp::Pisp, 800, 600).frame_len(), 806_400);
        assert_eq!(FrameLayout::new(Isp::Vc4, 1456, 1088).frame_len(), 2_402_304);
    }

    #[test]
    fn the_planes_are_where_the_isp_puts_them() {
        // 800x600 on a Pi 4: rows of 832 bytes, U at 832 * 600, V a quarter plane later.
        let planes = FrameLayout::new(Isp::Vc4, 800, 600).planes();
        assert_eq!((planes.stride, planes.chroma_stride()), (832, 416));
        assert_eq!((planes.chroma_offset(), planes.v_offset()), (499_200, 624_000));
        assert_eq!(planes.min_frame_len(), FrameLayout::new(Isp::Vc4, 800, 600).frame_len());
        assert_eq!(planes.range, YuvRange::Full);
    }

    #[test]
    fn the_isp_is_read_from_libcameras_own_lines() {
        let pi4 = "[0:01:30.8] [1869]  INFO RPI vc4.cpp:440 Registered camera /base/soc/i2c0mux/i2c@1/imx708@1a to Unicam device /dev/media0 and ISP device /dev/media2";
        let pi5 = "[0:00:01.2] [812]  INFO RPI pisp.cpp:1179 Registered camera /base/axi/pcie@120000/rp1/i2c@88000/imx708@1a to CFE device /dev/media0 and ISP device /dev/media2 using PiSP variant BCM2712_C0";
        assert_eq!(Isp::named_in(pi4), Some(Isp::Vc4));
        assert_eq!(Isp::named_in(pi5), Some(Isp::Pisp));
        assert_eq!(
            Isp::named_in("[0:00:01.1] [812]  INFO Camera camera_manager.cpp:330 libcamera v0.5.2"),
            None
        );
    }
}
