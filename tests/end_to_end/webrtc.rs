//! WebRTC (WHEP) through the real binary and real clients: headless Chromium on the viewer
//! page (WebRTC at the camera's rate, the picture the pattern; MJPEG when UDP is blocked;
//! playing through a lossy link), aiortc as an independent WHEP client (pixels, DELETE, a
//! vanished client, one frozen among displays and MJPEG clients), and hostile requests.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::rtsp::rss_kib;
use crate::support::h264_pictures::{pattern_match, MIN_H264_PSNR_DB};
use crate::support::http::{get, StreamClient};
use crate::support::webrtc::{
    chromium, chromium_start, have_clients, progress_frames, result, whep_client, LossyLink,
};
use crate::support::{free_port, pattern_camera, Proc, SECS};

const AIORTC_OFFER: &str = include_str!("../fixtures/webrtc/aiortc-offer.sdp");

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pistream-webrtc-{}-{name}", std::process::id()))
}

/// A PNG screenshot's pixels as BGR (ImageMagick).
fn png_bgr(png: &Path) -> Vec<u8> {
    Command::new("convert").args([png.to_str().unwrap(), "-depth", "8", "bgr:-"]).output().unwrap().stdout
}

/// The viewers `/state` lists, by kind.
fn viewers(port: u16, kind: &str) -> usize {
    let state: serde_json::Value = serde_json::from_slice(&get(port, "/state", "").body).unwrap();
    state["viewers"].as_array().unwrap().iter().filter(|v| v["kind"] == kind).count()
}

/// Waits up to `limit` for `/state` to list `n` WebRTC viewers: how long it took.
fn until_webrtc_viewers(port: u16, n: usize, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if viewers(port, "webrtc") == n {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// One HTTP request, raw; the whole answer.
fn raw(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(10 * SECS)).unwrap();
    let _ = s.write_all(request);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn post_offer(port: u16, offer: &str) -> String {
    raw(
        port,
        format!(
            "POST /whep HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{offer}",
            offer.len()
        )
        .as_bytes(),
    )
}

#[test]
fn chromium_plays_the_viewer_page_over_webrtc_at_the_camera_rate_and_shows_the_pattern() {
    let _machine = crate::support::exclusive();
    let test = "chromium_plays_the_viewer_page_over_webrtc";
    if !have_clients(test) || !crate::support::tools::have(test, &["convert"]) {
        return;
    }
    let port = free_port();
    let cam = pattern_camera(port, &["--fps", "30"]);
    let shot = temp("chromium.png");
    let r = chromium(&format!("http://127.0.0.1:{port}/"), 10, &shot);
    assert_eq!(r["mode"], "webrtc", "{r}");
    assert_eq!((r["width"].as_u64(), r["height"].as_u64()), (Some(640), Some(480)), "{r}");
    // getStats: frames decoded over the 10 s at about the camera's rate.
    let rate = r["rateInWindow"].as_f64().unwrap();
    assert!(rate >= 0.8 * 30.0, "Chromium decoded {rate:.1} frames/s: {r}");
    let bgr = png_bgr(&shot);
    assert_eq!(bgr.len(), 640 * 480 * 3, "the screenshot is of the 640x480 picture");
    let p = pattern_match(&bgr, 640, 480);
    assert!(p >= MIN_H264_PSNR_DB, "Chromium's picture is {p:.1} dB from the pattern");
    assert!(cam.output().contains("session 1 plays"), "{}", cam.output());
    let _ = std::fs::remove_file(shot);
}

#[test]
fn the_page_plays_webrtc_again_by_itself_after_the_camera_restarts() {
    let _machine = crate::support::exclusive();
    if !have_clients("the page reconnects") {
        return;
    }
    let port = free_port();
    let mut first = pattern_camera(port, &["--fps", "30"]);
    let shot = temp("restart.png");
    let mut page = chromium_start(&format!("http://127.0.0.1:{port}/"), 30, &shot);
    first.wait_for("session 1 plays", 30 * SECS);
    first.signal(Signal::SIGTERM);
    first.wait_exit(10 * SECS);
    std::thread::sleep(2 * SECS);
    // The same camera again, on the same port: nobody touches the page.
    let second = pattern_camera(port, &["--fps", "30"]);
    second.wait_for("session 1 plays", 25 * SECS);
    page.wait_exit(90 * SECS);
    let r = result(&page);
    assert_eq!(r["mode"], "webrtc", "{r}");
    // The counters are the new session's: it decoded for the rest of the 30 s.
    let frames = r["framesDecoded"].as_u64().unwrap();
    assert!(frames > 150, "after the restart the page decoded {frames} frames: {r}");
    let _ = std::fs::remove_file(shot);
}

#[test]
fn with_udp_to_the_camera_blocked_the_page_falls_back_to_mjpeg_and_says_why() {
    let _machine = crate::support::shared();
    if !have_clients("the page falls back to MJPEG") {
        return;
    }
    // The only address the browser is told is a port that swallows every datagram, as a
    // firewall dropping UDP to the camera does.
    let hole = UdpSocket::bind("127.0.0.1:0").unwrap();
    let candidate = hole.local_addr().unwrap().to_string();
    let port = free_port();
    let _cam = pattern_camera(port, &["--fps", "30", "--webrtc-candidate", &candidate]);
    let shot = temp("fallback.png");
    let r = chromium(&format!("http://127.0.0.1:{port}/"), 3, &shot);
    assert_eq!(r["mode"], "mjpeg", "{r}");
    assert!(r["reason"].as_str().unwrap().starts_with("WebRTC unavailable: no UDP path"), "{r}");
    let _ = std::fs::remove_file(shot);
}

#[test]
fn aiortc_decodes_the_pattern_and_delete_or_vanishing_frees_the_viewer_place() {
    let _machine = crate::support::shared();
    if !have_clients("aiortc WHEP client") {
        return;
    }
    let port = free_port();
    let cam = pattern_camera(port, &["--fps", "30", "--max-viewers", "1"]);
    let dump = temp("aiortc.bgr");
    let mut client = whep_client("aiortc", port, &["--seconds", "4", "--dump", dump.to_str().unwrap()]);
    client.wait_exit(30 * SECS);
    let r = result(&client);
    assert_eq!(r["status"], 201, "{r}");
    assert!(r["location"].as_str().unwrap().starts_with("/whep/"), "{r}");
    assert_eq!((r["width"].as_u64(), r["height"].as_u64()), (Some(640), Some(480)), "{r}");
    assert!(r["frames"].as_u64().unwrap() >= 60, "{r}");
    assert_eq!(r["delete_status"], 200, "{r}");
    let bgr = std::fs::read(&dump).unwrap();
    let p = pattern_match(&bgr, 640, 480);
    assert!(p >= MIN_H264_PSNR_DB, "aiortc's last picture is {p:.1} dB from the pattern");
    // DELETE gave the one place back at once.
    assert!(until_webrtc_viewers(port, 0, 2 * SECS).is_some(), "DELETE did not free the place");
    // A client that vanishes (no DELETE, no DTLS close) holds it until it is silent for
    // the limit; meanwhile a new offer is refused as for any full camera.
    let mut vanishing = whep_client("vanishing", port, &["--seconds", "3", "--no-delete"]);
    vanishing.wait_exit(30 * SECS);
    assert!(result(&vanishing)["frames"].as_u64().unwrap() > 30);
    let refused = post_offer(port, AIORTC_OFFER);
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
    let freed = until_webrtc_viewers(port, 0, 15 * SECS).expect("a vanished client's place was never freed");
    assert!(cam.output().contains("the browser went silent"), "{}", cam.output());
    eprintln!("a vanished WebRTC client's place was freed {freed:?} after it left");
    let _ = std::fs::remove_file(dump);
}

#[test]
fn four_webrtc_clients_two_displays_and_two_mjpeg_clients_with_one_webrtc_client_frozen() {
    let _machine = crate::support::exclusive();
    if !have_clients("WebRTC many clients") {
        return;
    }
    let port = free_port();
    let cam = pattern_camera(port, &["--size", "320x240", "--fps", "30", "--max-viewers", "12"]);
    let target = format!("127.0.0.1:{port}");
    let dumps: Vec<_> = (0..4).map(|i| temp(&format!("many{i}.bgr"))).collect();
    let mut webrtc: Vec<Proc> = dumps
        .iter()
        .enumerate()
        .map(|(i, d)| {
            whep_client(
                &format!("aiortc{i}"),
                port,
                &["--seconds", "24", "--progress", "--dump", d.to_str().unwrap()],
            )
        })
        .collect();
    let logs: Vec<String> =
        (0..2).map(|i| crate::support::frame_log_path(&format!("webrtc-display{i}"))).collect();
    let mut displays: Vec<Proc> = logs
        .iter()
        .map(|log| {
            Proc::spawn("display", &["display", "--connect", &target, "--sink", "null", "--frame-log", log])
        })
        .collect();
    let mjpeg: Vec<StreamClient> =
        (0..2).map(|_| StreamClient::start_sized(port, "/stream", 320, 240)).collect();
    std::thread::sleep(6 * SECS);
    assert_eq!(viewers(port, "webrtc"), 4, "every WebRTC client is a viewer in /state");
    let rss_before = rss_kib(cam.pid());
    let before: Vec<u64> = webrtc.iter().map(progress_frames).collect();
    let mjpeg_before: Vec<u64> = mjpeg.iter().map(|c| c.frames()).collect();
    let t0 = Instant::now();
    let t0_us = pistream::media::now_us();
    webrtc[0].signal(Signal::SIGSTOP);
    std::thread::sleep(5 * SECS);
    webrtc[0].signal(Signal::SIGCONT);
    let elapsed = t0.elapsed().as_secs_f64();
    let after: Vec<u64> = webrtc.iter().map(progress_frames).collect();
    let mjpeg_after: Vec<u64> = mjpeg.iter().map(|c| c.frames()).collect();
    for i in 1..4 {
        let fps = (after[i] - before[i]) as f64 / elapsed;
        assert!(fps >= 0.8 * 30.0, "WebRTC client {i} while one is frozen: {fps:.1} fps");
    }
    for i in 0..2 {
        let fps = (mjpeg_after[i] - mjpeg_before[i]) as f64 / elapsed;
        assert!(fps >= 0.8 * 30.0, "MJPEG client {i} while a WebRTC client is frozen: {fps:.1} fps");
    }
    let rss_after = rss_kib(cam.pid());
    assert!(rss_after < rss_before + 5 * 1024, "camera RSS {rss_before} -> {rss_after} KiB");
    // The frozen client decodes at the camera's rate again (it asked for a keyframe).
    std::thread::sleep(3 * SECS);
    let resumed = progress_frames(&webrtc[0]);
    std::thread::sleep(4 * SECS);
    let fps = (progress_frames(&webrtc[0]) - resumed) as f64 / 4.0;
    assert!(fps >= 0.8 * 30.0, "the frozen client after resuming: {fps:.1} fps");
    for (d, log) in displays.iter_mut().zip(&logs) {
        d.signal(Signal::SIGTERM);
        d.wait_exit(10 * SECS);
        let shown = crate::support::read_frame_log(log)
            .iter()
            .filter(|f| f.shown_us >= t0_us && f.shown_us < t0_us + (elapsed * 1e6) as u64)
            .count();
        let fps = shown as f64 / elapsed;
        assert!(fps >= 0.8 * 30.0, "a pistream display while a WebRTC client is frozen: {fps:.1} fps");
    }
    for c in mjpeg {
        c.finish();
    }
    // Each client's last picture, the frozen one's too, is a clean picture of the pattern.
    for (i, (p, dump)) in webrtc.iter_mut().zip(&dumps).enumerate() {
        p.wait_exit(40 * SECS);
        let r = result(p);
        assert_eq!(r["delete_status"], 200, "{r}");
        let bgr = std::fs::read(dump).unwrap();
        let db = pattern_match(&bgr, 320, 240);
        assert!(db >= MIN_H264_PSNR_DB, "WebRTC client {i}'s last picture is {db:.1} dB from the pattern");
        let _ = std::fs::remove_file(dump);
    }
}

#[test]
fn through_a_link_losing_2_percent_chromium_keeps_playing_and_the_camera_answers_nacks_and_keyframe_requests()
{
    let _machine = crate::support::exclusive();
    if !have_clients("WebRTC over a lossy link") {
        return;
    }
    let port = free_port();
    // The browser is told only the link's address: every datagram crosses it, both ways.
    let link = LossyLink::start(([127, 0, 0, 1], port).into(), 2, Duration::from_millis(20));
    let candidate = format!("127.0.0.1:{}", link.port);
    let _cam = pattern_camera(port, &["--fps", "30", "--webrtc-candidate", &candidate]);
    let shot = temp("lossy.png");
    let r = chromium(&format!("http://127.0.0.1:{port}/"), 30, &shot);
    assert_eq!(r["mode"], "webrtc", "{r}");
    let stall = r["longestStallMs"].as_f64().unwrap();
    assert!(stall <= 1000.0, "Chromium's picture froze for {stall} ms: {r}");
    let state: serde_json::Value = serde_json::from_slice(&get(port, "/state", "").body).unwrap();
    let (nacks, requests) = (&state["webrtc"]["nacks"], &state["webrtc"]["keyframe_requests"]);
    eprintln!(
        "lossy link: {} datagrams dropped; Chromium sent {} NACKs, {} PLIs; the camera counted {nacks} NACKs, {requests} keyframe requests; longest stall {stall} ms",
        link.dropped.load(std::sync::atomic::Ordering::Relaxed),
        r["nackCount"],
        r["pliCount"]
    );
    assert!(nacks.as_u64().unwrap() > 0, "the camera saw no NACK: {state}");
    let _ = std::fs::remove_file(shot);

    // Keyframe requests: the link goes dark towards the client for 7 s, past what NACK can
    // repair (the camera keeps 3 s of packets; aiortc asks for a keyframe with a PLI once
    // 512 packets are missing). The PLI must become a keyframe request, and the client's
    // picture must come back, at the camera's rate and clean.
    let requests_before = requests.as_u64().unwrap();
    let dump = temp("lossy-aiortc.bgr");
    let mut client =
        whep_client("aiortc", port, &["--seconds", "26", "--progress", "--dump", dump.to_str().unwrap()]);
    until_webrtc_viewers(port, 1, 20 * SECS).expect("the aiortc client connects through the link");
    std::thread::sleep(3 * SECS);
    let before_dark = progress_frames(&client);
    link.set_dark(true);
    std::thread::sleep(7 * SECS);
    link.set_dark(false);
    // The first seconds after it also bring the last 3 s back by NACK, decoded late; the
    // rate is measured after them.
    std::thread::sleep(5 * SECS);
    let resumed = progress_frames(&client);
    std::thread::sleep(3 * SECS);
    let fps = (progress_frames(&client) - resumed) as f64 / 3.0;
    client.wait_exit(40 * SECS);
    let state: serde_json::Value = serde_json::from_slice(&get(port, "/state", "").body).unwrap();
    let requests = state["webrtc"]["keyframe_requests"].as_u64().unwrap();
    eprintln!(
        "lossy link gone dark 7 s: the client had {before_dark} frames before, {resumed} 5 s after; then {fps:.1} fps; keyframe requests {requests_before} -> {requests}"
    );
    assert!(requests > requests_before, "the client's PLI made no keyframe request: {state}");
    assert!(fps >= 0.8 * 30.0, "after the dark link the client decodes {fps:.1} fps");
    let bgr = std::fs::read(&dump).unwrap();
    let db = pattern_match(&bgr, 640, 480);
    assert!(
        db >= MIN_H264_PSNR_DB,
        "the client's last picture after the dark link is {db:.1} dB from the pattern"
    );
    let _ = std::fs::remove_file(dump);
}

#[test]
fn hostile_whep_requests_get_clear_errors_and_lock_no_one_out() {
    let _machine = crate::support::shared();
    if !have_clients("hostile WHEP requests") {
        return;
    }
    let port = free_port();
    let mut cam = pattern_camera(port, &["--fps", "30", "--max-viewers", "2"]);
    let answer = raw(port, b"POST /whep HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    assert!(answer.starts_with("HTTP/1.1 415 ") && answer.contains("application/sdp"), "{answer}");
    let answer = raw(
        port,
        b"POST /whep HTTP/1.1\r\nContent-Type: application/sdp\r\nContent-Length: 100000000\r\n\r\nv=0",
    );
    assert!(answer.starts_with("HTTP/1.1 413 ") && answer.contains("65536"), "{answer}");
    let answer = post_offer(port, "v=0\r\nthis is not sdp\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 ") && answer.contains("not an SDP offer"), "{answer}");
    // An offer without H.264 (aiortc's with VP8 only).
    let vp8_only: String = AIORTC_OFFER
        .lines()
        .filter(|l| !l.contains(" H264/") && !l.contains("profile-level-id"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let vp8_only = vp8_only.replace(" 99 100 101 102", "");
    let answer = post_offer(port, &vp8_only);
    assert!(answer.starts_with("HTTP/1.1 406 ") && answer.contains("H.264"), "{answer}");
    for (request, status) in [
        (&b"GET /whep HTTP/1.1\r\n\r\n"[..], "405"),
        (b"PATCH /whep/abc HTTP/1.1\r\n\r\n", "405"),
        (b"DELETE /whep/0123456789abcdef HTTP/1.1\r\n\r\n", "404"),
        (b"OPTIONS /whep HTTP/1.1\r\n\r\n", "204"),
    ] {
        let answer = raw(port, request);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{}: {answer}",
            String::from_utf8_lossy(request)
        );
    }
    assert!(raw(port, b"OPTIONS /whep HTTP/1.1\r\n\r\n")
        .contains("Access-Control-Allow-Methods: POST, DELETE, OPTIONS"));
    // A body cut short: the connection ends, the camera goes on.
    let cut = raw(
        port,
        b"POST /whep HTTP/1.1\r\nContent-Type: application/sdp\r\nContent-Length: 4000\r\n\r\nv=0\r\n",
    );
    assert!(cut.is_empty(), "{cut}");
    // 40 offers that never start ICE: each answered, none holds a viewer place, memory
    // stays bounded (at most 16 wait at once), and a real client still plays.
    let rss_before = rss_kib(cam.pid());
    for _ in 0..40 {
        let answer = post_offer(port, AIORTC_OFFER);
        assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");
    }
    assert_eq!(viewers(port, "webrtc"), 0);
    let rss_after = rss_kib(cam.pid());
    assert!(rss_after < rss_before + 10 * 1024, "camera RSS {rss_before} -> {rss_after} KiB after 40 offers");
    let mut client = whep_client("aiortc", port, &["--seconds", "3"]);
    client.wait_exit(30 * SECS);
    let r = result(&client);
    assert!(r["status"] == 201 && r["frames"].as_u64().unwrap() > 30, "{r}");
    assert!(cam.is_running(), "the camera stopped: {}", cam.output());
}

#[test]
fn webrtc_options_say_what_to_give_and_a_busy_udp_port_is_clear() {
    let _machine = crate::support::shared();
    let run = |args: &[&str]| {
        let out = Command::new(crate::support::BIN).args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    for (args, needle) in [
        (
            &["camera", "--source", "pattern", "--webrtc", "maybe"][..],
            "--webrtc maybe: give on (the default) or off",
        ),
        (
            &["camera", "--source", "pattern", "--webrtc-candidate", "pi.local"][..],
            "--webrtc-candidate pi.local: give auto",
        ),
        (&["camera", "--source", "pattern", "--webrtc-candidate", "0.0.0.0"][..], "not 0.0.0.0"),
    ] {
        let (code, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle) && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // A UDP port held by another program: named, with what to do.
    let taken = UdpSocket::bind("0.0.0.0:0").unwrap();
    let udp = taken.local_addr().unwrap().port().to_string();
    // A pattern camera on any free port, with more arguments.
    let camera = |more: &[&str]| {
        run(&[&["camera", "--source", "pattern", "--listen", "127.0.0.1:0"][..], more].concat())
    };
    let (code, stderr) = camera(&["--webrtc-port", &udp, "--seconds", "2"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot use UDP port {udp} for WebRTC"))
            && stderr.contains("give another with --webrtc-port, or --webrtc off"),
        "{stderr}"
    );
    // By default the camera's own port number; when something holds it over UDP, another,
    // with a warning, and the camera runs.
    // The UDP port is held first: a number free over TCP may not be free over UDP.
    let held = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let (code, stderr) = run(&["camera", "--source", "pattern", "--listen", &listen, "--seconds", "2"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(&format!("UDP port {port} is taken")), "{stderr}");
    assert!(stderr.contains("/ (WebRTC, else MJPEG;") && stderr.contains("WebRTC: WHEP at"), "{stderr}");
    drop(held);
    // --webrtc off: the start lines promise MJPEG only, and no WHEP.
    let (code, stderr) = camera(&["--webrtc", "off", "--seconds", "1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("/ (MJPEG;") && !stderr.contains("WHEP"), "{stderr}");
}
