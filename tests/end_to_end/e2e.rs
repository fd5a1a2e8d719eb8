//! Camera and display as separate processes over loopback: verified frames, viewers that
//! come and go, a display that starts first, a two-way call, signals.

use nix::sys::signal::Signal;

use crate::support::{free_port, pattern_camera, summary_counts, Proc, SECS};

fn camera(port: u16, extra: &[&str]) -> Proc {
    pattern_camera(port, extra)
}

fn display(port: u16, extra: &[&str]) -> Proc {
    let connect = format!("127.0.0.1:{port}");
    let mut args = vec!["display", "--connect", &connect, "--sink", "null", "--verify", "--stats", "off"];
    args.extend_from_slice(extra);
    Proc::spawn("display", &args)
}

#[test]
fn demo_verifies_every_frame_and_reports_the_count() {
    let _machine = crate::support::exclusive();
    let mut demo =
        Proc::spawn("demo", &["demo", "--seconds", "2", "--sink", "null", "--verify", "--stats", "off"]);
    assert!(demo.wait_exit(20 * SECS).success(), "{}", demo.output());
    let (shown, verified, corrupt) = summary_counts(&demo.output());
    // Measured margin: 59-61 shown in every run here, quiet or beside a busy core (the demo
    // needs a few percent of one core); half that is the bound.
    assert!(shown >= 30, "2 s at 30 fps should show about 60 frames, got {shown}");
    assert_eq!((verified, corrupt), (shown, 0));
}

#[test]
fn a_thousand_verified_frames_at_640x480_between_two_processes() {
    let _machine = crate::support::shared();
    let port = free_port();
    let mut cam = camera(port, &["--fps", "0"]);
    let mut disp = display(port, &["--frames", "1000"]);
    assert!(disp.wait_exit(60 * SECS).success(), "{}", disp.output());
    assert!(disp.output().contains("receiving 640x480"));
    assert_eq!(summary_counts(&disp.output()), (1000, 1000, 0));
    // The viewer said bye; the camera keeps serving.
    cam.wait_for("left: showed 1000 frames", 5 * SECS);
    assert!(cam.is_running());
}

#[test]
fn killing_a_display_leaves_the_camera_serving_the_next_one() {
    let _machine = crate::support::shared();
    let port = free_port();
    let mut cam = camera(port, &["--fps", "60"]);
    // With stats on: its first stats line says frames are flowing, mid-stream to kill it in.
    let connect = format!("127.0.0.1:{port}");
    let first = Proc::spawn("display", &["display", "--connect", &connect, "--sink", "null"]);
    first.wait_for("stats:", 10 * SECS);
    first.signal(Signal::SIGKILL);
    cam.wait_for("waiting for the next peer", 10 * SECS);
    let mut second = display(port, &["--frames", "30"]);
    assert!(second.wait_exit(30 * SECS).success(), "{}", second.output());
    assert_eq!(summary_counts(&second.output()), (30, 30, 0));
    assert!(cam.is_running());
}

#[test]
fn a_display_started_first_connects_once_the_camera_is_up() {
    let _machine = crate::support::shared();
    let port = free_port();
    let mut disp = display(port, &["--frames", "20"]);
    disp.wait_for("not reachable", 10 * SECS);
    disp.wait_for_nth("not reachable", 1, 10 * SECS); // it keeps trying, once per attempt
    let _cam = camera(port, &[]);
    assert!(disp.wait_exit(30 * SECS).success(), "{}", disp.output());
    assert_eq!(summary_counts(&disp.output()), (20, 20, 0));
}

#[test]
fn a_call_carries_verified_frames_both_ways() {
    let _machine = crate::support::shared();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let common = ["--sink", "null", "--verify", "--stats", "off", "--fps", "60", "--source", "pattern"];
    let mut a =
        Proc::spawn("call-a", &[&["call", "--listen", &listen, "--size", "320x240"][..], &common].concat());
    a.wait_for("listening on", 10 * SECS);
    let mut b =
        Proc::spawn("call-b", &[&["call", "--connect", &listen, "--frames", "60"][..], &common].concat());
    assert!(b.wait_exit(30 * SECS).success(), "{}", b.output());
    assert!(a.wait_exit(10 * SECS).success(), "{}", a.output());
    // b stopped after 60 frames and said bye; a saw the bye.
    assert!(a.output().contains("peer ended the stream"), "{}", a.output());
    let (shown_b, verified_b, corrupt_b) = summary_counts(&b.output());
    let (shown_a, verified_a, corrupt_a) = summary_counts(&a.output());
    assert_eq!((shown_b, verified_b, corrupt_b), (60, 60, 0));
    assert!(shown_a > 10 && verified_a == shown_a && corrupt_a == 0, "a showed {shown_a}");
    assert!(b.output().contains("receiving 320x240"), "each side receives the other's geometry");
    assert!(a.output().contains("receiving 640x480"));
}

#[test]
fn a_listening_call_in_a_call_lets_displays_watch_and_turns_a_camera_away_as_busy() {
    let _machine = crate::support::shared();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let common = ["--sink", "null", "--verify", "--stats", "off", "--source", "pattern"];
    let mut a =
        Proc::spawn("call-a", &[&["call", "--listen", &listen, "--size", "320x240"][..], &common].concat());
    a.wait_for("listening on", 10 * SECS);
    let mut b = Proc::spawn("call-b", &[&["call", "--connect", &listen][..], &common].concat());
    b.wait_for("receiving 320x240", 10 * SECS);
    a.wait_for("receiving 640x480", 10 * SECS);
    // A second call and a display watch a's camera (its 320x240 pattern, verified) without
    // taking b's place in a's window.
    for (name, command, options) in [("call-c", "call", &common[..]), ("display", "display", &common[..5])] {
        let mut watcher =
            Proc::spawn(name, &[&[command, "--connect", &listen, "--frames", "30"][..], options].concat());
        assert!(watcher.wait_exit(20 * SECS).success(), "{}", watcher.output());
        assert_eq!(summary_counts(&watcher.output()), (30, 30, 0), "{}", watcher.output());
        assert!(watcher.output().contains("receiving 320x240"), "{}", watcher.output());
    }
    // A camera pushing to a: a already shows b, so it is busy (not "both ends only send").
    let mut pusher =
        Proc::spawn("camera", &["camera", "--connect", &listen, "--source", "pattern", "--stats", "off"]);
    let status = pusher.wait_exit(20 * SECS);
    assert_eq!(status.code(), Some(1), "{}", pusher.output());
    assert!(pusher.output().contains("busy: already showing"), "{}", pusher.output());
    assert!(a.is_running() && b.is_running(), "the call goes on: {}", a.output());
    b.signal(Signal::SIGINT);
    assert!(b.wait_exit(10 * SECS).success(), "{}", b.output());
    assert!(a.wait_exit(10 * SECS).success(), "{}", a.output());
    let (shown_a, verified_a, corrupt_a) = summary_counts(&a.output());
    assert!(shown_a > 10 && verified_a == shown_a && corrupt_a == 0, "a showed {shown_a}: {}", a.output());
}

#[test]
fn sigint_on_the_display_says_bye_and_the_camera_waits_for_the_next() {
    let _machine = crate::support::shared();
    let port = free_port();
    let mut cam = camera(port, &[]);
    let mut disp = display(port, &[]);
    disp.wait_for("receiving", 10 * SECS);
    disp.signal(Signal::SIGINT);
    assert!(disp.wait_exit(5 * SECS).success(), "{}", disp.output());
    cam.wait_for("left: stopped by SIGINT", 5 * SECS);
    cam.wait_for("waiting for the next peer", 5 * SECS);
    assert!(cam.is_running());
}

#[test]
fn sigterm_on_the_camera_ends_the_display_cleanly() {
    let _machine = crate::support::shared();
    let port = free_port();
    let mut cam = camera(port, &[]);
    let mut disp = display(port, &[]);
    disp.wait_for("receiving", 10 * SECS);
    cam.signal(Signal::SIGTERM);
    assert!(cam.wait_exit(5 * SECS).success(), "{}", cam.output());
    assert!(disp.wait_exit(5 * SECS).success(), "{}", disp.output());
    assert!(disp.output().contains("peer ended the stream (stopped by SIGTERM)"), "{}", disp.output());
}

#[test]
fn a_camera_with_a_frame_bound_stops_after_sending_that_many() {
    let _machine = crate::support::shared();
    let port = free_port();
    let mut cam = camera(port, &["--frames", "25", "--fps", "100"]);
    let mut disp = display(port, &[]);
    assert!(cam.wait_exit(20 * SECS).success(), "{}", cam.output());
    assert!(disp.wait_exit(10 * SECS).success(), "{}", disp.output());
    assert!(cam.output().contains("25 frames sent"), "{}", cam.output());
    let (shown, verified, corrupt) = summary_counts(&disp.output());
    assert!(shown <= 25 && shown == verified && corrupt == 0);
}

#[test]
fn a_display_past_max_viewers_is_told_the_camera_is_busy() {
    let _machine = crate::support::shared();
    let port = free_port();
    let mut cam = camera(port, &["--max-viewers", "1"]);
    let first = display(port, &[]);
    first.wait_for("receiving", 10 * SECS);
    let mut second = display(port, &[]);
    assert_eq!(second.wait_exit(10 * SECS).code(), Some(1), "{}", second.output());
    assert!(
        second.output().contains("refused the connection: busy: 1 viewers already watch this camera"),
        "{}",
        second.output()
    );
    cam.wait_for("refused 127.0.0.1", 5 * SECS);
    assert!(cam.is_running());
    first.wait_for("receiving", SECS); // undisturbed
}

#[test]
fn ipv6_and_dual_stack_listening_work() {
    let _machine = crate::support::shared();
    let port = free_port();
    let listen = format!("[::]:{port}");
    let mut cam =
        Proc::spawn("camera", &["camera", "--listen", &listen, "--source", "pattern", "--stats", "off"]);
    cam.wait_for("listening on", 10 * SECS);
    for target in [format!("[::1]:{port}"), format!("127.0.0.1:{port}")] {
        let mut disp = Proc::spawn(
            "display",
            &["display", "--connect", &target, "--sink", "null", "--verify", "--frames", "5"],
        );
        assert!(disp.wait_exit(20 * SECS).success(), "{target}: {}", disp.output());
        assert_eq!(summary_counts(&disp.output()), (5, 5, 0), "{target}");
    }
    assert!(cam.is_running());
}
