//! One pistream connection, listening or connecting: the handshake, admission (a viewer
//! place in the hub when this side sends; the one display place when it shows), the
//! session, and what follows it (keep serving, reconnect, end the run, or fail). A
//! connection on the seed wire (`--peer seed`) is handed to `seed/` instead.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::display::{PeerName, PLACEHOLDER};
use super::Finish;
use crate::config::{EndpointConfig, PeerKind};
use crate::convert::InputFormat;
use crate::error::AppError;
use crate::frame::Frame;
use crate::hub::{Full, Hub, ViewerKind};
use crate::mailbox::Mailbox;
use crate::protocol::{ByeReason, Hello, Negotiated, Role};
use crate::session::{self, Control, LocalSide, SessionEnd, SessionError, Sides};
use crate::shutdown::Shutdown;
use crate::stats::Stats;
use crate::wire::send::SendPlan;
use crate::wire::WireChoice;

/// What one endpoint (camera, display, call) brings to each of its connections.
pub(super) struct Endpoint {
    pub(super) cfg: EndpointConfig,
    /// This side's hello when it may show the peer's video.
    pub(super) hello: Hello,
    /// This side's camera, when it sends, and what it is (for the web's `/state`).
    pub(super) hub: Option<Arc<Hub>>,
    pub(super) source: String,
    /// The format of the capture's own bytes, and what `--wire` asks for.
    pub(super) native: Option<InputFormat>,
    pub(super) wire: WireChoice,
    /// Where received frames go, when it shows.
    pub(super) display: Option<Arc<Mailbox>>,
    pub(super) peer_name: Arc<PeerName>,
    /// The peer whose video is shown now: one at a time.
    pub(super) showing: Mutex<Option<SocketAddr>>,
    pub(super) stats: Arc<Stats>,
    pub(super) shutdown: Arc<Shutdown>,
}

/// What to do after a session.
pub(super) enum Next {
    Continue,
    Finish(Finish),
    Fail(AppError),
}

impl Endpoint {
    pub(super) fn lock_showing(&self) -> std::sync::MutexGuard<'_, Option<SocketAddr>> {
        self.showing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one connection to its end. `admitted` is raised once the handshake has
    /// completed and the peer has a place (until then the connection is only pending).
    /// With `--peer seed`, the connection speaks the seed wire instead (`seed/`).
    pub(super) fn session(
        &self,
        stream: &TcpStream,
        peer: SocketAddr,
        role: Role,
        admitted: &AtomicBool,
    ) -> Next {
        if self.cfg.peer == PeerKind::Seed {
            return super::seed::session(self, stream, peer, role, admitted);
        }
        let send_limit = if self.cfg.show.is_none() { self.cfg.limits.frames } else { None };
        let ctl = Control::new(&self.shutdown, send_limit);
        if let Some(hub) = self.hub.as_ref().filter(|hub| role == Role::Listening && hub.is_full()) {
            // Said at once, before any handshake work (and checked again after it).
            let text = busy_text(hub.max_viewers());
            log::info!("refused {peer}: {text}");
            session::refuse(stream, ByeReason::Busy, &text, &self.shutdown);
            return Next::Continue;
        }
        // A listening side that shows video shows one peer at a time; later peers may still
        // watch (and one that only sends is turned away as busy below).
        let local = LocalSide {
            hello: self.hello,
            key: self.cfg.key.as_ref(),
            buffers: self.cfg.buffers,
            watch_only: role == Role::Listening && self.lock_showing().is_some(),
        };
        let established = match session::handshake(stream, role, &local, &ctl) {
            Ok(Some(established)) => established,
            Ok(None) => return Next::Continue,
            Err(e) => return self.after(peer, role, Err(e)),
        };
        let negotiated = established.negotiated;
        let plan = match (negotiated.sends(), self.hello.geometry) {
            (true, Some(geometry)) => {
                let fps = self.hello.fps_millihz as f64 / 1000.0;
                match SendPlan::new(self.wire, self.native, negotiated.send_formats, geometry, fps) {
                    Ok(plan) => Some(plan),
                    Err(e) => {
                        return Next::Fail(AppError::Internal(format!("cannot start a JPEG encoder: {e}")))
                    }
                }
            }
            _ => None,
        };
        let viewer = match (&self.hub, &plan) {
            (Some(hub), Some(plan)) => match hub.join(peer.to_string(), ViewerKind::Pistream, plan.needs()) {
                Ok(viewer) => Some(viewer),
                Err(Full { max }) => {
                    let text = busy_text(max);
                    log::info!("refused {peer}: {text}");
                    session::turn_away(stream, established, &text, &ctl);
                    return Next::Continue;
                }
            },
            _ => None,
        };
        if negotiated.receive.is_some() {
            let mut showing = self.lock_showing();
            if let Some(current) = *showing {
                drop(showing);
                log::info!("refused {peer}: already showing {current}");
                let text = format!("busy: already showing {current}; try again when it ends");
                session::turn_away(stream, established, &text, &ctl);
                return Next::Continue;
            }
            *showing = Some(peer);
            self.peer_name.set(peer.to_string(), established.peer.capture);
        }
        admitted.store(true, Ordering::Relaxed);
        log_streaming(peer, &negotiated);
        let mut back = negotiated.receive.map(|_| Frame::new(PLACEHOLDER));
        let sides =
            Sides { send: viewer.as_deref().zip(plan), receive: self.display.as_deref().zip(back.as_mut()) };
        let result = session::serve(stream, established, sides, self.cfg.buffers, &ctl, &self.stats);
        if negotiated.receive.is_some() {
            *self.lock_showing() = None;
        }
        if let Some(viewer) = viewer {
            Stats::add(&self.stats.viewer_drops_gone, viewer.dropped.load(Ordering::Relaxed));
        }
        self.after(peer, role, result.map(|end| Ended { end, showed: negotiated.receive.is_some() }))
    }

    /// Decides what follows a session: `result` says how it ended and whether this side
    /// was showing the peer's video.
    fn after(&self, peer: SocketAddr, role: Role, result: Result<Ended, SessionError>) -> Next {
        let connecting = role == Role::Connecting;
        match result {
            Ok(Ended { end: SessionEnd::PeerBye { text: why, .. }, showed }) => {
                if showed {
                    self.shutdown.request("peer ended the stream");
                    Next::Finish(Finish::PeerEnded(why))
                } else {
                    log::info!("{peer} left: {why}");
                    Next::Continue
                }
            }
            Ok(Ended { end: SessionEnd::LocalStop, .. }) => Next::Continue,
            Err(e @ SessionError::Panicked(_)) => Next::Fail(AppError::Internal(format!("{peer}: {e}"))),
            Err(
                source @ (SessionError::Protocol(_)
                | SessionError::Refused(_)
                | SessionError::PeerReported(_)),
            ) if connecting => Next::Fail(AppError::Session { peer: peer.to_string(), source }),
            Err(source) if connecting => {
                log::warn!("connection to {peer} lost: {source}; reconnecting");
                Next::Continue
            }
            Err(source) => Next::Fail(AppError::Session { peer: peer.to_string(), source }),
        }
    }
}

/// How a session ended, and whether this side was showing the peer's video.
struct Ended {
    end: SessionEnd,
    showed: bool,
}

pub(super) fn busy_text(max: usize) -> String {
    format!("busy: {max} viewers already watch this camera (--max-viewers); try again later")
}

fn log_streaming(peer: SocketAddr, n: &Negotiated) {
    let what = match (n.sends(), n.receive) {
        (true, Some(g)) => format!("sending our video, receiving {g}"),
        (true, None) => "sending video".to_string(),
        (false, Some(g)) => format!("receiving {g} at {:.1} fps", n.peer_fps_millihz as f64 / 1000.0),
        (false, None) => "nothing".to_string(),
    };
    match n.cipher {
        Some(cipher) => log::info!("streaming with {peer}: {what} (encrypted: {})", cipher.name()),
        None => log::info!("streaming with {peer}: {what}"),
    }
}
