//! Wires the pieces: the source and the hub, the network side, the display, stats and
//! shutdown. The one place that knows every module; the settings it runs on are
//! `config.rs`, its errors `error.rs`, and it accepts connections in `listen.rs` (each
//! handed to the output its first bytes belong to) or makes them in `connect.rs`.
//!
//! Threads of an endpoint: `capture` (when sending), `network` (accept or connect), one
//! per connection (with a `receive` thread per session), `stats`, and the main thread,
//! which runs the display stage or waits.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod config;
mod connect;
pub mod error;
mod listen;

use config::{Config, Connection, DemoConfig, EndpointConfig, Limits, PeerKind, SendConfig, ShowConfig};
use error::AppError;

use crate::codec::select::Backend;
use crate::media::Mailbox;
use crate::net;
use crate::output::pistream::adapt;
use crate::output::pistream::protocol::{FormatSet, Hello};
use crate::output::rtsp::RtspSide;
#[cfg(feature = "webrtc")]
use crate::output::webrtc;
use crate::output::webrtc::WebrtcSide;
use crate::output::{Accepts, Endpoint};
use crate::pipeline::capture;
use crate::pipeline::display::{self, PeerName, PLACEHOLDER};
use crate::pipeline::hub::Hub;
use crate::pipeline::stats::{Reporter, Shape, Stats};
use crate::runtime::stage::{self, Stage};
pub use crate::runtime::Finish;
use crate::runtime::Shutdown;
use crate::source::{self, Source};

/// Runs what the configuration asks for until it ends.
pub fn run(config: Config, shutdown: Arc<Shutdown>) -> Result<Finish, AppError> {
    match config {
        Config::Version => Ok(Finish::Stopped(version_line())),
        Config::Endpoint(cfg) => run_endpoint_with_stats(cfg, shutdown),
        Config::Demo(cfg) => run_demo(cfg, shutdown),
        Config::Devices { .. } | Config::Encoders { .. } | Config::Selftest | Config::Keygen { .. } => {
            Err(AppError::Usage("handled by main".into()))
        }
    }
}

/// `pistream X.Y.Z (features: ...)`.
pub fn version_line() -> String {
    let features: Vec<&str> = [("opencv", cfg!(feature = "opencv")), ("webrtc", cfg!(feature = "webrtc"))]
        .iter()
        .filter(|f| f.1)
        .map(|f| f.0)
        .collect();
    format!(
        "pistream {} ({}; features: {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        if features.is_empty() { "none (headless)".to_string() } else { features.join(", ") }
    )
}

/// A sending side before any connection: its source and the hub its frames go to.
struct Camera {
    source: Box<dyn Source>,
    hub: Arc<Hub>,
    fps: f64,
}

fn open_camera(cfg: &SendConfig, max_viewers: usize) -> Result<Camera, AppError> {
    // Before the camera opens: `--h264-encoder hardware` without one is a usage error.
    let backend = Backend::resolve(cfg.h264.encoder).map_err(AppError::Usage)?;
    let source = source::open(&cfg.source, cfg.geometry, cfg.fps, cfg.format, &cfg.camera)?;
    log::info!("source: {}; H.264 encoder: {}", source.describe(), backend.describe());
    let hub = Hub::new(max_viewers, source.native_format());
    hub.set_h264_backend(backend);
    Ok(Camera { source, hub, fps: cfg.fps })
}

/// Starts a thread of this endpoint (see `runtime::stage`).
fn spawn<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<Stage<T, AppError>, AppError> {
    stage::spawn(name, body).map_err(|e| AppError::Internal(format!("cannot start the {name} thread: {e}")))
}

/// Waits for a thread: its own result, or a panic as an internal error naming it.
fn join<T, E: Into<AppError>>(stage: Stage<T, E>) -> Result<T, AppError> {
    stage.join()?.map_err(Into::into)
}

/// Runs the stats thread until `shutdown`; returns the reporter for the summary.
fn spawn_stats(
    mut reporter: Reporter,
    print_lines: bool,
    shutdown: Arc<Shutdown>,
) -> Result<Stage<Reporter, AppError>, AppError> {
    spawn("stats", move || {
        let mut last = Instant::now();
        while !shutdown.requested() {
            net::sleep_unless(shutdown.flag(), Duration::from_secs(1));
            if print_lines && !shutdown.requested() {
                let now = Instant::now();
                log::info!("{}", reporter.line(now - last));
                last = now;
            }
        }
        Ok(reporter)
    })
}

fn run_endpoint_with_stats(cfg: EndpointConfig, shutdown: Arc<Shutdown>) -> Result<Finish, AppError> {
    if cfg.peer == PeerKind::Seed {
        log::warn!("{}", crate::output::seed::rules::WARNING);
    }
    if let (Connection::Listen(addr), None) = (&cfg.connection, &cfg.send) {
        log::info!("waiting for a camera to connect on {addr}");
    }
    let camera = cfg.send.as_ref().map(|send| open_camera(send, cfg.max_viewers)).transpose()?;
    let display_box = cfg.show.as_ref().map(|_| Arc::new(Mailbox::new(PLACEHOLDER)));
    let stats = Stats::new();
    let shape = Shape {
        sends: camera.is_some(),
        shows: cfg.show.is_some(),
        verifies: cfg.show.as_ref().is_some_and(|s| s.verify),
    };
    let reporter =
        Reporter::new(stats.clone(), shape, camera.as_ref().map(|c| c.hub.clone()), display_box.clone());
    let stats_stage = spawn_stats(reporter, cfg.stats, shutdown.clone())?;
    let result = run_endpoint(&cfg, camera, display_box, &stats, &shutdown, None);
    shutdown.request("finished");
    let mut reporter = join(stats_stage)?;
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

/// One endpoint: capture stage (if sending), network stage, display stage (if showing) on
/// this thread. `ready` receives the listening address once bound.
fn run_endpoint(
    cfg: &EndpointConfig,
    camera: Option<Camera>,
    display_box: Option<Arc<Mailbox>>,
    stats: &Arc<Stats>,
    shutdown: &Arc<Shutdown>,
    ready: Option<mpsc::Sender<SocketAddr>>,
) -> Result<Finish, AppError> {
    let native = camera.as_ref().and_then(|c| c.source.native_format());
    let mut hello = match (&camera, &cfg.show) {
        (Some(c), None) => Hello::sender(c.source.geometry(), c.fps),
        (Some(c), Some(_)) => Hello::two_way(c.source.geometry(), c.fps).decoding(cfg.accept),
        (None, _) => Hello::receiver().decoding(cfg.accept),
    };
    if let Some(c) = &camera {
        hello = hello.sending(adapt::offered_formats(native));
        hello.capture = c.source.capture_fourcc();
    }
    let hub = camera.as_ref().map(|c| c.hub.clone());
    let source = camera.as_ref().map(|c| c.source.describe()).unwrap_or_default();
    let capture_stage = camera
        .map(|c| capture::spawn(c.source, c.hub, stats.clone(), shutdown.clone()))
        .transpose()
        .map_err(|e| AppError::Internal(format!("cannot start the capture thread: {e}")))?;
    let peer_name = Arc::new(PeerName::default());
    let endpoint = Arc::new(Endpoint {
        peer: cfg.peer,
        hello,
        key: cfg.key.clone(),
        buffers: cfg.buffers,
        send_limit: if cfg.show.is_none() { cfg.limits.frames } else { None },
        hub,
        source,
        native,
        wire: cfg.send.as_ref().map_or_else(Default::default, |s| s.wire),
        h264: cfg.send.as_ref().map_or_else(Default::default, |s| s.h264),
        display: display_box.clone(),
        peer_name: peer_name.clone(),
        showing: Mutex::new(None),
        web: cfg.web.clone(),
        rtsp: RtspSide::new(cfg.rtsp.clone()),
        webrtc: WebrtcSide::new(cfg.webrtc.clone()),
        stats: stats.clone(),
        shutdown: shutdown.clone(),
    });
    let network_stage = {
        let connection = cfg.connection.clone();
        let sends = cfg.send.is_some();
        spawn("network", move || {
            let result = run_network(&endpoint, &connection, sends, ready);
            endpoint.shutdown.request("connection ended");
            result
        })?
    };
    let shown = match (&cfg.show, display_box) {
        (Some(show), Some(display_box)) => {
            display::run(show, &cfg.limits, &display_box, &peer_name, stats, shutdown).map_err(AppError::from)
        }
        _ => {
            wait_for_bounds(&cfg.limits, shutdown);
            Ok(())
        }
    };
    shutdown.request("finished");
    let finish = join(network_stage);
    if let Some(capture) = capture_stage {
        join(capture)?;
    }
    shown?;
    finish
}

/// The network stage: listen and serve everyone, or connect to the peer.
fn run_network(
    endpoint: &Arc<Endpoint>,
    connection: &Connection,
    sends: bool,
    ready: Option<mpsc::Sender<SocketAddr>>,
) -> Result<Finish, AppError> {
    match connection {
        Connection::Listen(addr) => {
            let listener = net::listen(*addr).map_err(|source| AppError::Listen { addr: *addr, source })?;
            let bound = listener.local_addr()?;
            if let Some(ready) = ready {
                let _ = ready.send(bound);
            }
            log::info!("listening on {bound}");
            if sends && !bound.ip().is_loopback() && endpoint.key.is_none() {
                log::warn!(
                    "no --key-file, so anyone on the network who can reach {bound} can view this camera"
                );
            }
            #[cfg(feature = "webrtc")]
            let webrtc = if sends && endpoint.webrtc.settings.enabled {
                let (service, thread) = match endpoint.webrtc.settings.port {
                    Some(port) => webrtc::Service::start(endpoint, port)
                        .map_err(|source| AppError::WebrtcPort { port, source })?,
                    // The camera's port number by default; if something holds it over UDP,
                    // any free port (the answer names it, browsers follow).
                    None => webrtc::Service::start(endpoint, bound.port())
                        .or_else(|e| {
                            log::warn!("UDP port {} is taken ({e}): WebRTC uses another (set one with --webrtc-port)", bound.port());
                            webrtc::Service::start(endpoint, 0)
                        })
                        .map_err(|source| AppError::WebrtcPort { port: 0, source })?,
                };
                endpoint.webrtc.started(service);
                Some(thread)
            } else {
                None
            };
            if sends {
                let port = bound.port();
                let udp_port = endpoint.webrtc.udp_port();
                // The page plays WebRTC only when this camera serves it (--webrtc on, and a
                // build with the feature).
                let page = if udp_port.is_some() { "WebRTC, else MJPEG" } else { "MJPEG" };
                log::info!(
                    "watch in a browser: http://HOST:{port}/ ({page}; MJPEG at /stream, a picture at /snapshot); H.264 over RTSP: rtsp://HOST:{port}/stream and /sub"
                );
                if let Some(udp) = udp_port {
                    log::info!("WebRTC: WHEP at http://HOST:{port}/whep, media over UDP port {udp}");
                }
            }
            let web_only = match endpoint.web.extra_address {
                Some(addr) => {
                    let web = net::listen(addr).map_err(|source| AppError::Listen { addr, source })?;
                    let web_bound = web.local_addr()?;
                    log::info!("HTTP also on {web_bound}");
                    let endpoint = endpoint.clone();
                    Some(spawn("web", move || listen::serve(&endpoint, &web, web_bound, Accepts::HttpOnly))?)
                }
                None => None,
            };
            let rtsp_only = match (sends, endpoint.rtsp.settings.extra_address) {
                (true, Some(addr)) => {
                    let rtsp = net::listen(addr).map_err(|source| AppError::Listen { addr, source })?;
                    let rtsp_bound = rtsp.local_addr()?;
                    log::info!(
                        "RTSP also on {rtsp_bound}: rtsp://HOST:{}/stream and /sub",
                        rtsp_bound.port()
                    );
                    let endpoint = endpoint.clone();
                    Some(spawn("rtsp", move || {
                        listen::serve(&endpoint, &rtsp, rtsp_bound, Accepts::RtspOnly)
                    })?)
                }
                _ => None,
            };
            let result = listen::serve(endpoint, &listener, bound, Accepts::Peers(endpoint.peer));
            endpoint.shutdown.request("finished");
            if let Some(web) = web_only {
                join(web)?;
            }
            if let Some(rtsp) = rtsp_only {
                join(rtsp)?;
            }
            #[cfg(feature = "webrtc")]
            if let Some(thread) = webrtc {
                let _ = thread.join();
            }
            result
        }
        Connection::Connect(target) => connect::run(endpoint, target),
    }
}

/// Waits until shutdown, raising it when `--seconds` has passed (endpoints without a display).
fn wait_for_bounds(limits: &Limits, shutdown: &Shutdown) {
    let start = Instant::now();
    while !shutdown.requested() {
        if limits.seconds.is_some_and(|s| start.elapsed().as_secs_f64() >= s) {
            shutdown.request(format!("ran {} s", limits.seconds.unwrap_or_default()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run_demo(cfg: DemoConfig, shutdown: Arc<Shutdown>) -> Result<Finish, AppError> {
    let camera_cfg = EndpointConfig {
        connection: Connection::Listen(SocketAddr::from(([127, 0, 0, 1], 0))),
        peer: Default::default(),
        send: Some(cfg.send.clone()),
        show: None,
        accept: FormatSet::all(),
        limits: Limits::default(),
        stats: false,
        buffers: Default::default(),
        key: None,
        max_viewers: 1,
        web: Default::default(),
        rtsp: Default::default(),
        webrtc: Default::default(),
    };
    let camera = open_camera(&cfg.send, camera_cfg.max_viewers)?;
    let hub = camera.hub.clone();
    let display_box = Arc::new(Mailbox::new(PLACEHOLDER));
    let stats = Stats::new();
    let shape = Shape { sends: true, shows: true, verifies: cfg.show.verify };
    let reporter = Reporter::new(stats.clone(), shape, Some(hub), Some(display_box.clone()));
    let stats_stage = spawn_stats(reporter, cfg.stats, shutdown.clone())?;

    let (ready_tx, ready_rx) = mpsc::channel();
    let camera_stage = {
        let (stats, shutdown) = (stats.clone(), shutdown.clone());
        spawn("demo-camera", move || {
            run_endpoint(&camera_cfg, Some(camera), None, &stats, &shutdown, Some(ready_tx))
        })?
    };
    let result = match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(addr) => {
            let display_cfg = EndpointConfig {
                connection: Connection::Connect(addr.to_string()),
                peer: Default::default(),
                send: None,
                show: Some(cfg.show.clone()),
                accept: FormatSet::all(),
                limits: cfg.limits,
                stats: false,
                buffers: Default::default(),
                key: None,
                max_viewers: 1,
                web: Default::default(),
                rtsp: Default::default(),
                webrtc: Default::default(),
            };
            run_endpoint(&display_cfg, None, Some(display_box), &stats, &shutdown, None)
        }
        Err(_) => Err(AppError::Internal("the demo camera did not start listening".into())),
    };
    shutdown.request("finished");
    let camera_result = join(camera_stage);
    let mut reporter = join(stats_stage)?;
    log::info!("{}", reporter.summary());
    let finish = result?;
    camera_result?;
    check_verified(Some(&cfg.show), &stats)?;
    Ok(match finish {
        Finish::PeerEnded(why) | Finish::Stopped(why) => Finish::Stopped(why),
    })
}
