//! One camera, many viewers, and the web, through the real binary: pistream displays and
//! HTTP clients at once with one of them frozen; idle and keyless connections that must
//! not delay a real viewer; real clients (headless Chromium, ffprobe/ffmpeg, GStreamer)
//! on the viewer page, `/stream` and `/snapshot`; Basic auth right, wrong and missing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pistream::media::now_us;

use crate::support::http::{decode_bgr, get, header, pattern_psnr, StreamClient};
use crate::support::latency_display::percentile;
use crate::support::tools::run;
use crate::support::{
    frame_log_path, free_port, pattern_camera, read_frame_log, summary_counts, Proc, ShownFrame, SECS,
};

/// Lowest PSNR of a q80 JPEG of the test pattern against the pattern: measured 28.7 dB at
/// worst over many frames (4:2:0 chroma cannot carry the pattern's XOR texture in red).
const MIN_PSNR_DB: f64 = 25.0;

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Frames each viewer of the camera has taken, by address, from `/state`.
fn viewer_frames(port: u16) -> Vec<(String, u64)> {
    let state: serde_json::Value = serde_json::from_slice(&get(port, "/state", "").body).unwrap();
    state["viewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["address"].as_str().unwrap().to_string(), v["frames"].as_u64().unwrap()))
        .collect()
}

#[test]
fn four_displays_and_four_http_clients_share_one_camera_and_a_frozen_one_slows_no_one() {
    let _machine = crate::support::exclusive();
    let port = free_port();
    let cam = pattern_camera(port, &["--fps", "30"]);
    let target = format!("127.0.0.1:{port}");
    // The display to be frozen logs every frame it shows, with when (this machine's clock).
    let frame_log = frame_log_path("frozen");
    let displays: Vec<Proc> = (0..4)
        .map(|i| {
            let mut args =
                vec!["display", "--connect", &target, "--sink", "null", "--verify", "--seconds", "16"];
            if i == 0 {
                args.extend(["--frame-log", &frame_log]);
            }
            Proc::spawn(&format!("display{i}"), &args)
        })
        .collect();
    for d in &displays {
        d.wait_for("streaming with", 10 * SECS);
    }
    let clients: Vec<StreamClient> =
        (0..4).map(|i| StreamClient::start(port, ["/stream", "/?action=stream"][i % 2])).collect();
    thread::sleep(3 * SECS); // everyone settles
    assert_eq!(viewer_frames(port).len(), 8, "8 viewers");

    let frozen = &displays[0];
    let (before, http_before, rss_before) = (
        viewer_frames(port),
        clients.iter().map(StreamClient::frames).collect::<Vec<_>>(),
        rss_kib(cam.pid()),
    );
    frozen.signal(Signal::SIGSTOP);
    let frozen_at = Instant::now();
    thread::sleep(5 * SECS);
    let (after, http_after, rss_frozen) = (
        viewer_frames(port),
        clients.iter().map(StreamClient::frames).collect::<Vec<_>>(),
        rss_kib(cam.pid()),
    );
    let resumed_us = now_us();
    frozen.signal(Signal::SIGCONT);
    let window = frozen_at.elapsed().as_secs_f64();

    // Every other viewer kept at least 80 % of 30 fps while one was frozen.
    let frozen_local = frozen.output();
    let mut rates = Vec::new();
    for (address, frames) in &after {
        let Some((_, was)) = before.iter().find(|(a, _)| a == address) else { continue };
        rates.push((address.clone(), (frames - was) as f64 / window));
    }
    for (i, (a, b)) in http_before.iter().zip(&http_after).enumerate() {
        rates.push((format!("http{i}"), (b - a) as f64 / window));
    }
    eprintln!(
        "frame rates while one display was frozen: {rates:?}; camera RSS {rss_before} -> {rss_frozen} KiB"
    );
    let slow: Vec<_> = rates.iter().filter(|(_, fps)| *fps < 0.8 * 30.0).collect();
    assert!(slow.len() <= 1, "only the frozen display may fall behind: {slow:?}\n{frozen_local}");
    assert!(rss_frozen < rss_before + 5 * 1024, "camera memory grew from {rss_before} to {rss_frozen} KiB");

    for (i, mut d) in displays.into_iter().enumerate() {
        assert!(d.wait_exit(30 * SECS).success(), "display{i}: {}", d.output());
        let (shown, verified, corrupt) = summary_counts(&d.output());
        assert!(shown > 100 && verified == shown && corrupt == 0, "display{i}: {shown} {verified} {corrupt}");
    }

    // The frozen one resumes with fresh frames within 1 s, measured from the resume itself
    // on the clock both the camera's capture stamps and the display's frame log read: every
    // frame it shows from 1 s after SIGCONT on was captured after SIGCONT (none of those
    // that waited in the socket buffers through the freeze), it shows frames again in the
    // second after that, and their latency p99 is back under 100 ms.
    let shown = read_frame_log(&frame_log);
    let from = resumed_us + 1_000_000;
    let stale: Vec<&ShownFrame> =
        shown.iter().filter(|f| f.shown_us >= from && f.captured_us < resumed_us).collect();
    let next_second: Vec<f64> = shown
        .iter()
        .filter(|f| (from..from + 1_000_000).contains(&f.shown_us))
        .map(|f| f.latency_us as f64 / 1000.0)
        .collect();
    let p99 = percentile(&next_second, 99.0);
    eprintln!(
        "the frozen display from 1 s to 2 s after SIGCONT: {} frames, latency p50 {:.1} ms p99 {p99:.1} ms; \
         frames captured before SIGCONT shown later than 1 s after it: {}",
        next_second.len(),
        percentile(&next_second, 50.0),
        stale.len()
    );
    assert!(stale.is_empty(), "frames from before the resume shown more than 1 s after it: {stale:?}");
    assert!(next_second.len() >= 15, "{} frames shown from 1 s to 2 s after SIGCONT", next_second.len());
    assert!(p99 < 100.0, "latency after resuming: p99 {p99:.1} ms of {next_second:?}");
    for client in clients {
        let worst = client.finish();
        assert!(worst >= MIN_PSNR_DB, "an HTTP client's JPEG was {worst:.1} dB from the pattern");
    }
}

#[test]
fn idle_and_half_hello_connections_do_not_delay_a_real_display() {
    let _machine = crate::support::exclusive();
    for keyed in [false, true] {
        let key = std::env::temp_dir().join(format!("pistream-web-key-{}", std::process::id()));
        let _ = std::fs::remove_file(&key);
        std::fs::write(&key, "a key for the lockout test\n").unwrap();
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let key_args: Vec<&str> = if keyed { vec!["--key-file", key.to_str().unwrap()] } else { vec![] };
        let port = free_port();
        let mut args = vec!["--size", "320x240"];
        args.extend_from_slice(&key_args);
        let _cam = pattern_camera(port, &args);
        // 100 idle connections, and 20 that send half a hello and stop.
        let mut idle: Vec<TcpStream> =
            (0..100).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
        for _ in 0..20 {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"PS\x01\x00\x00\x00\x00\x30PISTREAM").unwrap();
            idle.push(s);
        }
        // With a key: keyless peers that finish their hello and fail, in a loop.
        let stop = Arc::new(AtomicBool::new(false));
        let pest = keyed.then(|| {
            let stop = stop.clone();
            thread::spawn(move || {
                let mut hello = vec![b'P', b'S', 1, 0, 0, 0, 0, 48];
                hello.extend_from_slice(&[0; 16]);
                hello.extend_from_slice(b"PISTREAM\x00\x02\x02\x00");
                hello.extend_from_slice(&[0; 12]);
                hello.extend_from_slice(&[0, 0, 0, 1]);
                hello.extend_from_slice(&[0; 20]);
                let mut attempts = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                        let _ = s.write_all(&hello);
                        let _ = s.read(&mut [0u8; 512]);
                        attempts += 1;
                    }
                    thread::sleep(Duration::from_millis(30));
                }
                attempts
            })
        });
        thread::sleep(Duration::from_millis(300));
        let target = format!("127.0.0.1:{port}");
        let mut display_args =
            vec!["display", "--connect", &target, "--sink", "null", "--verify", "--frames", "1"];
        display_args.extend_from_slice(&key_args);
        let mut disp = Proc::spawn("display", &display_args);
        disp.wait_for("connected to", 10 * SECS);
        let connected = Instant::now();
        assert!(disp.wait_exit(10 * SECS).success(), "keyed {keyed}: {}", disp.output());
        let first_frame = connected.elapsed();
        stop.store(true, Ordering::Relaxed);
        let attempts = pest.map(|p| p.join().unwrap());
        eprintln!("keyed {keyed}: first frame {first_frame:?} after connecting, beside 120 idle connections and {attempts:?} keyless attempts");
        // Measured 140-210 ms, quiet or beside a busy core: the bound is 5 times that.
        assert!(first_frame < SECS, "keyed {keyed}: {first_frame:?}");
        assert_eq!(summary_counts(&disp.output()), (1, 1, 0));
        drop(idle);
    }
}

#[test]
fn ffprobe_ffmpeg_and_gstreamer_read_the_stream_and_the_snapshot() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have(
        "ffprobe_ffmpeg_and_gstreamer_read_the_stream_and_the_snapshot",
        &["ffprobe", "ffmpeg", "gst-launch-1.0"],
    ) {
        return;
    }
    let port = free_port();
    let _cam = pattern_camera(port, &[]);
    let stream = format!("http://127.0.0.1:{port}/stream");
    let (ok, probe) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-f",
            "mpjpeg",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
            &stream,
        ],
    );
    assert!(ok && probe.trim() == "mjpeg,640,480", "ffprobe: {probe}");
    let (ok, out) =
        run("ffmpeg", &["-v", "error", "-f", "mpjpeg", "-i", &stream, "-frames:v", "20", "-f", "null", "-"]);
    assert!(ok, "ffmpeg /stream: {out}");
    let raw = std::env::temp_dir().join(format!("pistream-snapshot-{}.bgr", std::process::id()));
    let snapshot = format!("http://127.0.0.1:{port}/?action=snapshot");
    let (ok, out) = run(
        "ffmpeg",
        &["-v", "error", "-y", "-i", &snapshot, "-f", "rawvideo", "-pix_fmt", "bgr24", raw.to_str().unwrap()],
    );
    assert!(ok, "ffmpeg /snapshot: {out}");
    assert_eq!(std::fs::metadata(&raw).unwrap().len(), 640 * 480 * 3, "one 640x480 picture");
    let location = format!("location={stream}");
    let (ok, out) = run(
        "gst-launch-1.0",
        &[
            "-q",
            "souphttpsrc",
            &location,
            "!",
            "multipartdemux",
            "!",
            "jpegdec",
            "!",
            "fakesink",
            "num-buffers=20",
        ],
    );
    assert!(ok, "GStreamer: {out}");
}

#[test]
fn headless_chromium_shows_the_live_picture_on_the_viewer_page() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have(
        "headless_chromium_shows_the_live_picture_on_the_viewer_page",
        &["chromium", "convert"],
    ) {
        return;
    }
    let port = free_port();
    let _cam = pattern_camera(port, &["--fps", "5"]);
    let dir = std::env::temp_dir().join(format!("pistream-chromium-{}", std::process::id()));
    let shot = dir.join("page.png");
    let url = format!("http://127.0.0.1:{port}/?poll=300");
    let profile = format!("--user-data-dir={}", dir.join("profile").display());
    let screenshot = format!("--screenshot={}", shot.display());
    let (ok, out) = run(
        "chromium",
        &[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &profile,
            "--window-size=640,560",
            "--virtual-time-budget=4000",
            &screenshot,
            &url,
        ],
    );
    assert!(ok && shot.exists(), "chromium: {out}");
    // The picture sits at the top left, at its own size: read it back as BGR.
    let output = Command::new("convert")
        .args([shot.to_str().unwrap(), "-crop", "640x480+0+0", "-depth", "8", "bgr:-"])
        .output()
        .unwrap();
    let bgr = output.stdout;
    assert_eq!(bgr.len(), 640 * 480 * 3, "the screenshot holds a 640x480 picture");
    // Which frame is shown: the pattern's pixels repeat every 256 frames, so the best match
    // among frames 0..256 is the frame (mod 256).
    let (n, p) =
        (0..256u64).map(|n| (n, pattern_psnr(&bgr, 640, 480, n))).max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    eprintln!("chromium screenshot: pattern frame {n} (mod 256) at {p:.1} dB");
    assert!(p >= MIN_PSNR_DB, "the page does not show the pattern: {p:.1} dB");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn basic_auth_guards_every_path_and_a_keyed_camera_without_a_password_refuses_http() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have(
        "basic_auth_guards_every_path_and_a_keyed_camera_without_a_password_refuses_http",
        &["ffprobe"],
    ) {
        return;
    }
    let dir = std::env::temp_dir();
    let password = dir.join(format!("pistream-http-pw-{}", std::process::id()));
    std::fs::write(&password, "viewer:correct horse\n").unwrap();
    let port = free_port();
    let _cam = pattern_camera(port, &["--http-password-file", password.to_str().unwrap()]);
    let basic = |user_pass: &str| {
        use base64::Engine as _;
        format!("Authorization: Basic {}\r\n", base64::engine::general_purpose::STANDARD.encode(user_pass))
    };
    for path in ["/", "/snapshot", "/stream", "/state", "/?action=snapshot"] {
        for (name, auth) in [("missing", String::new()), ("wrong", basic("viewer:wrong horse"))] {
            let r = get(port, path, &auth);
            assert_eq!(r.status, 401, "{path} {name}: {}", r.head);
            assert!(
                header(&r.head, "WWW-Authenticate").is_some_and(|v| v.starts_with("Basic")),
                "{}",
                r.head
            );
            assert!(
                !r.body.starts_with(&[0xff, 0xd8]) && r.body.len() < 200,
                "{path} {name}: no image bytes"
            );
        }
    }
    let r = get(port, "/snapshot", &basic("viewer:correct horse"));
    assert_eq!((r.status, header(&r.head, "Content-Type")), (200, Some("image/jpeg")), "{}", r.head);
    assert_eq!(decode_bgr(&r.body).0, 640);
    // A real client with the credentials in its URL.
    let url = format!("http://viewer:correct%20horse@127.0.0.1:{port}/snapshot");
    let (ok, out) = run("ffprobe", &["-v", "error", "-show_entries", "stream=width", "-of", "csv=p=0", &url]);
    assert!(ok && out.trim() == "640", "ffprobe with Basic auth: {out}");

    let key = dir.join(format!("pistream-http-key-{}", std::process::id()));
    std::fs::write(&key, "key\n").unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let port = free_port();
    let _keyed = pattern_camera(port, &["--key-file", key.to_str().unwrap()]);
    let r = get(port, "/snapshot", "");
    assert_eq!(r.status, 403, "{}", r.head);
    assert!(String::from_utf8_lossy(&r.body).contains("--password-file"));
}

#[test]
fn http_answers_head_unknown_paths_and_methods_properly_and_past_max_viewers_503() {
    let _machine = crate::support::shared();
    let port = free_port();
    let _cam = pattern_camera(port, &["--max-viewers", "1"]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "HEAD /snapshot HTTP/1.1\r\nHost: pi\r\n\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("\r\n\r\n"), "HEAD has no body: {text}");
    assert!(header(&text, "Content-Length").is_some_and(|v| v.parse::<usize>().unwrap() > 1000));
    assert_eq!(get(port, "/nowhere", "").status, 404);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "POST / HTTP/1.1\r\nHost: pi\r\nContent-Length: 0\r\n\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 405") && header(&text, "Allow") == Some("GET, HEAD"), "{text}");
    let page = get(port, "/", "");
    assert!(page.status == 200 && String::from_utf8_lossy(&page.body).contains("<img id=\"live\""));
    let state: serde_json::Value = serde_json::from_slice(&get(port, "/state", "").body).unwrap();
    assert_eq!((state["width"].as_u64(), state["height"].as_u64()), (Some(640), Some(480)));
    // One viewer at most: a stream client holds the place, a second gets 503.
    let watcher = StreamClient::start(port, "/stream");
    let deadline = Instant::now() + 5 * SECS;
    while watcher.frames() == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let refused = get(port, "/stream", "");
    assert_eq!(refused.status, 503, "{}", refused.head);
    assert!(header(&refused.head, "Retry-After").is_some());
    watcher.finish();
}

/// The port's first bytes decide who answers: an RTSP request is answered as RTSP (with
/// its `CSeq`), never as HTTP; an HTTP method pistream does not know gets `501`, one it
/// knows and does not serve `405`, where both once went unanswered.
#[test]
fn rtsp_requests_get_an_rtsp_answer_and_unknown_http_methods_501() {
    let _machine = crate::support::shared();
    let port = free_port();
    let _cam = pattern_camera(port, &[]);
    let ask = |request: &str| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(10 * SECS)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        // RTSP keeps the connection open: read until the answer's head has come.
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while !all.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&all).into_owned()
    };
    let options = ask(&format!("OPTIONS rtsp://127.0.0.1:{port}/stream RTSP/1.0\r\nCSeq: 2\r\n\r\n"));
    assert!(options.starts_with("RTSP/1.0 200 OK\r\n"), "{options}");
    assert!(header(&options, "CSeq") == Some("2"), "{options}");
    assert!(
        header(&options, "Public").is_some_and(|p| p.contains("DESCRIBE")) && !options.contains("HTTP/1.1"),
        "{options}"
    );
    let describe = ask("DESCRIBE rtsp://pi/nothing RTSP/1.0\r\nCSeq: 3\r\nAccept: application/sdp\r\n\r\n");
    assert!(describe.starts_with("RTSP/1.0 404") && header(&describe, "CSeq") == Some("3"), "{describe}");
    let brew = ask("BREW /pot HTTP/1.1\r\nHost: pi\r\n\r\n");
    assert!(brew.starts_with("HTTP/1.1 501 Not Implemented\r\n"), "{brew}");
    let options_http = ask("OPTIONS * HTTP/1.1\r\nHost: pi\r\n\r\n");
    assert!(options_http.starts_with("HTTP/1.1 405"), "{options_http}");
}
