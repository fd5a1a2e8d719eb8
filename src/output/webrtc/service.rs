//! The WebRTC service: one thread and one UDP socket for every session. HTTP threads answer
//! offers ([`Service::offer`], no I/O but the interfaces' addresses) and hand the sessions
//! over; feeder threads hand over units; the service thread reads datagrams, gives each to
//! the session that accepts it, runs timers and writes units, waiting in `poll` on the
//! socket and a waker between.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use str0m::net::{Protocol, Receive};
use str0m::Input;

use super::hosts;
use super::offer::{self, OfferError};
use super::session::{Command, NewSession, Session, Wiring};
use super::socket::MediaSocket;
use crate::output::Endpoint;

/// Sessions offered but not connected yet, at most: a newer offer ends the oldest (offers
/// that never connect cannot lock anyone out, and hold no viewer place meanwhile).
pub const MAX_PENDING: usize = 16;
/// Units queued between the feeders and the service thread, for all sessions.
const UNIT_QUEUE: usize = 256;
/// The longest the service sleeps (it checks for shutdown at least this often).
const LONGEST_WAIT: Duration = Duration::from_millis(100);

/// Why an offer gets no session.
#[derive(Debug)]
pub enum Refusal {
    Offer(OfferError),
    /// The camera has `--max-viewers` viewers (503).
    Full(usize),
    /// The service thread is gone (503).
    Stopped,
}

/// The handle HTTP threads use.
pub struct Service {
    commands: SyncSender<Command>,
    waker: UnixDatagram,
    /// The UDP port.
    pub port: u16,
    next_number: AtomicU64,
}

impl Service {
    /// Binds the WebRTC port and starts the service thread for `endpoint`.
    pub fn start(
        endpoint: &Arc<Endpoint>,
        port: u16,
    ) -> std::io::Result<(Arc<Service>, std::thread::JoinHandle<()>)> {
        let socket = MediaSocket::bind(port)?;
        let (waker, wake_up) = UnixDatagram::pair()?;
        waker.set_nonblocking(true)?;
        wake_up.set_nonblocking(true)?;
        let (commands, incoming) = mpsc::sync_channel(UNIT_QUEUE);
        let service = Arc::new(Service {
            commands: commands.clone(),
            waker: waker.try_clone()?,
            port: socket.port,
            next_number: AtomicU64::new(1),
        });
        let endpoint = endpoint.clone();
        let thread = std::thread::Builder::new()
            .name("webrtc".into())
            .spawn(move || run(&endpoint, &socket, &wake_up, &incoming, &commands, &waker))?;
        Ok((service, thread))
    }

    /// Answers an offer from `client`, who reached the camera on `reached_on`: the
    /// session's `Location` token and the SDP answer.
    pub fn offer(
        &self,
        endpoint: &Endpoint,
        sdp: &str,
        client: SocketAddr,
        reached_on: IpAddr,
    ) -> Result<(String, String), Refusal> {
        if let Some(hub) = endpoint.hub.as_ref().filter(|hub| hub.is_full()) {
            return Err(Refusal::Full(hub.max_viewers()));
        }
        let interfaces = hosts::interface_addresses();
        let locals = hosts::candidates(
            &endpoint.webrtc.settings.candidates,
            self.port,
            client.ip(),
            reached_on,
            &interfaces,
        );
        let answered = offer::answer(sdp, &locals, Instant::now()).map_err(Refusal::Offer)?;
        let answer = answered.sdp.clone();
        let number = self.next_number.fetch_add(1, Ordering::Relaxed);
        let token = token();
        let new = NewSession { number, token: token.clone(), peer: client, answered };
        self.commands.send(Command::Add(Box::new(new))).map_err(|_| Refusal::Stopped)?;
        let _ = self.waker.send(&[1]);
        Ok((token, answer))
    }

    /// Ends the session of `token` (`DELETE`): whether there was one.
    pub fn delete(&self, token: &str) -> bool {
        let (reply, answer) = mpsc::channel();
        if self.commands.send(Command::Delete(token.to_string(), reply)).is_err() {
            return false;
        }
        let _ = self.waker.send(&[1]);
        answer.recv_timeout(Duration::from_secs(2)).unwrap_or(false)
    }
}

/// 128 random bits, hex: a session's name in its `Location` (not guessable, so one client
/// cannot end another's session).
fn token() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The service thread.
fn run(
    endpoint: &Arc<Endpoint>,
    socket: &MediaSocket,
    wake_up: &UnixDatagram,
    incoming: &Receiver<Command>,
    units: &SyncSender<Command>,
    waker: &UnixDatagram,
) {
    let wiring = Wiring { endpoint, socket, units, waker };
    let mut sessions: Vec<Session> = Vec::new();
    let mut buf = vec![0u8; 2048];
    let mut control = MediaSocket::control_space();
    while !endpoint.shutdown.requested() {
        let now = Instant::now();
        let next = sessions.iter().map(|s| s.due).min().unwrap_or(now + LONGEST_WAIT).min(now + LONGEST_WAIT);
        let wait = next.saturating_duration_since(now).max(Duration::from_millis(1));
        let mut fds =
            [PollFd::new(socket.as_fd(), PollFlags::POLLIN), PollFd::new(wake_up.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::try_from(wait.as_millis() as i32).unwrap_or(PollTimeout::MAX));
        while wake_up.recv(&mut [0u8; 64]).is_ok() {}
        for command in incoming.try_iter() {
            match command {
                Command::Add(new) => {
                    let pending = sessions.iter().filter(|s| !s.connected() && s.ended.is_none());
                    if pending.count() >= MAX_PENDING {
                        if let Some(oldest) =
                            sessions.iter_mut().find(|s| !s.connected() && s.ended.is_none())
                        {
                            oldest.end("a newer offer took its place before it connected");
                        }
                    }
                    sessions.push(Session::new(*new, Instant::now()));
                }
                Command::Delete(token, reply) => {
                    let found = sessions.iter_mut().find(|s| s.token == token && s.ended.is_none());
                    let _ = reply.send(found.is_some());
                    if let Some(session) = found {
                        session.end("the client ended it (WHEP DELETE)");
                    }
                }
                Command::Unit(number, unit) => {
                    if let Some(session) = sessions.iter_mut().find(|s| s.number == number) {
                        session.write(&unit, &wiring);
                    }
                }
            }
        }
        loop {
            let datagram = match socket.receive(&mut buf, &mut control) {
                Ok(Some(datagram)) => datagram,
                Ok(None) => break,
                Err(e) => {
                    log::debug!("WebRTC socket: {e}");
                    break;
                }
            };
            let placeholder = SocketAddr::new(datagram.local_ip, socket.port);
            // Not STUN, DTLS, RTP or RTCP: not ours.
            let Ok(receive) = Receive::new(Protocol::Udp, datagram.source, placeholder, &buf[..datagram.len])
            else {
                continue;
            };
            let input = Input::Receive(Instant::now(), receive);
            let Some(session) = sessions.iter_mut().find(|s| s.accepts(&input)) else {
                log::debug!("WebRTC: a datagram from {} that no session takes", datagram.source);
                continue;
            };
            let Input::Receive(at, receive) = input else { continue };
            session.receive(receive, datagram.local_ip, at, &wiring);
        }
        let now = Instant::now();
        for session in sessions.iter_mut().filter(|s| s.due <= now) {
            session.tick(now, &wiring);
        }
        // An ended session goes once its goodbye is out.
        sessions.retain(|s| s.ended.is_none());
    }
    for session in &mut sessions {
        session.end("the camera is stopping");
        session.tick(Instant::now(), &wiring);
    }
}
