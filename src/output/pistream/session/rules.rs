//! A session's rules after the handshake, without I/O: when a heartbeat is due, when the
//! peer counts as gone, which bye this side owes at the end, and which of the two loops'
//! results says how the session ended. Time comes in (`now`); nothing here reads a clock or
//! touches a socket, so every rule is tested in memory. The I/O driver (`io.rs`, the two
//! loops) reports what happened and asks what to do, as quinn-proto's connection is driven:
//!
//! - reads and writes report their progress ([`Rules::read_progress`],
//!   [`Rules::write_progress`]); [`Rules::handle_timeout`] fails the session once either
//!   direction made none for [`PEER_SILENCE_LIMIT`] (a peer that neither sends nor reads);
//! - the send loop sends whatever [`Rules::poll_transmit`] says is due: the bye it owes (a
//!   protocol error the receive loop found, or "finished" once the run stops), else a
//!   keyframe request the receive loop wants (its H.264 decoder lost its place; at most one
//!   per [`KEYFRAME_REQUEST_GAP`]), else a side that receives video reports what arrived
//!   every [`REPORT_INTERVAL`], else a heartbeat when nothing went out for
//!   [`HEARTBEAT_INTERVAL`];
//! - [`Rules::poll_timeout`] is when the next rule comes due (the loops wake at least that
//!   often; their sockets' 100 ms timeouts are shorter);
//! - [`outcome`] picks, from the receive and send loops' results, how the session ended.

use std::time::{Duration, Instant};

use crate::output::deadlines::PEER_SILENCE_LIMIT;
use crate::output::ending::{Ending, SessionError};
use crate::output::pistream::protocol::ByeReason;

/// A side with nothing else to send sends a heartbeat this often.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// A side that receives video reports what arrived this often (the sender's `auto`
/// decides every quarter second).
pub const REPORT_INTERVAL: Duration = Duration::from_millis(250);
/// The shortest time between two keyframe requests (the sender's encoder honours one per
/// half second anyway; a lost unit makes every later one fail until the keyframe arrives).
pub const KEYFRAME_REQUEST_GAP: Duration = Duration::from_millis(250);

/// What the send loop must send now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// A bye, and then the session is over for this side.
    Bye(ByeReason, String),
    /// A keyframe request: this side's H.264 decoder lost its place.
    KeyframeRequest,
    /// A report of what arrived ([`REPORT_INTERVAL`]).
    Report,
    /// A heartbeat (nothing else went out for [`HEARTBEAT_INTERVAL`]).
    Heartbeat,
}

/// One session's rules and the times they are judged by.
#[derive(Debug)]
pub struct Rules {
    /// When the current read began or last received a byte.
    read_progress: Instant,
    /// When the current write began or last put a byte out.
    write_progress: Option<Instant>,
    /// When the last whole message went out.
    last_sent: Instant,
    /// A bye the send loop must deliver (a protocol error found by the receiver).
    pending_bye: Option<(ByeReason, String)>,
    /// The bye was handed out: nothing more to send.
    said_bye: bool,
    /// This side receives video: it reports, and sends when the last report went out.
    reports: bool,
    last_report: Instant,
    /// The receive loop wants a keyframe; when the last request went out.
    keyframe_wanted: bool,
    last_keyframe_request: Option<Instant>,
}

impl Rules {
    /// A session established at `now`.
    pub fn new(now: Instant) -> Rules {
        Rules {
            read_progress: now,
            write_progress: None,
            last_sent: now,
            pending_bye: None,
            said_bye: false,
            reports: false,
            last_report: now,
            keyframe_wanted: false,
            last_keyframe_request: None,
        }
    }

    /// This side receives video: from now on it reports what arrived.
    pub fn receives_video(&mut self) {
        self.reports = true;
    }

    /// The receive loop's decoder lost its place: ask the sender for a keyframe.
    pub fn want_keyframe(&mut self) {
        self.keyframe_wanted = true;
    }

    /// `transmit` (from [`Rules::poll_transmit`]) went out at `now`.
    pub fn transmitted(&mut self, transmit: &Transmit, now: Instant) {
        match transmit {
            Transmit::KeyframeRequest => {
                self.keyframe_wanted = false;
                self.last_keyframe_request = Some(now);
            }
            Transmit::Report => self.last_report = now,
            Transmit::Bye(..) | Transmit::Heartbeat => {}
        }
        self.message_sent(now);
    }

    /// A read began, or bytes arrived.
    pub fn read_progress(&mut self, now: Instant) {
        self.read_progress = now;
    }

    /// A write began or bytes went out (`writing`: more of it remains).
    pub fn write_progress(&mut self, now: Instant, writing: bool) {
        self.write_progress = writing.then_some(now);
    }

    /// A whole message (frame, heartbeat) went out.
    pub fn message_sent(&mut self, now: Instant) {
        self.last_sent = now;
        self.write_progress = None;
    }

    /// The receive loop failed with `error`: a protocol error in what the peer sent is
    /// answered with a bye saying so (the send loop delivers it).
    pub fn receiver_failed(&mut self, error: &SessionError) {
        if let SessionError::Protocol(e) = error {
            self.pending_bye = Some((ByeReason::ProtocolError, e.to_string()));
        }
    }

    /// What the send loop must send now. `stopping` is the run's shutdown reason, once it
    /// stops. A bye comes once; after it, nothing.
    pub fn poll_transmit(&mut self, now: Instant, stopping: Option<String>) -> Option<Transmit> {
        if self.said_bye {
            return None;
        }
        if let Some((reason, text)) = self.pending_bye.take() {
            self.said_bye = true;
            return Some(Transmit::Bye(reason, text));
        }
        if let Some(why) = stopping {
            self.said_bye = true;
            return Some(Transmit::Bye(ByeReason::Finished, why));
        }
        let request_allowed =
            self.last_keyframe_request.is_none_or(|last| now.duration_since(last) >= KEYFRAME_REQUEST_GAP);
        if self.keyframe_wanted && request_allowed {
            return Some(Transmit::KeyframeRequest);
        }
        if self.reports && now.duration_since(self.last_report) >= REPORT_INTERVAL {
            return Some(Transmit::Report);
        }
        (now.duration_since(self.last_sent) >= HEARTBEAT_INTERVAL).then_some(Transmit::Heartbeat)
    }

    /// Whether this side owes the peer a bye it has not sent yet.
    pub fn owes_bye(&self) -> bool {
        self.pending_bye.is_some()
    }

    /// When the next rule comes due: a heartbeat, or the silence limit of a read or a
    /// write under way.
    pub fn poll_timeout(&self) -> Instant {
        let mut at = (self.last_sent + HEARTBEAT_INTERVAL).min(self.read_progress + PEER_SILENCE_LIMIT);
        if self.reports {
            at = at.min(self.last_report + REPORT_INTERVAL);
        }
        if let Some(write) = self.write_progress {
            at = at.min(write + PEER_SILENCE_LIMIT);
        }
        at
    }

    /// Judges the session at `now`: the peer is gone once a read has waited, or a write has
    /// stood still, for [`PEER_SILENCE_LIMIT`].
    pub fn handle_timeout(&self, now: Instant) -> Result<(), SessionError> {
        let stalled = |since: Instant| now.duration_since(since) >= PEER_SILENCE_LIMIT;
        if stalled(self.read_progress) || self.write_progress.is_some_and(stalled) {
            return Err(SessionError::Silent(PEER_SILENCE_LIMIT));
        }
        Ok(())
    }
}

/// How the session ended, from the receive loop's result, the send loop's and whether the
/// run was stopping. The receiver's view decides: a peer's bye or a protocol error is what
/// happened; a refusal read after the handshake explains a failed write (the peer closed);
/// a send error matters when the receiver only saw its consequences; a panic (a bug) always
/// wins; on a stopping run, what remains is this side's own stop.
pub fn outcome(
    received: Result<Ending, SessionError>,
    sent: Result<Ending, SessionError>,
    stopping: bool,
) -> Result<Ending, SessionError> {
    match (received, sent) {
        (Err(e @ SessionError::Panicked(_)), _) | (_, Err(e @ SessionError::Panicked(_))) => Err(e),
        (Ok(Ending::PeerEnded(text)), _) => Ok(Ending::PeerEnded(text)),
        (Err(e @ SessionError::Protocol(_)), _) => Err(e),
        (Err(e @ (SessionError::Refused(_) | SessionError::PeerReported(_))), _) => Err(e),
        (_, Err(e)) => Err(e),
        (Err(e), Ok(_)) if !stopping => Err(e),
        _ => Ok(Ending::LocalStop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::pistream::protocol::ProtocolError;

    fn clock() -> impl Fn(u64) -> Instant {
        let start = Instant::now();
        move |ms| start + Duration::from_millis(ms)
    }

    #[test]
    fn a_heartbeat_is_due_a_second_after_the_last_message_and_not_before() {
        let at = clock();
        let mut rules = Rules::new(at(0));
        assert_eq!(rules.poll_transmit(at(999), None), None);
        assert_eq!(rules.poll_transmit(at(1000), None), Some(Transmit::Heartbeat));
        rules.message_sent(at(1000));
        rules.message_sent(at(1500)); // a frame
        assert_eq!(rules.poll_transmit(at(2400), None), None, "a frame counts as something sent");
        assert_eq!(rules.poll_transmit(at(2500), None), Some(Transmit::Heartbeat));
        assert_eq!(rules.poll_timeout(), at(2500));
    }

    #[test]
    fn a_receiver_reports_four_times_a_second_and_asks_for_keyframes_at_most_that_often() {
        let at = clock();
        let mut rules = Rules::new(at(0));
        assert_eq!(rules.poll_transmit(at(300), None), None, "a sender does not report");
        rules.receives_video();
        assert_eq!(rules.poll_transmit(at(300), None), Some(Transmit::Report));
        rules.transmitted(&Transmit::Report, at(300));
        assert_eq!(rules.poll_transmit(at(549), None), None);
        assert_eq!(rules.poll_timeout(), at(550));
        rules.want_keyframe();
        assert_eq!(rules.poll_transmit(at(400), None), Some(Transmit::KeyframeRequest), "before the report");
        rules.transmitted(&Transmit::KeyframeRequest, at(400));
        rules.want_keyframe();
        assert_eq!(rules.poll_transmit(at(600), None), Some(Transmit::Report), "the next request waits");
        rules.transmitted(&Transmit::Report, at(600));
        assert_eq!(
            rules.poll_transmit(at(650), Some("stopping".into())),
            Some(Transmit::Bye(ByeReason::Finished, "stopping".into())),
            "a bye first"
        );
        let mut rules = Rules::new(at(0));
        rules.want_keyframe();
        rules.transmitted(&Transmit::KeyframeRequest, at(10));
        rules.want_keyframe();
        assert_eq!(rules.poll_transmit(at(259), None), None);
        assert_eq!(rules.poll_transmit(at(260), None), Some(Transmit::KeyframeRequest));
    }

    #[test]
    fn a_peer_silent_for_five_seconds_is_gone_in_either_direction() {
        let at = clock();
        let mut rules = Rules::new(at(0));
        rules.read_progress(at(4000));
        assert!(rules.handle_timeout(at(8999)).is_ok(), "bytes at 4 s: alive until 9 s");
        assert!(
            matches!(rules.handle_timeout(at(9000)), Err(SessionError::Silent(d)) if d == PEER_SILENCE_LIMIT)
        );
        let mut rules = Rules::new(at(0));
        rules.read_progress(at(20_000));
        rules.write_progress(at(16_000), true); // a write that took nothing since 16 s
        assert!(rules.handle_timeout(at(20_999)).is_ok());
        assert!(rules.handle_timeout(at(21_000)).is_err(), "a peer that stopped reading");
        rules.write_progress(at(21_000), false);
        assert!(rules.handle_timeout(at(21_000)).is_ok(), "the write finished");
        assert_eq!(rules.poll_timeout(), at(1_000), "the heartbeat, a second after the start");
    }

    #[test]
    fn a_protocol_error_is_answered_with_a_bye_first_and_a_stop_with_finished() {
        let at = clock();
        let mut rules = Rules::new(at(0));
        rules.receiver_failed(&SessionError::Closed);
        assert!(!rules.owes_bye(), "a closed connection gets no bye");
        rules.receiver_failed(&SessionError::Protocol(ProtocolError::SecondHello));
        assert!(rules.owes_bye());
        assert_eq!(
            rules.poll_transmit(at(10), Some("stopped by SIGINT".into())),
            Some(Transmit::Bye(ByeReason::ProtocolError, "peer sent a second hello".into())),
            "the error's bye before the stop's"
        );
        assert_eq!(rules.poll_transmit(at(5000), Some("stopped".into())), None, "one bye, then nothing");
        let mut rules = Rules::new(at(0));
        assert_eq!(
            rules.poll_transmit(at(10), Some("ran 8 s".into())),
            Some(Transmit::Bye(ByeReason::Finished, "ran 8 s".into()))
        );
    }

    #[test]
    fn the_receivers_view_decides_how_a_session_ended() {
        let peer_bye = || Ok(Ending::PeerEnded("stopped by SIGINT".into()));
        let kind =
            |r: &Result<Ending, SessionError>| format!("{r:?}").split(['(', ' ']).next().unwrap().to_string();
        type Loop = Result<Ending, SessionError>;
        let cases: [(Loop, Loop, bool, &str); 8] = [
            (peer_bye(), Err(SessionError::Closed), false, "Ok"),
            (
                Err(SessionError::Protocol(ProtocolError::SecondHello)),
                Err(SessionError::Closed),
                false,
                "Err",
            ),
            (Err(SessionError::Refused("busy".into())), Err(SessionError::Closed), false, "Err"),
            (Err(SessionError::Closed), Err(SessionError::Silent(PEER_SILENCE_LIMIT)), false, "Err"),
            (Err(SessionError::Closed), Ok(Ending::LocalStop), false, "Err"),
            (Err(SessionError::Closed), Ok(Ending::LocalStop), true, "Ok"),
            (Ok(Ending::LocalStop), Ok(Ending::LocalStop), false, "Ok"),
            (peer_bye(), Err(SessionError::Panicked("boom".into())), false, "Err"),
        ];
        for (i, (received, sent, stopping, want)) in cases.into_iter().enumerate() {
            let got = outcome(received, sent, stopping);
            assert_eq!(kind(&got), want, "case {i}: {got:?}");
        }
        // Which error: the refusal explains the failed write; the panic beats the bye.
        let refusal = outcome(Err(SessionError::Refused("busy".into())), Err(SessionError::Closed), false);
        assert!(matches!(refusal, Err(SessionError::Refused(text)) if text == "busy"));
        let panic = outcome(peer_bye(), Err(SessionError::Panicked("boom".into())), false);
        assert!(matches!(panic, Err(SessionError::Panicked(_))));
        let silent = outcome(Err(SessionError::Closed), Err(SessionError::Silent(PEER_SILENCE_LIMIT)), false);
        assert!(
            matches!(silent, Err(SessionError::Silent(_))),
            "the send error, when the receiver saw only its consequence"
        );
    }
}
