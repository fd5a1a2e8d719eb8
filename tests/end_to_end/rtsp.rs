//! RTSP through the real binary and real clients: ffprobe and ffmpeg over TCP and UDP on
//! `/stream` and `/sub` (the picture checked against the test pattern), GStreamer's
//! `rtspsrc`, OpenCV's `VideoCapture`, retina (the Moonfire NVR's strict client) over TCP
//! and UDP; Basic and Digest right, wrong and missing; hostile
//! and out-of-order requests; sessions that time out; many clients with one frozen.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::support::h264_pictures::{pattern_match, MIN_H264_PSNR_DB, MIN_MEAN_H264_PSNR_DB};
use crate::support::http::get;
use crate::support::tools::run;
use crate::support::{free_port, pattern_camera, Proc, SECS};

fn url(port: u16, path: &str) -> String {
    format!("rtsp://127.0.0.1:{port}{path}")
}

#[test]
fn ffprobe_and_ffmpeg_read_both_streams_over_tcp_and_udp_and_the_pixels_match() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have("rtsp ffprobe/ffmpeg", &["ffprobe", "ffmpeg"]) {
        return;
    }
    let port = free_port();
    let _cam = pattern_camera(port, &["--fps", "30"]);
    // /state lists both streams; `camera --help` and the viewer page name them.
    let state: serde_json::Value = serde_json::from_slice(&get(port, "/state", "").body).unwrap();
    let listed: Vec<(String, u64, u64, f64)> = state["rtsp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["width"].as_u64().unwrap(),
                s["height"].as_u64().unwrap(),
                s["fps"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [("/stream".into(), 640, 480, 30.0), ("/sub".into(), 640, 360, 5.0)], "{state}");
    assert!(
        String::from_utf8_lossy(&get(port, "/", "").body).contains("\"rtsp://\" + location.host + r.path")
    );
    let (_, help) = run(crate::support::BIN, &["camera", "--help"]);
    assert!(help.contains("rtsp://PI:5678/stream") && help.contains("rtsp://PI:5678/sub"), "{help}");
    for transport in ["tcp", "udp"] {
        for (path, expected, fps) in [
            ("/stream", "h264,Constrained Baseline,640,480", 30.0),
            ("/sub", "h264,Constrained Baseline,640,360", 5.0),
        ] {
            let (ok, probe) = run(
                "ffprobe",
                &[
                    "-v",
                    "error",
                    "-rtsp_transport",
                    transport,
                    "-show_entries",
                    "stream=codec_name,profile,width,height,r_frame_rate",
                    "-of",
                    "csv=p=0",
                    &url(port, path),
                ],
            );
            // The rate is ffprobe's estimate from the timestamps (30/1, or 30000/1001 when
            // the capture's clock jitters): within 3 %.
            let (head, rate) = probe.trim().rsplit_once(',').unwrap_or_default();
            let measured = rate
                .split_once('/')
                .map_or(0.0, |(n, d)| n.parse::<f64>().unwrap_or(0.0) / d.parse::<f64>().unwrap_or(1.0));
            assert!(
                ok && head == expected && (measured / fps - 1.0).abs() < 0.03,
                "ffprobe {transport} {path}: {probe}"
            );
        }
        // Five seconds decoded with no error, and the pictures are the pattern's.
        let raw = std::env::temp_dir().join(format!("pistream-rtsp-{}-{transport}.bgr", std::process::id()));
        let (ok, out) = run(
            "ffmpeg",
            &[
                "-v",
                "error",
                "-rtsp_transport",
                transport,
                "-i",
                &url(port, "/stream"),
                "-t",
                "5",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "bgr24",
                "-y",
                raw.to_str().unwrap(),
            ],
        );
        assert!(ok && out.trim().is_empty(), "ffmpeg {transport}: no error expected, got: {out}");
        let bytes = std::fs::read(&raw).unwrap();
        let _ = std::fs::remove_file(&raw);
        let frame = 640 * 480 * 3;
        let frames = bytes.len() / frame;
        assert!(frames >= 120, "{transport}: {frames} frames in 5 s at 30 fps");
        let mut sum = 0.0;
        let mut count = 0.0;
        for i in (0..frames).step_by(5) {
            let db = pattern_match(&bytes[i * frame..(i + 1) * frame], 640, 480);
            assert!(db >= MIN_H264_PSNR_DB, "{transport}: frame {i} is {db:.1} dB from the pattern");
            sum += db;
            count += 1.0;
        }
        let mean = sum / count;
        assert!(mean >= MIN_MEAN_H264_PSNR_DB, "{transport}: {mean:.1} dB from the pattern on average");
    }
}

#[test]
fn gstreamer_and_opencv_play_the_stream() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have("rtsp gstreamer/opencv", &["gst-launch-1.0", "/usr/bin/python3:cv2"]) {
        return;
    }
    let port = free_port();
    let _cam = pattern_camera(port, &[]);
    for protocols in ["tcp", "udp"] {
        let location = format!("location={}", url(port, "/stream"));
        let protocols_arg = format!("protocols={protocols}");
        let (ok, out) = run(
            "timeout",
            &[
                "30",
                "gst-launch-1.0",
                "-q",
                "rtspsrc",
                &location,
                &protocols_arg,
                "!",
                "rtph264depay",
                "!",
                "avdec_h264",
                "!",
                "identity",
                "eos-after=60",
                "!",
                "fakesink",
            ],
        );
        assert!(ok, "GStreamer rtspsrc over {protocols}: {out}");
    }
    let script = format!(
        "import cv2\nc = cv2.VideoCapture('{}')\nn = 0\nwhile n < 30:\n    ok, f = c.read()\n    if not ok: break\n    n += 1\nprint(n, f.shape[1], f.shape[0])\n",
        url(port, "/sub")
    );
    let (ok, out) = run("timeout", &["30", "/usr/bin/python3", "-c", &script]);
    assert!(ok && out.trim().ends_with("30 640 360"), "OpenCV: {out}");
}

/// One request on a raw connection and its whole answer (head and body).
fn request(stream: &mut TcpStream, text: &str) -> String {
    stream.write_all(text.as_bytes()).unwrap();
    read_answer(stream)
}

/// Reads exactly one answer (its head, then `Content-Length` bytes of body), never a byte
/// more: RTP may follow it on the same connection. Empty if the connection closed first.
fn read_answer(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(5 * SECS)).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return String::from_utf8_lossy(&head).into_owned(),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let len: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).unwrap();
    text + &String::from_utf8_lossy(&body)
}

/// The answer to a request that must be refused with 400: the answer, or (when the server
/// closed while the client was still writing, which resets the connection) "reset".
fn bad_request_answer(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(5 * SECS)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && got.is_empty() => {
                return "reset".into()
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return String::from_utf8_lossy(&got).into_owned()
            }
            Err(e) => panic!("no answer and no close within 5 s: {e}"),
        }
    }
}

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).unwrap()
}

/// SETUP of `/stream` with `transport` on a new connection, then PLAY: the connection, its
/// session id and PLAY's answer.
fn setup_and_play(port: u16, transport: &str) -> (TcpStream, String, String) {
    let u = url(port, "/stream");
    let mut s = connect(port);
    let setup = request(
        &mut s,
        &format!("SETUP {u}/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: {transport}\r\n\r\n"),
    );
    let session = setup
        .lines()
        .find_map(|l| l.strip_prefix("Session: "))
        .unwrap_or_else(|| panic!("no session in {setup}"))
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let play = request(&mut s, &format!("PLAY {u} RTSP/1.0\r\nCSeq: 2\r\nSession: {session}\r\n\r\n"));
    (s, session, play)
}

#[test]
fn basic_and_digest_are_checked_and_a_keyed_camera_without_a_password_refuses() {
    let _machine = crate::support::shared();
    let dir = std::env::temp_dir().join(format!("pistream-rtsp-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pw = dir.join("pw");
    std::fs::write(&pw, "viewer:s3cret\n").unwrap();
    let port = free_port();
    let _cam = pattern_camera(port, &["--password-file", pw.to_str().unwrap()]);
    let describe = |auth: &str| {
        let mut s = connect(port);
        request(&mut s, &format!("DESCRIBE {} RTSP/1.0\r\nCSeq: 2\r\n{auth}\r\n", url(port, "/stream")))
    };
    let missing = describe("");
    assert!(missing.starts_with("RTSP/1.0 401 "), "{missing}");
    assert!(missing.contains("WWW-Authenticate: Digest realm=\"pistream\", nonce=\""), "{missing}");
    assert!(missing.contains("WWW-Authenticate: Basic realm=\"pistream\""), "{missing}");
    assert!(missing.contains("CSeq: 2\r\n"), "{missing}");
    use base64::Engine as _;
    let basic = |up: &str| {
        format!("Authorization: Basic {}\r\n", base64::engine::general_purpose::STANDARD.encode(up))
    };
    let right = describe(&basic("viewer:s3cret"));
    assert!(right.starts_with("RTSP/1.0 200 OK") && right.contains("a=rtpmap:96 H264/90000"), "{right}");
    assert!(describe(&basic("viewer:wrong")).starts_with("RTSP/1.0 401 "));
    // OPTIONS needs no password (clients ask it first).
    let mut s = connect(port);
    assert!(request(&mut s, "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n").starts_with("RTSP/1.0 200 OK"));
    // Digest, as ffmpeg answers the challenge.
    if crate::support::tools::have("rtsp digest", &["ffprobe"]) {
        let with = |user_pw: &str| {
            run(
                "ffprobe",
                &[
                    "-v",
                    "error",
                    "-rtsp_transport",
                    "tcp",
                    "-show_entries",
                    "stream=codec_name",
                    "-of",
                    "csv=p=0",
                    &format!("rtsp://{user_pw}@127.0.0.1:{port}/stream"),
                ],
            )
        };
        let (ok, out) = with("viewer:s3cret");
        assert!(ok && out.trim() == "h264", "digest with the right password: {out}");
        let (ok, out) = with("viewer:wrong");
        assert!(!ok && out.contains("401"), "digest with a wrong password: {out}");
    }
    // A keyed camera with no password file refuses RTSP as it refuses HTTP.
    let key = dir.join("key");
    let (ok, out) = run(crate::support::BIN, &["keygen", key.to_str().unwrap()]);
    assert!(ok, "{out}");
    let port = free_port();
    let _keyed = pattern_camera(port, &["--key-file", key.to_str().unwrap()]);
    let mut s = connect(port);
    let answer = request(&mut s, &format!("DESCRIBE {} RTSP/1.0\r\nCSeq: 5\r\n\r\n", url(port, "/stream")));
    assert!(answer.starts_with("RTSP/1.0 403 ") && answer.contains("--password-file"), "{answer}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_and_out_of_order_requests_get_their_status_and_the_camera_keeps_serving() {
    let _machine = crate::support::shared();
    let port = free_port();
    let cam = pattern_camera(port, &["--size", "320x240"]);
    let u = url(port, "/stream");
    let mut s = connect(port);
    let cases = [
        (format!("PLAY {u} RTSP/1.0\r\nCSeq: 1\r\n\r\n"), "455"),
        (
            format!(
                "SETUP {u}/trackID=7 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n"
            ),
            "404",
        ),
        (format!("DESCRIBE {}/nothing RTSP/1.0\r\nCSeq: 3\r\n\r\n", url(port, "")), "404"),
        (format!("SETUP {u}/trackID=0 RTSP/1.0\r\nCSeq: 4\r\nTransport: RTP/AVP;multicast\r\n\r\n"), "461"),
        (format!("SETUP {u}/trackID=0 RTSP/1.0\r\nCSeq: 5\r\n\r\n"), "400"),
        (format!("RECORD {u} RTSP/1.0\r\nCSeq: 6\r\n\r\n"), "405"),
        (format!("BREW {u} RTSP/1.0\r\nCSeq: 7\r\n\r\n"), "501"),
        (format!("TEARDOWN {u} RTSP/1.0\r\nCSeq: 8\r\nSession: nope\r\n\r\n"), "200"),
    ];
    for (text, status) in &cases {
        let answer = request(&mut s, text);
        assert!(answer.starts_with(&format!("RTSP/1.0 {status} ")), "{text:?} -> {answer}");
    }
    // A SETUP, then a PLAY with someone else's session.
    let mut s = connect(port);
    let setup = request(&mut s, &format!("SETUP {u}/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"));
    assert!(
        setup.starts_with("RTSP/1.0 200 OK") && setup.contains("Session: ") && setup.contains(";timeout=60"),
        "{setup}"
    );
    let play = request(&mut s, &format!("PLAY {u} RTSP/1.0\r\nCSeq: 2\r\nSession: 0123456789abcdef\r\n\r\n"));
    assert!(play.starts_with("RTSP/1.0 454 "), "{play}");
    // A malformed request and a huge head: answered 400 and closed, never a crash.
    let mut s = connect(port);
    s.write_all(b"DESCRIBE \x01\x02 garbage\r\nCSeq: x\r\n\tbad\r\n\r\n").unwrap();
    let answer = bad_request_answer(&mut s);
    assert!(answer.starts_with("RTSP/1.0 400 "), "{answer}");
    let mut s = connect(port);
    let huge = format!("DESCRIBE {u} RTSP/1.0\r\nCSeq: 1\r\nX-Big: {}\r\n\r\n", "a".repeat(40_000));
    let _ = s.write_all(huge.as_bytes());
    let answer = bad_request_answer(&mut s);
    assert!(answer == "reset" || answer.starts_with("RTSP/1.0 400 "), "{answer}");
    let mut s = connect(port);
    let flood: String = (0..500).map(|i| format!("OPTIONS * RTSP/1.0\r\nCSeq: {i}\r\n\r\n")).collect();
    s.write_all(flood.as_bytes()).unwrap();
    let mut answered = 0;
    let mut got = Vec::new();
    let deadline = Instant::now() + 10 * SECS;
    s.set_read_timeout(Some(SECS)).unwrap();
    while answered < 500 && Instant::now() < deadline {
        let mut buf = [0u8; 65536];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        answered = got.windows(15).filter(|w| w == b"RTSP/1.0 200 OK").count();
    }
    assert_eq!(answered, 500, "every pipelined request answered in order");
    // Forty connections that only ask OPTIONS (no password needed) and stay: they hold no
    // place, at most 16 stay open (the oldest are closed), and a real client still plays.
    let mut askers: Vec<TcpStream> = (0..40)
        .map(|i| {
            let mut s = connect(port);
            let answer = request(&mut s, &format!("OPTIONS * RTSP/1.0\r\nCSeq: {i}\r\n\r\n"));
            assert!(answer.starts_with("RTSP/1.0 200 OK"), "{answer}");
            s
        })
        .collect();
    let (_player, _, play) = setup_and_play(port, "RTP/AVP/TCP;interleaved=0-1");
    assert!(play.starts_with("RTSP/1.0 200 OK"), "{play}");
    let closed = askers
        .iter_mut()
        .map(|s| {
            s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
            match s.read(&mut [0u8; 1]) {
                Ok(0) => true,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                Ok(_) => false,
            }
        })
        .filter(|&closed| closed)
        .count();
    assert!(closed >= 24, "{closed} of 40 idle connections closed");
    // Still serving, and no panic in its log.
    let state = get(port, "/state", "");
    assert!(state.head.starts_with("HTTP/1.1 200"), "{}", state.head);
    let mut s = connect(port);
    let describe = request(&mut s, &format!("DESCRIBE {u} RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
    assert!(describe.starts_with("RTSP/1.0 200 OK"), "{describe}");
    assert!(!cam.output().contains("panicked"), "{}", cam.output());
}

#[test]
fn sessions_that_never_play_or_vanish_are_gone_within_the_timeout_and_lock_no_one_out() {
    let _machine = crate::support::shared();
    let port = free_port();
    let cam = pattern_camera(port, &["--size", "320x240", "--rtsp-timeout", "5", "--max-viewers", "2"]);
    let u = url(port, "/stream");
    // 50 sessions set up and never played.
    let mut idle: Vec<TcpStream> = (0..50)
        .map(|i| {
            let mut s = connect(port);
            let setup = request(
                &mut s,
                &format!("SETUP {u}/trackID=0 RTSP/1.0\r\nCSeq: {i}\r\nTransport: RTP/AVP;unicast;client_port=40000-40001\r\n\r\n"),
            );
            assert!(setup.starts_with("RTSP/1.0 200 OK"), "{setup}");
            s
        })
        .collect();
    // Two clients that play and then vanish without TEARDOWN (UDP: nothing more is heard).
    let mut vanishing = Vec::new();
    for i in 0..2 {
        let transport = format!("RTP/AVP;unicast;client_port={}-{}", 41000 + 2 * i, 41001 + 2 * i);
        let (s, _, play) = setup_and_play(port, &transport);
        assert!(play.starts_with("RTSP/1.0 200 OK"), "{play}");
        vanishing.push(s);
    }
    // Both viewer places are taken now: a third player is refused.
    let (third, _, play) = setup_and_play(port, "RTP/AVP/TCP;interleaved=0-1");
    assert!(play.starts_with("RTSP/1.0 503 "), "{play}");
    drop(third);
    // Within the timeout (5 s, and a poll), every silent session is closed by the camera.
    let started = Instant::now();
    for s in idle.iter_mut().chain(vanishing.iter_mut()) {
        s.set_read_timeout(Some(10 * SECS)).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) => panic!("a silent session still open after {:?}: {e}", started.elapsed()),
            }
        }
    }
    assert!(started.elapsed() < Duration::from_secs(8), "closed after {:?}", started.elapsed());
    assert!(cam.output().contains("(the session timeout)"), "{}", cam.output());
    // The places are free again: a new client plays.
    let (_s, _, play) = setup_and_play(port, "RTP/AVP/TCP;interleaved=0-1");
    assert!(play.starts_with("RTSP/1.0 200 OK"), "{play}");
}

/// Frames an ffmpeg client decoded so far, from its `-progress` output.
fn progress_frames(p: &Proc) -> u64 {
    p.output()
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("frame="))
        .find_map(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn four_rtsp_clients_two_displays_and_two_mjpeg_clients_with_one_rtsp_client_frozen() {
    let _machine = crate::support::exclusive();
    if !crate::support::tools::have("rtsp many clients", &["ffmpeg"]) {
        return;
    }
    let port = free_port();
    let cam = pattern_camera(port, &["--size", "320x240", "--fps", "30", "--max-viewers", "12"]);
    let target = format!("127.0.0.1:{port}");
    let ffmpeg = |transport: &str| {
        Proc::spawn_program(
            "ffmpeg",
            "ffmpeg",
            &[
                "-v",
                "error",
                "-progress",
                "pipe:2",
                "-stats_period",
                "0.5",
                "-rtsp_transport",
                transport,
                "-i",
                &url(port, "/stream"),
                "-f",
                "null",
                "-",
            ],
            &[],
        )
    };
    let rtsp: Vec<Proc> = vec![ffmpeg("tcp"), ffmpeg("tcp"), ffmpeg("udp"), ffmpeg("udp")];
    let logs: Vec<String> =
        (0..2).map(|i| crate::support::frame_log_path(&format!("rtsp-display{i}"))).collect();
    let mut displays: Vec<Proc> = logs
        .iter()
        .map(|log| {
            Proc::spawn("display", &["display", "--connect", &target, "--sink", "null", "--frame-log", log])
        })
        .collect();
    let mjpeg: Vec<crate::support::http::StreamClient> =
        (0..2).map(|_| crate::support::http::StreamClient::start_sized(port, "/stream", 320, 240)).collect();
    std::thread::sleep(4 * SECS);
    let rss_before = rss_kib(cam.pid());
    let before: Vec<u64> = rtsp.iter().map(progress_frames).collect();
    let mjpeg_before: Vec<u64> = mjpeg.iter().map(|c| c.frames()).collect();
    let t0 = Instant::now();
    let t0_us = pistream::media::now_us();
    rtsp[0].signal(Signal::SIGSTOP);
    std::thread::sleep(5 * SECS);
    rtsp[0].signal(Signal::SIGCONT);
    let elapsed = t0.elapsed().as_secs_f64();
    let after: Vec<u64> = rtsp.iter().map(progress_frames).collect();
    let mjpeg_after: Vec<u64> = mjpeg.iter().map(|c| c.frames()).collect();
    for i in 1..4 {
        let fps = (after[i] - before[i]) as f64 / elapsed;
        assert!(fps >= 0.8 * 30.0, "RTSP client {i} while one is frozen: {fps:.1} fps");
    }
    for i in 0..2 {
        let fps = (mjpeg_after[i] - mjpeg_before[i]) as f64 / elapsed;
        assert!(fps >= 0.8 * 30.0, "MJPEG client {i} while an RTSP client is frozen: {fps:.1} fps");
    }
    let rss_after = rss_kib(cam.pid());
    assert!(rss_after < rss_before + 5 * 1024, "camera RSS {rss_before} -> {rss_after} KiB");
    // The frozen client resumes decoding without errors (it skipped to a keyframe).
    std::thread::sleep(2 * SECS);
    let resumed = progress_frames(&rtsp[0]);
    std::thread::sleep(5 * SECS);
    let fps = (progress_frames(&rtsp[0]) - resumed) as f64 / 5.0;
    assert!(fps >= 0.8 * 30.0, "the frozen client after resuming: {fps:.1} fps");
    for p in &rtsp {
        let output = p.output();
        let errors: Vec<&str> = output.lines().filter(|l| !l.contains('=')).collect();
        // ffmpeg reports RTP loss while frozen (a true gap), but no decoding error after.
        assert!(
            errors.iter().all(|l| l.contains("max delay reached")
                || l.contains("RTP: missed")
                || l.contains("RTP: PT")),
            "{}: {errors:?}",
            p.name
        );
    }
    for (d, log) in displays.iter_mut().zip(&logs) {
        d.signal(Signal::SIGTERM);
        d.wait_exit(10 * SECS);
        let shown = crate::support::read_frame_log(log)
            .iter()
            .filter(|f| f.shown_us >= t0_us && f.shown_us < t0_us + (elapsed * 1e6) as u64)
            .count();
        let fps = shown as f64 / elapsed;
        assert!(fps >= 0.8 * 30.0, "a pistream display while an RTSP client is frozen: {fps:.1} fps");
    }
    // A new RTSP client has its first whole keyframe within a second of asking for it.
    let waited = first_keyframe(port);
    assert!(waited < SECS, "first keyframe after {waited:?}");
    for c in mjpeg {
        c.finish();
    }
}

/// How long a new client waits from SETUP to the end of its first keyframe, read from the
/// interleaved RTP (an IDR slice, then the marker bit).
fn first_keyframe(port: u16) -> Duration {
    let started = Instant::now();
    let (mut s, _, play) = setup_and_play(port, "RTP/AVP/TCP;unicast;interleaved=0-1");
    assert!(play.starts_with("RTSP/1.0 200 OK"), "{play}");
    let mut idr = false;
    loop {
        let mut frame = [0u8; 4];
        s.read_exact(&mut frame).unwrap();
        assert_eq!(frame[0], b'$', "interleaved data only after PLAY");
        let mut packet = vec![0u8; usize::from(u16::from_be_bytes([frame[2], frame[3]]))];
        s.read_exact(&mut packet).unwrap();
        if frame[1] != 0 {
            continue; // RTCP
        }
        let payload = &packet[12..];
        let nal_type = match payload[0] & 0x1f {
            28 => payload[1] & 0x1f,
            24 => payload[3] & 0x1f,
            t => t,
        };
        idr |= nal_type == 5;
        if idr && packet[1] & 0x80 != 0 {
            return started.elapsed();
        }
    }
}

pub(crate) fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// What retina saw of a stream: its codec and size, frames (and whether the first could be
/// decoded from), lost packets, and RTCP sender reports.
#[derive(Debug)]
struct RetinaRun {
    codec: String,
    size: (u32, u32),
    frames: u64,
    first_is_keyframe: bool,
    loss: u64,
    sender_reports: u64,
}

/// Plays `url` with retina (the Moonfire NVR's strict RTSP client) for `seconds`.
async fn retina_play(
    url: &str,
    udp: bool,
    creds: Option<(&str, &str)>,
    seconds: u64,
) -> Result<RetinaRun, String> {
    use futures::StreamExt as _;
    use retina::client::{PlayOptions, Session, SessionOptions, SetupOptions, Transport};
    let creds = creds.map(|(u, p)| retina::client::Credentials { username: u.into(), password: p.into() });
    let mut session =
        Session::describe(url::Url::parse(url).unwrap(), SessionOptions::default().creds(creds))
            .await
            .map_err(|e| e.to_string())?;
    let transport = if udp { Transport::Udp(Default::default()) } else { Transport::Tcp(Default::default()) };
    session.setup(0, SetupOptions::default().transport(transport)).await.map_err(|e| e.to_string())?;
    let mut demuxed = session
        .play(PlayOptions::default())
        .await
        .map_err(|e| e.to_string())?
        .demuxed()
        .map_err(|e| e.to_string())?;
    let mut run = RetinaRun {
        codec: String::new(),
        size: (0, 0),
        frames: 0,
        first_is_keyframe: false,
        loss: 0,
        sender_reports: 0,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, demuxed.next()).await {
        match item.map_err(|e| e.to_string())? {
            retina::codec::CodecItem::VideoFrame(frame) => {
                if run.frames == 0 {
                    run.first_is_keyframe = frame.is_random_access_point();
                }
                run.frames += 1;
                run.loss += u64::from(frame.loss());
            }
            retina::codec::CodecItem::Rtcp(rtcp) => {
                run.sender_reports += rtcp
                    .pkts()
                    .filter(|p| {
                        matches!(p.as_typed(), Ok(Some(retina::rtcp::TypedPacketRef::SenderReport(_))))
                    })
                    .count() as u64;
            }
            _ => {}
        }
    }
    if let Some(retina::codec::ParametersRef::Video(v)) = demuxed.streams()[0].parameters() {
        run.codec = v.rfc6381_codec().to_string();
        run.size = v.pixel_dimensions();
    }
    Ok(run)
}

#[test]
fn retina_a_strict_client_plays_both_streams_over_tcp_and_udp_with_digest() {
    let _machine = crate::support::shared();
    let dir = std::env::temp_dir().join(format!("pistream-rtsp-retina-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pw = dir.join("pw");
    std::fs::write(&pw, "viewer:s3cret\n").unwrap();
    let port = free_port();
    let _cam = pattern_camera(port, &["--fps", "30", "--password-file", pw.to_str().unwrap()]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let creds = Some(("viewer", "s3cret"));
    for udp in [false, true] {
        for (path, size, min_frames) in [("/stream", (640, 480), 75), ("/sub", (640, 360), 12)] {
            let run = runtime.block_on(retina_play(&url(port, path), udp, creds, 3)).unwrap();
            let how = format!("{} {path}: {run:?}", if udp { "UDP" } else { "TCP" });
            assert!(run.codec.starts_with("avc1.42"), "Constrained Baseline: {how}");
            assert_eq!(run.size, size, "{how}");
            assert!(run.frames >= min_frames && run.first_is_keyframe, "{how}");
            assert_eq!(run.loss, 0, "{how}");
            assert!(run.sender_reports >= 2, "about one sender report a second: {how}");
        }
    }
    let wrong = runtime.block_on(retina_play(&url(port, "/stream"), false, Some(("viewer", "nope")), 1));
    assert!(wrong.is_err_and(|e| e.contains("401")), "a wrong password is refused");
    let missing = runtime.block_on(retina_play(&url(port, "/stream"), false, None, 1));
    assert!(missing.is_err_and(|e| e.contains("401")), "no password is refused");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads interleaved packets and the next answer from a playing connection: the answer,
/// and the RTP packets (channel 0) that came before it.
fn answer_among_packets(s: &mut TcpStream) -> (String, usize) {
    let mut packets = 0;
    loop {
        let mut first = [0u8; 1];
        s.read_exact(&mut first).unwrap();
        if first[0] == b'$' {
            let mut rest = [0u8; 3];
            s.read_exact(&mut rest).unwrap();
            let mut packet = vec![0u8; usize::from(u16::from_be_bytes([rest[1], rest[2]]))];
            s.read_exact(&mut packet).unwrap();
            packets += usize::from(rest[0] == 0);
            continue;
        }
        let mut head = vec![first[0]];
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        return (String::from_utf8_lossy(&head).into_owned(), packets);
    }
}

#[test]
fn pause_stops_the_packets_and_play_starts_them_again_at_a_keyframe() {
    let _machine = crate::support::shared();
    let port = free_port();
    let _cam = pattern_camera(port, &["--size", "320x240"]);
    let u = url(port, "/stream");
    let (mut s, session, play) = setup_and_play(port, "RTP/AVP/TCP;unicast;interleaved=0-1");
    assert!(play.starts_with("RTSP/1.0 200 OK") && play.contains("RTP-Info: url="), "{play}");
    std::thread::sleep(SECS);
    s.write_all(format!("PAUSE {u} RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\n\r\n").as_bytes()).unwrap();
    let (pause, before) = answer_among_packets(&mut s);
    assert!(pause.starts_with("RTSP/1.0 200 OK") && pause.contains("CSeq: 3"), "{pause}");
    assert!(before > 20, "{before} RTP packets in a second of playing");
    // Paused: nothing comes for a second (the keep-alive is answered).
    s.set_read_timeout(Some(SECS)).unwrap();
    let mut buf = [0u8; 1];
    let quiet = s.read(&mut buf);
    assert!(quiet.is_err(), "data after PAUSE: {quiet:?}");
    s.set_read_timeout(Some(5 * SECS)).unwrap();
    let alive =
        request(&mut s, &format!("GET_PARAMETER {u} RTSP/1.0\r\nCSeq: 4\r\nSession: {session}\r\n\r\n"));
    assert!(alive.starts_with("RTSP/1.0 200 OK"), "{alive}");
    // PLAY again: packets again, from a keyframe within a second.
    let started = Instant::now();
    let play = request(&mut s, &format!("PLAY {u} RTSP/1.0\r\nCSeq: 5\r\nSession: {session}\r\n\r\n"));
    assert!(play.starts_with("RTSP/1.0 200 OK"), "{play}");
    let mut frame = [0u8; 4];
    loop {
        s.read_exact(&mut frame).unwrap();
        let mut packet = vec![0u8; usize::from(u16::from_be_bytes([frame[2], frame[3]]))];
        s.read_exact(&mut packet).unwrap();
        if frame[1] == 0 {
            let nal = packet[12] & 0x1f;
            let inner = match nal {
                24 => packet[15] & 0x1f,
                28 => packet[13] & 0x1f,
                n => n,
            };
            assert!(
                matches!(inner, 5 | 7),
                "the first packet after PLAY is a keyframe's (NAL {nal}/{inner})"
            );
            break;
        }
    }
    assert!(started.elapsed() < SECS, "{:?}", started.elapsed());
}
