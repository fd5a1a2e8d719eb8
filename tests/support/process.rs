//! Starting `pistream` (and other) processes, collecting their output line by line, waiting
//! with timeouts and killing them, so each test reads as a story.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::machine;

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
            machine::held(),
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

/// A listening `pistream camera` with the test pattern on loopback `port`, once it listens.
pub fn pattern_camera(port: u16, extra: &[&str]) -> Proc {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["camera", "--listen", &listen, "--source", "pattern", "--stats", "off"];
    args.extend_from_slice(extra);
    let cam = Proc::spawn("camera", &args);
    cam.wait_for("listening on", 10 * SECS);
    cam
}
