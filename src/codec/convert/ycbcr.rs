//! Planar and semi-planar Y'CbCr formats (NV12, NV21, YU12) to packed BGR through the `yuv`
//! crate (yuvutils-rs: AVX2/SSE4.1 on x86-64, NEON on aarch64, picked at run time, scalar
//! tail). Packed 4:2:2 (YUYV, UYVY) has our own one-pass kernel in `super::packed422`.
//! Slicing the planes out of one V4L2 buffer happens here; the crate checks them again.
//! Float reference: `super::reference`.

use ::yuv::{
    YuvBiPlanarImage, YuvConversionMode, YuvError, YuvPlanarImage, YuvRange as CrateRange, YuvStandardMatrix,
};

use super::error::ConvertError;
use crate::media::{Layout, PixelFormat, YuvMatrix, YuvRange};

fn range(r: YuvRange) -> CrateRange {
    match r {
        YuvRange::Limited => CrateRange::Limited,
        YuvRange::Full => CrateRange::Full,
    }
}

fn matrix(m: YuvMatrix) -> YuvStandardMatrix {
    match m {
        YuvMatrix::Bt601 => YuvStandardMatrix::Bt601,
        YuvMatrix::Bt709 => YuvStandardMatrix::Bt709,
    }
}

/// Converts one frame; `src` holds at least `layout.min_frame_len()` bytes and `dst` is
/// `width * height * 3` bytes.
pub(super) fn to_bgr(layout: &Layout, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
    let (w, h) = (layout.width, layout.height);
    let stride = layout.stride as u32;
    let dst_stride = w * 3;
    let (r, m) = (range(layout.range), matrix(layout.matrix));
    let luma_len = layout.chroma_offset();
    let kernel_error = |e: YuvError| ConvertError::Kernel { format: layout.format, message: e.to_string() };
    match layout.format {
        PixelFormat::Nv12 | PixelFormat::Nv21 => {
            let image = YuvBiPlanarImage {
                y_plane: &src[..luma_len],
                y_stride: stride,
                uv_plane: &src[luma_len..],
                uv_stride: stride,
                width: w,
                height: h,
            };
            let mode = YuvConversionMode::Balanced;
            if layout.format == PixelFormat::Nv12 {
                ::yuv::yuv_nv12_to_bgr(&image, dst, dst_stride, r, m, mode)
            } else {
                ::yuv::yuv_nv21_to_bgr(&image, dst, dst_stride, r, m, mode)
            }
        }
        PixelFormat::I420 => {
            let cstride = layout.chroma_stride() as u32;
            let image = YuvPlanarImage {
                y_plane: &src[..luma_len],
                y_stride: stride,
                u_plane: &src[luma_len..layout.v_offset()],
                u_stride: cstride,
                v_plane: &src[layout.v_offset()..],
                v_stride: cstride,
                width: w,
                height: h,
            };
            ::yuv::yuv420_to_bgr(&image, dst, dst_stride, r, m)
        }
        _ => return Err(ConvertError::Unsupported { format: layout.format }),
    }
    .map_err(kernel_error)
}

/// Converts rows `y0..y0 + rows` of a 4:2:0 frame (`y0` even, so they share chroma rows)
/// into `dst`, `rows` packed BGR rows: how a mirrored conversion goes a band at a time.
pub(super) fn rows_to_bgr(
    layout: &Layout,
    src: &[u8],
    y0: usize,
    rows: usize,
    dst: &mut [u8],
) -> Result<(), ConvertError> {
    let stride = layout.stride;
    let band = Layout { height: rows as u32, ..*layout };
    let luma = &src[y0 * stride..layout.chroma_offset()];
    let kernel_error = |e: YuvError| ConvertError::Kernel { format: layout.format, message: e.to_string() };
    let (w, h, dst_stride) = (layout.width, rows as u32, layout.width * 3);
    let (r, m) = (range(band.range), matrix(band.matrix));
    match layout.format {
        PixelFormat::Nv12 | PixelFormat::Nv21 => {
            let image = YuvBiPlanarImage {
                y_plane: luma,
                y_stride: stride as u32,
                uv_plane: &src[layout.chroma_offset() + y0 / 2 * stride..],
                uv_stride: stride as u32,
                width: w,
                height: h,
            };
            let mode = YuvConversionMode::Balanced;
            if layout.format == PixelFormat::Nv12 {
                ::yuv::yuv_nv12_to_bgr(&image, dst, dst_stride, r, m, mode)
            } else {
                ::yuv::yuv_nv21_to_bgr(&image, dst, dst_stride, r, m, mode)
            }
        }
        PixelFormat::I420 => {
            let cstride = layout.chroma_stride();
            let image = YuvPlanarImage {
                y_plane: luma,
                y_stride: stride as u32,
                u_plane: &src[layout.chroma_offset() + y0 / 2 * cstride..layout.v_offset()],
                u_stride: cstride as u32,
                v_plane: &src[layout.v_offset() + y0 / 2 * cstride..],
                v_stride: cstride as u32,
                width: w,
                height: h,
            };
            ::yuv::yuv420_to_bgr(&image, dst, dst_stride, r, m)
        }
        _ => return Err(ConvertError::Unsupported { format: layout.format }),
    }
    .map_err(kernel_error)
}
