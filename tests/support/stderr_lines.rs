//! A child process's stderr lines, collected on a thread as they arrive (the benches that
//! start pistream read its log lines from here).

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::thread;

/// Starts collecting `child`'s stderr (which must be piped); the lines so far are in the
/// returned vector.
pub fn collect_stderr(child: &mut Child) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("stderr is piped");
    let collected = lines.clone();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            collected.lock().unwrap().push(line);
        }
    });
    lines
}
