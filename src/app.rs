//! Wires the pieces: sources, mailboxes, the network loop, sinks, stats and shutdown. The
//! one file that knows every module.
//!
//! Threads of an endpoint: `capture` (source -> capture mailbox), `network` (accept or
//! connect, then per session a receive thread and the send loop), `stats`, and the main
//! thread, which runs the display loop (OpenCV highgui wants the main thread) or waits.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::{Config, DemoConfig, Endpoint, EndpointConfig, Limits, ShowConfig};
use crate::error::AppError;
use crate::frame::{now_us, Frame, Geometry};
use crate::mailbox::Mailbox;
use crate::net;
use crate::protocol::{ByeReason, Hello};
use crate::session::{self, Control, LocalSide, SessionEnd, SessionError, Sides};
use crate::shutdown::Shutdown;
use crate::sink::{self, SinkControl};
use crate::source::{self, pattern::PatternVerifier, Source};
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
const PLACEHOLDER: Geometry = Geometry::bgr(1, 1);

/// Runs what the configuration asks for until it ends.
pub fn run(config: Config, shutdown: Arc<Shutdown>) -> Result<Finish, AppError> {
    match config {
        Config::Version => Ok(Finish::Stopped(version_line())),
        Config::Endpoint(cfg) => run_endpoint_with_stats(cfg, shutdown),
        Config::Demo(cfg) => run_demo(cfg, shutdown),
        Config::Devices { .. } | Config::Selftest => Err(AppError::Usage("handled by main".into())),
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
struct Camera {
    source: Box<dyn Source>,
    mailbox: Arc<Mailbox>,
    fps: f64,
}

fn open_camera(cfg: &crate::config::SendConfig) -> Result<Camera, AppError> {
    let source = source::open(&cfg.source, cfg.geometry, cfg.fps, cfg.format)?;
    eprintln!("pistream: source: {}", source.describe());
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
                    eprintln!("pistream: {}", reporter.line(now - last));
                    last = now;
                }
            }
            reporter
        })
        .expect("spawning the stats thread")
}

fn run_endpoint_with_stats(cfg: EndpointConfig, shutdown: Arc<Shutdown>) -> Result<Finish, AppError> {
    if let (Endpoint::Listen(addr), None) = (&cfg.endpoint, &cfg.send) {
        eprintln!("pistream: waiting for a camera to connect on {addr}");
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
    eprintln!("pistream: {}", reporter.summary());
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

/// Fills the capture mailbox while a session streams.
fn spawn_capture(
    camera: Camera,
    streaming: Arc<AtomicBool>,
    stats: Arc<Stats>,
    shutdown: Arc<Shutdown>,
) -> thread::JoinHandle<Result<(), AppError>> {
    thread::Builder::new()
        .name("capture".into())
        .spawn(move || {
            let Camera { mut source, mailbox, .. } = camera;
            let mut back = Frame::new(source.geometry());
            let continuous = source.read_continuously();
            let paced_by_consumer = source.paced_by_consumer();
            while !shutdown.requested() {
                let streaming = streaming.load(Ordering::Relaxed);
                if !streaming && !continuous {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
                if paced_by_consumer && !mailbox.wait_taken(Duration::from_millis(100)) {
                    continue;
                }
                match source.next_frame(&mut back) {
                    Ok(true) if streaming => {
                        Stats::add(&stats.captured, 1);
                        mailbox.publish(&mut back);
                    }
                    Ok(true) => {} // nobody watches: read only to keep the stream fresh
                    Ok(false) => {}
                    Err(e) => {
                        shutdown.request(format!("capture failed: {e}"));
                        return Err(AppError::Source(e));
                    }
                }
            }
            Ok(())
        })
        .expect("spawning the capture thread")
}

/// Shows frames from the display mailbox until shutdown; verifies them if asked.
fn display_loop(
    show: &ShowConfig,
    limits: &Limits,
    display_box: &Mailbox,
    peer_name: &Mutex<String>,
    stats: &Stats,
    shutdown: &Shutdown,
) -> Result<(), AppError> {
    let mut sink = sink::open(&show.sink)?;
    let mut front = Frame::new(PLACEHOLDER);
    let mut verifier = PatternVerifier::new();
    let mut started: Option<(Geometry, String)> = None;
    let start = Instant::now();
    let mut reported_corrupt = 0;
    while !shutdown.requested() {
        if display_box.take(&mut front, Duration::from_millis(10)) {
            let peer = peer_name.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if started.as_ref().is_none_or(|(g, p)| *g != front.geometry || *p != peer) {
                sink.start(front.geometry, &peer)?;
                started = Some((front.geometry, peer));
            }
            if show.verify {
                if verifier.check(&front) {
                    Stats::add(&stats.verified, 1);
                } else {
                    Stats::add(&stats.corrupt, 1);
                    reported_corrupt += 1;
                    if reported_corrupt <= 5 {
                        eprintln!("pistream: frame {} does not match the test pattern", front.seq);
                    }
                }
            }
            sink.show(&front)?;
            Stats::add(&stats.shown, 1);
            stats.record_latency(now_us().saturating_sub(front.captured_us));
            if limits.frames.is_some_and(|n| Stats::get(&stats.shown) >= n) {
                shutdown.request(format!("showed {} frames", Stats::get(&stats.shown)));
            }
        }
        if sink.poll(Duration::from_millis(1))? == SinkControl::Quit {
            shutdown.request("window closed");
        }
        if limits.seconds.is_some_and(|s| start.elapsed().as_secs_f64() >= s) {
            shutdown.request(format!("ran {} s", limits.seconds.unwrap_or_default()));
        }
    }
    Ok(())
}

/// Accepts or connects, runs one session at a time, and decides what follows each.
struct NetworkLoop {
    cfg: EndpointConfig,
    hello: Hello,
    capture_box: Option<Arc<Mailbox>>,
    display_box: Option<Arc<Mailbox>>,
    streaming: Arc<AtomicBool>,
    peer_name: Arc<Mutex<String>>,
    stats: Arc<Stats>,
    shutdown: Arc<Shutdown>,
}

/// What to do after a session.
enum Next {
    Continue,
    Finish(Finish),
    Fail(AppError),
}

impl NetworkLoop {
    fn run(&self, ready: Option<mpsc::Sender<SocketAddr>>) -> Result<Finish, AppError> {
        // Buffers live for the whole run; sessions borrow them.
        let mut send_front =
            self.capture_box.as_ref().map(|_| Frame::new(self.hello.geometry.unwrap_or(PLACEHOLDER)));
        let mut receive_back = self.display_box.as_ref().map(|_| Frame::new(PLACEHOLDER));
        match &self.cfg.endpoint {
            Endpoint::Listen(addr) => {
                let listener =
                    net::listen(*addr).map_err(|source| AppError::Listen { addr: *addr, source })?;
                let bound = listener.local_addr()?;
                if let Some(ready) = ready {
                    let _ = ready.send(bound);
                }
                eprintln!("pistream: listening on {bound}");
                if self.cfg.send.is_some() && !bound.ip().is_loopback() && self.cfg.key.is_none() {
                    eprintln!(
                        "pistream: warning: no --key-file, so anyone on the network who can reach {bound} can view this camera"
                    );
                }
                return self.serve(&listener, bound, send_front, receive_back);
            }
            Endpoint::Connect(target) => loop {
                let on_retry = |attempt: u32, e: &std::io::Error, delay: Duration| {
                    eprintln!(
                        "pistream: {target} not reachable ({e}); retrying in {:.2} s (attempt {attempt})",
                        delay.as_secs_f64()
                    );
                };
                let Some((stream, peer)) = net::connect_with_retry(target, self.shutdown.flag(), on_retry)
                else {
                    break;
                };
                eprintln!("pistream: connected to {peer}");
                match self.session(&stream, peer, &mut send_front, &mut receive_back) {
                    Next::Continue => {}
                    Next::Finish(f) => return Ok(f),
                    Next::Fail(e) => return Err(e),
                }
                if self.shutdown.requested() {
                    break;
                }
                net::sleep_unless(self.shutdown.flag(), net::retry_delay(0));
            },
        }
        Ok(Finish::Stopped(self.shutdown.reason().unwrap_or_else(|| "stopped".into())))
    }

    /// Serves one peer at a time on a session thread; anyone who connects meanwhile is
    /// told the endpoint is busy (a bye with reason Busy) instead of waiting unanswered.
    fn serve(
        &self,
        listener: &std::net::TcpListener,
        bound: SocketAddr,
        send_front: Option<Frame>,
        receive_back: Option<Frame>,
    ) -> Result<Finish, AppError> {
        thread::scope(|scope| {
            let mut idle_buffers = Some((send_front, receive_back));
            let mut active: Option<(SocketAddr, thread::ScopedJoinHandle<'_, _>)> = None;
            // Joins the session thread once it has finished; Some(finish) ends the run.
            let reap = |active: &mut Option<(SocketAddr, thread::ScopedJoinHandle<'_, _>)>,
                        idle_buffers: &mut Option<(Option<Frame>, Option<Frame>)>| {
                if !active.as_ref().is_some_and(|(_, handle)| handle.is_finished()) {
                    return None;
                }
                let (_, handle) = active.take().expect("checked above");
                let (next, send_front, receive_back) = handle.join().expect("session thread panicked");
                *idle_buffers = Some((send_front, receive_back));
                match next {
                    Next::Continue => {}
                    Next::Finish(finish) => return Some(finish),
                    Next::Fail(e) => eprintln!("pistream: {e}"),
                }
                if !self.shutdown.requested() {
                    eprintln!("pistream: waiting for the next peer on {bound}");
                }
                None
            };
            loop {
                if let Some(finish) = reap(&mut active, &mut idle_buffers) {
                    return Ok(finish);
                }
                if self.shutdown.requested() && active.is_none() {
                    return Ok(Finish::Stopped(self.shutdown.reason().unwrap_or_else(|| "stopped".into())));
                }
                let Some((stream, peer)) = net::accept_once(listener)? else { continue };
                // A viewer that just left may still be winding down: give it a moment
                // before calling the newcomer's visit a conflict.
                let grace = Instant::now() + Duration::from_millis(500);
                while active.as_ref().is_some_and(|(_, handle)| !handle.is_finished())
                    && Instant::now() < grace
                {
                    thread::sleep(Duration::from_millis(10));
                }
                if let Some(finish) = reap(&mut active, &mut idle_buffers) {
                    session::refuse(&stream, ByeReason::Finished, "shutting down", &self.shutdown);
                    return Ok(finish);
                }
                match (&active, self.shutdown.requested()) {
                    (Some((current, _)), _) => {
                        eprintln!("pistream: refused {peer}: busy streaming with {current}");
                        let text = format!("busy: already streaming with {current}; try again when it ends");
                        session::refuse(&stream, ByeReason::Busy, &text, &self.shutdown);
                    }
                    (None, true) => {
                        session::refuse(&stream, ByeReason::Finished, "shutting down", &self.shutdown)
                    }
                    (None, false) => {
                        eprintln!("pistream: {peer} connected");
                        let (mut send_front, mut receive_back) =
                            idle_buffers.take().expect("no session runs");
                        let handle = scope.spawn(move || {
                            let next = self.session(&stream, peer, &mut send_front, &mut receive_back);
                            (next, send_front, receive_back)
                        });
                        active = Some((peer, handle));
                    }
                }
            }
        })
    }

    fn session(
        &self,
        stream: &TcpStream,
        peer: SocketAddr,
        send_front: &mut Option<Frame>,
        receive_back: &mut Option<Frame>,
    ) -> Next {
        *self.peer_name.lock().unwrap_or_else(|p| p.into_inner()) = peer.to_string();
        // A frame captured for the previous session is stale now: drop it.
        if let (Some(mailbox), Some(front)) = (&self.capture_box, send_front.as_mut()) {
            mailbox.take(front, Duration::ZERO);
        }
        let sides = Sides {
            send: self.capture_box.as_deref().zip(send_front.as_mut()),
            receive: self.display_box.as_deref().zip(receive_back.as_mut()),
        };
        let ctl =
            Control::new(&self.shutdown, if self.cfg.show.is_none() { self.cfg.limits.frames } else { None });
        let streaming = &self.streaming;
        let mut on_negotiated = |n: &crate::protocol::Negotiated| {
            let what = match (n.send, n.receive) {
                (true, Some(g)) => format!("sending our video, receiving {g}"),
                (true, None) => "sending video".to_string(),
                (false, Some(g)) => format!("receiving {g} at {:.1} fps", n.peer_fps_millihz as f64 / 1000.0),
                (false, None) => "nothing".to_string(),
            };
            eprintln!("pistream: streaming with {peer}: {what}");
            streaming.store(n.send, Ordering::Relaxed);
        };
        let local = LocalSide { hello: self.hello, key: self.cfg.key.as_deref(), buffers: self.cfg.buffers };
        let result = session::run(stream, &local, sides, &ctl, &self.stats, &mut on_negotiated);
        self.streaming.store(false, Ordering::Relaxed);
        let shows = self.cfg.show.is_some();
        let connecting = matches!(self.cfg.endpoint, Endpoint::Connect(_));
        match result {
            Ok(SessionEnd::PeerBye { text: why, .. }) => {
                if shows {
                    self.shutdown.request("peer ended the stream");
                    Next::Finish(Finish::PeerEnded(why))
                } else {
                    eprintln!("pistream: {peer} left: {why}");
                    Next::Continue
                }
            }
            Ok(SessionEnd::LocalStop) => Next::Continue,
            Err(
                source @ (SessionError::Protocol(_)
                | SessionError::Refused(_)
                | SessionError::PeerReported(_)),
            ) if connecting => Next::Fail(AppError::Session { peer: peer.to_string(), source }),
            Err(source) => {
                if connecting {
                    eprintln!("pistream: connection to {peer} lost: {source}; reconnecting");
                    Next::Continue
                } else {
                    Next::Fail(AppError::Session { peer: peer.to_string(), source })
                }
            }
        }
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
    eprintln!("pistream: {}", reporter.summary());
    let finish = result?;
    camera_result?;
    check_verified(Some(&cfg.show), &stats)?;
    Ok(match finish {
        Finish::PeerEnded(why) | Finish::Stopped(why) => Finish::Stopped(why),
    })
}
