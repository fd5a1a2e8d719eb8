//! A private X server (Xvfb) for one test, and running X clients on it (xdotool, import).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::SECS;

/// A private X server for one test (the seed test drives a window with it too).
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        let number = 100 + std::process::id() % 800;
        let child = Command::new("Xvfb")
            .args([format!(":{number}").as_str(), "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is needed for the window test: apt-get install xvfb (scripts/test does)");
        let socket = format!("/tmp/.X11-unix/X{number}");
        let deadline = Instant::now() + 10 * SECS;
        while !Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "Xvfb :{number} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
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
