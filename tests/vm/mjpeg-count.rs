//! An MJPEG-over-HTTP client for the VM rig's µStreamer benchmark (scripts/bench-ustreamer):
//! reads a `multipart/x-mixed-replace` stream and counts its parts, nothing else. One
//! source file with no dependencies, built by scripts/vm-rig with plain `rustc` as a
//! static binary for the guest.
//!
//!   mjpeg-count 127.0.0.1:8080 /stream
//!
//! Asks with HTTP/1.0 (so no server answers with chunked encoding), skips the response's
//! head and counts every `Content-Length:` header after it (one per part: both pistream
//! and µStreamer send one with every JPEG). On SIGUSR1 it prints `PARTS BYTES` (totals so
//! far) on stdout once the next read returns, so a script can take counts at the start
//! and end of a window; at the end of the stream it prints `end PARTS BYTES`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};

const SIGUSR1: i32 = 10; // the same on x86_64 and aarch64 Linux
const HEADER: &[u8] = b"content-length:";

static REPORT: AtomicBool = AtomicBool::new(false);

extern "C" {
    // glibc's signal() installs the handler with SA_RESTART, so reads carry on.
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

extern "C" fn on_usr1(_: i32) {
    REPORT.store(true, Ordering::Relaxed);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: mjpeg-count HOST:PORT PATH");
        std::process::exit(2);
    }
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { signal(SIGUSR1, on_usr1) };
    let mut stream = match TcpStream::connect(&args[1]) {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("mjpeg-count: {}: {e}", args[1]);
            std::process::exit(1);
        }
    };
    let request = format!("GET {} HTTP/1.0\r\nHost: {}\r\n\r\n", args[2], args[1]);
    if let Err(e) = stream.write_all(request.as_bytes()) {
        eprintln!("mjpeg-count: sending the request: {e}");
        std::process::exit(1);
    }
    let mut buf = vec![0u8; 1 << 16];
    // In the response's head until its blank line: how many of "\r\n\r\n" matched so far.
    let mut head_end = 0usize;
    let mut in_head = true;
    // How many bytes of HEADER matched so far (its first letter occurs only once in it, so
    // a mismatch simply starts again at that byte).
    let mut matched = 0usize;
    let (mut parts, mut bytes) = (0u64, 0u64);
    let stdout = std::io::stdout();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => 0,
            Err(e) => {
                eprintln!("mjpeg-count: {e}");
                break;
            }
        };
        bytes += n as u64;
        for &b in &buf[..n] {
            if in_head {
                head_end = match (head_end, b) {
                    (0 | 2, b'\r') => head_end + 1,
                    (1 | 3, b'\n') => head_end + 1,
                    (_, b'\r') => 1,
                    _ => 0,
                };
                in_head = head_end < 4;
                continue;
            }
            let lower = b.to_ascii_lowercase();
            if lower == HEADER[matched] {
                matched += 1;
                if matched == HEADER.len() {
                    parts += 1;
                    matched = 0;
                }
            } else {
                matched = usize::from(lower == HEADER[0]);
            }
        }
        if REPORT.swap(false, Ordering::Relaxed) {
            let mut out = stdout.lock();
            let _ = writeln!(out, "{parts} {bytes}");
            let _ = out.flush();
        }
    }
    println!("end {parts} {bytes}");
}
