//! The system tools some tests drive (real clients and peers: Chromium, ffmpeg, GStreamer,
//! Xvfb, ImageMagick, numpy...). Run by hand without one, such a test says what is missing
//! and skips; under CI (`CI` set) or `scripts/test` (`PISTREAM_TEST_REQUIRE_TOOLS` set),
//! where every tool is installed first, a missing one fails the test.

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether a missing tool fails the test instead of skipping it.
fn required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("PISTREAM_TEST_REQUIRE_TOOLS").is_some()
}

/// Whether `program` is on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| Path::new(&dir).join(program).is_file()))
}

/// Whether `python` can import `module`.
pub fn python_module(python: &str, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether every one of `tools` is here (a program on PATH, or `python3:MODULE`); if not,
/// says so and returns false (the caller returns: skipped), or fails under CI.
pub fn have(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| match tool.split_once(':') {
            Some((python, module)) => !python_module(python, module),
            None => !on_path(tool),
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    assert!(
        !required(),
        "{test} needs {what}, which is not installed (scripts/install-deps test installs it)"
    );
    eprintln!("skip: {test}: {what} not installed (scripts/install-deps test installs it)");
    false
}

/// Runs `program` with `args` to its end: whether it succeeded, and what it printed (stdout,
/// then stderr).
pub fn run(program: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed (scripts/install-deps test installs it): {e}"));
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}
