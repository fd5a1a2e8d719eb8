//! Peers authenticated with a shared key (--key-file): the right key streams; no key or a
//! wrong key is refused with a clear message on both ends, and not one frame byte is sent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use pistream::frame::now_us;
use pistream::protocol::{auth, encode_auth, encode_hello, Hello, HEADER_LEN};

use crate::util::{free_port, summary_counts, Proc, SECS};

fn key_file(name: &str, secret: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("pistream-key-{}-{name}", std::process::id()));
    std::fs::write(&path, secret).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

fn keyed_camera(port: u16, key: &std::path::Path) -> Proc {
    let listen = format!("127.0.0.1:{port}");
    let cam = Proc::spawn(
        "camera",
        &[
            "camera",
            "--listen",
            &listen,
            "--source",
            "pattern",
            "--stats",
            "off",
            "--key-file",
            key.to_str().unwrap(),
        ],
    );
    cam.wait_for("listening on", 10 * SECS);
    cam
}

/// Everything the camera sends a hand-made peer until it closes, and whether any of it
/// was a frame message.
fn bytes_until_close(mut s: TcpStream) -> (usize, bool) {
    s.set_read_timeout(Some(10 * SECS)).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    // Walk the messages: header kind at offset 2, body length at 4..8.
    let (mut at, mut saw_frame) = (0, false);
    while at + HEADER_LEN <= all.len() {
        saw_frame |= all[at + 2] == 2;
        at += HEADER_LEN + u32::from_be_bytes(all[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    (all.len(), saw_frame)
}

#[test]
fn the_same_key_on_both_ends_streams() {
    let key = key_file("same", b"a shared secret for the test\n");
    let port = free_port();
    let _cam = keyed_camera(port, &key);
    let target = format!("127.0.0.1:{port}");
    let mut disp = Proc::spawn(
        "display",
        &[
            "display",
            "--connect",
            &target,
            "--sink",
            "null",
            "--verify",
            "--frames",
            "10",
            "--key-file",
            key.to_str().unwrap(),
        ],
    );
    assert!(disp.wait_exit(20 * SECS).success(), "{}", disp.output());
    assert_eq!(summary_counts(&disp.output()), (10, 10, 0));
}

#[test]
fn a_display_without_the_key_is_refused_on_both_ends_and_gets_no_frame_bytes() {
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

    // By hand: a keyless hello, then count what comes back.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&encode_hello(&Hello::receiver(), now_us())).unwrap();
    let (total, saw_frame) = bytes_until_close(s);
    assert!(!saw_frame, "a frame was sent to an unauthenticated peer");
    assert!(total < 400, "only a hello and a bye should come back, got {total} bytes");
}

#[test]
fn a_wrong_key_is_refused_on_both_ends_and_gets_no_frame_bytes() {
    let key = key_file("right", b"the right key");
    let wrong = key_file("wrong", b"the wrong key");
    let port = free_port();
    let cam = keyed_camera(port, &key);
    let target = format!("127.0.0.1:{port}");
    let mut disp = Proc::spawn(
        "display",
        &["display", "--connect", &target, "--sink", "null", "--key-file", wrong.to_str().unwrap()],
    );
    assert_eq!(disp.wait_exit(10 * SECS).code(), Some(1), "{}", disp.output());
    assert!(disp.output().contains("authentication failed"), "{}", disp.output());
    cam.wait_for("authentication failed", 5 * SECS);

    // By hand: a keyed hello and a MAC made with the wrong key.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut hello = Hello::receiver();
    hello.auth = true;
    hello.nonce = auth::fresh_nonce();
    s.write_all(&encode_hello(&hello, now_us())).unwrap();
    let mut theirs = [0u8; 72];
    s.read_exact(&mut theirs).unwrap();
    let their_nonce: [u8; 16] = theirs[HEADER_LEN + 28..HEADER_LEN + 44].try_into().unwrap();
    let tag = auth::auth_tag(b"the wrong key", &hello.nonce, &their_nonce);
    s.write_all(&encode_auth(&tag, now_us())).unwrap();
    let (_, saw_frame) = bytes_until_close(s);
    assert!(!saw_frame, "a frame was sent before the MAC checked out");
}

#[test]
fn a_camera_open_to_the_network_without_a_key_warns_once() {
    let port = free_port();
    let listen = format!("0.0.0.0:{port}");
    let cam =
        Proc::spawn("camera", &["camera", "--listen", &listen, "--source", "pattern", "--stats", "off"]);
    cam.wait_for("listening on", 10 * SECS);
    let line = cam.wait_for("warning", 5 * SECS);
    assert!(line.contains("no --key-file") && line.contains("anyone on the network"), "{line}");
}
