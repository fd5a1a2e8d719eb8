//! Hostile and broken peers, written byte by byte: each gets a one-line error naming the
//! problem, a bye on the wire saying why, no panic, and the listener keeps listening.

use std::io::{Read, Write};
use std::net::TcpStream;

use pistream::output::pistream::protocol::PROTOCOL_VERSION;

use crate::support::{free_port, summary_counts, Proc, SECS};

/// A version-2 hello as the protocol document lays it out, built by hand: a camera's
/// (`directions` 0b01) offers BGR3, a display's (0b10) decodes BGR3.
fn hello(magic: &[u8; 8], version: u16, directions: u8, width: u32, height: u32) -> Vec<u8> {
    let formats = u16::from(directions & 1 != 0) | u16::from(directions & 2 != 0) << 1;
    hello_with_formats(magic, version, directions, width, height, formats)
}

/// A hello whose format sets are `formats`' low byte (what it sends: bit `code - 1` per
/// format) when `directions` says it sends, and bit 0 (BGR3) for what it decodes.
fn hello_with_formats(
    magic: &[u8; 8],
    version: u16,
    directions: u8,
    width: u32,
    height: u32,
    formats: u16,
) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(magic);
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&[directions, 0]);
    body.extend_from_slice(&width.to_be_bytes());
    body.extend_from_slice(&height.to_be_bytes());
    body.extend_from_slice(&30_000u32.to_be_bytes());
    let sends = if directions & 1 != 0 { formats & 0xff } else { 0 };
    let decodes = u16::from(directions >> 1 & 1);
    body.extend_from_slice(&sends.to_be_bytes());
    body.extend_from_slice(&decodes.to_be_bytes());
    body.extend_from_slice(&[0; 16]); // nonce
    body.extend_from_slice(if sends != 0 { b"BGR3" } else { &[0; 4] }); // capture fourcc
    assert_eq!(body.len(), 48);
    message(1, &body, 0)
}

fn message(kind: u8, body: &[u8], seq: u64) -> Vec<u8> {
    message_with_len(kind, body, body.len() as u32, seq)
}

/// A message; frames (kind 2) name wire format 1, BGR3.
fn message_with_len(kind: u8, body: &[u8], len: u32, seq: u64) -> Vec<u8> {
    frame_with(u8::from(kind == 2), body, len, seq, kind)
}

/// A message of `kind` whose header names wire format `format` in byte 3.
fn frame_with(format: u8, body: &[u8], len: u32, seq: u64, kind: u8) -> Vec<u8> {
    let mut out = vec![b'P', b'S', kind, format];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&0u64.to_be_bytes());
    out.extend_from_slice(body);
    out
}

const DISPLAY_HELLO_DIRECTIONS: u8 = 0b10;
const CAMERA_HELLO_DIRECTIONS: u8 = 0b01;

/// Connects, sends `bytes` (the listener speaks only after the peer's first bytes), and
/// returns the text of the bye the listener answers with, skipping its hello and any
/// frames it sent meanwhile.
fn send_and_read_bye(port: u16, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(10 * SECS)).unwrap();
    stream.write_all(bytes).unwrap();
    loop {
        let mut header = [0u8; 24];
        stream.read_exact(&mut header).unwrap();
        assert_eq!(&header[0..2], b"PS", "the listener answers in pistream messages");
        let len = u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).unwrap();
        if header[2] == 4 {
            assert_eq!(body[0], 1, "bye reason: protocol error");
            return String::from_utf8_lossy(&body[1..]).into_owned();
        }
    }
}

fn cases(
    valid_hello_of_peer: Vec<u8>,
    too_long_frame: Vec<u8>,
    frame_problem: &'static str,
) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    // A TLS ClientHello's first bytes: something that is neither pistream nor HTTP.
    let mut tls = vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01];
    tls.resize(48, 0xfc);
    vec![
        ("garbage", tls, "not a pistream peer: a message header starts with bytes 16 03 01 02"),
        ("wrong magic", hello(b"PISTRAEM", 2, DISPLAY_HELLO_DIRECTIONS, 0, 0), "the hello starts with bytes"),
        ("wrong version", hello(b"PISTREAM", 9, DISPLAY_HELLO_DIRECTIONS, 0, 0), "protocol version 9"),
        ("frame too long", [valid_hello_of_peer, too_long_frame].concat(), frame_problem),
    ]
}

#[test]
fn a_listening_camera_names_each_problem_and_keeps_listening() {
    let _machine = crate::support::shared();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cam = Proc::spawn(
        "camera",
        &["camera", "--listen", &listen, "--source", "pattern", "--stats", "off", "--size", "64x48"],
    );
    cam.wait_for("listening on", 10 * SECS);
    let display_hello = hello(b"PISTREAM", PROTOCOL_VERSION, DISPLAY_HELLO_DIRECTIONS, 0, 0);
    let frame = message_with_len(2, &[], 64 * 48 * 3 + 1, 0);
    for (i, (name, bytes, problem)) in
        cases(display_hello, frame, "sent a frame although it was not agreed").into_iter().enumerate()
    {
        let bye = send_and_read_bye(port, &bytes);
        assert!(bye.contains(problem), "{name}: bye says {bye:?}");
        let line = cam.wait_for_nth("protocol error", i, 10 * SECS);
        assert!(line.contains(problem), "{name}: {line}");
        assert!(cam.is_running(), "{name}: the camera must keep listening");
    }
    assert!(!cam.output().contains("panicked"));
    // Still serving real displays.
    let mut disp = Proc::spawn(
        "display",
        &["display", "--connect", &listen, "--sink", "null", "--verify", "--frames", "5"],
    );
    assert!(disp.wait_exit(20 * SECS).success(), "{}", disp.output());
    assert_eq!(summary_counts(&disp.output()), (5, 5, 0));
}

#[test]
fn a_listening_display_names_each_problem_and_keeps_listening() {
    let _machine = crate::support::shared();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut disp = Proc::spawn(
        "display",
        &["display", "--listen", &listen, "--sink", "null", "--verify", "--frames", "5", "--stats", "off"],
    );
    disp.wait_for("listening on", 10 * SECS);
    let camera_hello = hello(b"PISTREAM", PROTOCOL_VERSION, CAMERA_HELLO_DIRECTIONS, 64, 48);
    let frame = message_with_len(2, &[], 64 * 48 * 3 + 1, 0);
    for (i, (name, bytes, problem)) in
        cases(camera_hello, frame, "frame message has length 9217 bytes, expected 9216")
            .into_iter()
            .enumerate()
    {
        let bye = send_and_read_bye(port, &bytes);
        assert!(bye.contains(problem), "{name}: bye says {bye:?}");
        let line = disp.wait_for_nth("protocol error", i, 10 * SECS);
        assert!(line.contains(problem), "{name}: {line}");
        assert!(disp.is_running(), "{name}: the display must keep listening");
    }
    let _cam =
        Proc::spawn("camera", &["camera", "--connect", &listen, "--source", "pattern", "--stats", "off"]);
    assert!(disp.wait_exit(20 * SECS).success(), "{}", disp.output());
    assert_eq!(summary_counts(&disp.output()), (5, 5, 0));
}

/// Wire-format hostility at a listening display, from a camera whose hello offers BGR3 and
/// JPEG (or BGR3 only): each frame is a named error and a bye, nothing of it is shown, and
/// the display keeps listening and then verifies a real camera's frames.
#[test]
fn a_listening_display_names_each_bad_wire_format_frame_and_shows_none_of_it() {
    let _machine = crate::support::shared();
    const BGR3: u16 = 1;
    const JPEG: u16 = 1 << 5;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut disp = Proc::spawn(
        "display",
        &["display", "--listen", &listen, "--sink", "null", "--verify", "--frames", "5", "--stats", "off"],
    );
    disp.wait_for("listening on", 10 * SECS);
    let offering =
        |formats| hello_with_formats(b"PISTREAM", PROTOCOL_VERSION, CAMERA_HELLO_DIRECTIONS, 64, 48, formats);
    let bgr_size = 64 * 48 * 3;
    // Starts like a JPEG (SOI, then an APP0 marker) and then is noise.
    let mut garbage_jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
    garbage_jpeg.extend((0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "unknown format",
            [offering(BGR3 | JPEG), frame_with(99, &[], bgr_size, 0, 2)].concat(),
            "frame header names wire format 99, which this pistream does not know".into(),
        ),
        (
            "format not offered",
            [offering(BGR3), frame_with(6, &[0; 100], 100, 0, 2)].concat(),
            "peer sent a JPEG frame, but only BGR3 were agreed".into(),
        ),
        (
            "JPEG longer than the bound",
            [offering(BGR3 | JPEG), frame_with(6, &[], bgr_size + 1, 0, 2)].concat(),
            format!("frame message has length {} bytes, expected 1..={bgr_size}", bgr_size + 1),
        ),
        (
            "JPEG that does not decode",
            [offering(BGR3 | JPEG), frame_with(6, &garbage_jpeg, garbage_jpeg.len() as u32, 0, 2)].concat(),
            "a JPEG frame that does not decode".into(),
        ),
    ];
    for (i, (name, bytes, problem)) in cases.into_iter().enumerate() {
        let bye = send_and_read_bye(port, &bytes);
        assert!(bye.contains(&problem), "{name}: bye says {bye:?}");
        let line = disp.wait_for_nth("protocol error", i, 10 * SECS);
        assert!(line.contains(&problem), "{name}: {line}");
        assert!(disp.is_running(), "{name}: the display must keep listening");
    }
    assert!(!disp.output().contains("panicked"));
    let _cam = Proc::spawn(
        "camera",
        &[
            "camera",
            "--connect",
            &listen,
            "--source",
            "pattern",
            "--stats",
            "off",
            "--size",
            "64x48",
            "--wire",
            "jpeg",
        ],
    );
    assert!(disp.wait_exit(20 * SECS).success(), "{}", disp.output());
    // Five frames shown and verified, none failed: nothing of the bad frames was shown.
    assert_eq!(summary_counts(&disp.output()), (5, 5, 0));
}

#[test]
fn a_connecting_display_reports_a_wrong_peer_in_one_line_and_exits_1() {
    let _machine = crate::support::shared();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>").unwrap();
        // Keep the connection open until the display has read that and hung up.
        stream.set_read_timeout(Some(10 * SECS)).unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    });
    let connect = format!("127.0.0.1:{port}");
    let mut disp = Proc::spawn("display", &["display", "--connect", &connect, "--sink", "null"]);
    let status = disp.wait_exit(10 * SECS);
    assert_eq!(status.code(), Some(1), "{}", disp.output());
    let error_lines: Vec<String> =
        disp.output().lines().filter(|l| l.contains("error")).map(String::from).collect();
    assert_eq!(error_lines.len(), 1, "{error_lines:?}");
    assert!(
        error_lines[0].contains("not a pistream peer") && error_lines[0].contains("\"HTTP/1.1\""),
        "{error_lines:?}"
    );
    server.join().unwrap();
}

#[test]
fn an_oversized_length_never_sizes_an_allocation() {
    let _machine = crate::support::shared();
    // A frame header claiming 4 GiB to a display that negotiated 64x48: refused at the
    // header, before any body byte is read (the process would otherwise try to read or
    // allocate 4 GiB).
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let disp = Proc::spawn("display", &["display", "--listen", &listen, "--sink", "null", "--stats", "off"]);
    disp.wait_for("listening on", 10 * SECS);
    let bytes = [
        hello(b"PISTREAM", PROTOCOL_VERSION, CAMERA_HELLO_DIRECTIONS, 64, 48),
        message_with_len(2, &[], u32::MAX, 1),
    ]
    .concat();
    let bye = send_and_read_bye(port, &bytes);
    assert!(bye.contains("length 4294967295 bytes, expected 9216"), "{bye}");
}

/// Version 2 does not speak version 1 (whose authentication could be bypassed): a
/// version-1 peer, on either end, is told so in one line naming both versions.
#[test]
fn a_version_1_peer_is_refused_with_both_versions_named_on_either_end() {
    let _machine = crate::support::shared();
    let v1 = |directions: u8, width: u32, height: u32| {
        let mut body = b"PISTREAM\x00\x01".to_vec();
        body.extend_from_slice(&[directions, 0]);
        body.extend_from_slice(&width.to_be_bytes());
        body.extend_from_slice(&height.to_be_bytes());
        body.extend_from_slice(if width > 0 { b"BGR3" } else { &[0; 4] });
        body.extend_from_slice(&30_000u32.to_be_bytes());
        body.extend_from_slice(&[0; 20]);
        message(1, &body, 0)
    };
    // A version-1 display connecting to a listening camera gets a bye naming both.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let cam =
        Proc::spawn("camera", &["camera", "--listen", &listen, "--source", "pattern", "--stats", "off"]);
    cam.wait_for("listening on", 10 * SECS);
    let bye = send_and_read_bye(port, &v1(DISPLAY_HELLO_DIRECTIONS, 0, 0));
    let both = format!("peer speaks protocol version 1, this pistream speaks version {PROTOCOL_VERSION}");
    assert!(bye.contains(&both), "{bye}");
    cam.wait_for("protocol version 1", 5 * SECS);

    // A version-1 camera (which, as version 1 did, sends its hello the moment a display
    // connects): the display names both versions in its one error line and exits 1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let old_camera = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(&v1(CAMERA_HELLO_DIRECTIONS, 64, 48)).unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    });
    let connect = format!("127.0.0.1:{port}");
    let mut disp = Proc::spawn("display", &["display", "--connect", &connect, "--sink", "null"]);
    assert_eq!(disp.wait_exit(10 * SECS).code(), Some(1), "{}", disp.output());
    let errors: Vec<&str> = disp.output().lines().filter(|l| l.contains("error")).map(|_| "").collect();
    assert_eq!(errors.len(), 1, "{}", disp.output());
    assert!(disp.output().contains(&both), "{}", disp.output());
    drop(disp);
    old_camera.join().unwrap();
}
