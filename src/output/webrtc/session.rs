//! One WebRTC viewer on the camera's side: its str0m session, where its checks arrive, and
//! what it does with each of the session's outputs. It takes a viewer place in the hub only
//! once ICE and DTLS are up (an offer that never connects holds none), then a feeder thread
//! takes its H.264 units from the hub's shared encoder and the service writes them.

use std::net::{IpAddr, SocketAddr};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::{MediaTime, Mid, Pt};
use str0m::net::Receive;
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

use super::offer::Answered;
use super::socket::MediaSocket;
use crate::media::{now_us, EncodedUnit};
use crate::output::Endpoint;
use crate::pipeline::hub::{Delivery, Needs, Subscription, ViewerGuard, ViewerKind};
use crate::pipeline::stats::Stats;

/// A session that has not connected this long after its offer is ended (a browser that
/// cannot reach any candidate gives up after about 30 s; its page falls back sooner).
pub(super) const CONNECT_DEADLINE: Duration = Duration::from_secs(15);
/// A connected session that sends nothing this long (no RTCP, no consent check; browsers
/// send both every second or so) is gone: its viewer place is freed.
pub(super) const SILENCE_LIMIT: Duration = Duration::from_secs(8);
/// A unit older than this when its turn comes is not sent: the session skips to the next
/// keyframe (latency stays bounded; counted as the viewer's drops).
const STALE_UNIT: Duration = Duration::from_millis(500);

/// What the service passes a unit or a new session through.
pub(super) enum Command {
    /// A new session (from `POST /whep`).
    Add(Box<NewSession>),
    /// `DELETE /whep/ID`: whether there was such a session.
    Delete(String, std::sync::mpsc::Sender<bool>),
    /// A unit for the session of this number.
    Unit(u64, Arc<EncodedUnit>),
}

/// An answered offer on its way to the service.
pub(super) struct NewSession {
    pub(super) number: u64,
    /// The `Location` token.
    pub(super) token: String,
    /// Who asked (the HTTP client).
    pub(super) peer: SocketAddr,
    pub(super) answered: Answered,
}

/// How the service reaches a feeder thread.
#[derive(Default)]
struct FeederControl {
    stop: AtomicBool,
    keyframe: AtomicBool,
    restart: AtomicBool,
}

/// A connected session's place and feeder.
struct Watching {
    viewer: ViewerGuard,
    control: Arc<FeederControl>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        // The feeder ends within its take timeout and drops the subscription.
        self.control.stop.store(true, Ordering::Relaxed);
    }
}

/// Where a session's units come from and go to.
pub(super) struct Wiring<'a> {
    pub(super) endpoint: &'a Arc<Endpoint>,
    pub(super) socket: &'a MediaSocket,
    pub(super) units: &'a SyncSender<Command>,
    pub(super) waker: &'a UnixDatagram,
}

/// One session.
pub(super) struct Session {
    pub(super) number: u64,
    pub(super) token: String,
    pub(super) peer: SocketAddr,
    rtc: Rtc,
    mid: Mid,
    pt: Pt,
    locals: Vec<SocketAddr>,
    /// When its next timer fires.
    pub(super) due: Instant,
    born: Instant,
    last_heard: Instant,
    watching: Option<Watching>,
    /// Why it ended, once it has.
    pub(super) ended: Option<String>,
    /// The next unit written must be a keyframe (after connecting, after a skip).
    needs_keyframe: bool,
    /// The egress counters last added to the run's (NACKs, PLIs + FIRs).
    seen: (u64, u64),
}

impl Session {
    pub(super) fn new(new: NewSession, now: Instant) -> Session {
        let Answered { rtc, mid, pt, locals, due, .. } = new.answered;
        Session {
            number: new.number,
            token: new.token,
            peer: new.peer,
            rtc,
            mid,
            pt,
            locals,
            due,
            born: now,
            last_heard: now,
            watching: None,
            ended: None,
            needs_keyframe: true,
            seen: (0, 0),
        }
    }

    pub(super) fn connected(&self) -> bool {
        self.watching.is_some()
    }

    /// Whether this datagram is the session's (str0m matches ICE credentials and addresses).
    pub(super) fn accepts(&self, input: &Input<'_>) -> bool {
        self.ended.is_none() && self.rtc.accepts(input)
    }

    /// The candidate a datagram sent to local address `ip` arrived through: the one on
    /// that address and port, else one on that address (a forwarded port), else the first
    /// (a NAT's public address: the packet arrives on a private one).
    fn local_for(&self, ip: IpAddr, port: u16) -> SocketAddr {
        let exact = SocketAddr::new(ip, port);
        if self.locals.contains(&exact) {
            return exact;
        }
        self.locals.iter().find(|a| a.ip() == ip).or(self.locals.first()).copied().unwrap_or(exact)
    }

    /// Hands it a datagram it accepted.
    pub(super) fn receive(
        &mut self,
        mut receive: Receive<'_>,
        local_ip: IpAddr,
        now: Instant,
        wiring: &Wiring<'_>,
    ) {
        receive.destination = self.local_for(local_ip, wiring.socket.port);
        self.last_heard = now;
        let result = self.rtc.handle_input(Input::Receive(now, receive));
        self.after(result, wiring);
    }

    /// Lets its timers run.
    pub(super) fn tick(&mut self, now: Instant, wiring: &Wiring<'_>) {
        if self.ended.is_none() {
            if !self.connected() && now.duration_since(self.born) > CONNECT_DEADLINE {
                self.end("ICE did not connect within 15 s (is UDP to the camera's WebRTC port blocked?)");
            } else if self.connected() && now.duration_since(self.last_heard) > SILENCE_LIMIT {
                self.end("the browser went silent");
            }
        }
        let result = self.rtc.handle_input(Input::Timeout(now));
        self.after(result, wiring);
    }

    /// Writes one access unit (Annex B; str0m cuts it into packets, parameter sets in one
    /// STAP-A before the IDR).
    pub(super) fn write(&mut self, unit: &EncodedUnit, wiring: &Wiring<'_>) {
        let Some(watching) = &self.watching else { return };
        if self.ended.is_some() {
            return;
        }
        let age = Duration::from_micros(now_us().saturating_sub(unit.captured_us));
        if self.needs_keyframe && !unit.keyframe {
            return;
        }
        if age > STALE_UNIT && !unit.keyframe {
            // Behind: drop the rest of this group of pictures, ask for a keyframe.
            watching.control.restart.store(true, Ordering::Relaxed);
            self.needs_keyframe = true;
            return;
        }
        self.needs_keyframe = false;
        let Some(writer) = self.rtc.writer(self.mid) else { return };
        let wallclock = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        let result =
            writer.write(self.pt, wallclock, MediaTime::from_micros(unit.captured_us), &unit.data[..]);
        if result.is_ok() {
            Stats::add(&wiring.endpoint.stats.sent_frames, 1);
        }
        self.after(result, wiring);
    }

    /// Ends it: DTLS close and RTCP BYE go out with the next drain.
    pub(super) fn end(&mut self, why: &str) {
        if self.ended.is_none() {
            log::info!("WebRTC {} session {} ended: {why}", self.peer, self.number);
            self.ended = Some(why.to_string());
            self.rtc.disconnect();
            self.watching = None;
        }
    }

    /// After each change: sends what it has to send, acts on its events, until its next
    /// timer (str0m's rule: drain after every input).
    fn after<E: std::fmt::Display>(&mut self, result: Result<(), E>, wiring: &Wiring<'_>) {
        if let Err(e) = result {
            self.end(&format!("WebRTC error: {e}"));
        }
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.due = at;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    if wiring.socket.send(&t.contents, t.source, t.destination) {
                        let bytes = t.contents.len() as u64;
                        Stats::add(&wiring.endpoint.stats.sent_bytes, bytes);
                        if let Some(w) = &self.watching {
                            w.viewer.sent_bytes.fetch_add(bytes, Ordering::Relaxed);
                        }
                    }
                }
                Ok(Output::Event(event)) => self.on_event(event, wiring),
                Err(e) => {
                    self.end(&format!("WebRTC error: {e}"));
                    self.due = Instant::now() + Duration::from_millis(100);
                    return;
                }
            }
        }
    }

    fn on_event(&mut self, event: Event, wiring: &Wiring<'_>) {
        let stats = &wiring.endpoint.stats;
        match event {
            Event::Connected if self.ended.is_none() && self.watching.is_none() => {
                match self.start_watching(wiring) {
                    Ok(watching) => {
                        log::info!("WebRTC {} session {} plays", self.peer, self.number);
                        self.watching = Some(watching);
                    }
                    Err(why) => self.end(&why),
                }
            }
            Event::KeyframeRequest(_) => {
                Stats::add(&stats.webrtc_keyframe_requests, 1);
                if let Some(w) = &self.watching {
                    w.control.keyframe.store(true, Ordering::Relaxed);
                }
            }
            Event::MediaEgressStats(s) => {
                // Cumulative per stream: add what is new since the last report.
                let (nacks, requests) = (s.nacks, s.plis + s.firs);
                Stats::add(&stats.webrtc_nacks, nacks.saturating_sub(self.seen.0));
                self.seen = (nacks.max(self.seen.0), requests.max(self.seen.1));
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.end("ICE disconnected (the browser left)")
            }
            Event::Closed => self.end("the browser closed the connection"),
            _ => {}
        }
    }

    /// Takes a viewer place and starts the feeder.
    fn start_watching(&self, wiring: &Wiring<'_>) -> Result<Watching, String> {
        let endpoint = wiring.endpoint;
        let hub = endpoint.hub.as_ref().ok_or("this endpoint has no camera")?;
        let viewer = hub
            .join(format!("{} webrtc", self.peer), ViewerKind::WebRtc, Needs::NONE)
            .map_err(|full| format!("{} viewers already watch (--max-viewers)", full.max))?;
        let settings = endpoint.h264_settings().ok_or("the camera's size is not known yet")?;
        let subscription = crate::pipeline::h264::subscribe(hub, &viewer, settings, endpoint.native)?;
        viewer.set_delivery(Delivery::h264(settings.bitrate));
        subscription.request_keyframe();
        let control = Arc::new(FeederControl::default());
        let waker = wiring.waker.try_clone().map_err(|e| format!("cannot start its feeder: {e}"))?;
        let (number, units, feeder_control) = (self.number, wiring.units.clone(), control.clone());
        std::thread::Builder::new()
            .name(format!("webrtc {}", self.number))
            .spawn(move || feed(number, subscription, &feeder_control, &units, &waker))
            .map_err(|e| format!("cannot start its feeder: {e}"))?;
        Ok(Watching { viewer, control })
    }
}

/// A feeder thread: the session's units from the hub to the service, in order. When the
/// service is behind (its queue is full) the session skips to the next keyframe.
fn feed(
    number: u64,
    mut subscription: Subscription,
    control: &FeederControl,
    units: &SyncSender<Command>,
    waker: &UnixDatagram,
) {
    while !control.stop.load(Ordering::Relaxed) {
        if control.restart.swap(false, Ordering::Relaxed) {
            subscription.restart();
        }
        if control.keyframe.swap(false, Ordering::Relaxed) {
            subscription.request_keyframe();
        }
        let Some(unit) = subscription.take(Duration::from_millis(50)) else { continue };
        match units.try_send(Command::Unit(number, unit)) {
            Ok(()) => {
                let _ = waker.send(&[1]);
            }
            Err(TrySendError::Full(_)) => subscription.restart(),
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}
