//! JPEG through libjpeg-turbo's TurboJPEG API (`ffi.rs`): [`Encoder`] turns a packed BGR
//! frame into a baseline 4:2:0 JPEG in a caller's reused buffer; [`Decoder`] turns a JPEG
//! into the caller's BGR buffer. Neither allocates on the Rust side, errors included (the
//! library itself keeps per-image memory pools).
//!
//! Chosen by measurement (the figures: BENCHMARKS.md, "Measurements behind choices in the
//! code"): faster than the `jpeg-encoder` crate and OpenCV's `imencode`, and than
//! `zune-jpeg` at decoding, and the only decoder that both fills in the standard Huffman
//! tables of MJPEG frames that omit them and reports a frame cut short.

mod ffi;
mod huffman;

pub use huffman::{has_huffman_tables, with_standard_huffman_tables};

use std::ffi::{c_int, c_ulong, CStr};
use std::fmt;

use crate::codec::convert::convert_range;
use crate::media::{Geometry, YuvRange};

/// A TurboJPEG error, its message copied into a fixed buffer (no allocation).
#[derive(Clone, Copy)]
pub struct JpegError {
    /// A warning (the picture was written whole but may be damaged, e.g. "Premature end
    /// of JPEG file") rather than a fatal error (the picture was not written).
    pub warning: bool,
    text: [u8; 112],
    len: u8,
}

impl JpegError {
    fn new(warning: bool, message: &[u8]) -> Self {
        let mut error = JpegError { warning, text: [0; 112], len: 0 };
        let n = message.len().min(error.text.len());
        error.text[..n].copy_from_slice(&message[..n]);
        error.len = n as u8;
        error
    }

    /// The library's last error on `handle`.
    ///
    /// # Safety
    /// `handle` is a live TurboJPEG handle.
    unsafe fn last(handle: ffi::tjhandle) -> Self {
        // SAFETY: the caller guarantees a live handle; the library returns a pointer to a
        // NUL-terminated string it owns, valid until the next call on this handle, and we
        // copy it before returning.
        let (code, text) =
            unsafe { (ffi::tjGetErrorCode(handle), CStr::from_ptr(ffi::tjGetErrorStr2(handle))) };
        JpegError::new(code == ffi::TJERR_WARNING, text.to_bytes())
    }

    /// An error of pistream's own (not the library's).
    pub fn other(message: &str) -> Self {
        JpegError::new(false, message.as_bytes())
    }

    pub fn message(&self) -> &str {
        std::str::from_utf8(&self.text[..self.len as usize]).unwrap_or("(not UTF-8)")
    }
}

impl fmt::Display for JpegError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl fmt::Debug for JpegError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), if self.warning { "warning" } else { "fatal" })
    }
}

impl std::error::Error for JpegError {}

impl From<JpegError> for std::io::Error {
    fn from(e: JpegError) -> Self {
        std::io::Error::other(e)
    }
}

/// A TurboJPEG handle, freed on drop. A handle may move between threads but not be used
/// by two at once (hence `Send`, not `Sync`).
struct Handle(ffi::tjhandle);

// SAFETY: a TurboJPEG handle is a plain heap object with no thread affinity; `&mut self`
// on every use keeps it from being used by two threads at once.
unsafe impl Send for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from tjInit* and is destroyed exactly once, here.
        unsafe { ffi::tjDestroy(self.0) };
    }
}

fn dimension(value: u32) -> c_int {
    value.min(c_int::MAX as u32) as c_int
}

/// Encodes packed BGR frames, or a camera's Y'CbCr planes.
pub struct Encoder(Handle);

impl Encoder {
    pub fn new() -> Result<Self, JpegError> {
        // SAFETY: no arguments; a null result is handled.
        let handle = unsafe { ffi::tjInitCompress() };
        if handle.is_null() {
            return Err(JpegError::new(false, b"libjpeg-turbo could not start an encoder"));
        }
        Ok(Encoder(Handle(handle)))
    }

    /// The longest JPEG a frame of `geometry` can take (4:2:0): the output buffer's size.
    pub fn max_len(geometry: Geometry) -> usize {
        // SAFETY: a pure function of its arguments.
        unsafe {
            ffi::tjBufSize(dimension(geometry.width), dimension(geometry.height), ffi::TJSAMP_420) as usize
        }
    }

    /// Encodes tight I420 planes of `geometry` (BT.601) in `range` (limited: Y' 16..235,
    /// Cb/Cr 16..240, as UVC webcams and V4L2's defaults send them; full: rpicam-vid's sYCC)
    /// at `quality` into `out` (at least [`Encoder::max_len`] bytes); returns the JPEG's
    /// length. Limited-range planes are expanded to JPEG's full range in place first.
    /// Straight from the planes, libjpeg skips its own colour conversion and downsampling,
    /// and the capture skips making BGR (the VM rig's µStreamer benchmark, BENCHMARKS.md).
    pub fn encode_i420(
        &mut self,
        i420: &mut [u8],
        geometry: Geometry,
        range: YuvRange,
        quality: u8,
        out: &mut [u8],
    ) -> Result<usize, JpegError> {
        let (w, h) = (geometry.width as usize, geometry.height as usize);
        let luma = w * h;
        let planes_len = luma + 2 * w.div_ceil(2) * h.div_ceil(2);
        if i420.len() < planes_len || out.len() < Self::max_len(geometry) {
            return Err(JpegError::new(false, b"buffer too small for the frame"));
        }
        convert_range(&mut i420[..planes_len], luma, range, YuvRange::Full);
        let mut pointer = out.as_mut_ptr();
        let mut size = out.len() as c_ulong;
        // SAFETY: `i420` holds the three tight planes of width x height (checked above; pad 1
        // means no row padding); `out` holds tjBufSize bytes (checked above), and
        // TJFLAG_NOREALLOC makes the library write into it instead of reallocating it.
        let status = unsafe {
            ffi::tjCompressFromYUV(
                self.0 .0,
                i420.as_ptr(),
                dimension(geometry.width),
                1,
                dimension(geometry.height),
                ffi::TJSAMP_420,
                &mut pointer,
                &mut size,
                c_int::from(quality.clamp(1, 100)),
                ffi::TJFLAG_NOREALLOC,
            )
        };
        if status != 0 {
            // SAFETY: our live handle.
            return Err(unsafe { JpegError::last(self.0 .0) });
        }
        Ok(size as usize)
    }

    /// Encodes `bgr` (packed rows of `geometry`) at `quality` (1..=100) into `out`, which
    /// must hold at least [`Encoder::max_len`] bytes; returns the JPEG's length.
    pub fn encode(
        &mut self,
        bgr: &[u8],
        geometry: Geometry,
        quality: u8,
        out: &mut [u8],
    ) -> Result<usize, JpegError> {
        if bgr.len() < geometry.frame_len() || out.len() < Self::max_len(geometry) {
            return Err(JpegError::new(false, b"buffer too small for the frame"));
        }
        let mut pointer = out.as_mut_ptr();
        let mut size = out.len() as c_ulong;
        // SAFETY: `bgr` holds width * height * 3 bytes (checked above) read with a pitch of
        // width * 3; `out` holds tjBufSize bytes (checked above), and TJFLAG_NOREALLOC makes
        // the library write into it instead of reallocating it.
        let status = unsafe {
            ffi::tjCompress2(
                self.0 .0,
                bgr.as_ptr(),
                dimension(geometry.width),
                dimension(geometry.width * 3),
                dimension(geometry.height),
                ffi::TJPF_BGR,
                &mut pointer,
                &mut size,
                ffi::TJSAMP_420,
                c_int::from(quality.clamp(1, 100)),
                ffi::TJFLAG_NOREALLOC,
            )
        };
        if status != 0 {
            // SAFETY: our live handle.
            return Err(unsafe { JpegError::last(self.0 .0) });
        }
        Ok(size as usize)
    }
}

/// Decodes JPEGs into packed BGR.
pub struct Decoder(Handle);

/// What a JPEG's header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JpegHeader {
    pub width: u32,
    pub height: u32,
}

impl Decoder {
    pub fn new() -> Result<Self, JpegError> {
        // SAFETY: no arguments; a null result is handled.
        let handle = unsafe { ffi::tjInitDecompress() };
        if handle.is_null() {
            return Err(JpegError::new(false, b"libjpeg-turbo could not start a decoder"));
        }
        Ok(Decoder(Handle(handle)))
    }

    /// Reads the size from a JPEG's header.
    pub fn header(&mut self, jpeg: &[u8]) -> Result<JpegHeader, JpegError> {
        let result = self.read_header(jpeg);
        self.recover(result)
    }

    /// After an error (not a warning), a fresh handle: libjpeg keeps tables and marker
    /// state from one image to the next, so a damaged frame could make later good ones
    /// fail ("Bogus Huffman table definition" after random damage, in
    /// tests/library/convert.rs). Errors are rare; the new handle's allocation with them.
    fn recover<T>(&mut self, result: Result<T, JpegError>) -> Result<T, JpegError> {
        if let Err(e) = &result {
            if !e.warning {
                if let Ok(fresh) = Decoder::new() {
                    *self = fresh;
                }
            }
        }
        result
    }

    fn read_header(&mut self, jpeg: &[u8]) -> Result<JpegHeader, JpegError> {
        let (mut width, mut height, mut subsampling, mut colorspace) = (0, 0, 0, 0);
        // SAFETY: `jpeg` is a valid slice of the given length; the outputs are locals.
        let status = unsafe {
            ffi::tjDecompressHeader3(
                self.0 .0,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                &mut width,
                &mut height,
                &mut subsampling,
                &mut colorspace,
            )
        };
        if status != 0 || width <= 0 || height <= 0 {
            // SAFETY: our live handle.
            return Err(unsafe { JpegError::last(self.0 .0) });
        }
        Ok(JpegHeader { width: width as u32, height: height as u32 })
    }

    /// Decodes `jpeg`, whose size must be `geometry`'s, into `bgr` (`geometry.frame_len()`
    /// bytes). A warning (a frame cut short, stray bytes) comes back as an error with
    /// `warning` set: the picture was written whole, but may be damaged.
    pub fn decode(&mut self, jpeg: &[u8], geometry: Geometry, bgr: &mut [u8]) -> Result<(), JpegError> {
        let result = self.decode_once(jpeg, geometry, bgr);
        self.recover(result)
    }

    fn decode_once(&mut self, jpeg: &[u8], geometry: Geometry, bgr: &mut [u8]) -> Result<(), JpegError> {
        let header = self.read_header(jpeg)?;
        if (header.width, header.height) != (geometry.width, geometry.height) {
            return Err(JpegError::new(false, b"the JPEG's size differs from the frame's"));
        }
        if bgr.len() < geometry.frame_len() {
            return Err(JpegError::new(false, b"output buffer too small for the frame"));
        }
        // SAFETY: `bgr` holds width * height * 3 bytes (checked above), written with a
        // pitch of width * 3; the header says the image is exactly width x height.
        let status = unsafe {
            ffi::tjDecompress2(
                self.0 .0,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                bgr.as_mut_ptr(),
                dimension(geometry.width),
                dimension(geometry.width * 3),
                dimension(geometry.height),
                ffi::TJPF_BGR,
                0,
            )
        };
        if status != 0 {
            // SAFETY: our live handle.
            return Err(unsafe { JpegError::last(self.0 .0) });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::pattern;

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
    }

    #[test]
    fn a_frame_round_trips_within_jpeg_tolerance() {
        let g = Geometry::new(640, 480);
        let mut bgr = vec![0u8; g.frame_len()];
        pattern::fill(&mut bgr, g, 3);
        let mut jpeg = vec![0u8; Encoder::max_len(g)];
        let len = Encoder::new().unwrap().encode(&bgr, g, 90, &mut jpeg).unwrap();
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        assert!(len < g.frame_len() / 4, "{len} bytes");
        let mut back = vec![0u8; g.frame_len()];
        let mut decoder = Decoder::new().unwrap();
        assert_eq!(decoder.header(&jpeg[..len]).unwrap(), JpegHeader { width: 640, height: 480 });
        decoder.decode(&jpeg[..len], g, &mut back).unwrap();
        // The pattern's XOR texture is a hard case for JPEG; smooth pictures do far better.
        assert!(psnr(&bgr, &back) > 20.0, "{}", psnr(&bgr, &back));
    }

    #[test]
    fn limited_range_planes_encode_to_the_same_picture_as_the_bgr_they_came_from() {
        let g = Geometry::new(640, 480);
        let mut bgr = vec![0u8; g.frame_len()];
        pattern::fill(&mut bgr, g, 5);
        let mut i420 = vec![0u8; crate::media::PixelFormat::I420.tight_len(640, 480).unwrap()];
        // BT.601 limited range, as a webcam sends it.
        crate::codec::convert::encode::bgr_to(crate::media::PixelFormat::I420, 640, 480, &bgr, &mut i420);
        assert!(i420.iter().all(|&v| (16..=240).contains(&v)), "limited range in");
        let mut encoder = Encoder::new().unwrap();
        let mut from_planes = vec![0u8; Encoder::max_len(g)];
        let mut full = i420.clone();
        let len = encoder.encode_i420(&mut i420, g, YuvRange::Limited, 90, &mut from_planes).unwrap();
        let mut from_bgr = vec![0u8; Encoder::max_len(g)];
        let bgr_len = encoder.encode(&bgr, g, 90, &mut from_bgr).unwrap();
        let mut decoder = Decoder::new().unwrap();
        let (mut a, mut b) = (vec![0u8; g.frame_len()], vec![0u8; g.frame_len()]);
        decoder.decode(&from_planes[..len], g, &mut a).unwrap();
        decoder.decode(&from_bgr[..bgr_len], g, &mut b).unwrap();
        // Without the range expansion the picture is washed out: 28.6 dB against BGR.
        assert!(psnr(&a, &b) > 30.0, "planes vs BGR: {:.1} dB", psnr(&a, &b));
        assert!(psnr(&bgr, &a) > 20.0, "planes vs the source: {:.1} dB", psnr(&bgr, &a));
        // The same planes in full range (as rpicam-vid sends them) go in as they are.
        convert_range(&mut full, 640 * 480, YuvRange::Limited, YuvRange::Full);
        let len = encoder.encode_i420(&mut full, g, YuvRange::Full, 90, &mut from_planes).unwrap();
        decoder.decode(&from_planes[..len], g, &mut a).unwrap();
        assert!(psnr(&a, &b) > 30.0, "full-range planes vs BGR: {:.1} dB", psnr(&a, &b));
    }

    #[test]
    fn damaged_jpegs_are_errors_and_a_cut_one_is_a_warning() {
        let g = Geometry::new(64, 48);
        let bgr = vec![128u8; g.frame_len()];
        let mut jpeg = vec![0u8; Encoder::max_len(g)];
        let len = Encoder::new().unwrap().encode(&bgr, g, 80, &mut jpeg).unwrap();
        let mut decoder = Decoder::new().unwrap();
        let mut out = vec![0u8; g.frame_len()];
        let cut = decoder.decode(&jpeg[..len * 3 / 4], g, &mut out).unwrap_err();
        assert!(cut.warning, "{cut:?}");
        let garbage = decoder.decode(&[0xff, 0xd8, 0xff, 0xc0, 1, 2, 3], g, &mut out).unwrap_err();
        assert!(!garbage.warning, "{garbage:?}");
        assert!(decoder.decode(&jpeg[..len], Geometry::new(65, 48), &mut out).is_err(), "wrong size");
    }
}
