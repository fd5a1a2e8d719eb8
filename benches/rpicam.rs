//! Reading a camera module's frames: pistream's rpicam source (rpicam-vid's stdout read
//! whole frames at a time into the buffer they are kept in) against `cat > /dev/null` on the
//! same stream (the pipe's own cost), in the same run. The stream is the fake rpicam-vid's
//! (`tests/fakes/rpicam_vid.rs`, built as an example), unpaced, so both readers go as fast
//! as they can: frames per second and CPU time per frame of the reader (the writer's own
//! cost is left out of both). Cases: 1280x720 (rows unpadded) and 1456x1088 in the Pi 4's
//! layout (every row padded by 16 bytes, the chroma rows by 8).
//!
//! Run with `cargo bench --bench rpicam` (or `scripts/bench-rpicam`, which also writes
//! BENCHMARKS.md); `cargo test --benches` runs it quickly. The fake must be built first
//! (`cargo build --example fake-rpicam-vid`, with `--release` for `cargo bench`).
#![allow(unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pistream::media::Orientation;
use pistream::source::rpicam::{Request, RpicamSource};
use pistream::source::{Captured, Source, Target};

/// The fake, beside this bench's own binary (`target/<profile>/examples/`).
fn fake() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let fake = exe.parent().unwrap().parent().unwrap().join("examples").join("fake-rpicam-vid");
    assert!(
        fake.exists(),
        "{} is missing: build it first with `cargo build --example fake-rpicam-vid` (add --release for cargo bench)",
        fake.display()
    );
    fake
}

/// CPU time (user + system) this thread has used.
fn thread_cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

/// A run's reader: frames per second and CPU per frame (µs).
struct Reading {
    fps: f64,
    cpu_us: f64,
}

fn fake_env(cmd: &mut Command, frames: u64) {
    cmd.env("FAKE_RPICAM_UNPACED", "1")
        .env("FAKE_RPICAM_FRAMES", frames.to_string())
        .env("FAKE_RPICAM_ISP", "pi4");
}

/// `fake | cat > /dev/null`: wall time from the fake's first frame (it says so on stderr
/// just before writing it) to cat's exit, and cat's CPU time.
fn cat(width: u32, height: u32, frames: u64) -> Reading {
    let mut cmd = Command::new(fake());
    cmd.args(["-t", "0", "-n", "--flush", "--codec", "yuv420", "-o", "-"]).args([
        "--width",
        &width.to_string(),
        "--height",
        &height.to_string(),
    ]);
    fake_env(&mut cmd, frames);
    let mut writer = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = writer.stdout.take().unwrap();
    let stderr = writer.stderr.take().unwrap();
    let first = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("fake: first frame") {
                return Instant::now();
            }
        }
        panic!("the fake never said it sent its first frame")
    });
    // Reaped by the wait4 below, which also reads its rusage.
    #[allow(clippy::zombie_processes)]
    let reader = Command::new("cat").stdin(stdout).stdout(Stdio::null()).spawn().unwrap();
    let pid = reader.id() as nix::libc::pid_t;
    // wait4 for the reader's own rusage.
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to a status and a rusage for the call.
    let waited = unsafe { nix::libc::wait4(pid, &mut status, 0, &mut usage) };
    let end = Instant::now();
    assert_eq!(waited, pid);
    assert!(writer.wait().unwrap().success());
    let wall = end - first.join().unwrap();
    let tv = |t: nix::libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    Reading { fps: frames as f64 / wall.as_secs_f64(), cpu_us: cpu.as_secs_f64() * 1e6 / frames as f64 }
}

/// pistream's rpicam source on the same stream: every frame read into a tight I420 buffer,
/// timed from when the first bytes are there (`open` returns) to the last frame.
fn pistream(width: u32, height: u32, frames: u64) -> Reading {
    let request =
        Request { camera: 0, width, height, fps: 30.0, orientation: Orientation::UPRIGHT, options: vec![] };
    let mut source = RpicamSource::open(request).unwrap();
    let start = Instant::now();
    let cpu_start = thread_cpu();
    let mut native = Vec::new();
    let mut got = 0;
    while got < frames {
        let mut target = Target { seq: got, bgr: None, native: Some(&mut native) };
        match source.next_frame(&mut target).unwrap() {
            Captured::Frame { .. } => got += 1,
            Captured::NotYet => {}
            Captured::Bad(why) => panic!("a bad frame: {why}"),
        }
    }
    let wall = start.elapsed();
    let cpu = thread_cpu() - cpu_start;
    drop(source);
    Reading { fps: frames as f64 / wall.as_secs_f64(), cpu_us: cpu.as_secs_f64() * 1e6 / frames as f64 }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    // The source finds the fake as rpicam-vid on PATH.
    let dir = std::env::temp_dir().join(format!("pistream-bench-rpicam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(fake(), dir.join("rpicam-vid")).unwrap();
    std::env::set_var("PATH", format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()));
    std::env::set_var("FAKE_RPICAM_UNPACED", "1");
    std::env::set_var("FAKE_RPICAM_ISP", "pi4");

    let (frames, rounds) = if quick { (60, 1) } else { (600, 5) };
    println!("| stream | cat frames/s | pistream frames/s | frames/s ratio | cat CPU µs/frame | pistream CPU µs/frame | CPU ratio (cat/pistream) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let (mut worst_fps, mut worst_cpu) = (f64::INFINITY, f64::INFINITY);
    for (w, h, what) in [(1280, 720, "1280x720, unpadded"), (1456, 1088, "1456x1088, Pi 4 rows (1472 bytes)")]
    {
        std::env::set_var("FAKE_RPICAM_FRAMES", frames.to_string());
        let (mut cat_fps, mut cat_cpu, mut our_fps, mut our_cpu) = (vec![], vec![], vec![], vec![]);
        for _ in 0..rounds {
            let c = cat(w, h, frames);
            let p = pistream(w, h, frames);
            cat_fps.push(c.fps);
            cat_cpu.push(c.cpu_us);
            our_fps.push(p.fps);
            our_cpu.push(p.cpu_us);
        }
        let (cf, cc, pf, pc) =
            (median(&mut cat_fps), median(&mut cat_cpu), median(&mut our_fps), median(&mut our_cpu));
        assert!(pf > 0.0 && cf > 0.0, "no frames measured");
        let (fps_ratio, cpu_ratio) = (pf / cf, cc / pc);
        worst_fps = worst_fps.min(fps_ratio);
        worst_cpu = worst_cpu.min(cpu_ratio);
        println!("| {what} | {cf:.0} | {pf:.0} | {fps_ratio:.2} | {cc:.0} | {pc:.0} | {cpu_ratio:.2} |");
    }
    println!();
    println!(
        "lowest ratio pistream/cat: frames/s {worst_fps:.2} (target >= 0.90), CPU per frame {worst_cpu:.2}"
    );
    println!(
        "(cat writes every read into the same cache-hot 128 KiB buffer and throws it away; pistream keeps each \
         frame, so it writes a whole frame's worth of memory per frame)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
