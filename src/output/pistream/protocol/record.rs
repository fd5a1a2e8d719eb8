//! The encrypted transport of a keyed session: after the Noise handshake every message
//! (header, body, heartbeat, bye) travels as AEAD records under the handshake's split keys.
//!
//! ```text
//! message  = sealed header, then the body's records
//! sealed header = 24-byte header encrypted, then its 16-byte tag      (40 bytes)
//! body     = ceil(len / RECORD_MAX) records, each: up to RECORD_MAX bytes encrypted, 16-byte tag
//! nonce    = 4 zero bytes || 64-bit big-endian record counter, one counter per direction,
//!            starting at 0 and counting every record (headers and body records alike)
//! ```
//! A header's body length, once decrypted and validated, says how many body records
//! follow, so records need no length field of their own. Counters never repeat (a
//! direction that would exceed 2^64 - 1 records fails instead), each direction has its own
//! key, and a record that fails to authenticate ends the session: the receiver
//! decrypts in place, in the buffer the frame would be shown from, and shows nothing of a
//! record that did not authenticate.
//!
//! This layer uses the Noise handshake's split keys with our own records instead of snow's
//! transport messages, which are limited to 64 KiB and decrypt into a second buffer:
//! records of up to [`RECORD_MAX`] bytes with detached tags let the receiver decrypt in
//! place in the frame buffer (no copy) and make 15x fewer AEAD calls per 640x480 frame.

use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM, CHACHA20_POLY1305};
use zeroize::Zeroize;

use super::error::RecordError;
use super::header::HEADER_LEN;
use super::keys::Cipher;

/// Bytes of an AEAD tag.
pub const TAG_LEN: usize = 16;
/// Most plaintext bytes in one body record.
pub const RECORD_MAX: usize = 256 * 1024;
/// A sealed header on the wire.
pub const SEALED_HEADER_LEN: usize = HEADER_LEN + TAG_LEN;

/// How many records a body of `len` bytes takes (0 for an empty body).
pub fn record_count(len: usize) -> usize {
    len.div_ceil(RECORD_MAX)
}

/// Wire bytes of a sealed body of `len` plaintext bytes.
pub fn sealed_body_len(len: usize) -> usize {
    len + record_count(len) * TAG_LEN
}

/// One direction's AEAD key (ring: BoringSSL's assembly, AES-NI/VAES or NEON).
struct Aead(LessSafeKey);

impl Aead {
    fn new(cipher: Cipher, key: &[u8; 32]) -> Self {
        let algorithm = match cipher {
            Cipher::ChaChaPoly => &CHACHA20_POLY1305,
            Cipher::AesGcm => &AES_256_GCM,
        };
        Aead(LessSafeKey::new(UnboundKey::new(algorithm, key).expect("32-byte keys fit both AEADs")))
    }

    fn seal(&self, nonce: &[u8; 12], data: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self.0.seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::empty(), data);
        // Fails only for plaintexts beyond the AEAD's limit (GiBs); records are 256 KiB.
        let tag = tag.expect("a record is far below the AEAD's length limit");
        tag.as_ref().try_into().expect("16-byte tags")
    }

    fn open(&self, nonce: &[u8; 12], data: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
        self.0
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key(*nonce),
                Aad::empty(),
                Tag::from(*tag),
                data,
                0..,
            )
            .is_ok()
    }
}

/// The AEADs against published test vectors, through the same library calls the records
/// make: RFC 8439 §2.8.2 (ChaCha20-Poly1305) and McGrew-Viega test case 16 (AES-256-GCM).
/// Each must seal the plaintext into the published ciphertext and tag, open it back, and
/// refuse it with one bit of the tag flipped. For `pistream selftest` on every machine.
pub fn known_answer_tests() -> [(&'static str, bool); 2] {
    fn check(
        cipher: Cipher,
        key: &str,
        nonce: &str,
        aad: &str,
        plain: &[u8],
        cipher_text: &str,
        tag: &str,
    ) -> bool {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0)).collect()
        };
        let (Ok(key), Ok(nonce)) = (<[u8; 32]>::try_from(hex(key)), <[u8; 12]>::try_from(hex(nonce))) else {
            return false;
        };
        let aead = Aead::new(cipher, &key).0;
        let mut data = plain.to_vec();
        let nonce = || Nonce::assume_unique_for_key(nonce);
        let Ok(sealed_tag) = aead.seal_in_place_separate_tag(nonce(), Aad::from(hex(aad)), &mut data) else {
            return false;
        };
        let sealed_right = data == hex(cipher_text) && sealed_tag.as_ref() == &hex(tag)[..];
        let tag: [u8; TAG_LEN] = hex(tag).try_into().unwrap_or([0; TAG_LEN]);
        let opened = aead
            .open_in_place_separate_tag(nonce(), Aad::from(hex(aad)), Tag::from(tag), &mut data, 0..)
            .is_ok();
        let mut forged_tag = tag;
        forged_tag[0] ^= 1;
        let mut again = hex(cipher_text);
        let forged = aead.open_in_place_separate_tag(
            nonce(),
            Aad::from(hex(aad)),
            Tag::from(forged_tag),
            &mut again,
            0..,
        );
        sealed_right && opened && data == plain && forged.is_err()
    }
    let sunscreen = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let gcm_plain: Vec<u8> = (0..60)
        .map(|i| {
            let hex = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
            u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0)
        })
        .collect();
    [
        (
            "ChaCha20-Poly1305, RFC 8439 2.8.2",
            check(
                Cipher::ChaChaPoly,
                "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
                "070000004041424344454647",
                "50515253c0c1c2c3c4c5c6c7",
                sunscreen,
                "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
                "1ae10b594f09e26a7e902ecbd0600691",
            ),
        ),
        (
            "AES-256-GCM, McGrew-Viega test case 16",
            check(
                Cipher::AesGcm,
                "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
                "cafebabefacedbaddecaf888",
                "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                &gcm_plain,
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                "76fc6ece0f4e1768cddf8853bb2d551b",
            ),
        ),
    ]
}

/// One direction's key and record counter.
struct Direction {
    aead: Aead,
    counter: u64,
}

impl Direction {
    fn new(cipher: Cipher, key: &mut [u8; 32]) -> Self {
        let direction = Direction { aead: Aead::new(cipher, key), counter: 0 };
        key.zeroize();
        direction
    }

    /// The nonce of the next record, and the record's number.
    fn next_nonce(&mut self) -> Result<([u8; 12], u64), RecordError> {
        let record = self.counter;
        self.counter = record.checked_add(1).ok_or(RecordError::Exhausted)?;
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&record.to_be_bytes());
        Ok((nonce, record))
    }
}

/// Seals what this side sends.
pub struct Sealer(Direction);

impl Sealer {
    /// Takes (and wipes) the sending key.
    pub fn new(cipher: Cipher, key: &mut [u8; 32]) -> Self {
        Sealer(Direction::new(cipher, key))
    }

    /// Seals one message header.
    pub fn seal_header(&mut self, header: &[u8; HEADER_LEN]) -> Result<[u8; SEALED_HEADER_LEN], RecordError> {
        let (nonce, _) = self.0.next_nonce()?;
        let mut out = [0u8; SEALED_HEADER_LEN];
        out[..HEADER_LEN].copy_from_slice(header);
        let tag = self.0.aead.seal(&nonce, &mut out[..HEADER_LEN]);
        out[HEADER_LEN..].copy_from_slice(&tag);
        Ok(out)
    }

    /// Seals `body` into `out` (at least [`sealed_body_len`]`(body.len())` bytes), record by
    /// record: the one copy of the pixels a keyed viewer costs. Returns the bytes written.
    pub fn seal_body(&mut self, body: &[u8], out: &mut [u8]) -> Result<usize, RecordError> {
        let mut at = 0;
        for chunk in body.chunks(RECORD_MAX) {
            let (nonce, _) = self.0.next_nonce()?;
            let data = &mut out[at..at + chunk.len()];
            data.copy_from_slice(chunk);
            let tag = self.0.aead.seal(&nonce, data);
            out[at + chunk.len()..at + chunk.len() + TAG_LEN].copy_from_slice(&tag);
            at += chunk.len() + TAG_LEN;
        }
        Ok(at)
    }
}

/// Opens what the peer sends.
pub struct Opener(Direction);

impl Opener {
    /// Takes (and wipes) the receiving key.
    pub fn new(cipher: Cipher, key: &mut [u8; 32]) -> Self {
        Opener(Direction::new(cipher, key))
    }

    /// Opens a sealed header.
    pub fn open_header(&mut self, sealed: &[u8; SEALED_HEADER_LEN]) -> Result<[u8; HEADER_LEN], RecordError> {
        let (nonce, record) = self.0.next_nonce()?;
        let mut header: [u8; HEADER_LEN] = sealed[..HEADER_LEN].try_into().expect("24 bytes");
        let tag: &[u8; TAG_LEN] = sealed[HEADER_LEN..].try_into().expect("16 bytes");
        if !self.0.aead.open(&nonce, &mut header, tag) {
            return Err(RecordError::Forged { record });
        }
        Ok(header)
    }

    /// Opens one body record in place (`data` is the record's ciphertext, at most
    /// [`RECORD_MAX`] bytes). On failure `data` holds no plaintext worth showing.
    pub fn open_record(&mut self, data: &mut [u8], tag: &[u8; TAG_LEN]) -> Result<(), RecordError> {
        let (nonce, record) = self.0.next_nonce()?;
        if self.0.aead.open(&nonce, data, tag) {
            Ok(())
        } else {
            Err(RecordError::Forged { record })
        }
    }

    /// Opens a whole sealed body held in `wire` (as [`Sealer::seal_body`] lays it out),
    /// moving the plaintext into `out`. For small bodies (a bye); frames are opened
    /// record by record where they are read.
    pub fn open_body(&mut self, wire: &mut [u8], out: &mut [u8]) -> Result<(), RecordError> {
        let mut at = 0;
        for chunk in out.chunks_mut(RECORD_MAX) {
            let (data, rest) = wire[at..].split_at_mut(chunk.len());
            let tag: &[u8; TAG_LEN] = rest[..TAG_LEN].try_into().expect("16 bytes");
            self.open_record(data, tag)?;
            chunk.copy_from_slice(data);
            at += chunk.len() + TAG_LEN;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(cipher: Cipher) -> (Sealer, Opener) {
        (Sealer::new(cipher, &mut [7; 32]), Opener::new(cipher, &mut [7; 32]))
    }

    #[test]
    fn a_frame_round_trips_record_by_record_in_place_with_either_cipher() {
        for cipher in [Cipher::ChaChaPoly, Cipher::AesGcm] {
            let (mut sealer, mut opener) = pair(cipher);
            let header = [3u8; HEADER_LEN];
            assert_eq!(opener.open_header(&sealer.seal_header(&header).unwrap()), Ok(header));
            let body: Vec<u8> = (0..RECORD_MAX * 2 + 100).map(|i| (i * 7) as u8).collect();
            let mut wire = vec![0u8; sealed_body_len(body.len())];
            assert_eq!(sealer.seal_body(&body, &mut wire).unwrap(), wire.len());
            assert_eq!(record_count(body.len()), 3);
            assert_ne!(&wire[..100], &body[..100], "{cipher:?}: the body is encrypted");
            let mut shown = vec![0u8; body.len()];
            opener.open_body(&mut wire, &mut shown).unwrap();
            assert_eq!(shown, body, "{cipher:?}");
        }
    }

    #[test]
    fn one_flipped_bit_anywhere_fails_that_record() {
        let (mut sealer, mut opener) = pair(Cipher::ChaChaPoly);
        let mut sealed = sealer.seal_header(&[1; HEADER_LEN]).unwrap();
        sealed[5] ^= 0x10;
        assert_eq!(opener.open_header(&sealed), Err(RecordError::Forged { record: 0 }));
        let (mut sealer, mut opener) = pair(Cipher::AesGcm);
        let body = vec![9u8; 1000];
        let mut wire = vec![0u8; sealed_body_len(body.len())];
        sealer.seal_body(&body, &mut wire).unwrap();
        wire[999] ^= 1;
        let mut shown = vec![0u8; 1000];
        assert_eq!(opener.open_body(&mut wire, &mut shown), Err(RecordError::Forged { record: 0 }));
        assert_eq!(shown, vec![0u8; 1000], "nothing of a forged record reaches the output");
    }

    #[test]
    fn records_cannot_be_replayed_or_reordered() {
        let (mut sealer, mut opener) = pair(Cipher::ChaChaPoly);
        let first = sealer.seal_header(&[1; HEADER_LEN]).unwrap();
        let second = sealer.seal_header(&[2; HEADER_LEN]).unwrap();
        assert!(opener.open_header(&second).is_err(), "out of order");
        let (_, mut opener) = pair(Cipher::ChaChaPoly);
        assert!(opener.open_header(&first).is_ok());
        assert!(opener.open_header(&first).is_err(), "replayed");
    }

    #[test]
    fn both_aeads_pass_their_published_test_vectors() {
        for (name, passed) in known_answer_tests() {
            assert!(passed, "{name}");
        }
    }

    #[test]
    fn the_key_is_wiped_once_taken() {
        let mut key = [5u8; 32];
        let _ = Sealer::new(Cipher::AesGcm, &mut key);
        assert_eq!(key, [0; 32]);
    }
}
