//! The WebRTC test clients (tests/webrtc/), installed by `scripts/install-deps test` into
//! target/webrtc-tools: aiortc with PyAV in a venv (`whep_client.py`, an independent WHEP
//! client that decodes every frame) and playwright-core driving Debian's Chromium on the
//! viewer page (`chromium.mjs`).

use std::path::PathBuf;

use super::Proc;

fn tools() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/webrtc-tools")
}

fn script(name: &str) -> String {
    format!("{}/tests/webrtc/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, with aiortc.
pub fn python() -> String {
    tools().join("venv/bin/python").display().to_string()
}

/// Whether the clients are installed; if not, says so (and fails under CI).
pub fn have_clients(test: &str) -> bool {
    let python = python();
    let mut wanted =
        vec![format!("{python}:aiortc"), format!("{python}:av"), "node".into(), "chromium".into()];
    if !tools().join("node/node_modules/playwright-core").is_dir() {
        wanted.push("playwright-core (in target/webrtc-tools/node)".into());
    }
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    super::tools::have(test, &wanted)
}

/// Starts the aiortc WHEP client on `port`'s `/whep` with `args` (`--seconds`, `--dump`,
/// `--no-delete`, `--progress`).
pub fn whep_client(name: &str, port: u16, args: &[&str]) -> Proc {
    let url = format!("http://127.0.0.1:{port}/whep");
    let mut all = vec![script("whep_client.py"), url];
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    Proc::spawn_program(name, &python(), &all, &[])
}

/// The JSON line a client printed last (its result).
pub fn result(p: &Proc) -> serde_json::Value {
    p.output()
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok().filter(|v| v.is_object()))
        .unwrap_or_else(|| panic!("{} printed no result:\n{}", p.name, p.output()))
}

/// Frames a `--progress` client decoded so far.
pub fn progress_frames(p: &Proc) -> u64 {
    p.output()
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("frames="))
        .find_map(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Starts Chromium on `url` for `seconds` through `chromium.mjs`, the screenshot to `shot`
/// (its JSON result is the last line it prints: [`result`]).
pub fn chromium_start(url: &str, seconds: u32, shot: &std::path::Path) -> Proc {
    // ES modules resolve their imports next to themselves: the script runs from the folder
    // playwright-core is installed in.
    let runner = tools().join("node/chromium.mjs");
    std::fs::copy(script("chromium.mjs"), &runner).expect("copying chromium.mjs");
    Proc::spawn_program(
        "chromium",
        "node",
        &[runner.to_str().unwrap(), url, &seconds.to_string(), shot.to_str().unwrap()],
        &[],
    )
}

/// Runs Chromium on `url` for `seconds` (see [`chromium_start`]): its JSON result.
pub fn chromium(url: &str, seconds: u32, shot: &std::path::Path) -> serde_json::Value {
    let mut p = chromium_start(url, seconds, shot);
    p.wait_exit(std::time::Duration::from_secs(u64::from(seconds) + 60));
    result(&p)
}

/// A UDP link between WebRTC clients and a camera that loses and delays packets, both ways:
/// clients send to [`LossyLink::port`]; each client gets its own socket towards the camera.
pub struct LossyLink {
    pub port: u16,
    /// Datagrams dropped so far.
    pub dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// While set, every datagram from the camera to a client is dropped (a link gone dark
    /// one way; the clients' packets still reach the camera).
    dark: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LossyLink {
    /// Forwards to `camera`, dropping one datagram in `1 / loss_every` (at random) and
    /// delaying every other by `delay`.
    pub fn start(camera: std::net::SocketAddr, loss_percent: u32, delay: std::time::Duration) -> LossyLink {
        use std::collections::{HashMap, VecDeque};
        use std::net::{SocketAddr, UdpSocket};
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::{Arc, Condvar, Mutex};
        use std::time::{Duration, Instant};

        type Line = Arc<(Mutex<VecDeque<(Instant, Arc<UdpSocket>, SocketAddr, Vec<u8>)>>, Condvar)>;
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        front.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let port = front.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let dark = Arc::new(AtomicBool::new(false));
        let line: Line = Arc::default();
        let seed = Arc::new(AtomicU64::new(0x9e37_79b9_7f4a_7c15));
        // Whether to lose the next datagram (xorshift: the same losses every run).
        let lose = {
            let (seed, dropped) = (seed.clone(), dropped.clone());
            move || {
                let mut x = seed.load(Ordering::Relaxed);
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                seed.store(x, Ordering::Relaxed);
                let lost = x % 100 < u64::from(loss_percent);
                if lost {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                lost
            }
        };
        let queue = {
            let line = line.clone();
            move |socket: &Arc<UdpSocket>, to: SocketAddr, bytes: &[u8]| {
                line.0.lock().unwrap().push_back((
                    Instant::now() + delay,
                    socket.clone(),
                    to,
                    bytes.to_vec(),
                ));
                line.1.notify_one();
            }
        };
        // The delay line: sends each datagram when its time comes.
        {
            let (line, stop) = (line.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut q = line.0.lock().unwrap();
                    match q.front().map(|(at, ..)| *at) {
                        Some(at) if at <= Instant::now() => {
                            let (_, socket, to, bytes) = q.pop_front().unwrap();
                            drop(q);
                            let _ = socket.send_to(&bytes, to);
                        }
                        Some(at) => drop(line.1.wait_timeout(q, at - Instant::now()).unwrap()),
                        None => drop(line.1.wait_timeout(q, Duration::from_millis(100)).unwrap()),
                    }
                }
            });
        }
        // Clients to camera, each client through its own socket; camera to client back
        // through the front socket.
        {
            let (front, stop, dark, dropped) = (front.clone(), stop.clone(), dark.clone(), dropped.clone());
            std::thread::spawn(move || {
                let mut upstream: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, client)) = front.recv_from(&mut buf) else { continue };
                    let socket = upstream
                        .entry(client)
                        .or_insert_with(|| {
                            let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
                            socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
                            let (back, front, stop) = (socket.clone(), front.clone(), stop.clone());
                            let (queue, lose) = (queue.clone(), lose.clone());
                            let (dark, dropped) = (dark.clone(), dropped.clone());
                            std::thread::spawn(move || {
                                let mut buf = [0u8; 2048];
                                while !stop.load(Ordering::Relaxed) {
                                    let Ok((n, _)) = back.recv_from(&mut buf) else { continue };
                                    if dark.load(Ordering::Relaxed) {
                                        dropped.fetch_add(1, Ordering::Relaxed);
                                    } else if !lose() {
                                        queue(&front, client, &buf[..n]);
                                    }
                                }
                            });
                            socket
                        })
                        .clone();
                    if !lose() {
                        queue(&socket, camera, &buf[..n]);
                    }
                }
            });
        }
        LossyLink { port, dropped, dark, stop }
    }

    /// Drops everything from the camera to the clients while `dark` (see [`LossyLink::dark`]).
    pub fn set_dark(&self, dark: bool) {
        self.dark.store(dark, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
