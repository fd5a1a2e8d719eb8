//! `pistream selftest`: checks the architecture-specific code on the machine it runs on —
//! every pixel-conversion kernel (including SIMD/NEON paths) against the scalar reference,
//! the protocol encoder/decoder round trip and validation, the pattern verifier, the
//! mailbox, and H.264 (OpenH264's assembly or NEON kernels: the pattern encoded and decoded
//! back) — printing one line per check.
//!
//! It must stay single-threaded: CI runs the aarch64 binary under qemu-user, which hangs
//! on these machines as soon as a guest creates a thread. So no session, no signal thread.

use std::time::Duration;

use crate::media::Mailbox;
use crate::media::PixelFormat;
use crate::media::{Frame, Geometry};
use crate::output::pistream::protocol::keys::{CipherSet, Psk};
use crate::output::pistream::protocol::{
    encode_bye, encode_frame_header, encode_hello, run_in_memory, ByeReason, Handshake, HandshakeError,
    Hello, Inbound, InboundState, ProtocolError, Role, BYE_MAX_LEN, HEADER_LEN,
};
use crate::source::pattern::{self, PatternVerifier};

/// One check's name and whether it passed (with detail when it did not).
pub struct Check {
    pub name: String,
    pub result: Result<(), String>,
}

fn check(name: impl Into<String>, ok: bool, detail: impl FnOnce() -> String) -> Check {
    Check { name: name.into(), result: if ok { Ok(()) } else { Err(detail()) } }
}

fn protocol_checks() -> Vec<Check> {
    let mut checks = Vec::new();
    let camera = Hello::sender(Geometry::new(640, 480), 30.0);
    let bytes = encode_hello(&camera, 7);
    let decoded = Hello::decode(&bytes[HEADER_LEN..]);
    checks.push(check("protocol hello round trip", decoded == Ok(camera), || format!("decoded {decoded:?}")));

    // The handshake machine in memory, keyed, with this CPU's cipher choice.
    let keyed = |secret: &[u8]| Psk::derive(secret).map(|psk| (psk, CipherSet::this_cpu()));
    let (at_display, at_camera) = run_in_memory(
        Handshake::new(Role::Connecting, Hello::receiver(), keyed(b"selftest key"), 1),
        Handshake::new(Role::Listening, camera, keyed(b"selftest key"), 2),
    );
    let keys_match = match (at_display, at_camera) {
        (Ok(display), Ok(camera)) => {
            let inbound = InboundState::new(&display.negotiated);
            let (Some((_, mut open)), Some((mut seal, _))) = (display.transport, camera.transport) else {
                return vec![check("protocol keyed handshake", false, || "no record keys".into())];
            };
            let header = encode_frame_header(9, 1234, PixelFormat::Bgr24, 640 * 480 * 3);
            let opened = seal.seal_header(&header).ok().and_then(|sealed| open.open_header(&sealed).ok());
            let frame = opened.map(|h| inbound.on_header(&h));
            checks.push(check(
                "protocol frame header after the handshake",
                frame
                    == Some(Ok(Inbound::Frame {
                        seq: 9,
                        captured_us: 1234,
                        format: PixelFormat::Bgr24,
                        len: 921_600,
                    })),
                || format!("{frame:?}"),
            ));
            let too_long = inbound.on_header(&encode_frame_header(9, 1234, PixelFormat::Bgr24, 921_601));
            checks.push(check(
                "protocol rejects an oversized frame",
                matches!(too_long, Err(ProtocolError::BadLength { .. })),
                || format!("{too_long:?}"),
            ));
            true
        }
        (d, c) => {
            let why = format!("display {:?}, camera {:?}", d.err(), c.err());
            checks.push(check("protocol keyed handshake", false, || why));
            false
        }
    };
    checks.push(check("protocol keyed handshake and record keys", keys_match, || "see above".into()));
    let (_, wrong) = run_in_memory(
        Handshake::new(Role::Connecting, Hello::receiver(), keyed(b"one key"), 1),
        Handshake::new(Role::Listening, camera, keyed(b"another key"), 2),
    );
    checks.push(check(
        "protocol refuses a wrong key",
        matches!(wrong, Err(HandshakeError::Protocol(ProtocolError::AuthFailed))),
        || format!("{:?}", wrong.err()),
    ));
    for (name, passed) in crate::output::pistream::protocol::record::known_answer_tests() {
        checks.push(check(format!("AEAD {name}"), passed, || "differs from the published vector".into()));
    }
    let mut buf = [0u8; HEADER_LEN + BYE_MAX_LEN];
    let n = encode_bye(ByeReason::Finished, "done", 0, &mut buf);
    let bye = ByeReason::decode(&buf[HEADER_LEN..n]);
    checks.push(check("protocol bye round trip", bye == (ByeReason::Finished, "done".into()), || {
        format!("{bye:?}")
    }));
    checks
}

fn pattern_checks() -> Vec<Check> {
    let g = Geometry::new(641, 37);
    let mut frame = Frame::new(g);
    pattern::fill(&mut frame.data, g, 300);
    frame.seq = 300;
    let mut verifier = PatternVerifier::new();
    let accepts = verifier.check(&frame);
    frame.data[5000] ^= 0x10;
    let rejects = !verifier.check(&frame);
    vec![
        check("pattern verifier accepts the pattern", accepts, || "a correct frame failed".into()),
        check("pattern verifier catches a flipped bit", rejects, || "a corrupt frame passed".into()),
    ]
}

fn mailbox_checks() -> Vec<Check> {
    let g = Geometry::new(4, 4);
    let mailbox = Mailbox::new(g);
    let (mut back, mut front) = (Frame::new(g), Frame::new(g));
    for seq in 1..=3 {
        back.seq = seq;
        mailbox.publish(&mut back);
    }
    let took = mailbox.take(&mut front, Duration::ZERO);
    vec![check(
        "mailbox hands over the newest frame",
        took && front.seq == 3 && mailbox.dropped() == 2,
        || format!("took {took}, seq {}, dropped {}", front.seq, mailbox.dropped()),
    )]
}

fn convert_checks() -> Vec<Check> {
    crate::codec::convert::selftest_cases()
        .into_iter()
        .map(|(name, ok)| {
            if name.ends_with("= scalar") {
                check(format!("convert {name}"), ok, || "differs from the scalar kernel".into())
            } else {
                check(format!("convert {name} vs reference"), ok, || {
                    "differs from the float reference by more than 2".into()
                })
            }
        })
        .collect()
}

/// The luma PSNR an H.264 round trip of the pattern must reach at 2 Mbit/s (measured:
/// 38-40 dB on x86_64 and under qemu-aarch64; the pattern's XOR texture is hard on it).
const MIN_H264_PSNR_DB: f64 = 30.0;

fn h264_checks() -> Vec<Check> {
    use crate::codec::convert::encode;
    use crate::codec::h264::{Decoder, H264Encoder, H264Settings, Planes, SoftwareEncoder};
    use crate::media::Layout;
    let g = Geometry::new(320, 240);
    let settings = H264Settings { bitrate: 2_000_000, ..H264Settings::new(g, 30.0) };
    let (mut encoder, mut decoder) = match (SoftwareEncoder::new(settings), Decoder::new()) {
        (Ok(e), Ok(d)) => (e, d),
        (e, d) => {
            let why = format!("{:?} {:?}", e.err(), d.err());
            return vec![check("H.264 encoder and decoder start", false, || why)];
        }
    };
    let layout = Layout::tight(PixelFormat::I420, g.width, g.height);
    let mut bgr = vec![0u8; g.frame_len()];
    let mut planes = vec![0u8; PixelFormat::I420.tight_len(g.width, g.height).unwrap_or(0)];
    let (mut unit, mut back) = (Vec::new(), Vec::new());
    let mut worst = f64::INFINITY;
    let mut keyframes = 0;
    for seq in 0..10 {
        pattern::fill(&mut bgr, g, seq);
        encode::bgr_to(PixelFormat::I420, g.width, g.height, &bgr, &mut planes);
        let encoded =
            Planes::of(&layout, &planes).and_then(|p| encoder.encode(&p, false, seq * 33_333, &mut unit));
        let decoded = decoder.decode(&unit, &mut back);
        match (encoded, decoded) {
            (Ok(Some(e)), Ok(Some(_))) => {
                keyframes += usize::from(e.keyframe);
                let luma = (g.width * g.height) as usize;
                let mse = planes[..luma]
                    .iter()
                    .zip(&back[..luma])
                    .map(|(a, b)| f64::from(a.abs_diff(*b)).powi(2))
                    .sum::<f64>()
                    / luma as f64;
                worst = worst.min(10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10());
            }
            (e, d) => {
                let why = format!("frame {seq}: encode {e:?}, decode {d:?}");
                return vec![check("H.264 round trip of the pattern", false, || why)];
            }
        }
    }
    vec![check(
        format!("H.264 round trip of the pattern (320x240, 2 Mbit/s): luma PSNR {worst:.1} dB"),
        worst >= MIN_H264_PSNR_DB && keyframes == 1,
        || format!("want >= {MIN_H264_PSNR_DB} dB and one keyframe, got {keyframes}"),
    )]
}

/// Runs every check (single-threaded).
pub fn run() -> Vec<Check> {
    let mut checks = convert_checks();
    checks.extend(protocol_checks());
    checks.extend(pattern_checks());
    checks.extend(mailbox_checks());
    checks.extend(h264_checks());
    checks
}

/// Prints one line per check and returns whether all passed.
pub fn report(checks: &[Check]) -> bool {
    for c in checks {
        match &c.result {
            Ok(()) => println!("ok    {}", c.name),
            Err(detail) => println!("FAIL  {}: {detail}", c.name),
        }
    }
    let failed = checks.iter().filter(|c| c.result.is_err()).count();
    println!("selftest on {}", std::env::consts::ARCH);
    println!("selftest: {} passed, {failed} failed", checks.len() - failed);
    failed == 0
}
