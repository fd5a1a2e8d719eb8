//! The TurboJPEG 2.x C API (turbojpeg.h of libjpeg-turbo 2.1.5, Debian bookworm), only the
//! calls pistream makes. Our own declarations rather than a crate: the `turbojpeg` crate's
//! current versions need libjpeg-turbo 3.x (built from source with CMake and NASM), and its
//! 2.x-compatible version turns every error into an allocated `String` and cannot tell a
//! warning (a damaged but complete picture) from a fatal error.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uchar, c_ulong, c_void};

pub(super) type tjhandle = *mut c_void;

/// Chrominance subsampling (enum TJSAMP).
pub(super) const TJSAMP_420: c_int = 2;
/// Pixel formats (enum TJPF).
pub(super) const TJPF_BGR: c_int = 1;
/// Flags.
pub(super) const TJFLAG_NOREALLOC: c_int = 1024;
/// Error kinds (enum TJERR).
pub(super) const TJERR_WARNING: c_int = 0;

extern "C" {
    pub(super) fn tjInitCompress() -> tjhandle;
    pub(super) fn tjInitDecompress() -> tjhandle;
    pub(super) fn tjDestroy(handle: tjhandle) -> c_int;
    pub(super) fn tjBufSize(width: c_int, height: c_int, jpeg_subsamp: c_int) -> c_ulong;
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tjCompress2(
        handle: tjhandle,
        src_buf: *const c_uchar,
        width: c_int,
        pitch: c_int,
        height: c_int,
        pixel_format: c_int,
        jpeg_buf: *mut *mut c_uchar,
        jpeg_size: *mut c_ulong,
        jpeg_subsamp: c_int,
        jpeg_qual: c_int,
        flags: c_int,
    ) -> c_int;
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tjCompressFromYUV(
        handle: tjhandle,
        src_buf: *const c_uchar,
        width: c_int,
        pad: c_int,
        height: c_int,
        subsamp: c_int,
        jpeg_buf: *mut *mut c_uchar,
        jpeg_size: *mut c_ulong,
        jpeg_qual: c_int,
        flags: c_int,
    ) -> c_int;
    pub(super) fn tjDecompressHeader3(
        handle: tjhandle,
        jpeg_buf: *const c_uchar,
        jpeg_size: c_ulong,
        width: *mut c_int,
        height: *mut c_int,
        jpeg_subsamp: *mut c_int,
        jpeg_colorspace: *mut c_int,
    ) -> c_int;
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tjDecompress2(
        handle: tjhandle,
        jpeg_buf: *const c_uchar,
        jpeg_size: c_ulong,
        dst_buf: *mut c_uchar,
        width: c_int,
        pitch: c_int,
        height: c_int,
        pixel_format: c_int,
        flags: c_int,
    ) -> c_int;
    pub(super) fn tjGetErrorStr2(handle: tjhandle) -> *mut c_char;
    pub(super) fn tjGetErrorCode(handle: tjhandle) -> c_int;
}
