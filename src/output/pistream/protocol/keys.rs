//! Key material for keyed sessions (`--key-file`): the pre-shared key derived from a key
//! file's bytes, and the AEAD ciphers a side can run.
//!
//! The PSK is `HKDF-SHA256(salt = "pistream psk v2", ikm = key file bytes)` expanded to 32
//! bytes with info "noise NNpsk0", so a key file of any length (a passphrase, 32 random
//! bytes, their hex) gives a full-strength, uniformly distributed Noise PSK.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// HKDF salt and info of the PSK derivation (docs/PROTOCOL.md §6).
pub const PSK_SALT: &[u8] = b"pistream psk v2";
pub const PSK_INFO: &[u8] = b"noise NNpsk0";

/// The 32-byte Noise pre-shared key. Wiped from memory when dropped; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Psk([u8; 32]);

impl Psk {
    /// Derives the PSK from a key file's bytes; `None` for an empty key.
    pub fn derive(key_file_bytes: &[u8]) -> Option<Psk> {
        if key_file_bytes.is_empty() {
            return None;
        }
        let mut psk = [0u8; 32];
        Hkdf::<Sha256>::new(Some(PSK_SALT), key_file_bytes)
            .expand(PSK_INFO, &mut psk)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Some(Psk(psk))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for Psk {
    /// Constant-time: compares every byte whatever the first difference.
    fn eq(&self, other: &Self) -> bool {
        self.0.iter().zip(&other.0).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl Eq for Psk {}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Psk(..)")
    }
}

/// An AEAD a keyed session can run: the Noise handshake's cipher and the records'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// ChaCha20-Poly1305: fast in software everywhere (a Pi 4's Cortex-A72 has no AES
    /// instructions).
    ChaChaPoly,
    /// AES-256-GCM: faster where the CPU has AES and carry-less multiply instructions
    /// (x86-64 AES-NI + PCLMULQDQ, ARMv8 crypto extensions as on a Pi 5).
    AesGcm,
}

impl Cipher {
    fn bit(self) -> u8 {
        match self {
            Cipher::ChaChaPoly => 1,
            Cipher::AesGcm => 2,
        }
    }

    /// The Noise protocol name for an NNpsk0 handshake with this cipher.
    pub fn noise_params(self) -> &'static str {
        match self {
            Cipher::ChaChaPoly => "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
            Cipher::AesGcm => "Noise_NNpsk0_25519_AESGCM_SHA256",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cipher::ChaChaPoly => "ChaCha20-Poly1305",
            Cipher::AesGcm => "AES-256-GCM",
        }
    }
}

/// The ciphers a keyed side offers in its hello: ChaCha20-Poly1305 always, AES-256-GCM
/// when its CPU runs it in hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CipherSet(u8);

impl CipherSet {
    pub fn of(ciphers: &[Cipher]) -> Self {
        CipherSet(ciphers.iter().fold(Cipher::ChaChaPoly.bit(), |bits, c| bits | c.bit()))
    }

    /// What this machine offers: AES-256-GCM only where the CPU has AES instructions.
    pub fn this_cpu() -> Self {
        if hardware_aes() {
            CipherSet::of(&[Cipher::ChaChaPoly, Cipher::AesGcm])
        } else {
            CipherSet::of(&[Cipher::ChaChaPoly])
        }
    }

    /// A hello's cipher byte, if valid for a keyed side (bit 0 set, only bits 0 and 1).
    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits & 1 == 1 && bits & !0b11 == 0).then_some(CipherSet(bits))
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn contains(self, cipher: Cipher) -> bool {
        self.0 & cipher.bit() != 0
    }

    /// The cipher two keyed sides use: AES-256-GCM when both run it in hardware, else
    /// ChaCha20-Poly1305. Both sides compute the same answer from the two hellos.
    pub fn choose(self, other: CipherSet) -> Cipher {
        if self.contains(Cipher::AesGcm) && other.contains(Cipher::AesGcm) {
            Cipher::AesGcm
        } else {
            Cipher::ChaChaPoly
        }
    }
}

/// Whether this CPU has the instructions that make AES-GCM fast (and constant-time).
pub fn hardware_aes() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes") && std::arch::is_aarch64_feature_detected!("pmull")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psk_depends_on_every_byte_and_empty_is_refused() {
        let a = Psk::derive(b"correct horse battery staple").unwrap();
        let b = Psk::derive(b"correct horse battery stapla").unwrap();
        assert_ne!(a.bytes(), b.bytes());
        assert_eq!(a.bytes(), Psk::derive(b"correct horse battery staple").unwrap().bytes());
        assert!(Psk::derive(b"").is_none());
        assert_eq!(format!("{a:?}"), "Psk(..)", "the key is never printed");
    }

    #[test]
    fn aes_only_when_both_sides_run_it_in_hardware() {
        let both = CipherSet::of(&[Cipher::AesGcm]);
        let chacha = CipherSet::of(&[]);
        assert!(both.contains(Cipher::ChaChaPoly), "ChaCha20-Poly1305 is always offered");
        assert_eq!(both.choose(both), Cipher::AesGcm);
        assert_eq!(both.choose(chacha), Cipher::ChaChaPoly);
        assert_eq!(chacha.choose(both), Cipher::ChaChaPoly);
        assert_eq!(CipherSet::from_bits(0b10), None, "ChaCha20-Poly1305 must be offered");
        assert_eq!(CipherSet::from_bits(0b101), None);
    }
}
