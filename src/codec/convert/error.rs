//! Why a conversion could not run: a layout that makes no sense, a buffer of the wrong size,
//! a format without a kernel, a JPEG that does not decode.

use crate::media::PixelFormat;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{0}")]
    Layout(String),
    #[error("captured frame has {got} bytes, the {format} layout needs at least {needed}")]
    ShortInput { format: PixelFormat, got: usize, needed: usize },
    #[error("output buffer has {got} bytes, expected {expected}")]
    OutputSize { got: usize, expected: usize },
    #[error("{format} is not supported yet")]
    Unsupported { format: PixelFormat },
    #[error("bad JPEG frame: {0}")]
    Jpeg(String),
    /// A kernel refused checked input: a bug here, reported rather than panicking.
    #[error("{format} conversion failed: {message}")]
    Kernel { format: PixelFormat, message: String },
}
