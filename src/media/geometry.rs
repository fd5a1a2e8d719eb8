//! The size of a picture: width and height in pixels, and the packed BGR frame of that size
//! (what every receiver shows).

use std::fmt;

/// Largest width or height we accept from the command line or a peer (8K is 7680).
pub const MAX_DIMENSION: u32 = 8192;

/// Width and height of a stream's pictures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
}

impl Geometry {
    pub const fn new(width: u32, height: u32) -> Self {
        Geometry { width, height }
    }

    /// Bytes in one row of packed BGR (stride = width * 3).
    pub fn stride(&self) -> usize {
        self.width as usize * 3
    }

    /// Bytes in one packed BGR frame.
    pub fn frame_len(&self) -> usize {
        self.stride() * self.height as usize
    }

    /// Whether both dimensions are in `1..=MAX_DIMENSION`.
    pub fn is_valid(&self) -> bool {
        (1..=MAX_DIMENSION).contains(&self.width) && (1..=MAX_DIMENSION).contains(&self.height)
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}
