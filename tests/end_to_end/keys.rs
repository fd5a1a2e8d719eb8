//! Keyed sessions (`--key-file`, `keygen`) through the real binary: the right key streams,
//! encrypted; no key, a wrong key and an empty key file are refused with clear messages on
//! both ends; and the attacks a keyed session must stop are tried for real: relaying
//! between two keyed cameras, a man in the middle flipping one bit of a hello, a header or
//! a frame, and replaying a recorded session. Frame bytes an attacker gets are counted.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use pistream::output::pistream::protocol::PROTOCOL_VERSION;

use crate::support::{free_port, pattern_camera, summary_counts, Proc, SECS};

fn key_file(name: &str, secret: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("pistream-key-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, secret).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

fn keyed_camera(port: u16, key: &std::path::Path) -> Proc {
    pattern_camera(port, &["--size", "64x48", "--key-file", key.to_str().unwrap()])
}

fn keyed_display(port: u16, key: &std::path::Path, extra: &[&str]) -> Proc {
    let target = format!("127.0.0.1:{port}");
    let mut args =
        vec!["display", "--connect", &target, "--sink", "null", "--key-file", key.to_str().unwrap()];
    args.extend_from_slice(extra);
    Proc::spawn("display", &args)
}

/// A hand-made hello (this version's layout, docs/PROTOCOL.md §4): a display that wants BGR3,
/// holding a key (ChaCha20-Poly1305 only), with this nonce.
fn keyed_display_hello(nonce: [u8; 16]) -> Vec<u8> {
    let mut body = b"PISTREAM".to_vec();
    body.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    body.extend_from_slice(&[0b110, 0b01]);
    body.extend_from_slice(&[0; 12]); // width, height, fps
    body.extend_from_slice(&[0, 0, 0, 1]); // sends nothing, decodes BGR3
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&[0; 4]);
    let mut out = vec![b'P', b'S', 1, 0, 0, 0, 0, 48];
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&body);
    out
}

/// Everything readable from `s` within `for_how_long` (or until it closes).
fn drain(s: &mut TcpStream, for_how_long: Duration) -> Vec<u8> {
    let deadline = Instant::now() + for_how_long;
    let mut all = Vec::new();
    let mut buf = [0u8; 65536];
    while Instant::now() < deadline {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    all
}

/// At least `n` bytes from `s` (a whole message the peer is about to send), then whatever
/// else comes within 100 ms; fails after 10 s, however slow a loaded machine makes the peer.
fn read_at_least(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + 10 * SECS;
    let mut all = Vec::new();
    while all.len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} bytes within 10 s", all.len());
        all.extend(drain(s, Duration::from_millis(100)));
    }
    all.extend(drain(s, Duration::from_millis(100)));
    all
}

/// Plain pistream messages in `bytes`: (kind, body) pairs, as far as they parse.
fn messages(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 24 <= bytes.len() && &bytes[at..at + 2] == b"PS" {
        let len = u32::from_be_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = bytes.get(at + 24..at + 24 + len).unwrap_or(&bytes[at + 24..]).to_vec();
        out.push((bytes[at + 2], body));
        at += 24 + len;
    }
    out
}

/// Frame bytes in what a camera sent: the bodies of frame messages, plus anything after
/// the plain messages (sealed records carry frames only after a completed handshake).
fn frame_bytes(bytes: &[u8]) -> usize {
    let msgs = messages(bytes);
    let plain: usize = msgs.iter().map(|(_, body)| 24 + body.len()).sum();
    msgs.iter().filter(|(kind, _)| *kind == 2).map(|(_, body)| body.len()).sum::<usize>()
        + bytes.len().saturating_sub(plain)
}

#[test]
fn the_same_key_on_both_ends_streams_encrypted() {
    let _machine = crate::support::shared();
    let key = key_file("same", b"a shared secret for the test\n");
    let port = free_port();
    let _cam = keyed_camera(port, &key);
    let mut disp = keyed_display(port, &key, &["--verify", "--frames", "10"]);
    assert!(disp.wait_exit(20 * SECS).success(), "{}", disp.output());
    assert_eq!(summary_counts(&disp.output()), (10, 10, 0));
    assert!(
        disp.output().contains("encrypted"),
        "the display says the session is encrypted:\n{}",
        disp.output()
    );
}

#[test]
fn keygen_writes_a_private_random_key_that_works_and_is_never_overwritten() {
    let _machine = crate::support::shared();
    let path = std::env::temp_dir().join(format!("pistream-keygen-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut gen = Proc::spawn("keygen", &["keygen", path.to_str().unwrap()]);
    assert!(gen.wait_exit(10 * SECS).success(), "{}", gen.output());
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim().len(), 64, "32 random bytes as hex: {text:?}");
    assert!(text.trim().bytes().all(|b| b.is_ascii_hexdigit()));
    let mut again = Proc::spawn("keygen", &["keygen", path.to_str().unwrap()]);
    assert_eq!(again.wait_exit(10 * SECS).code(), Some(2));
    assert!(again.output().contains("not overwriting"), "{}", again.output());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "the old key is untouched");
    let port = free_port();
    let _cam = keyed_camera(port, &path);
    let mut disp = keyed_display(port, &path, &["--verify", "--frames", "3"]);
    assert!(disp.wait_exit(20 * SECS).success(), "{}", disp.output());
}

#[test]
fn an_empty_key_file_is_a_usage_error_on_both_ends() {
    let _machine = crate::support::shared();
    let empty = key_file("empty", b" \n");
    let key = empty.to_str().unwrap();
    for args in
        [&["camera", "--source", "pattern", "--key-file", key][..], &["display", "--key-file", key][..]]
    {
        let mut p = Proc::spawn(args[0], args);
        assert_eq!(p.wait_exit(10 * SECS).code(), Some(2), "{args:?}: {}", p.output());
        assert!(p.output().contains("is empty") && p.output().contains("pistream keygen"), "{}", p.output());
    }
}

#[test]
fn a_key_file_others_can_read_gets_a_one_line_warning() {
    let _machine = crate::support::shared();
    let key = key_file("open", b"a key others can read");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let port = free_port();
    let cam = keyed_camera(port, &key);
    let warnings: Vec<String> =
        cam.output().lines().filter(|l| l.contains("readable by other users")).map(String::from).collect();
    assert_eq!(warnings.len(), 1, "{}", cam.output());
    assert!(warnings[0].contains("chmod 600"), "{warnings:?}");
}

#[test]
fn a_display_without_the_key_is_refused_on_both_ends_and_gets_no_frame_bytes() {
    let _machine = crate::support::shared();
    let key = key_file("nokey", b"secret");
    let port = free_port();
    let cam = keyed_camera(port, &key);
    let target = format!("127.0.0.1:{port}");
    let mut disp = Proc::spawn("display", &["display", "--connect", &target, "--sink", "null"]);
    assert_eq!(disp.wait_exit(10 * SECS).code(), Some(1), "{}", disp.output());
    assert!(
        disp.output().contains("requires a shared key: start this side with --key-file"),
        "{}",
        disp.output()
    );
    cam.wait_for("authentication required", 5 * SECS);

    // By hand: a keyless hello, then count what comes back: the camera's hello and a bye.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut hello = keyed_display_hello([3; 16]);
    hello[24 + 10] = 0b010; // no key flag
    hello[24 + 11] = 0;
    s.write_all(&hello).unwrap();
    let answer = drain(&mut s, 3 * SECS);
    let kinds: Vec<u8> = messages(&answer).iter().map(|(kind, _)| *kind).collect();
    assert_eq!(kinds, [1, 4], "a hello and a bye");
    assert_eq!(frame_bytes(&answer), 0);
}

#[test]
fn a_wrong_key_is_refused_on_both_ends_and_gets_no_frame_bytes() {
    let _machine = crate::support::shared();
    let key = key_file("right", b"the right key");
    let wrong = key_file("wrong", b"the wrong key");
    let port = free_port();
    let cam = keyed_camera(port, &key);
    let mut disp = keyed_display(port, &wrong, &[]);
    assert_eq!(disp.wait_exit(10 * SECS).code(), Some(1), "{}", disp.output());
    assert!(disp.output().contains("authentication failed"), "{}", disp.output());
    cam.wait_for("authentication failed", 5 * SECS);

    // By hand: a keyed hello, then a Noise message made up without the key.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&keyed_display_hello([4; 16])).unwrap();
    let mut noise = vec![b'P', b'S', 5, 0, 0, 0, 0, 48];
    noise.extend_from_slice(&[0; 16]);
    noise.extend_from_slice(&[0x5a; 48]);
    s.write_all(&noise).unwrap();
    let answer = drain(&mut s, 3 * SECS);
    assert_eq!(frame_bytes(&answer), 0, "no frame before the key checked out");
    let kinds: Vec<u8> = messages(&answer).iter().map(|(kind, _)| *kind).collect();
    assert_eq!(kinds, [1, 4], "a hello and a bye");
}

/// Version 1's hole: two cameras with the same key, an attacker with none, relaying what
/// each says to the other so that one camera's proof of the key convinces the other.
/// (Also runs against a version-1 binary: `PISTREAM_TEST_BIN=... cargo test relay`.)
#[test]
fn relaying_between_two_keyed_cameras_gets_the_attacker_no_frame_bytes() {
    let _machine = crate::support::shared();
    let key = key_file("relay", b"the key both cameras share");
    let (port_a, port_b) = (free_port(), free_port());
    let cam_a = keyed_camera(port_a, &key);
    let _cam_b = keyed_camera(port_b, &key);
    let mut a = TcpStream::connect(("127.0.0.1", port_a)).unwrap();
    let mut b = TcpStream::connect(("127.0.0.1", port_b)).unwrap();
    let spoke_first = |s: &mut TcpStream| drain(s, Duration::from_millis(500));
    let (hello_a, hello_b) = (spoke_first(&mut a), spoke_first(&mut b));
    let nonce_of = |hello: &[u8]| -> [u8; 16] { hello[24 + 28..24 + 44].try_into().unwrap() };
    let from_a = if hello_a.len() >= 72 && hello_b.len() >= 72 {
        // Version 1: listeners speak first. Send each camera a hello carrying the other's
        // nonce, then forward B's auth message (the MAC over B's nonce and A's) to A.
        let v1_hello = |nonce: [u8; 16]| {
            let mut m = vec![b'P', b'S', 1, 0, 0, 0, 0, 48];
            m.extend_from_slice(&[0; 16]);
            m.extend_from_slice(b"PISTREAM\x00\x01\x06\x00");
            m.extend_from_slice(&[0; 16]);
            m.extend_from_slice(&nonce);
            m.extend_from_slice(&[0; 4]);
            m
        };
        a.write_all(&v1_hello(nonce_of(&hello_b))).unwrap();
        b.write_all(&v1_hello(nonce_of(&hello_a))).unwrap();
        let auth_b = drain(&mut b, Duration::from_millis(500));
        a.write_all(&auth_b).unwrap();
        drain(&mut a, 3 * SECS)
    } else {
        // Version 2: listeners speak second. Get B's hello (and nonce), hand A a hello
        // carrying it, then relay everything either camera says to the other.
        b.write_all(&keyed_display_hello([7; 16])).unwrap();
        let hello_b = read_at_least(&mut b, 72);
        a.write_all(&keyed_display_hello(nonce_of(&hello_b))).unwrap();
        let mut from_a = read_at_least(&mut a, 72);
        b.write_all(&from_a).unwrap();
        a.write_all(&hello_b).unwrap();
        for _ in 0..5 {
            let more_b = drain(&mut b, Duration::from_millis(300));
            a.write_all(&more_b).ok();
            let more_a = drain(&mut a, Duration::from_millis(300));
            b.write_all(&more_a).ok();
            from_a.extend_from_slice(&more_a);
        }
        from_a
    };
    let stolen = frame_bytes(&from_a);
    eprintln!(
        "relay attack: the attacker received {} bytes from camera A, {stolen} of them frame bytes",
        from_a.len()
    );
    assert_eq!(stolen, 0, "camera A streamed to an attacker without the key");
    assert!(!cam_a.output().contains("streaming with"), "{}", cam_a.output());
}

/// A man in the middle between a keyed display and a keyed camera that flips one bit of
/// the camera-to-display stream at byte `offset`; returns the display's exit and output,
/// and the camera.
fn flip_one_bit_at(offset: usize, name: &str) -> (Option<i32>, String, Proc) {
    let key = key_file(name, b"the key for the mitm tests");
    let cam_port = free_port();
    let cam = keyed_camera(cam_port, &key);
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    thread::spawn(move || {
        let (client, _) = proxy.accept().unwrap();
        let server = TcpStream::connect(("127.0.0.1", cam_port)).unwrap();
        let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        thread::spawn(move || {
            let _ = std::io::copy(&mut c_in, &mut s_out);
            let _ = s_out.shutdown(Shutdown::Write);
        });
        let (mut s_in, mut c_out) = (server, client);
        let mut seen = 0usize;
        let mut buf = [0u8; 8192];
        while let Ok(n) = s_in.read(&mut buf) {
            if n == 0 {
                break;
            }
            if (seen..seen + n).contains(&offset) {
                buf[offset - seen] ^= 0x04;
            }
            seen += n;
            if c_out.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = c_out.shutdown(Shutdown::Write);
    });
    let mut disp = keyed_display(proxy_port, &key, &["--verify", "--frames", "50"]);
    let code = disp.wait_exit(20 * SECS).code();
    (code, disp.output(), cam)
}

// The camera-to-display stream of a 64x48 keyed session: its hello (72 bytes), its Noise
// message (24 + 48), then per frame a sealed header (40) and one sealed record (9216 + 16).
const HELLO_AND_NOISE: usize = 72 + 72;
const SEALED_FRAME: usize = 40 + 64 * 48 * 3 + 16;

#[test]
fn a_bit_flipped_in_the_cameras_hello_fails_the_key_handshake_on_both_ends() {
    let _machine = crate::support::shared();
    let (code, output, cam) = flip_one_bit_at(24 + 15, "mitm-hello"); // the width's low byte
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("authentication failed"), "{output}");
    cam.wait_for("authentication failed", 5 * SECS);
    assert!(!output.contains("frames shown") || summary_counts(&output).0 == 0, "{output}");
}

/// Flips one bit in the sixth sealed frame (at `offset` into the stream): both ends report
/// the failed authentication, the display exits 1, and no frame from the sixth on is shown.
fn a_flipped_sixth_frame_is_refused(offset: usize, name: &str) {
    let (code, output, cam) = flip_one_bit_at(offset, name);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("failed authentication"), "{output}");
    let (shown, verified, corrupt) = summary_counts(&output);
    assert!((shown, corrupt) == (verified, 0) && shown <= 5, "the flipped frame was not shown: {output}");
    cam.wait_for("failed authentication", 5 * SECS);
}

#[test]
fn a_bit_flipped_in_a_frame_header_ends_the_session_before_that_frame() {
    let _machine = crate::support::shared();
    a_flipped_sixth_frame_is_refused(HELLO_AND_NOISE + 5 * SEALED_FRAME + 10, "mitm-header");
}

#[test]
fn a_bit_flipped_in_a_frame_payload_ends_the_session_and_that_frame_is_not_shown() {
    let _machine = crate::support::shared();
    a_flipped_sixth_frame_is_refused(HELLO_AND_NOISE + 5 * SEALED_FRAME + 40 + 4000, "mitm-payload");
}

#[test]
fn a_recording_of_an_earlier_keyed_session_is_refused() {
    let _machine = crate::support::shared();
    let key = key_file("replay", b"the key for the replay test");
    let cam_port = free_port();
    let cam = keyed_camera(cam_port, &key);
    // Record what a real keyed display sends the camera.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    let recording = Arc::new(Mutex::new(Vec::new()));
    {
        let recording = recording.clone();
        thread::spawn(move || {
            let (client, _) = proxy.accept().unwrap();
            let server = TcpStream::connect(("127.0.0.1", cam_port)).unwrap();
            let (mut s_in, mut c_out) = (server.try_clone().unwrap(), client.try_clone().unwrap());
            thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
            });
            let (mut c_in, mut s_out) = (client, server);
            let mut buf = [0u8; 8192];
            while let Ok(n) = c_in.read(&mut buf) {
                if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                    break;
                }
                recording.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            let _ = s_out.shutdown(Shutdown::Write);
        });
    }
    let mut disp = keyed_display(proxy_port, &key, &["--verify", "--frames", "5"]);
    assert!(disp.wait_exit(20 * SECS).success(), "{}", disp.output());
    cam.wait_for("left", 5 * SECS);
    // Replay it to the camera.
    let recorded = recording.lock().unwrap().clone();
    assert!(recorded.len() > 72 + 72, "the display's hello and Noise message were recorded");
    let mut s = TcpStream::connect(("127.0.0.1", cam_port)).unwrap();
    s.write_all(&recorded).unwrap();
    let answer = drain(&mut s, 3 * SECS);
    assert_eq!(frame_bytes(&answer), 0, "a replay got frame bytes");
    cam.wait_for("authentication failed", 5 * SECS);
}
