//! The web side of a camera: HTTP on its own port (or on `--http ADDR` as well), for
//! browsers, Home Assistant, go2rtc and Frigate.
//!
//! | path | answer |
//! | --- | --- |
//! | `/` | a small viewer page (`page.html`): the live picture, size, fps, viewers, latency |
//! | `/stream`, `/?action=stream` | `multipart/x-mixed-replace` MJPEG, a `Content-Length` per part |
//! | `/snapshot`, `/?action=snapshot` | one `image/jpeg` of the newest frame |
//! | `/state` | JSON: source, size, rates, viewers with their addresses, fps and drops |
//!
//! `HEAD` is answered like `GET` without a body; other methods get 405, other paths 404.
//! Each `/stream` client is a viewer of the hub like a pistream display (its own slot, its
//! own drops; past `--max-viewers`, 503 with `Retry-After`), and shares each frame's one
//! JPEG encoding per quality with every other. Requests are parsed by `httparse`
//! (`request.rs`); answers are our own small writer (`response.rs`), because a server crate
//! would want to own the accepted socket pistream has already read from, and a stream part
//! here costs one `writev` of a stack-formatted part header and the shared JPEG, with no
//! allocation per frame.

pub mod auth;
mod request;
mod response;

use std::io::{IoSlice, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use auth::Credentials;
use request::{Request, RequestError};
use response::{respond, text, write_all, HeadBuf, NO_CACHE};

use crate::frame::{now_us, Geometry};
use crate::hub::{Hub, SharedFrame, ViewerKind};
use crate::jpeg::Encoder;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// The viewer page.
const PAGE: &str = include_str!("page.html");
/// The multipart boundary of `/stream`.
const BOUNDARY: &str = "pistreamframe";
/// How long `/snapshot` waits for a frame when the camera was idle.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default `--jpeg-quality`.
pub const DEFAULT_JPEG_QUALITY: u8 = 80;

/// The web settings of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSettings {
    /// `--http-password-file`: Basic auth for every request.
    pub credentials: Option<Credentials>,
    /// `--jpeg-quality`.
    pub jpeg_quality: u8,
    /// `--http ADDR`: also serve HTTP there.
    pub extra_address: Option<SocketAddr>,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings { credentials: None, jpeg_quality: DEFAULT_JPEG_QUALITY, extra_address: None }
    }
}

/// What the web side serves from.
pub struct Site<'a> {
    /// The camera's frames (none on an endpoint that only shows video).
    pub hub: Option<&'a Arc<Hub>>,
    /// What the camera is (`/state`'s source), its geometry and nominal rate.
    pub source: &'a str,
    pub geometry: Option<Geometry>,
    pub nominal_fps: f64,
    pub settings: &'a WebSettings,
    /// The endpoint has `--key-file`: without a password file, HTTP is refused.
    pub keyed: bool,
    pub stats: &'a Stats,
    pub shutdown: &'a Shutdown,
}

/// Serves one HTTP connection (one request; the answer closes it). `on_request` runs once
/// a whole request head has arrived (until then the connection is only pending).
pub fn serve(site: &Site<'_>, stream: &TcpStream, peer: SocketAddr, on_request: impl FnOnce()) {
    let request = match request::read(stream) {
        Ok(request) => {
            on_request();
            request
        }
        Err(RequestError::Malformed(why)) => {
            text(
                stream,
                "400 Bad Request",
                "",
                &format!("not an HTTP request: {why}\n"),
                false,
                site.shutdown,
            );
            return;
        }
        Err(RequestError::TooLarge) => {
            text(
                stream,
                "431 Request Header Fields Too Large",
                "",
                "request head over 8 KiB\n",
                false,
                site.shutdown,
            );
            return;
        }
        Err(RequestError::Gone) => return,
    };
    let head_only = request.method == "HEAD";
    if !head_only && request.method != "GET" {
        let message = format!("{} is not served here: use GET or HEAD\n", request.method);
        text(stream, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", &message, false, site.shutdown);
        return;
    }
    if let Some(refusal) = refusal(site, &request) {
        let (status, headers, message) = refusal;
        log::info!("HTTP {peer} {} {}: {status}", request.method, request.path);
        text(stream, status, headers, message, head_only, site.shutdown);
        return;
    }
    let route = (
        request.path.as_str(),
        request.query_has("action", "stream"),
        request.query_has("action", "snapshot"),
    );
    let result = match route {
        ("/", true, _) | ("/stream", ..) => stream_mjpeg(site, stream, peer, head_only),
        ("/", _, true) | ("/snapshot", ..) => snapshot(site, stream, head_only),
        ("/", ..) => respond(
            stream,
            "200 OK",
            "text/html; charset=utf-8",
            NO_CACHE,
            PAGE.as_bytes(),
            head_only,
            site.shutdown,
        ),
        ("/state", ..) => state(site, stream, head_only),
        _ => {
            let message = format!("no {} here: try /, /stream, /snapshot or /state\n", request.path);
            text(stream, "404 Not Found", "", &message, head_only, site.shutdown);
            Ok(())
        }
    };
    if let Err(e) = result {
        log::debug!("HTTP {peer} {}: {e}", request.path);
    }
}

/// Why a request may not be answered: no credentials or wrong ones (401), a keyed camera
/// with no password file (403).
fn refusal(site: &Site<'_>, request: &Request) -> Option<(&'static str, &'static str, &'static str)> {
    match &site.settings.credentials {
        Some(credentials) if credentials.accepts(request.authorization.as_deref()) => None,
        Some(_) => Some((
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"pistream\", charset=\"UTF-8\"\r\n",
            "a user name and password are needed (the camera's --http-password-file)\n",
        )),
        None if site.keyed => Some((
            "403 Forbidden",
            "",
            "this camera has --key-file, so HTTP is off until it is started with --http-password-file USER:PASSWORD-file too\n",
        )),
        None => None,
    }
}

fn no_camera(site: &Site<'_>, stream: &TcpStream, head_only: bool) -> std::io::Result<()> {
    text(
        stream,
        "404 Not Found",
        "",
        "this endpoint shows video; it has no camera to serve\n",
        head_only,
        site.shutdown,
    );
    Ok(())
}

/// `/stream`: MJPEG, one part per frame this client takes from its slot.
fn stream_mjpeg(
    site: &Site<'_>,
    stream: &TcpStream,
    peer: SocketAddr,
    head_only: bool,
) -> std::io::Result<()> {
    let Some(hub) = site.hub else { return no_camera(site, stream, head_only) };
    let viewer = match hub.join(format!("{peer}"), ViewerKind::Http, hub.web_needs()) {
        Ok(viewer) => viewer,
        Err(full) => {
            let message =
                format!("{} viewers already watch this camera (--max-viewers); try again later\n", full.max);
            log::info!("refused HTTP {peer}: {} viewers already watch", full.max);
            text(stream, "503 Service Unavailable", "Retry-After: 5\r\n", &message, head_only, site.shutdown);
            return Ok(());
        }
    };
    let mut head = HeadBuf::new();
    write!(
        head,
        "HTTP/1.1 200 OK\r\nServer: pistream\r\nContent-Type: multipart/x-mixed-replace;boundary={BOUNDARY}\r\n{NO_CACHE}Connection: close\r\n\r\n"
    )?;
    write_all(stream, &mut [IoSlice::new(head.as_bytes())], site.shutdown)?;
    if head_only {
        return Ok(());
    }
    log::info!("HTTP {peer} watches /stream");
    // Sized as for the smallest frames (JPEG parts are a few tens of KB): a 1 MiB send
    // buffer and at most 128 KiB not yet sent, so on a slow link newer frames wait in this
    // client's slot, where they replace each other, not in the kernel.
    crate::net::tune_sender(stream, 0, None)?;
    let mut encoder = Encoder::new()?;
    let result = (|| {
        while !site.shutdown.requested() {
            let Some(frame) = viewer.take(Duration::from_millis(100)) else { continue };
            let jpeg = frame.web_jpeg(site.settings.jpeg_quality, &mut encoder)?;
            let mut part = HeadBuf::new();
            write!(
                part,
                "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Frame-Seq: {}\r\nX-Timestamp: {}.{:06}\r\n\r\n",
                jpeg.len(),
                frame.seq,
                frame.captured_us / 1_000_000,
                frame.captured_us % 1_000_000
            )?;
            write_all(
                stream,
                &mut [IoSlice::new(part.as_bytes()), IoSlice::new(jpeg), IoSlice::new(b"\r\n")],
                site.shutdown,
            )?;
            viewer.sent_bytes.fetch_add((part.as_bytes().len() + jpeg.len() + 2) as u64, Ordering::Relaxed);
        }
        Ok::<_, std::io::Error>(())
    })();
    Stats::add(&site.stats.viewer_drops_gone, viewer.dropped.load(Ordering::Relaxed));
    log::info!("HTTP {peer} left /stream");
    result
}

/// The newest frame: the one just published if the camera runs, otherwise the first one
/// after starting it (as a viewer for a moment), within [`SNAPSHOT_TIMEOUT`].
fn newest_frame(hub: &Arc<Hub>) -> Option<Arc<SharedFrame>> {
    if let Some(frame) = hub.latest() {
        return Some(frame);
    }
    let visitor = hub.join("snapshot".into(), ViewerKind::Http, hub.web_needs()).ok();
    let frame = match &visitor {
        Some(viewer) => viewer.take(SNAPSHOT_TIMEOUT),
        None => hub.next_after(None, SNAPSHOT_TIMEOUT),
    };
    drop(visitor);
    frame
}

/// `/snapshot`: one JPEG.
fn snapshot(site: &Site<'_>, stream: &TcpStream, head_only: bool) -> std::io::Result<()> {
    let Some(hub) = site.hub else { return no_camera(site, stream, head_only) };
    let Some(frame) = newest_frame(hub) else {
        text(
            stream,
            "503 Service Unavailable",
            "Retry-After: 2\r\n",
            "the camera gave no frame within 2 s\n",
            head_only,
            site.shutdown,
        );
        return Ok(());
    };
    let mut encoder = Encoder::new()?;
    let jpeg = frame.web_jpeg(site.settings.jpeg_quality, &mut encoder)?;
    let headers = format!("{NO_CACHE}X-Frame-Seq: {}\r\n", frame.seq);
    respond(stream, "200 OK", "image/jpeg", &headers, jpeg, head_only, site.shutdown)
}

#[derive(Serialize)]
struct State<'a> {
    source: &'a str,
    width: u32,
    height: u32,
    nominal_fps: f64,
    /// Frames published per second, recently.
    fps: f64,
    captured: u64,
    bad_frames: u64,
    /// How old the newest frame is (capture to now), in ms; null with no frame yet.
    frame_age_ms: Option<f64>,
    viewers: Vec<ViewerState>,
}

#[derive(Serialize)]
struct ViewerState {
    address: String,
    kind: &'static str,
    fps: f64,
    frames: u64,
    dropped: u64,
    sent_mbit: f64,
    seconds: f64,
}

/// `/state`: JSON about the camera and its viewers.
fn state(site: &Site<'_>, stream: &TcpStream, head_only: bool) -> std::io::Result<()> {
    let geometry = site.geometry.unwrap_or(Geometry::bgr(0, 0));
    let viewers = site.hub.map(|hub| hub.viewers()).unwrap_or_default();
    let state = State {
        source: site.source,
        width: geometry.width,
        height: geometry.height,
        nominal_fps: site.nominal_fps,
        fps: site.hub.map_or(0.0, |hub| hub.fps()),
        captured: Stats::get(&site.stats.captured),
        bad_frames: Stats::get(&site.stats.bad_frames),
        frame_age_ms: site
            .hub
            .and_then(|hub| hub.latest())
            .map(|frame| now_us().saturating_sub(frame.captured_us) as f64 / 1000.0),
        viewers: viewers
            .iter()
            .map(|v| {
                let seconds = v.since.elapsed().as_secs_f64().max(1e-3);
                ViewerState {
                    address: v.name.clone(),
                    kind: match v.kind {
                        ViewerKind::Pistream => "pistream",
                        ViewerKind::Http => "http",
                        ViewerKind::Seed => "seed",
                    },
                    fps: v.taken.load(Ordering::Relaxed) as f64 / seconds,
                    frames: v.taken.load(Ordering::Relaxed),
                    dropped: v.dropped.load(Ordering::Relaxed),
                    sent_mbit: v.sent_bytes.load(Ordering::Relaxed) as f64 * 8.0 / 1e6,
                    seconds,
                }
            })
            .collect(),
    };
    let body = serde_json::to_vec_pretty(&state).unwrap_or_default();
    respond(stream, "200 OK", "application/json", NO_CACHE, &body, head_only, site.shutdown)
}
