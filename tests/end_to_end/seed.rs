//! The original Python chat against pistream on the seed wire (`--peer seed`): the blog's
//! server and client from tests/seed/ (re-indented, with fakecv.py for OpenCV: a test
//! pattern for the camera, a frame checker for the window), in both roles. Frames are
//! checked on both sides, `finished` from either end (the Python window's Enter,
//! pistream's window's Enter or its frame bound) ends both within 5 s, and the fraction of
//! frames the Python receiver gets intact is measured from Python and from pistream.
//! Needs python3 with numpy (scripts/install-deps test installs Debian's python3-numpy).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::xvfb::Xvfb;
use crate::support::{free_port, summary_counts, Proc, SECS};

const SEED_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seed");
/// Both ends must be gone this soon after `finished`.
/// Measured: every process exited 0.02-0.20 s after `finished`, quiet or beside a busy core;
/// the bound leaves a loaded machine 25 times that.
const END_WITHIN: Duration = Duration::from_secs(5);
const WARNING: &str = "the seed wire has no framing, no authentication and no integrity check";

/// The Python the seed program runs in: PISTREAM_TEST_PYTHON, else Debian's (where
/// python3-numpy installs), else the first python3 on PATH.
fn python() -> String {
    std::env::var("PISTREAM_TEST_PYTHON").unwrap_or_else(|_| {
        if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" }.into()
    })
}

/// What the seed program needs of that Python, as `tools::have` names it: numpy
/// (scripts/install-deps test installs python3-numpy; PISTREAM_TEST_PYTHON picks another).
fn numpy() -> String {
    format!("{}:numpy", python())
}

/// The seed program's server, listening on `port`.
fn seed_server(port: u16, env: &[(&str, &str)]) -> Proc {
    let script = format!("{SEED_DIR}/server.py");
    Proc::spawn_program("seed-server", &python(), &["-u", &script, &port.to_string()], env)
}

/// The seed program's client, connecting to 127.0.0.1:`port` from a port of its own.
fn seed_client(port: u16, env: &[(&str, &str)]) -> Proc {
    let script = format!("{SEED_DIR}/client.py");
    let env = [env, &[("SEED_CLIENT_PORT", "0")]].concat();
    Proc::spawn_program("seed-client", &python(), &["-u", &script, "127.0.0.1", &port.to_string()], &env)
}

/// What fakecv counted: frames its camera made, frames its window showed (intact and
/// corrupt), and the highest frame number among the intact ones (-1 if none).
#[derive(Debug, Clone, Copy)]
struct Fakecv {
    made: u64,
    shown: u64,
    intact: u64,
    corrupt: u64,
    last: i64,
}

impl Fakecv {
    /// Of the frames sent up to the last one that arrived intact, the share that did.
    fn intact_share(&self) -> (u64, u64) {
        (self.intact, (self.last + 1).max(0) as u64)
    }
}

fn fakecv(p: &Proc) -> Fakecv {
    let output = p.output();
    let line = output
        .lines()
        .find(|l| l.starts_with("fakecv: camera made"))
        .unwrap_or_else(|| panic!("{}: no fakecv line in:\n{output}", p.name));
    let numbers: Vec<i64> =
        line.split_whitespace().filter_map(|w| w.trim_end_matches([',', ';', ':']).parse().ok()).collect();
    let [made, shown, intact, corrupt, last] = numbers[..] else { panic!("{line}") };
    Fakecv { made: made as u64, shown: shown as u64, intact: intact as u64, corrupt: corrupt as u64, last }
}

/// The seed program's own count of `recv`s that were not one whole frame.
fn lost_lines(p: &Proc) -> usize {
    p.output().lines().filter(|l| l.starts_with("Lost ") && l.ends_with(" frames")).count()
}

/// Frames a showing pistream received whole: shown, plus replaced in the display mailbox.
fn received(output: &str) -> u64 {
    let line = output.lines().find(|l| l.contains("summary:")).expect("a summary line");
    let drops = line.split("display ").nth(1).and_then(|rest| rest.split(',').next()).unwrap();
    summary_counts(output).0 + drops.trim().parse::<u64>().unwrap()
}

/// Waits for `p` to exit, successfully, within [`END_WITHIN`] of `since` (when `finished`
/// was sent), and prints how long it took. (The seed program's threads die of exceptions
/// after `finished`, its bugs; its main thread ends normally, so it exits 0.)
fn exits_in_time(p: &mut Proc, since: Instant) {
    let left = (since + END_WITHIN).saturating_duration_since(Instant::now());
    let status = p.wait_exit(left.max(Duration::from_millis(1)));
    eprintln!("{} exited {:.2} s after finished", p.name, since.elapsed().as_secs_f64());
    assert!(status.success(), "{}: {status}\n{}", p.name, p.output());
}

/// Waits until something listens on loopback `port` (read from /proc: the seed server
/// accepts one connection only, so a probe connection would take its place).
fn wait_listening(port: u16) {
    let needle = format!(":{port:04X} 00000000:0000 0A");
    let deadline = Instant::now() + 10 * SECS;
    while !std::fs::read_to_string("/proc/net/tcp").unwrap_or_default().contains(&needle) {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pistream_call(extra: &[&str]) -> Vec<String> {
    let mut args =
        ["call", "--peer", "seed", "--source", "pattern", "--sink", "null", "--verify", "--stats", "off"]
            .map(String::from)
            .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn spawn(name: &str, args: &[String]) -> Proc {
    Proc::spawn(name, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn the_seed_client_calls_a_listening_pistream_and_its_enter_ends_both() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have(
        "the_seed_client_calls_a_listening_pistream_and_its_enter_ends_both",
        &[&numpy()],
    ) {
        return;
    }
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut pis = spawn("pistream", &pistream_call(&["--listen", &listen]));
    pis.wait_for("listening on", 10 * SECS);
    let mut client = seed_client(port, &[("SEED_ENTER_AFTER", "60")]);
    client.wait_for("Connection Established", 10 * SECS);
    pis.wait_for("on the seed wire: sending our video, receiving 640x480", 10 * SECS);
    client.wait_for("fakecv: Enter", 30 * SECS);
    let enter = client.timed_lines("fakecv: Enter")[0].0;
    exits_in_time(&mut client, enter);
    exits_in_time(&mut pis, enter);

    let out = pis.output();
    assert_eq!(out.matches(WARNING).count(), 1, "one warning line:\n{out}");
    assert!(out.contains("peer ended the stream (the peer "), "{out}");
    // Every frame the Python side sent whole arrived, and is the pattern frame it claims.
    let (shown, verified, corrupt) = summary_counts(&out);
    let python = fakecv(&client);
    assert_eq!((verified, corrupt), (shown, 0), "{out}");
    assert!(
        received(&out) + 2 >= python.made,
        "pistream received {} of the {} frames Python made",
        received(&out),
        python.made
    );
    // pistream's frames reached the Python window with their content checked.
    assert!(python.shown >= 60 && python.intact >= 55, "{python:?}");
}

#[test]
fn pistream_calls_the_seed_server_and_its_finished_arrives_alone() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have(
        "pistream_calls_the_seed_server_and_its_finished_arrives_alone",
        &[&numpy()],
    ) {
        return;
    }
    let port = free_port();
    let mut server = seed_server(port, &[]);
    let target = format!("127.0.0.1:{port}");
    let mut pis = spawn("pistream", &pistream_call(&["--connect", &target, "--frames", "90"]));
    // The server's one recv(2046) got `connected` alone: pistream waited for its first byte.
    server.wait_for("b'connected'", 15 * SECS);
    pis.wait_for("sent \"finished\"", 30 * SECS);
    let finished = pis.timed_lines("sent \"finished\"")[0].0;
    exits_in_time(&mut pis, finished);
    exits_in_time(&mut server, finished);
    // `data == b'finished'`: the server's recv saw it by itself.
    assert!(server.output().lines().any(|l| l == "Finished"), "{}", server.output());
    assert_eq!(summary_counts(&pis.output()), (90, 90, 0));
    let python = fakecv(&server);
    assert!(python.shown > 30 && python.intact > 30, "{python:?}");
}

#[test]
fn enter_in_pistreams_window_sends_finished_to_the_seed_server() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have(
        "enter_in_pistreams_window_sends_finished_to_the_seed_server",
        &[&numpy(), "Xvfb", "xdotool", "xwininfo"],
    ) {
        return;
    }
    let x = Xvfb::start();
    let port = free_port();
    let mut server = seed_server(port, &[]);
    let target = format!("127.0.0.1:{port}");
    let mut pis = Proc::spawn_env(
        "pistream",
        &["call", "--connect", &target, "--peer", "seed", "--source", "pattern", "--sink", "window"],
        &[("DISPLAY", x.display.as_str())],
    );
    pis.wait_for("on the seed wire", 15 * SECS);
    let title = format!("pistream - {target}");
    let deadline = Instant::now() + 15 * SECS;
    let window = loop {
        let info =
            Command::new("xwininfo").args(["-name", &title]).env("DISPLAY", &x.display).output().unwrap();
        if info.status.success() {
            let info = String::from_utf8_lossy(&info.stdout).into_owned();
            break info.split_whitespace().skip_while(|w| *w != "id:").nth(1).unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "no window {title:?}:\n{}", pis.output());
        std::thread::sleep(Duration::from_millis(200));
    };
    pis.wait_for("stats:", 10 * SECS); // frames flow both ways for a second
    x.run("xdotool", &["key", "--window", &window, "Return"]);
    let enter = Instant::now();
    exits_in_time(&mut pis, enter);
    exits_in_time(&mut server, enter);
    assert!(pis.output().contains("sent \"finished\""), "{}", pis.output());
    assert!(server.output().lines().any(|l| l == "Finished"), "{}", server.output());
    assert!(fakecv(&server).intact > 0, "{}", server.output());
}

#[test]
fn two_pistreams_on_the_seed_wire_verify_frames_both_ways() {
    let _machine = crate::support::shared();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // A camera serving the seed wire, and a display pulling from it.
    let mut cam = Proc::spawn(
        "camera",
        &["camera", "--listen", &listen, "--peer", "seed", "--source", "pattern", "--stats", "off"],
    );
    cam.wait_for("listening on", 10 * SECS);
    let mut disp = Proc::spawn(
        "display",
        &["display", "--connect", &listen, "--peer", "seed", "--sink", "null", "--verify", "--frames", "30"],
    );
    assert!(disp.wait_exit(30 * SECS).success(), "{}", disp.output());
    assert_eq!(summary_counts(&disp.output()), (30, 30, 0));
    cam.wait_for("left: the peer sent finished", 5 * SECS);
    assert!(cam.is_running(), "a camera keeps serving after a watcher leaves");
    drop(cam);
    // A call: each side checks the other's frames.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut a = spawn("call-a", &pistream_call(&["--listen", &listen]));
    a.wait_for("listening on", 10 * SECS);
    let mut b = spawn("call-b", &pistream_call(&["--connect", &listen, "--frames", "45"]));
    assert!(b.wait_exit(30 * SECS).success(), "{}", b.output());
    assert!(a.wait_exit(END_WITHIN).success(), "{}", a.output());
    assert!(a.output().contains("peer ended the stream (the peer sent finished)"), "{}", a.output());
    assert_eq!(summary_counts(&b.output()), (45, 45, 0));
    let (shown, verified, corrupt) = summary_counts(&a.output());
    assert!(shown >= 30 && verified == shown && corrupt == 0, "{}", a.output());
}

#[test]
fn a_seed_camera_serves_a_hand_written_client_and_browsers_on_one_port() {
    let _machine = crate::support::shared();
    use std::io::{Read, Write};
    use std::net::TcpStream;

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let cam = Proc::spawn(
        "camera",
        &["camera", "--listen", &listen, "--peer", "seed", "--source", "pattern", "--stats", "off"],
    );
    cam.wait_for("listening on", 10 * SECS);
    // The seed wire by hand: `connected`, then whole 640x480 pattern frames, back to back.
    let mut seed = TcpStream::connect(&listen).unwrap();
    seed.set_read_timeout(Some(10 * SECS)).unwrap();
    seed.write_all(b"connected").unwrap();
    let geometry = pistream::media::Geometry::new(640, 480);
    let (mut frame, mut expected) = (vec![0u8; 921_600], vec![0u8; 921_600]);
    let mut last = None;
    for _ in 0..3 {
        seed.read_exact(&mut frame).unwrap();
        let seq = u64::from_be_bytes(frame[..8].try_into().unwrap());
        pistream::source::pattern::fill(&mut expected, geometry, seq);
        assert!(frame == expected, "frame {seq} is not pattern frame {seq}");
        assert!(last.is_none_or(|l| seq > l), "frames in order");
        last = Some(seq);
    }
    // The same port answers HTTP, and /state lists the seed viewer.
    let mut http = TcpStream::connect(&listen).unwrap();
    http.write_all(b"GET /state HTTP/1.0\r\n\r\n").unwrap();
    let mut state = String::new();
    http.read_to_string(&mut state).unwrap();
    assert!(state.starts_with("HTTP/1.1 200") && state.contains("\"kind\": \"seed\""), "{state}");
    seed.write_all(b"finished").unwrap();
    cam.wait_for("left: the peer sent finished", 5 * SECS);
}

#[test]
fn a_seed_listener_names_a_pistream_peer_that_connects_to_it() {
    let _machine = crate::support::shared();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cam = Proc::spawn(
        "camera",
        &["camera", "--listen", &listen, "--peer", "seed", "--source", "pattern", "--stats", "off"],
    );
    cam.wait_for("listening on", 10 * SECS);
    let _disp =
        Proc::spawn("display", &["display", "--connect", &listen, "--sink", "null", "--stats", "off"]);
    cam.wait_for("a pistream peer: start this side without --peer seed, or the other with it", 10 * SECS);
    assert!(cam.is_running());
}

#[test]
fn the_seed_peer_excludes_a_key_and_other_sizes() {
    let _machine = crate::support::shared();
    for (args, needles) in [
        (
            &["call", "--listen", "5678", "--peer", "seed", "--key-file", "k"][..],
            &["--peer seed", "--key-file"][..],
        ),
        (&["display", "--peer", "seed", "--key-file", "k"][..], &["--peer seed", "--key-file"][..]),
        (&["camera", "--peer", "seed", "--size", "1280x720"][..], &["--peer seed", "--size 1280x720"][..]),
        (&["camera", "--peer", "seed", "--wire", "jpeg"][..], &["--peer seed", "--wire"][..]),
        (&["camera", "--peer", "python"][..], &["--peer 'python'", "seed"][..]),
    ] {
        let mut p = Proc::spawn("pistream", args);
        assert_eq!(p.wait_exit(10 * SECS).code(), Some(2), "{args:?}: {}", p.output());
        for needle in needles {
            assert!(p.output().contains(needle), "{args:?} should name {needle}: {}", p.output());
        }
    }
}

fn share((intact, of): (u64, u64)) -> String {
    format!("{intact}/{of} ({:.1}%)", 100.0 * intact as f64 / of.max(1) as f64)
}

/// Side by side: the share of frames the seed program's receiver gets intact from the seed
/// program and from pistream (of the frames sent up to the last one it got intact), each
/// end ending the chat with `finished` after FRAMES shown frames.
#[test]
fn the_python_receiver_gets_intact_frames_from_python_and_from_pistream() {
    let _machine = crate::support::exclusive();
    if !crate::support::tools::have(
        "the_python_receiver_gets_intact_frames_from_python_and_from_pistream",
        &[&numpy()],
    ) {
        return;
    }
    const FRAMES: &str = "150"; // 5 s at 30 fps
                                // Python against Python: the client shows FRAMES frames, then presses Enter.
    let port = free_port();
    let mut server = seed_server(port, &[]);
    wait_listening(port);
    let mut client = seed_client(port, &[("SEED_ENTER_AFTER", FRAMES)]);
    client.wait_for("fakecv: Enter", 60 * SECS);
    let enter = client.timed_lines("fakecv: Enter")[0].0;
    exits_in_time(&mut client, enter);
    exits_in_time(&mut server, enter);
    let (py_server, py_client) = (fakecv(&server), fakecv(&client));
    let py_lost = (lost_lines(&server), lost_lines(&client));

    // pistream as the server, the same Python client.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut pis = spawn("pistream", &pistream_call(&["--listen", &listen]));
    pis.wait_for("listening on", 10 * SECS);
    let mut client = seed_client(port, &[("SEED_ENTER_AFTER", FRAMES)]);
    client.wait_for("fakecv: Enter", 60 * SECS);
    let enter = client.timed_lines("fakecv: Enter")[0].0;
    exits_in_time(&mut client, enter);
    exits_in_time(&mut pis, enter);
    let from_pis_server = fakecv(&client);
    let (shown, verified, corrupt) = summary_counts(&pis.output());
    assert_eq!((verified, corrupt), (shown, 0), "{}", pis.output());
    let pis_server_lost = lost_lines(&client);

    // pistream as the client of the same Python server, ending after FRAMES shown frames.
    let port = free_port();
    let mut server = seed_server(port, &[]);
    let target = format!("127.0.0.1:{port}");
    let mut pis = spawn("pistream", &pistream_call(&["--connect", &target, "--frames", FRAMES]));
    pis.wait_for("sent \"finished\"", 60 * SECS);
    let finished = pis.timed_lines("sent \"finished\"")[0].0;
    exits_in_time(&mut pis, finished);
    exits_in_time(&mut server, finished);
    let from_pis_client = fakecv(&server);
    assert_eq!(summary_counts(&pis.output()), (150, 150, 0), "{}", pis.output());
    let pis_client_lost = lost_lines(&server);

    eprintln!("frames the seed program's receiver got intact (of those sent up to the last it got):");
    eprintln!(
        "  client's receiver: from the Python server {} | from pistream as the server {}",
        share(py_client.intact_share()),
        share(from_pis_server.intact_share())
    );
    eprintln!(
        "  server's receiver: from the Python client {} | from pistream as the client {}",
        share(py_server.intact_share()),
        share(from_pis_client.intact_share())
    );
    eprintln!(
        "  corrupt whole-length recvs: client {} | {}; server {} | {}",
        py_client.corrupt, from_pis_server.corrupt, py_server.corrupt, from_pis_client.corrupt
    );
    eprintln!(
        "  recvs that were not one frame (\"Lost N frames\" lines): client {} | {}; server {} | {}",
        py_lost.1, pis_server_lost, py_lost.0, pis_client_lost
    );
    for (what, counts) in [
        ("the Python server", py_client),
        ("the Python client", py_server),
        ("pistream as the server", from_pis_server),
        ("pistream as the client", from_pis_client),
    ] {
        let (intact, of) = counts.intact_share();
        // A whole-length recv can be the tail of one frame and the head of the next (the
        // seed's framing bug): fakecv counts those as corrupt, and they are reported, not failed.
        assert!(intact > 0 && intact <= of && counts.intact <= counts.shown, "from {what}: {counts:?}");
    }
}
