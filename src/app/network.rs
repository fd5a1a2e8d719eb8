//! The network side of an endpoint: listen and serve one peer at a time (refusing others
//! as busy), or connect with retry; run each session and decide what follows it (wait for
//! the next peer, reconnect, or end the run).

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{Finish, PLACEHOLDER};
use crate::config::{Endpoint, EndpointConfig};
use crate::error::AppError;
use crate::frame::Frame;
use crate::mailbox::Mailbox;
use crate::net;
use crate::protocol::{ByeReason, Hello, Role};
use crate::session::{self, Control, LocalSide, SessionEnd, SessionError, Sides};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Accepts or connects, runs one session at a time, and decides what follows each.
pub(super) struct NetworkLoop {
    pub(super) cfg: EndpointConfig,
    pub(super) hello: Hello,
    pub(super) capture_box: Option<Arc<Mailbox>>,
    pub(super) display_box: Option<Arc<Mailbox>>,
    pub(super) streaming: Arc<AtomicBool>,
    pub(super) peer_name: Arc<Mutex<String>>,
    pub(super) stats: Arc<Stats>,
    pub(super) shutdown: Arc<Shutdown>,
}

/// What to do after a session.
enum Next {
    Continue,
    Finish(Finish),
    Fail(AppError),
}

impl NetworkLoop {
    pub(super) fn run(&self, ready: Option<mpsc::Sender<SocketAddr>>) -> Result<Finish, AppError> {
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
                log::info!("listening on {bound}");
                if self.cfg.send.is_some() && !bound.ip().is_loopback() && self.cfg.key.is_none() {
                    log::warn!(
                        "no --key-file, so anyone on the network who can reach {bound} can view this camera"
                    );
                }
                return self.serve(&listener, bound, send_front, receive_back);
            }
            Endpoint::Connect(target) => loop {
                let on_retry = |attempt: u32, e: &std::io::Error, delay: Duration| {
                    log::info!(
                        "{target} not reachable ({e}); retrying in {:.2} s (attempt {attempt})",
                        delay.as_secs_f64()
                    );
                };
                let Some((stream, peer)) = net::connect_with_retry(target, self.shutdown.flag(), on_retry)
                else {
                    break;
                };
                log::info!("connected to {peer}");
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
                    Next::Fail(e) => log::warn!("{e}"),
                }
                if !self.shutdown.requested() {
                    log::info!("waiting for the next peer on {bound}");
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
                        log::info!("refused {peer}: busy streaming with {current}");
                        let text = format!("busy: already streaming with {current}; try again when it ends");
                        session::refuse(&stream, ByeReason::Busy, &text, &self.shutdown);
                    }
                    (None, true) => {
                        session::refuse(&stream, ByeReason::Finished, "shutting down", &self.shutdown)
                    }
                    (None, false) => {
                        log::info!("{peer} connected");
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
            streaming.store(n.sends(), Ordering::Relaxed);
        };
        let local = LocalSide { hello: self.hello, key: self.cfg.key.as_ref(), buffers: self.cfg.buffers };
        let role = match self.cfg.endpoint {
            Endpoint::Connect(_) => Role::Connecting,
            Endpoint::Listen(_) => Role::Listening,
        };
        let result = session::run(stream, role, &local, sides, &ctl, &self.stats, &mut on_negotiated);
        self.streaming.store(false, Ordering::Relaxed);
        let shows = self.cfg.show.is_some();
        let connecting = matches!(self.cfg.endpoint, Endpoint::Connect(_));
        match result {
            Ok(SessionEnd::PeerBye { text: why, .. }) => {
                if shows {
                    self.shutdown.request("peer ended the stream");
                    Next::Finish(Finish::PeerEnded(why))
                } else {
                    log::info!("{peer} left: {why}");
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
                    log::warn!("connection to {peer} lost: {source}; reconnecting");
                    Next::Continue
                } else {
                    Next::Fail(AppError::Session { peer: peer.to_string(), source })
                }
            }
        }
    }
}
