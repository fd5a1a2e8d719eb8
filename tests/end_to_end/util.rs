//! Helpers that start `pistream` processes, collect their stderr, wait with timeouts and
//! kill them, so each test reads as a story.

use std::cell::Cell;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_pistream");

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A line a process printed, and when it arrived.
pub type TimedLine = (Instant, String);

/// A running pistream with its stderr collected line by line.
pub struct Proc {
    pub name: String,
    child: Child,
    output: Arc<(Mutex<Output>, Condvar)>,
}

/// What a process printed so far, and how many of its two pipes are still open.
#[derive(Default)]
struct Output {
    /// Every line, with when it arrived.
    lines: Vec<TimedLine>,
    open_pipes: usize,
}

impl Proc {
    pub fn spawn(name: &str, args: &[&str]) -> Proc {
        Self::spawn_env(name, args, &[])
    }

    pub fn spawn_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        // PISTREAM_TEST_BIN runs the tests against another build (e.g. an older version).
        let bin = std::env::var("PISTREAM_TEST_BIN").unwrap_or_else(|_| BIN.to_string());
        Self::spawn_program(name, &bin, args, env)
    }

    /// Any program (not only pistream), its output collected the same way.
    pub fn spawn_program(name: &str, program: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        assert!(
            HOLDS_MACHINE.with(Cell::get),
            "a test starts {program} without holding the machine: begin it with util::shared() or, if \
             it measures time or the whole process, util::exclusive()"
        );
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting {program}: {e}"));
        let output: Arc<(Mutex<Output>, Condvar)> = Arc::default();
        output.0.lock().unwrap().open_pipes = 2;
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let output = output.clone();
            let name = name.to_string();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("[{name}] {line}");
                    output.0.lock().unwrap().lines.push((Instant::now(), line));
                    output.1.notify_all();
                }
                output.0.lock().unwrap().open_pipes -= 1;
                output.1.notify_all();
            });
        }
        Proc { name: name.to_string(), child, output }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.output.0.lock().unwrap().lines.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// Waits until a line containing `needle` appears (after `skip` earlier matches).
    pub fn wait_for_nth(&self, needle: &str, nth: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut output = self.output.0.lock().unwrap();
        loop {
            if let Some((_, line)) = output.lines.iter().filter(|(_, l)| l.contains(needle)).nth(nth) {
                return line.clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "{}: no line with {needle:?} (#{nth}) within {timeout:?}; output:\n{}",
                self.name,
                output.lines.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n")
            );
            output = self.output.1.wait_timeout(output, deadline - now).unwrap().0;
        }
    }

    /// Every line containing `needle` so far, with when it arrived.
    pub fn timed_lines(&self, needle: &str) -> Vec<TimedLine> {
        self.output.0.lock().unwrap().lines.iter().filter(|(_, l)| l.contains(needle)).cloned().collect()
    }

    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_nth(needle, 0, timeout)
    }

    /// Waits for the process to exit; kills it and fails the test on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.wait_for_pipes_closed(deadline.max(Instant::now() + 5 * SECS));
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("{} did not exit within {timeout:?}; output:\n{}", self.name, self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the reader threads have read both pipes to their end (after the exit:
    /// everything printed is in [`Proc::output`]).
    fn wait_for_pipes_closed(&self, deadline: Instant) {
        let mut output = self.output.0.lock().unwrap();
        while output.open_pipes > 0 {
            let now = Instant::now();
            assert!(now < deadline, "{}: its output pipes stayed open after it exited", self.name);
            output = self.output.1.wait_timeout(output, deadline - now).unwrap().0;
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal).unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses "N frames shown, N verified, N corrupt" out of a summary line.
pub fn summary_counts(output: &str) -> (u64, u64, u64) {
    let line =
        output.lines().find(|l| l.contains("summary:")).unwrap_or_else(|| panic!("no summary in:\n{output}"));
    let number_before = |word: &str| -> u64 {
        let at = line.find(word).unwrap_or_else(|| panic!("no {word:?} in {line}"));
        line[..at].trim_end().rsplit(' ').next().unwrap().parse().unwrap()
    };
    (number_before(" frames shown"), number_before(" verified"), number_before(" corrupt"))
}

pub const SECS: Duration = Duration::from_secs(1);

/// The machine, shared by the tests of this binary (cargo runs two at a time). A test whose
/// assertions are about time (latency, frame rates, "within N s") or about the whole
/// process (memory, allocations per frame) takes it [`exclusive`]ly; every other test takes
/// it [`shared`]. Shared tests run beside each other, never beside an exclusive one: an
/// unpaced 1080p stream in one of them would otherwise take the cores a latency bound is
/// measured on, and the bound would hold only when the scheduler happened to be kind.
static MACHINE: RwLock<()> = RwLock::new(());

thread_local! {
    /// Whether this test thread holds [`MACHINE`] (checked before any process starts).
    static HOLDS_MACHINE: Cell<bool> = const { Cell::new(false) };
}

/// A test's hold on the machine; released when dropped.
pub struct MachineGuard {
    _guard: Result<RwLockReadGuard<'static, ()>, RwLockWriteGuard<'static, ()>>,
}

impl Drop for MachineGuard {
    fn drop(&mut self) {
        HOLDS_MACHINE.with(|h| h.set(false));
    }
}

/// For a test that measures time or the whole process: it runs with no other test beside it.
pub fn exclusive() -> MachineGuard {
    let guard = MACHINE.write().unwrap_or_else(|p| p.into_inner());
    HOLDS_MACHINE.with(|h| h.set(true));
    MachineGuard { _guard: Err(guard) }
}

/// For every other test: it may run beside another shared one, never beside an exclusive one.
pub fn shared() -> MachineGuard {
    let guard = MACHINE.read().unwrap_or_else(|p| p.into_inner());
    HOLDS_MACHINE.with(|h| h.set(true));
    MachineGuard { _guard: Ok(guard) }
}

/// A listening `pistream camera` with the test pattern on loopback `port`, once it listens.
pub fn pattern_camera(port: u16, extra: &[&str]) -> Proc {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["camera", "--listen", &listen, "--source", "pattern", "--stats", "off"];
    args.extend_from_slice(extra);
    let cam = Proc::spawn("camera", &args);
    cam.wait_for("listening on", 10 * SECS);
    cam
}

/// One line of a display's `--frame-log`: a shown frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownFrame {
    /// When it was shown and when it was captured, µs since the UNIX epoch (this machine's
    /// clock, which `pistream::media::now_us` reads too).
    pub shown_us: u64,
    pub seq: u64,
    pub captured_us: u64,
    pub latency_us: u64,
    pub wire: String,
}

/// A temporary path for a process's `--frame-log` (removed by [`read_frame_log`]).
pub fn frame_log_path(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("pistream-frames-{}-{name}-{}", std::process::id(), free_port()))
        .to_string_lossy()
        .into_owned()
}

/// Reads (and removes) a `--frame-log` file.
pub fn read_frame_log(path: &str) -> Vec<ShownFrame> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("the frame log {path}: {e}"));
    let _ = std::fs::remove_file(path);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("# shown_us seq captured_us latency_us wire"), "{path}");
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let n = |i: usize| f[i].parse::<u64>().unwrap_or_else(|_| panic!("{path}: {line:?}"));
            assert_eq!(f.len(), 5, "{path}: {line:?}");
            ShownFrame {
                shown_us: n(0),
                seq: n(1),
                captured_us: n(2),
                latency_us: n(3),
                wire: f[4].to_string(),
            }
        })
        .collect()
}
