//! A private X server (Xvfb) for one test, and running X clients on it (xdotool, import).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use super::process::SECS;

/// A private X server for one test (the seed test drives a window with it too).
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb on a display number it picks itself (`-displayfd`): tests in one process
    /// run at once, so a number made from the process id would be shared by two servers
    /// (the second fails, and its test then talks to the first until that one ends), and a
    /// socket left by an earlier run would look like a started server. Xvfb writes the
    /// number only once it accepts connections.
    pub fn start() -> Xvfb {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is needed for the window test: apt-get install xvfb (scripts/test does)");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(10 * SECS).unwrap_or_default();
        let number: u32 = match line.trim().parse() {
            Ok(number) => number,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("Xvfb did not start in 10 s (it printed {line:?} for its display; {status:?})");
            }
        };
        Xvfb { child, display: format!(":{number}") }
    }

    /// Runs an X client (xdotool, import, ...) on this server; fails the test if it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> Vec<u8> {
        let out =
            Command::new(program).args(args).env("DISPLAY", &self.display).output().unwrap_or_else(|e| {
                panic!("{program} is needed for the window test ({e}); scripts/test installs it")
            });
        assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
