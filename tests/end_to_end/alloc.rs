//! The zero-allocation proof, on the real binary and its real stages: each scenario runs
//! twice, for N and for 10 N frames, and the difference divided by 9 N is the allocations
//! per frame of steady state (start-up, handshakes and the first frames cancel out). Two
//! counts per process: Rust allocations (the binary's counting global allocator, printed
//! with `PISTREAM_COUNT_ALLOCATIONS=1`) and every `malloc`-family call of the whole
//! process, C libraries included (an `LD_PRELOAD` counter this test builds).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::support::{free_port, Proc, SECS};

const COUNTER_C: &str = r#"
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static atomic_ulong calls;
void *malloc(size_t n) { atomic_fetch_add(&calls, 1); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { atomic_fetch_add(&calls, 1); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { atomic_fetch_add(&calls, 1); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { atomic_fetch_add(&calls, 1); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { atomic_fetch_add(&calls, 1); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    atomic_fetch_add(&calls, 1);
    void *p = __libc_memalign(a, n);
    if (!p) return 12;
    *out = p;
    return 0;
}
__attribute__((destructor)) static void report(void) {
    unsigned long n = atomic_load(&calls);
    const char *path = getenv("PISTREAM_MALLOC_COUNT_FILE");
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (f) { fprintf(f, "%lu\n", n); fclose(f); }
}
"#;

/// The LD_PRELOAD counter, built once per test run.
fn counter() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pistream-malloc-count-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("count.c");
        std::fs::write(&source, COUNTER_C).unwrap();
        let lib = dir.join("libcount.so");
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&lib)
            .arg(&source)
            .status()
            .expect("a C compiler (cc) to build the malloc counter");
        assert!(status.success());
        lib
    })
}

/// Allocation counts of one process.
#[derive(Clone, Copy, Debug)]
struct Counts {
    rust: u64,
    malloc: u64,
}

/// A pistream process run under both counters.
struct Counted {
    proc: Proc,
    malloc_file: PathBuf,
}

impl Counted {
    fn spawn(name: &str, args: &[&str]) -> Counted {
        Self::spawn_env(name, args, &[])
    }

    fn spawn_env(name: &str, args: &[&str], extra_env: &[(&str, &str)]) -> Counted {
        let malloc_file = std::env::temp_dir().join(format!(
            "pistream-mallocs-{}-{name}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_file(&malloc_file);
        let mut env = vec![
            ("LD_PRELOAD", counter().to_str().unwrap()),
            ("PISTREAM_MALLOC_COUNT_FILE", malloc_file.to_str().unwrap()),
            ("PISTREAM_COUNT_ALLOCATIONS", "1"),
        ];
        env.extend_from_slice(extra_env);
        Counted { proc: Proc::spawn_env(name, args, &env), malloc_file }
    }

    fn finish(mut self) -> Counts {
        let status = self.proc.wait_exit(120 * SECS);
        assert!(status.success(), "{}: {}", self.proc.name, self.proc.output());
        let line = self.proc.wait_for("allocations:", 5 * SECS);
        let rust = line.split("allocations: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let malloc = std::fs::read_to_string(&self.malloc_file).unwrap().trim().parse().unwrap();
        let _ = std::fs::remove_file(&self.malloc_file);
        Counts { rust, malloc }
    }
}

/// Per-frame allocations from runs of `n` and `10 n` frames.
fn per_frame(short: Counts, long: Counts, n: u64) -> (f64, f64) {
    let frames = 9.0 * n as f64;
    ((long.rust as f64 - short.rust as f64) / frames, (long.malloc as f64 - short.malloc as f64) / frames)
}

fn assert_steady(name: &str, short: Counts, long: Counts, n: u64) {
    let (rust, malloc) = per_frame(short, long, n);
    eprintln!(
        "{name}: Rust {} -> {} allocations ({rust:.4} per frame), malloc {} -> {} calls ({malloc:.4} per frame)",
        short.rust, long.rust, short.malloc, long.malloc
    );
    // Rust: exactly zero in every run so far; one allocation in 2000 frames leaves room for
    // a one-off landing in the longer run, three orders of magnitude below the one per
    // frame that fails. malloc: the C libraries' start-up (OpenCV, Qt, GDCM constructors)
    // varies by up to a few hundred calls from run to run, whatever the frames, so the bound
    // is that noise over 9 N frames; one call per frame is 20 times over it.
    assert!(rust < 0.0005, "{name}: {rust:.4} Rust allocations per frame");
    assert!(malloc < 0.1, "{name}: {malloc:.4} malloc calls per frame");
}

const N: u64 = 1000;

fn demo(frames: u64) -> Counts {
    let frames = frames.to_string();
    Counted::spawn("demo", &["demo", "--fps", "0", "--frames", &frames, "--sink", "null", "--verify"])
        .finish()
}

#[test]
fn the_demo_allocates_nothing_per_frame() {
    let _machine = crate::support::exclusive();
    assert_steady("demo (camera and display in one process)", demo(N), demo(10 * N), N);
}

/// A camera and a display process for `frames` frames (keyed with `key`, the camera given
/// `camera_extra` too); their counts.
fn camera_and_display(
    frames: u64,
    key: Option<&Path>,
    call: bool,
    camera_extra: &[&str],
) -> (Counts, Counts) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let frames = frames.to_string();
    let key_args: Vec<&str> = key.map(|k| vec!["--key-file", k.to_str().unwrap()]).unwrap_or_default();
    let mut camera_args = if call {
        vec!["call", "--listen", &listen, "--sink", "null", "--verify", "--frames", &frames]
    } else {
        vec!["camera", "--listen", &listen]
    };
    camera_args.extend(["--source", "pattern", "--fps", "0", "--size", "320x240"]);
    camera_args.extend(camera_extra);
    camera_args.extend(&key_args);
    let camera = Counted::spawn("camera", &camera_args);
    camera.proc.wait_for("listening on", 10 * SECS);
    let mut display_args = if call {
        // The connecting side of a call is a camera too: it sends as the other does.
        let mut args =
            vec!["call", "--connect", &listen, "--source", "pattern", "--fps", "0", "--size", "320x240"];
        args.extend(camera_extra);
        args
    } else {
        vec!["display", "--connect", &listen]
    };
    display_args.extend(["--sink", "null", "--verify", "--frames", &frames]);
    display_args.extend(&key_args);
    let display = Counted::spawn("display", &display_args);
    let display_counts = display.finish();
    if !call {
        // A listening camera serves until stopped.
        camera.proc.wait_for("left", 10 * SECS);
        camera.proc.signal(nix::sys::signal::Signal::SIGTERM);
    }
    (camera.finish(), display_counts)
}

#[test]
fn a_camera_and_a_display_allocate_nothing_per_frame_plain_and_keyed() {
    let _machine = crate::support::exclusive();
    let key = std::env::temp_dir().join(format!("pistream-alloc-key-{}", std::process::id()));
    std::fs::write(&key, "allocation test key\n").unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    for keyed in [None, Some(key.as_path())] {
        let (camera_short, display_short) = camera_and_display(N, keyed, false, &[]);
        let (camera_long, display_long) = camera_and_display(10 * N, keyed, false, &[]);
        let what = if keyed.is_some() { "keyed (encrypted)" } else { "plain" };
        assert_steady(&format!("camera, {what}"), camera_short, camera_long, N);
        assert_steady(&format!("display, {what}"), display_short, display_long, N);
    }
}

#[test]
fn a_call_allocates_nothing_per_frame_on_either_side() {
    let _machine = crate::support::exclusive();
    let (a_short, b_short) = camera_and_display(N, None, true, &[]);
    let (a_long, b_long) = camera_and_display(10 * N, None, true, &[]);
    assert_steady("call, listening side", a_short, a_long, N);
    assert_steady("call, connecting side", b_short, b_long, N);
}

/// H.264 both ways: a call where each side encodes its camera and decodes the other's. No
/// Rust allocation per frame on either side; OpenH264's `malloc` calls per frame (its
/// encoder and decoder are C++) are reported.
#[test]
fn an_h264_call_allocates_no_rust_memory_per_frame_on_either_side() {
    let _machine = crate::support::exclusive();
    let (a_short, b_short) = camera_and_display(N, None, true, &["--wire", "h264"]);
    let (a_long, b_long) = camera_and_display(10 * N, None, true, &["--wire", "h264"]);
    for (side, short, long) in [("listening", a_short, a_long), ("connecting", b_short, b_long)] {
        let (rust, malloc) = per_frame(short, long, N);
        eprintln!(
            "H.264 call, {side} side: {rust:.4} Rust allocations and {malloc:.2} malloc calls per frame"
        );
        assert!(rust < 0.0005, "H.264 call, {side} side: {rust:.4} Rust allocations per frame");
    }
}

/// A call on the seed wire (`--peer seed`: 640x480 raw BGR, no framing) of `frames` frames
/// each way; both sides' counts.
fn seed_call(frames: u64) -> (Counts, Counts) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let frames = frames.to_string();
    let common =
        ["--peer", "seed", "--source", "pattern", "--fps", "0", "--sink", "null", "--verify", "--frames"];
    let a = Counted::spawn("seed-a", &[&["call", "--listen", &listen][..], &common, &[&frames]].concat());
    a.proc.wait_for("listening on", 10 * SECS);
    let b = Counted::spawn("seed-b", &[&["call", "--connect", &listen][..], &common, &[&frames]].concat());
    (a.finish(), b.finish())
}

#[test]
fn a_call_on_the_seed_wire_allocates_nothing_per_frame() {
    let _machine = crate::support::exclusive();
    // 640x480 frames (the seed wire has no other size), as many as the other proofs: with
    // 300, the malloc bound (0.1 per frame over 9 N frames) left room for 270 calls of the
    // C libraries' start-up noise, which a CI run exceeded with 517 (Rust: 0 per frame).
    const SEED_N: u64 = N;
    let (a_short, b_short) = seed_call(SEED_N);
    let (a_long, b_long) = seed_call(10 * SEED_N);
    assert_steady("seed call, listening side", a_short, a_long, SEED_N);
    assert_steady("seed call, connecting side", b_short, b_long, SEED_N);
}

/// Every wire format, from the camera that makes it to the display that turns it back into
/// BGR: raw BGR, a YUYV camera's own bytes (`native`), I420 and JPEG, and an MJPEG camera
/// decoded to BGR or sending its JPEGs as they are, and H.264 from a BGR and a YUYV camera.
/// No Rust allocation per frame on either side for any of them, and no `malloc` either
/// where no JPEG or H.264 is involved; their C libraries' `malloc` calls per frame
/// (libjpeg-turbo per image; OpenH264) are reported.
#[test]
fn every_wire_format_allocates_nothing_per_frame_on_either_side() {
    let _machine = crate::support::exclusive();
    let cases = [
        ("bgr", None),
        ("native", Some("YUYV")),
        ("i420", None),
        ("jpeg", None),
        ("bgr", Some("MJPG")),
        ("native", Some("MJPG")),
        ("h264", None),
        ("h264", Some("YUYV")),
    ];
    for (wire, format) in cases {
        let mut extra = vec!["--wire", wire];
        extra.extend(format.map(|f| ["--format", f]).iter().flatten());
        let (camera_short, display_short) = camera_and_display(N, None, false, &extra);
        let (camera_long, display_long) = camera_and_display(10 * N, None, false, &extra);
        let capture = format.unwrap_or("BGR");
        let name = |side| format!("{side}, --wire {wire} from a {capture} capture");
        if wire == "jpeg" || wire == "h264" || format == Some("MJPG") {
            for (side, short, long) in
                [("camera", camera_short, camera_long), ("display", display_short, display_long)]
            {
                let (rust, malloc) = per_frame(short, long, N);
                eprintln!(
                    "{}: {rust:.4} Rust allocations and {malloc:.2} malloc calls per frame",
                    name(side)
                );
                assert!(rust < 0.0005, "{}: {rust:.4} Rust allocations per frame", name(side));
            }
        } else {
            assert_steady(&name("camera"), camera_short, camera_long, N);
            assert_steady(&name("display"), display_short, display_long, N);
        }
    }
}

/// A camera serving 4 pistream displays and `http` MJPEG clients until the displays have
/// shown `frames` frames each: the camera's counts and how many frames it captured.
fn fan_out(frames: u64, http: usize) -> (Counts, u64) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let camera = Counted::spawn(
        "camera",
        &[
            "camera", "--listen", &listen, "--source", "pattern", "--fps", "0", "--size", "320x240",
            "--stats", "off",
        ],
    );
    camera.proc.wait_for("listening on", 10 * SECS);
    let clients: Vec<_> = (0..http)
        .map(|_| crate::support::http::StreamClient::start_sized(port, "/stream", 320, 240))
        .collect();
    let frames = frames.to_string();
    let displays: Vec<Proc> = (0..4)
        .map(|i| {
            Proc::spawn(
                &format!("display{i}"),
                &["display", "--connect", &listen, "--sink", "null", "--stats", "off", "--frames", &frames],
            )
        })
        .collect();
    for mut display in displays {
        assert!(display.wait_exit(120 * SECS).success(), "{}", display.output());
    }
    for client in clients {
        client.finish();
    }
    camera.proc.signal(nix::sys::signal::Signal::SIGTERM);
    let mut camera = camera;
    let status = camera.proc.wait_exit(30 * SECS);
    assert!(status.success(), "{}", camera.proc.output());
    let summary = camera.proc.wait_for("summary:", SECS);
    let sent: u64 = summary.split("summary: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let captured = sent / 4; // every frame goes to each of the 4 displays (some are dropped)
    (camera.finish(), captured)
}

#[test]
fn fan_out_to_four_displays_and_two_http_clients_allocates_no_rust_memory_per_frame() {
    let _machine = crate::support::exclusive();
    for http in [0, 2] {
        let (short, short_frames) = fan_out(N / 2, http);
        let (long, long_frames) = fan_out(5 * N, http);
        let frames = (long_frames - short_frames) as f64;
        let rust = (long.rust as f64 - short.rust as f64) / frames;
        let malloc = (long.malloc as f64 - short.malloc as f64) / frames;
        eprintln!(
            "fan-out, 4 displays and {http} HTTP clients: Rust {} -> {} ({rust:.4} per frame), malloc {} -> {} ({malloc:.2} per frame), {short_frames} -> {long_frames} frames",
            short.rust, long.rust, short.malloc, long.malloc
        );
        assert!(rust < 0.0005, "{rust:.4} Rust allocations per frame");
        // Rust allocates nothing per frame (above); the C library's own calls (thread and
        // socket set-up, which the long run's timing varies) stay under one per frame,
        // which a malloc on the frame path (one or more per frame) would not: CI measured
        // 565 such calls over 4472 frames (0.13), on a loaded machine.
        if http == 0 {
            assert!(malloc < 0.5, "raw viewers alone: {malloc:.4} malloc calls per frame");
        }
    }
}

/// A camera serving two RTSP clients (ffmpeg over TCP and over UDP) for `seconds` at 120
/// fps: the camera's counts and the units it sent.
fn rtsp_clients(seconds: u64) -> (Counts, u64) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let camera = Counted::spawn(
        "camera",
        &[
            "camera", "--listen", &listen, "--source", "pattern", "--fps", "120", "--size", "320x240",
            "--stats", "off",
        ],
    );
    camera.proc.wait_for("listening on", 10 * SECS);
    let url = format!("rtsp://{listen}/stream");
    // One after the other, so both runs start the same way (the first DESCRIBE learns the
    // parameter sets, the second reads them).
    let clients: Vec<Proc> = ["tcp", "udp"]
        .iter()
        .enumerate()
        .map(|(i, transport)| {
            let client = Proc::spawn_program(
                "ffmpeg",
                "ffmpeg",
                &["-v", "error", "-rtsp_transport", transport, "-i", &url, "-f", "null", "-"],
                &[],
            );
            camera.proc.wait_for_nth("plays /stream", i, 10 * SECS);
            client
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    camera.proc.signal(nix::sys::signal::Signal::SIGTERM);
    let mut camera = camera;
    let status = camera.proc.wait_exit(30 * SECS);
    assert!(status.success(), "{}", camera.proc.output());
    drop(clients);
    let summary = camera.proc.wait_for("summary:", SECS);
    let sent: u64 = summary.split("summary: ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    (camera.finish(), sent)
}

#[test]
fn rtsp_clients_over_tcp_and_udp_cost_no_rust_allocation_per_frame() {
    let _machine = crate::support::exclusive();
    if !crate::support::tools::have("rtsp allocations", &["ffmpeg"]) {
        return;
    }
    let (short, short_sent) = rtsp_clients(4);
    let (long, long_sent) = rtsp_clients(20);
    let units = (long_sent - short_sent) as f64;
    let rust = (long.rust as f64 - short.rust as f64) / units;
    eprintln!(
        "RTSP over TCP and UDP: Rust {} -> {} ({rust:.4} per unit sent), malloc {} -> {}, {short_sent} -> {long_sent} units",
        short.rust, long.rust, short.malloc, long.malloc
    );
    assert!(units > 1000.0, "{short_sent} -> {long_sent} units sent");
    assert!(rust < 0.0005, "{rust:.4} Rust allocations per unit sent");
}

/// A camera module through the fake rpicam-vid (unpaced, read into tight I420 and made BGR
/// for a display) for `frames` shown frames; the camera's counts.
fn rpicam_camera(frames: u64, fake: &crate::support::fake_rpicam::FakeOnPath) -> Counts {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let camera = Counted::spawn_env(
        "camera",
        &["camera", "--listen", &listen, "--source", "rpicam", "--size", "320x240", "--wire", "bgr"],
        &[("PATH", &fake.path), ("FAKE_RPICAM_UNPACED", "1")],
    );
    camera.proc.wait_for("listening on", 10 * SECS);
    let frames = frames.to_string();
    let mut display =
        Proc::spawn("display", &["display", "--connect", &listen, "--sink", "null", "--frames", &frames]);
    assert!(display.wait_exit(120 * SECS).success(), "{}", display.output());
    camera.proc.wait_for("left", 10 * SECS);
    camera.proc.signal(nix::sys::signal::Signal::SIGTERM);
    camera.finish()
}

#[test]
fn a_camera_module_source_allocates_nothing_per_frame() {
    let _machine = crate::support::exclusive();
    let fake = crate::support::fake_rpicam::FakeOnPath::new("alloc");
    assert_steady("camera, --source rpicam", rpicam_camera(N, &fake), rpicam_camera(10 * N, &fake), N);
}
