//! Which instruction set our own kernels (packed 4:2:2, RGB24 swap) run on: detected once
//! per process, and selectable by hand so tests and the selftest can run every path this
//! CPU has against the scalar reference.

use std::sync::OnceLock;

/// An instruction set one of our kernels has a path for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Plain Rust fixed point (also the row tail of every SIMD path).
    Scalar,
    /// x86-64 SSSE3 (`pshufb`, `pmulhrsw`), 16 pixels a step.
    Ssse3,
    /// x86-64 AVX2, 32 pixels a step.
    Avx2,
    /// aarch64 NEON (baseline there), 32 pixels a step.
    Neon,
}

impl Isa {
    /// Every path this CPU can run, scalar first, fastest last.
    pub fn available() -> Vec<Isa> {
        let mut out = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("ssse3") {
                out.push(Isa::Ssse3);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                out.push(Isa::Avx2);
            }
        }
        #[cfg(target_arch = "aarch64")]
        out.push(Isa::Neon);
        out
    }

    /// The fastest path this CPU has, detected on first use.
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| *Isa::available().last().unwrap_or(&Isa::Scalar))
    }

    pub fn is_available(self) -> bool {
        Isa::available().contains(&self)
    }
}
