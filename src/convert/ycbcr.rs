//! Y'CbCr formats (YUYV, UYVY, NV12, NV21, YU12) to packed BGR through the `yuv` crate
//! (yuvutils-rs: AVX2/SSE4.1 on x86-64, NEON on aarch64, picked at run time, scalar tail).
//! Slicing the planes out of one V4L2 buffer happens here; the crate checks them again.
//! Float reference: `super::reference`.

use ::yuv::{
    BufferStoreMut, YuvBiPlanarImage, YuvConversionMode, YuvError, YuvPackedImage, YuvPlanarImage,
    YuvPlanarImageMut, YuvRange as CrateRange, YuvStandardMatrix,
};

use super::{ConvertError, InputFormat, InputLayout, YuvMatrix, YuvRange};

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

/// Rows of YUYV/UYVY split into planes at a time: small enough to stay in L1/L2 between
/// the two passes.
pub(super) const STRIP_ROWS: usize = 16;

/// Bytes of planar scratch [`to_bgr`] needs for a YUYV/UYVY layout (0 for other formats).
pub(super) fn planes_len(layout: &InputLayout) -> usize {
    match layout.format {
        InputFormat::Yuyv | InputFormat::Uyvy => {
            let (w, h) = (layout.width as usize, (layout.height as usize).min(STRIP_ROWS));
            (w + 2 * w.div_ceil(2)) * h
        }
        _ => 0,
    }
}

/// YUYV/UYVY in strips of [`STRIP_ROWS`]: the crate splits the strip into planar 4:2:2,
/// then its planar kernel converts it. Two passes, because the crate's direct packed
/// kernel works at lower precision (off by 3 from the float reference in limited range,
/// for ~0.5% of BT.709 samples) and its scalar row tail does not clamp footroom luma as its
/// SIMD body does; the planar kernel stays within 1 everywhere.
fn packed422(
    layout: &InputLayout,
    src: &[u8],
    dst: &mut [u8],
    planes: &mut [u8],
) -> Result<(), ConvertError> {
    let (w, h) = (layout.width as usize, layout.height as usize);
    let cw = w.div_ceil(2);
    let (r, m) = (range(layout.range), matrix(layout.matrix));
    let kernel_error = |e: YuvError| ConvertError::Kernel { format: layout.format, message: e.to_string() };
    for top in (0..h).step_by(STRIP_ROWS) {
        let rows = STRIP_ROWS.min(h - top);
        let (y_plane, chroma) = planes.split_at_mut(w * rows);
        let (u_plane, rest) = chroma.split_at_mut(cw * rows);
        let v_plane = &mut rest[..cw * rows];
        let packed = YuvPackedImage {
            yuy: &src[top * layout.stride..(top + rows) * layout.stride],
            yuy_stride: layout.stride as u32,
            width: w as u32,
            height: rows as u32,
        };
        let mut planar = YuvPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(y_plane),
            y_stride: w as u32,
            u_plane: BufferStoreMut::Borrowed(u_plane),
            u_stride: cw as u32,
            v_plane: BufferStoreMut::Borrowed(v_plane),
            v_stride: cw as u32,
            width: w as u32,
            height: rows as u32,
        };
        if layout.format == InputFormat::Yuyv {
            ::yuv::yuyv422_to_yuv422(&mut planar, &packed)
        } else {
            ::yuv::uyvy422_to_yuv422(&mut planar, &packed)
        }
        .map_err(kernel_error)?;
        let image = YuvPlanarImage {
            y_plane: planar.y_plane.borrow(),
            y_stride: w as u32,
            u_plane: planar.u_plane.borrow(),
            u_stride: cw as u32,
            v_plane: planar.v_plane.borrow(),
            v_stride: cw as u32,
            width: w as u32,
            height: rows as u32,
        };
        let out = &mut dst[top * w * 3..(top + rows) * w * 3];
        ::yuv::yuv422_to_bgr(&image, out, w as u32 * 3, r, m).map_err(kernel_error)?;
    }
    Ok(())
}

/// Converts one frame; `src` holds at least `layout.min_frame_len()` bytes and `dst` is
/// `width * height * 3` bytes.
pub(super) fn to_bgr(
    layout: &InputLayout,
    src: &[u8],
    dst: &mut [u8],
    planes: &mut [u8],
) -> Result<(), ConvertError> {
    let (w, h) = (layout.width, layout.height);
    let stride = layout.stride as u32;
    let dst_stride = w * 3;
    let (r, m) = (range(layout.range), matrix(layout.matrix));
    let luma_len = layout.chroma_offset();
    let kernel_error = |e: YuvError| ConvertError::Kernel { format: layout.format, message: e.to_string() };
    match layout.format {
        InputFormat::Yuyv | InputFormat::Uyvy => return packed422(layout, src, dst, planes),
        InputFormat::Nv12 | InputFormat::Nv21 => {
            let image = YuvBiPlanarImage {
                y_plane: &src[..luma_len],
                y_stride: stride,
                uv_plane: &src[luma_len..],
                uv_stride: stride,
                width: w,
                height: h,
            };
            let mode = YuvConversionMode::Balanced;
            if layout.format == InputFormat::Nv12 {
                ::yuv::yuv_nv12_to_bgr(&image, dst, dst_stride, r, m, mode)
            } else {
                ::yuv::yuv_nv21_to_bgr(&image, dst, dst_stride, r, m, mode)
            }
        }
        InputFormat::Yu12 => {
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
