//! H.264 through the real binary: the wire format from every capture format, verified on a
//! display; a display that accepts H.264 alone; one camera's encoder shared by three H.264
//! displays beside a BGR one while one of them is frozen, and a display joining; a
//! corrupted unit from a hand-made camera counted, not shown, and answered with a keyframe
//! request.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pistream::codec::convert::encode;
use pistream::codec::h264::{H264Encoder, H264Settings, Planes, SoftwareEncoder};
use pistream::media::{now_us, Geometry, Layout, PixelFormat};
use pistream::output::pistream::protocol::{encode_frame_header, encode_hello, FormatSet, Hello, HEADER_LEN};
use pistream::source::pattern;

use crate::support::latency_display::percentile;
use crate::support::{
    frame_log_path, free_port, pattern_camera, read_frame_log, summary_counts, Proc, ShownFrame, SECS,
};

/// The "N H.264 units undecodable" of a display's summary.
fn undecodable(output: &str) -> u64 {
    let line = output.lines().find(|l| l.contains("summary:")).expect("a summary");
    let at = line.find(" H.264 units undecodable").unwrap_or_else(|| panic!("no H.264 count in {line}"));
    line[..at].rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn h264_arrives_verified_from_every_capture_format_and_for_a_display_that_accepts_only_h264() {
    let _machine = crate::support::shared();
    for capture in ["BGR3", "YUYV", "I420", "MJPG"] {
        let port = free_port();
        let mut args = vec!["--wire", "h264", "--size", "320x240"];
        if capture != "BGR3" {
            args.extend(["--format", capture]);
        }
        let _cam = pattern_camera(port, &args);
        let target = format!("127.0.0.1:{port}");
        let mut disp = Proc::spawn(
            "display",
            &["display", "--connect", &target, "--sink", "null", "--verify", "--frames", "45"],
        );
        assert!(disp.wait_exit(30 * SECS).success(), "{capture}: {}", disp.output());
        assert_eq!(summary_counts(&disp.output()), (45, 45, 0), "{capture}: {}", disp.output());
        assert_eq!(undecodable(&disp.output()), 0, "{capture}");
        assert!(disp.output().contains("as H264"), "{capture}: {}", disp.output());
    }
    // The camera's default (auto) would send raw BGR on loopback: a display that accepts
    // H.264 alone gets H.264; one that accepts a format the camera does not send is told so.
    let port = free_port();
    let _cam = pattern_camera(port, &["--size", "320x240"]);
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
            "45",
            "--accept",
            "h264",
        ],
    );
    assert!(disp.wait_exit(30 * SECS).success(), "{}", disp.output());
    assert_eq!(summary_counts(&disp.output()), (45, 45, 0), "{}", disp.output());
    assert!(disp.output().contains("as H264"), "{}", disp.output());
    let mut disp =
        Proc::spawn("display", &["display", "--connect", &target, "--sink", "null", "--accept", "uyvy"]);
    assert_eq!(disp.wait_exit(30 * SECS).code(), Some(1), "{}", disp.output());
    assert!(
        disp.output().contains("no wire format in common: the receiving end accepts UYVY"),
        "{}",
        disp.output()
    );
}

/// Frames per second a frame log shows between two times (µs).
fn rate(shown: &[ShownFrame], from_us: u64, to_us: u64) -> f64 {
    let n = shown.iter().filter(|f| (from_us..to_us).contains(&f.shown_us)).count();
    n as f64 / ((to_us - from_us) as f64 / 1e6)
}

#[test]
fn three_h264_displays_and_a_bgr_one_share_a_camera_and_a_frozen_one_resumes_clean_within_a_second() {
    let _machine = crate::support::exclusive();
    let port = free_port();
    let cam = pattern_camera(port, &["--fps", "30"]);
    let target = format!("127.0.0.1:{port}");
    let logs: Vec<String> = (0..4).map(|i| frame_log_path(&format!("h264-{i}"))).collect();
    let displays: Vec<Proc> = (0..4)
        .map(|i| {
            let accept = if i == 3 { "bgr" } else { "h264" };
            Proc::spawn(
                &format!("display{i}"),
                &[
                    "display",
                    "--connect",
                    &target,
                    "--sink",
                    "null",
                    "--verify",
                    "--seconds",
                    "16",
                    "--accept",
                    accept,
                    "--frame-log",
                    &logs[i],
                ],
            )
        })
        .collect();
    for d in &displays {
        d.wait_for("streaming with", 10 * SECS);
    }
    std::thread::sleep(3 * SECS);
    let frozen = &displays[0];
    let frozen_us = now_us();
    frozen.signal(Signal::SIGSTOP);
    std::thread::sleep(5 * SECS);
    let resumed_us = now_us();
    frozen.signal(Signal::SIGCONT);

    // A display joins: its first frame within a second.
    std::thread::sleep(SECS);
    let joiner_log = frame_log_path("h264-joiner");
    let joined_us = now_us();
    let mut joiner = Proc::spawn(
        "joiner",
        &[
            "display",
            "--connect",
            &target,
            "--sink",
            "null",
            "--verify",
            "--frames",
            "30",
            "--accept",
            "h264",
            "--frame-log",
            &joiner_log,
        ],
    );
    assert!(joiner.wait_exit(30 * SECS).success(), "{}", joiner.output());
    assert_eq!(summary_counts(&joiner.output()), (30, 30, 0), "{}", joiner.output());
    let joined = read_frame_log(&joiner_log);
    let first_after = joined[0].shown_us - joined_us;
    eprintln!("a joining H.264 display showed its first frame {} ms after it started", first_after / 1000);
    assert!(first_after < 1_000_000, "first frame {} ms after the display started", first_after / 1000);

    let mut shown = Vec::new();
    for (i, mut d) in displays.into_iter().enumerate() {
        assert!(d.wait_exit(30 * SECS).success(), "display{i}: {}", d.output());
        let (n, verified, corrupt) = summary_counts(&d.output());
        assert!(n > 150 && verified == n && corrupt == 0, "display{i}: {n} {verified} {corrupt}");
        if i < 3 {
            assert_eq!(undecodable(&d.output()), 0, "display{i}: {}", d.output());
        }
        shown.push(read_frame_log(&logs[i]));
    }
    // The others kept at least 80 % of their rate while one was frozen.
    let rates: Vec<f64> = (1..4).map(|i| rate(&shown[i], frozen_us, resumed_us)).collect();
    let before: Vec<f64> = (0..4).map(|i| rate(&shown[i], frozen_us - 3_000_000, frozen_us)).collect();
    eprintln!("frames/s before the freeze {before:.1?}; of the others during it {rates:.1?}");
    for (i, r) in rates.iter().enumerate() {
        assert!(*r >= 0.8 * before[i + 1], "display{} fell to {r:.1} fps from {:.1}", i + 1, before[i + 1]);
    }
    assert!(shown[3].iter().all(|f| f.wire == "BGR3"), "the BGR display");
    assert!(shown[1].iter().all(|f| f.wire == "H264"), "an H.264 display");
    // The frozen one: fresh frames within a second of SIGCONT, every one verified (its
    // summary says so) and none undecodable.
    let fresh = shown[0].iter().find(|f| f.captured_us >= resumed_us).expect("frames after the resume");
    eprintln!(
        "the frozen H.264 display showed a frame captured after SIGCONT {} ms after it",
        (fresh.shown_us - resumed_us) / 1000
    );
    assert!(fresh.shown_us - resumed_us < 1_000_000, "{} ms", (fresh.shown_us - resumed_us) / 1000);
    let later: Vec<f64> = shown[0]
        .iter()
        .filter(|f| f.shown_us > resumed_us + 1_000_000)
        .map(|f| f.latency_us as f64 / 1000.0)
        .collect();
    assert!(
        percentile(&later, 99.0) < 100.0,
        "latency after resuming: p99 {:.1} ms",
        percentile(&later, 99.0)
    );
    drop(cam);
}

/// A hand-made camera: H.264 of the pattern at 320x240, one unit cut in half, and an IDR
/// only once the display asks for one.
#[test]
fn a_corrupted_h264_unit_is_counted_not_shown_and_answered_with_a_keyframe_request() {
    let _machine = crate::support::shared();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = frame_log_path("corrupt-h264");
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
            "40",
            "--frame-log",
            &log,
        ],
    );
    let (mut stream, _) = listener.accept().unwrap();
    stream.set_nodelay(true).unwrap();
    let mut hello = [0u8; HEADER_LEN + 48];
    stream.read_exact(&mut hello).unwrap();
    let g = Geometry::new(320, 240);
    let camera = Hello::sender(g, 30.0).sending(FormatSet::all());
    stream.write_all(&encode_hello(&camera, now_us())).unwrap();

    // The display's messages: keyframe requests noted as they come.
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let mut stream = stream.try_clone().unwrap();
        let asked = asked.clone();
        std::thread::spawn(move || {
            let mut requests = Vec::new();
            let mut header = [0u8; HEADER_LEN];
            while stream.read_exact(&mut header).is_ok() {
                let len = u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize;
                let mut body = vec![0u8; len];
                if stream.read_exact(&mut body).is_err() {
                    break;
                }
                if header[2] == 6 {
                    requests.push(Instant::now());
                    asked.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            requests
        })
    };

    let settings = H264Settings { keyframe_interval: 1000, ..H264Settings::new(g, 30.0) };
    let mut encoder = SoftwareEncoder::new(settings).unwrap();
    let layout = Layout::tight(PixelFormat::I420, g.width, g.height);
    let mut bgr = vec![0u8; g.frame_len()];
    let mut planes = vec![0u8; PixelFormat::I420.tight_len(g.width, g.height).unwrap()];
    let mut unit = Vec::new();
    let mut corrupted_at = None;
    let mut keyframe_from = None;
    for seq in 0..120u64 {
        // After the damage: an IDR once the display has asked, as pistream's encoder would
        // (no sooner than ten frames on, so that the units before it are seen to fail).
        let keyframe = corrupted_at.is_some()
            && keyframe_from.is_none()
            && seq >= 25
            && asked.load(std::sync::atomic::Ordering::Relaxed);
        if keyframe {
            keyframe_from = Some(seq);
        }
        pattern::fill(&mut bgr, g, seq);
        encode::bgr_to(PixelFormat::I420, g.width, g.height, &bgr, &mut planes);
        let planes_in = Planes::of(&layout, &planes).unwrap();
        if encoder.encode(&planes_in, keyframe, seq * 33_333, &mut unit).unwrap().is_none() {
            continue;
        }
        let body = if seq == 15 {
            corrupted_at = Some(Instant::now());
            &unit[..unit.len() / 2]
        } else {
            &unit[..]
        };
        let header = encode_frame_header(seq, now_us(), PixelFormat::H264, body.len());
        if stream.write_all(&header).and_then(|_| stream.write_all(body)).is_err() {
            break; // the display has its 40 frames
        }
        std::thread::sleep(Duration::from_millis(33));
    }
    assert!(disp.wait_exit(30 * SECS).success(), "{}", disp.output());
    drop(stream);
    let requests = reader.join().unwrap();
    let output = disp.output();
    let (shown, verified, corrupt) = summary_counts(&output);
    assert_eq!((shown, verified, corrupt), (40, 40, 0), "{output}");
    // The cut unit and every unit after it until the IDR: counted, none shown.
    let keyframe_from = keyframe_from.expect("an IDR after the damage");
    assert_eq!(undecodable(&output), keyframe_from - 15, "{output}");
    assert!(output.contains("does not decode"), "{output}");
    let log = read_frame_log(&log);
    assert!(
        log.iter().all(|f| !(15..keyframe_from).contains(&f.seq)),
        "frames shown: {:?}",
        log.iter().map(|f| f.seq).collect::<Vec<_>>()
    );
    // Asked for a keyframe within a few frames of the damage.
    let corrupted_at = corrupted_at.unwrap();
    let first = requests.iter().find(|at| **at >= corrupted_at).expect("a keyframe request after the damage");
    eprintln!("keyframe request {} ms after the damaged unit went out", (*first - corrupted_at).as_millis());
    assert!(*first - corrupted_at < Duration::from_millis(500), "{:?}", *first - corrupted_at);
}
