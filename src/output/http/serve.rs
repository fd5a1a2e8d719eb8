//! One HTTP connection: one request read and answered (the viewer page, MJPEG, a
//! snapshot, the state as JSON), then closed.

use std::io::{IoSlice, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::frames::{web_jpeg, web_needs};
use super::request::{self, Request, RequestError};
use super::response::{respond, text, write_all, HeadBuf, NO_CACHE};
use super::site::Site;
use super::whep;
use crate::codec::jpeg::Encoder;
use crate::media::{now_us, Geometry};
use crate::output::admission::{self, Refusal};
use crate::output::endpoint::Endpoint;
use crate::pipeline::hub::{Hub, SharedFrame, ViewerKind};
use crate::pipeline::stats::Stats;

/// The methods HTTP defines (RFC 9110): one of these other than GET and HEAD is not
/// allowed here (405); any other is not implemented (501).
const HTTP_METHODS: [&str; 9] =
    ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

/// The viewer page.
const PAGE: &str = include_str!("page.html");
/// The multipart boundary of `/stream`.
const BOUNDARY: &str = "pistreamframe";
/// How long `/snapshot` waits for a frame when the camera was idle.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves one HTTP client of `endpoint`; `admitted` is raised once its request has arrived.
pub fn connection(endpoint: &Endpoint, stream: &TcpStream, peer: SocketAddr, admitted: &AtomicBool) {
    let site = Site {
        hub: endpoint.hub.as_ref(),
        source: &endpoint.source,
        geometry: endpoint.hello.geometry,
        nominal_fps: endpoint.hello.fps_millihz as f64 / 1000.0,
        settings: &endpoint.web,
        rtsp: if endpoint.hub.is_some() {
            crate::output::rtsp::streams::listed(endpoint)
        } else {
            Vec::new()
        },
        keyed: endpoint.key.is_some(),
        endpoint: Some(endpoint),
        stats: &endpoint.stats,
        shutdown: &endpoint.shutdown,
    };
    serve(&site, stream, peer, || admitted.store(true, Ordering::Relaxed));
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
    if whep::is_whep(&request.path) {
        // Browsers' CORS preflight carries no credentials: answered before the check.
        if request.method != "OPTIONS" {
            if let Some((status, headers, message)) = refusal(site, &request) {
                log::info!("HTTP {peer} {} {}: {status}", request.method, request.path);
                text(stream, status, headers, message, false, site.shutdown);
                return;
            }
        }
        whep::answer(site, stream, peer, &request);
        return;
    }
    if !head_only && request.method != "GET" {
        let message = format!("{} is not served here: use GET or HEAD\n", request.method);
        let status = if HTTP_METHODS.contains(&request.method.as_str()) {
            "405 Method Not Allowed"
        } else {
            "501 Not Implemented"
        };
        text(stream, status, "Allow: GET, HEAD\r\n", &message, false, site.shutdown);
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
            "a user name and password are needed (the camera's --password-file)\n",
        )),
        None if site.keyed => Some((
            "403 Forbidden",
            "",
            "this camera has --key-file, so HTTP is off until it is started with --password-file USER:PASSWORD-file too\n",
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
    let viewer = match admission::watch(hub, site.stats, format!("{peer}"), ViewerKind::Http, web_needs(hub))
    {
        Ok(viewer) => viewer,
        Err(refusal) => {
            let max = match refusal {
                Refusal::Full { max } => max,
                Refusal::Showing(_) => hub.max_viewers(),
            };
            let message =
                format!("{max} viewers already watch this camera (--max-viewers); try again later\n");
            log::info!("refused HTTP {peer}: {max} viewers already watch");
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
            let jpeg = web_jpeg(&frame, site.settings.jpeg_quality, &mut encoder)?;
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
    log::info!("HTTP {peer} left /stream");
    result
}

/// The newest frame: the one just published if the camera runs, otherwise the first one
/// after starting it (as a viewer for a moment), within [`SNAPSHOT_TIMEOUT`].
fn newest_frame(hub: &Arc<Hub>) -> Option<Arc<SharedFrame>> {
    if let Some(frame) = hub.latest() {
        return Some(frame);
    }
    let visitor = hub.join("snapshot".into(), ViewerKind::Http, web_needs(hub)).ok();
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
    let jpeg = web_jpeg(&frame, site.settings.jpeg_quality, &mut encoder)?;
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
    /// The RTSP streams (`rtsp://HOST:PORT` + path): size, rate, bitrate.
    rtsp: &'a [crate::output::rtsp::streams::StreamInfo],
    /// WebRTC: off (null), or its UDP port and what browsers asked of it.
    webrtc: Option<WebrtcState>,
    /// What encodes H.264 now: hardware (which device) or software, and a fallback.
    h264_encoder: String,
}

#[derive(Serialize)]
struct WebrtcState {
    whep: &'static str,
    udp_port: u16,
    nacks: u64,
    keyframe_requests: u64,
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
    let geometry = site.geometry.unwrap_or(Geometry::new(0, 0));
    let viewers = site.hub.map(|hub| hub.viewers()).unwrap_or_default();
    let state = State {
        source: site.source,
        h264_encoder: site.hub.map(|hub| hub.h264_backend().now()).unwrap_or_default(),
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
                    kind: v.kind.name(),
                    fps: v.taken.load(Ordering::Relaxed) as f64 / seconds,
                    frames: v.taken.load(Ordering::Relaxed),
                    dropped: v.dropped.load(Ordering::Relaxed),
                    sent_mbit: v.sent_bytes.load(Ordering::Relaxed) as f64 * 8.0 / 1e6,
                    seconds,
                }
            })
            .collect(),
        rtsp: &site.rtsp,
        webrtc: site.endpoint.and_then(|e| e.webrtc.udp_port()).map(|udp_port| WebrtcState {
            whep: whep::WHEP_PATH,
            udp_port,
            nacks: Stats::get(&site.stats.webrtc_nacks),
            keyframe_requests: Stats::get(&site.stats.webrtc_keyframe_requests),
        }),
    };
    let body = serde_json::to_vec_pretty(&state).unwrap_or_default();
    respond(stream, "200 OK", "application/json", NO_CACHE, &body, head_only, site.shutdown)
}
