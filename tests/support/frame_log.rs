//! Reading a display's `--frame-log`: one line per shown frame, on this machine's clock.

use super::process::free_port;

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
