//! Which instruction set our own kernels (packed 4:2:2, RGB24 swap, GREY expansion) run on.
//!
//! An [`Isa`] is a token that only CPU detection hands out ([`Isa::best`],
//! [`Isa::available`]) or that names the scalar path ([`Isa::scalar`], valid everywhere):
//! holding one proves this CPU can run its kernels, so the safe kernel entry points can
//! call `#[target_feature]` code on its word. Tests and the selftest run every path in
//! [`Isa::available`] against the scalar reference.
//!
//! ```
//! use pistream::codec::convert::Isa;
//! assert_eq!(Isa::available()[0], Isa::scalar());
//! assert!(Isa::available().contains(&Isa::best()));
//! ```
//!
//! There is no other way to make one, so a caller cannot claim AVX2 on a CPU without it:
//!
//! ```compile_fail,E0599
//! let avx2 = pistream::codec::convert::Isa::Avx2;
//! ```

use std::fmt;
use std::sync::OnceLock;

/// An instruction set this CPU has, as detected (or the scalar path, which every CPU has).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Isa(Kind);

/// The paths our kernels have. Private to the crate, and [`Isa`]'s field private to this
/// module, so an `Isa` holding a SIMD kind can only come from detection below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// Plain Rust fixed point (also the row tail of every SIMD path).
    Scalar,
    /// x86-64 SSSE3 (`pshufb`, `pmulhrsw`), 16 pixels a step.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Ssse3,
    /// x86-64 AVX2, 32 pixels a step.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    /// aarch64 NEON (baseline there), 32 pixels a step.
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    Neon,
}

impl Isa {
    /// The plain Rust path, which every CPU runs.
    pub const fn scalar() -> Isa {
        Isa(Kind::Scalar)
    }

    /// Every path this CPU can run, scalar first, fastest last.
    pub fn available() -> Vec<Isa> {
        let mut out = vec![Isa(Kind::Scalar)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("ssse3") {
                out.push(Isa(Kind::Ssse3));
            }
            // Every AVX2 CPU has SSSE3; the RGB24 and GREY kernels rely on that.
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("ssse3") {
                out.push(Isa(Kind::Avx2));
            }
        }
        #[cfg(target_arch = "aarch64")]
        out.push(Isa(Kind::Neon));
        out
    }

    /// The fastest path this CPU has, detected on first use.
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| *Isa::available().last().unwrap_or(&Isa::scalar()))
    }

    /// Which path this is, for the kernels' dispatch.
    pub(crate) fn kind(self) -> Kind {
        self.0
    }

    /// The name used in selftest lines and test messages: `Scalar`, `Ssse3`, `Avx2`, `Neon`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Kind::Scalar => "Scalar",
            Kind::Ssse3 => "Ssse3",
            Kind::Avx2 => "Avx2",
            Kind::Neon => "Neon",
        }
    }
}

impl fmt::Debug for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
