//! Wires the pieces: sources, mailboxes, the network loop, sinks, stats and shutdown. The
//! one place that knows every module: this file builds endpoints and the demo,
//! `stages.rs` holds the capture thread and the display loop, `network.rs` the accept /
//! connect loop that runs one session at a time and decides what follows it.
//!
//! Threads of an endpoint: `capture` (source -> capture mailbox), `network` (accept or
//! connect, then per session a receive thread and the send loop), `stats`, and the main
//! thread, which runs the display loop (OpenCV highgui wants the main thread) or waits.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

mod network;
mod stages;

use network::NetworkLoop;
use stages::{display_loop, spawn_capture};

use crate::config::{Config, DemoConfig, Endpoint, EndpointConfig, Limits, ShowConfig};
use crate::error::AppError;
use crate::frame::Geometry;
use crate::mailbox::Mailbox;
use crate::net;
use crate::protocol::Hello;
use crate::shutdown::Shutdown;
use crate::source::{self, Source};
use crate::stats::{Reporter, Shape, Stats};

/// How a run ended without an error: the line `main` prints last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The peer said bye (`peer ended the stream`).
    PeerEnded(String),
    /// We stopped: a signal, the window, or a bound.
    Stopped(String),
}

/// Geometry of the display mailbox before the first handshake; replaced on the first frame.
pub(super) const PLACEHOLDER: Geometry = Geometry::bgr(1, 1);

/// Runs what the configuration asks for until it ends.
pub fn run(config: Config, shutdown: Arc<Shutdown>) -> Result<Finish, AppError> {
    match config {
        Config::Version => Ok(Finish::Stopped(version_line())),
        Config::Endpoint(cfg) => run_endpoint_with_stats(cfg, shutdown),
        Config::Demo(cfg) => run_demo(cfg, shutdown),
        Config::Devices { .. } | Config::Selftest | Config::Keygen { .. } => {
            Err(AppError::Usage("handled by main".into()))
        }
    }
}

/// `pistream X.Y.Z (features: ...)`.
pub fn version_line() -> String {
    let features: Vec<&str> =
        [("opencv", cfg!(feature = "opencv"))].iter().filter(|f| f.1).map(|f| f.0).collect();
    format!(
        "pistream {} ({}; features: {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        if features.is_empty() { "none (headless)".to_string() } else { features.join(", ") }
    )
}

/// A sending side, ready before any connection: its source and capture mailbox.
pub(super) struct Camera {
    source: Box<dyn Source>,
    mailbox: Arc<Mailbox>,
    fps: f64,
}

fn open_camera(cfg: &crate::config::SendConfig) -> Result<Camera, AppError> {
    let source = source::open(&cfg.source, cfg.geometry, cfg.fps, cfg.format)?;
    log::info!("source: {}", source.describe());
    let mailbox = Arc::new(Mailbox::new(source.geometry()));
    Ok(Camera { source, mailbox, fps: cfg.fps })
}

/// Runs the stats thread until `shutdown`; returns the reporter for the summary.
fn spawn_stats(
    reporter: Reporter,
    print_lines: bool,
    shutdown: Arc<Shutdown>,
) -> thread::JoinHandle<Reporter> {
    thread::Builder::new()
        .name("stats".into())
        .spawn(move || {
            let mut reporter = reporter;
            let mut last = Instant::now();
            while !shutdown.requested() {
                net::sleep_unless(shutdown.flag(), Duration::from_secs(1));
                if print_lines && !shutdown.requested() {
                    let now = Instant::now();
                    log::info!("{}", reporter.line(now - last));
                    last = now;
                }
            }
            reporter
        })
        .expect("spawning the stats thread")
}

fn run_endpoint_with_stats(cfg: EndpointConfig, shutdown: Arc<Shutdown>) -> Result<Finish, AppError> {
    if let (Endpoint::Listen(addr), None) = (&cfg.endpoint, &cfg.send) {
        log::info!("waiting for a camera to connect on {addr}");
    }
    let camera = cfg.send.as_ref().map(open_camera).transpose()?;
    let display_box = cfg.show.as_ref().map(|_| Arc::new(Mailbox::new(PLACEHOLDER)));
    let stats = Stats::new();
    let shape = Shape {
        sends: camera.is_some(),
        shows: cfg.show.is_some(),
        verifies: cfg.show.as_ref().is_some_and(|s| s.verify),
    };
    let reporter =
        Reporter::new(stats.clone(), shape, camera.as_ref().map(|c| c.mailbox.clone()), display_box.clone());
    let stats_thread = spawn_stats(reporter, cfg.stats, shutdown.clone());
    let result = run_endpoint(&cfg, camera, display_box, &stats, &shutdown, None);
    shutdown.request("finished");
    let mut reporter = stats_thread.join().expect("stats thread");
    log::info!("{}", reporter.summary());
    let finish = result?;
    check_verified(cfg.show.as_ref(), &stats)?;
    Ok(finish)
}

fn check_verified(show: Option<&ShowConfig>, stats: &Stats) -> Result<(), AppError> {
    let corrupt = Stats::get(&stats.corrupt);
    if show.is_some_and(|s| s.verify) && corrupt > 0 {
        return Err(AppError::Corrupt { corrupt, total: Stats::get(&stats.shown) });
    }
    Ok(())
}

/// One endpoint: capture thread (if sending), network thread, display loop (if showing)
/// on this thread. `ready` receives the listening address once bound.
fn run_endpoint(
    cfg: &EndpointConfig,
    camera: Option<Camera>,
    display_box: Option<Arc<Mailbox>>,
    stats: &Arc<Stats>,
    shutdown: &Arc<Shutdown>,
    ready: Option<mpsc::Sender<SocketAddr>>,
) -> Result<Finish, AppError> {
    let streaming = Arc::new(AtomicBool::new(false));
    let peer_name = Arc::new(Mutex::new(String::new()));
    let local_hello = match (&camera, &cfg.show) {
        (Some(c), None) => Hello::sender(c.source.geometry(), c.fps),
        (Some(c), Some(_)) => Hello::two_way(c.source.geometry(), c.fps),
        (None, _) => Hello::receiver(),
    };
    let capture_box = camera.as_ref().map(|c| c.mailbox.clone());
    let capture_thread = camera.map(|c| spawn_capture(c, streaming.clone(), stats.clone(), shutdown.clone()));

    let network = {
        let net_ctx = NetworkLoop {
            cfg: cfg.clone(),
            hello: local_hello,
            capture_box,
            display_box: display_box.clone(),
            streaming,
            peer_name: peer_name.clone(),
            stats: stats.clone(),
            shutdown: shutdown.clone(),
        };
        thread::Builder::new().name("network".into()).spawn(move || {
            let result = net_ctx.run(ready);
            net_ctx.shutdown.request("connection ended");
            result
        })?
    };

    let shown = match (&cfg.show, display_box) {
        (Some(show), Some(display_box)) => {
            display_loop(show, &cfg.limits, &display_box, &peer_name, stats, shutdown)
        }
        _ => {
            wait_for_bounds(&cfg.limits, shutdown);
            Ok(())
        }
    };
    shutdown.request("finished");
    let finish = network.join().unwrap_or_else(|_| Err(AppError::Usage("network thread panicked".into())));
    if let Some(capture) = capture_thread {
        capture.join().unwrap_or(Ok(()))?;
    }
    shown?;
    finish
}

/// Waits until shutdown, raising it when `--seconds` has passed (endpoints without a display).
fn wait_for_bounds(limits: &Limits, shutdown: &Shutdown) {
    let start = Instant::now();
    while !shutdown.requested() {
        if limits.seconds.is_some_and(|s| start.elapsed().as_secs_f64() >= s) {
            shutdown.request(format!("ran {} s", limits.seconds.unwrap_or_default()));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn run_demo(cfg: DemoConfig, shutdown: Arc<Shutdown>) -> Result<Finish, AppError> {
    let camera_cfg = EndpointConfig {
        endpoint: Endpoint::Listen(SocketAddr::from(([127, 0, 0, 1], 0))),
        send: Some(cfg.send.clone()),
        show: None,
        limits: Limits::default(),
        stats: false,
        buffers: Default::default(),
        key: None,
    };
    let camera = open_camera(&cfg.send)?;
    let capture_box = camera.mailbox.clone();
    let display_box = Arc::new(Mailbox::new(PLACEHOLDER));
    let stats = Stats::new();
    let shape = Shape { sends: true, shows: true, verifies: cfg.show.verify };
    let reporter = Reporter::new(stats.clone(), shape, Some(capture_box), Some(display_box.clone()));
    let stats_thread = spawn_stats(reporter, cfg.stats, shutdown.clone());

    let (ready_tx, ready_rx) = mpsc::channel();
    let camera_thread = {
        let (stats, shutdown) = (stats.clone(), shutdown.clone());
        thread::Builder::new()
            .name("demo-camera".into())
            .spawn(move || run_endpoint(&camera_cfg, Some(camera), None, &stats, &shutdown, Some(ready_tx)))?
    };
    let result = match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(addr) => {
            let display_cfg = EndpointConfig {
                endpoint: Endpoint::Connect(addr.to_string()),
                send: None,
                show: Some(cfg.show.clone()),
                limits: cfg.limits,
                stats: false,
                buffers: Default::default(),
                key: None,
            };
            run_endpoint(&display_cfg, None, Some(display_box), &stats, &shutdown, None)
        }
        Err(_) => Err(AppError::Usage("the demo camera did not start listening".into())),
    };
    shutdown.request("finished");
    let camera_result =
        camera_thread.join().unwrap_or_else(|_| Err(AppError::Usage("camera thread panicked".into())));
    let mut reporter = stats_thread.join().expect("stats thread");
    log::info!("{}", reporter.summary());
    let finish = result?;
    camera_result?;
    check_verified(Some(&cfg.show), &stats)?;
    Ok(match finish {
        Finish::PeerEnded(why) | Finish::Stopped(why) => Finish::Stopped(why),
    })
}
