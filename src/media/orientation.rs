//! Which way up a picture is shown: `--rotate 180`, `--hflip`, `--vflip`, folded into one
//! mirror per axis (a half turn is both mirrors). Sources apply it where it is cheapest (the
//! camera's ISP or driver, else the copy or conversion a frame goes through anyway).

/// Mirrors to apply to every captured picture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Orientation {
    /// Mirror left to right.
    pub hflip: bool,
    /// Mirror top to bottom.
    pub vflip: bool,
}

impl Orientation {
    /// The picture as it comes.
    pub const UPRIGHT: Orientation = Orientation { hflip: false, vflip: false };

    /// `--rotate` (0 or 180) combined with `--hflip` and `--vflip`.
    pub fn new(rotate_180: bool, hflip: bool, vflip: bool) -> Orientation {
        Orientation { hflip: hflip ^ rotate_180, vflip: vflip ^ rotate_180 }
    }

    pub fn is_upright(self) -> bool {
        self == Orientation::UPRIGHT
    }

    /// Where pixel (`x`, `y`) of a `width` x `height` picture comes from.
    pub fn source_of(self, x: usize, y: usize, width: usize, height: usize) -> (usize, usize) {
        (if self.hflip { width - 1 - x } else { x }, if self.vflip { height - 1 - y } else { y })
    }
}

impl std::fmt::Display for Orientation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.hflip, self.vflip) {
            (false, false) => "upright",
            (true, true) => "rotated 180°",
            (true, false) => "mirrored left to right",
            (false, true) => "mirrored top to bottom",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_turn_is_both_mirrors_and_mirrors_cancel_it() {
        assert_eq!(Orientation::new(true, false, false), Orientation { hflip: true, vflip: true });
        assert_eq!(Orientation::new(true, true, false), Orientation { hflip: false, vflip: true });
        assert!(Orientation::new(true, true, true).is_upright());
        assert_eq!(Orientation::new(true, false, false).source_of(0, 0, 4, 3), (3, 2));
    }
}
