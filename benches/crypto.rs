//! What `--key-file` costs per frame: sealing a raw BGR frame into records
//! (`protocol::record::Sealer::seal_body`, the one copy a keyed viewer costs) and opening
//! them in place as the receiver does (`Opener::open_record`), with ChaCha20-Poly1305 and
//! AES-256-GCM through ring, against a `memcpy` of the same frame measured in the same run.
//! Prints a Markdown table (µs per frame, GB/s, ratio to memcpy) and, per cipher, the frame
//! rate one core could seal and open. Run with `scripts/bench-crypto` (writes
//! BENCHMARKS.md); `cargo test --benches` checks once that what is sealed opens to the same
//! bytes and that a flipped bit is refused.
// A test or bench crate has no public API: `pub` in its modules only shares items among them.
#![allow(unreachable_pub)]

use std::hint::black_box;
use std::time::Instant;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use pistream::output::pistream::protocol::keys::Cipher;
use pistream::output::pistream::protocol::record::{sealed_body_len, Opener, Sealer, RECORD_MAX, TAG_LEN};

/// Median time per iteration in µs (31 samples of 3 iterations, after a warm-up).
fn median_us(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut samples: Vec<f64> = (0..31)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..3 {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / 3.0
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A sealer and the matching opener, as the two ends of one direction hold them.
fn pair(cipher: Cipher) -> (Sealer, Opener) {
    let key = [7u8; 32];
    (Sealer::new(cipher, &mut key.clone()), Opener::new(cipher, &mut key.clone()))
}

/// Opens a body sealed by `seal_body` in place, record by record, as the receive loop does.
/// Returns whether every record was authentic.
fn open_in_place(opener: &mut Opener, wire: &mut [u8], body_len: usize) -> bool {
    let mut at = 0;
    let mut left = body_len;
    while left > 0 {
        let n = left.min(RECORD_MAX);
        let (data, rest) = wire[at..].split_at_mut(n);
        let tag: &[u8; TAG_LEN] = rest[..TAG_LEN].try_into().expect("16 bytes");
        if opener.open_record(data, tag).is_err() {
            return false;
        }
        at += n + TAG_LEN;
        left -= n;
    }
    true
}

/// The plaintext back out of `wire` (records laid out by `seal_body`).
fn plaintext(wire: &[u8], body_len: usize) -> Vec<u8> {
    wire.chunks(RECORD_MAX + TAG_LEN).flat_map(|r| &r[..r.len() - TAG_LEN]).copied().take(body_len).collect()
}

fn frame(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// `cargo test --benches`: one frame each way per cipher, checked.
fn check() {
    for cipher in [Cipher::ChaChaPoly, Cipher::AesGcm] {
        let body = frame(640 * 480 * 3);
        let (mut sealer, mut opener) = pair(cipher);
        let mut wire = vec![0u8; sealed_body_len(body.len())];
        let n = sealer.seal_body(&body, &mut wire).unwrap();
        assert_eq!(n, wire.len());
        assert_ne!(&wire[..64], &body[..64], "{cipher:?}: sealed bytes are not the plaintext");
        let mut copy = wire.clone();
        assert!(open_in_place(&mut opener, &mut copy, body.len()), "{cipher:?}: opens");
        assert_eq!(plaintext(&copy, body.len()), body, "{cipher:?}: same bytes back");
        // The next record with one bit flipped is refused.
        let n = sealer.seal_body(&body, &mut wire).unwrap();
        wire[n / 2] ^= 1;
        assert!(!open_in_place(&mut opener, &mut wire, body.len()), "{cipher:?}: a flipped bit is refused");
    }
    println!("crypto bench: sealed frames open to the same bytes, a flipped bit is refused; run `scripts/bench-crypto` for figures");
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        check();
        return;
    }
    println!("| frame | operation | µs per frame | GB/s | × memcpy time | frames/s on one core |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    let mut ratios = Vec::new();
    for (w, h) in [(640usize, 480usize), (1280, 720), (1920, 1080)] {
        let body = frame(w * h * 3);
        let mut wire = vec![0u8; sealed_body_len(body.len())];
        let mut out = vec![0u8; body.len()];
        let memcpy = median_us(|| {
            out.copy_from_slice(black_box(&body));
            black_box(&mut out);
        });
        let row = |what: &str, us: f64| {
            println!(
                "| {w}x{h} | {what} | {us:.0} | {:.2} | {:.1} | {:.0} |",
                body.len() as f64 / us / 1e3,
                us / memcpy,
                1e6 / us
            );
        };
        row("memcpy (baseline)", memcpy);
        for (name, cipher) in [("ChaCha20-Poly1305", Cipher::ChaChaPoly), ("AES-256-GCM", Cipher::AesGcm)] {
            let (mut sealer, _) = pair(cipher);
            let seal = median_us(|| {
                black_box(sealer.seal_body(black_box(&body), &mut wire).unwrap());
            });
            // Seal and open together: a sealed frame opens once (in place), so each open
            // needs a fresh seal; the open alone is the difference.
            let (mut sealer, mut opener) = pair(cipher);
            let both = median_us(|| {
                sealer.seal_body(black_box(&body), &mut wire).unwrap();
                assert!(open_in_place(&mut opener, &mut wire, body.len()));
            });
            row(&format!("{name} seal (sender)"), seal);
            row(&format!("{name} open (receiver)"), (both - seal).max(0.0));
            row(&format!("{name} seal + open"), both);
            let rustcrypto = rustcrypto_seal_us(cipher, &body, &mut wire);
            row(&format!("{name} seal, RustCrypto crate (baseline)"), rustcrypto);
            ratios.push(format!("{w}x{h} {name}: {:.2}", rustcrypto / seal));
        }
    }
    println!();
    println!("RustCrypto sealing time / ring sealing time (above 1: ring is faster): {}", ratios.join("; "));
    println!(
        "CPU: {} (AES and carry-less multiply instructions: {})",
        cpu_model(),
        if has_aes() { "yes" } else { "no" }
    );
}

/// The same sealing (a copy into `wire`, then 256 KiB records encrypted in place with a
/// detached tag) through the RustCrypto crate of `cipher`.
fn rustcrypto_seal_us(cipher: Cipher, body: &[u8], wire: &mut [u8]) -> f64 {
    fn seal<A: AeadInPlace>(aead: &A, body: &[u8], wire: &mut [u8]) {
        let mut at = 0;
        for (i, chunk) in body.chunks(RECORD_MAX).enumerate() {
            let mut nonce = aes_gcm::aead::Nonce::<A>::default();
            nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let data = &mut wire[at..at + chunk.len()];
            data.copy_from_slice(chunk);
            let tag = aead.encrypt_in_place_detached(&nonce, b"", data).unwrap();
            wire[at + chunk.len()..at + chunk.len() + TAG_LEN].copy_from_slice(&tag);
            at += chunk.len() + TAG_LEN;
        }
    }
    let key = [7u8; 32];
    match cipher {
        Cipher::ChaChaPoly => {
            let aead = chacha20poly1305::ChaCha20Poly1305::new(&key.into());
            median_us(|| seal(&aead, black_box(body), wire))
        }
        Cipher::AesGcm => {
            let aead = aes_gcm::Aes256Gcm::new(&key.into());
            median_us(|| seal(&aead, black_box(body), wire))
        }
    }
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find(|l| l.starts_with("model name") || l.starts_with("CPU part"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn has_aes() -> bool {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines().find(|l| l.starts_with("flags") || l.starts_with("Features")).is_some_and(|l| {
        l.split_whitespace().any(|f| f == "aes")
            && l.split_whitespace().any(|f| f == "pclmulqdq" || f == "pmull")
    })
}
