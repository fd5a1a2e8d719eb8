//! What an RTSP connection's requests ask for, and whether they may (RFC 2326): the
//! stream a URL names, the transport a SETUP offers, and the session's state machine
//! (Init, Ready after SETUP, Playing after PLAY). Pure: `serve.rs` does what it decides.

use rtsp_types::headers::{RtpLowerTransport, RtpProfile, Transport, Transports};
use rtsp_types::{Method, StatusCode};

/// The streams a camera serves over RTSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamName {
    /// `/stream`: the capture's size and rate.
    Main,
    /// `/sub`: small and slow, for detectors (`--sub-size`, `--sub-fps`).
    Sub,
}

impl StreamName {
    pub fn path(self) -> &'static str {
        match self {
            StreamName::Main => "/stream",
            StreamName::Sub => "/sub",
        }
    }
}

/// The stream a request's path names (`/stream`, `/stream/`, `/stream/trackID=0`, the same
/// under `/sub`), if any.
pub fn route(path: &str) -> Option<StreamName> {
    let path = path.trim_end_matches('/');
    let (base, track) = match path.rsplit_once('/') {
        Some((base, last)) if last.starts_with("trackID=") => (base, Some(last)),
        _ => (path, None),
    };
    if track.is_some_and(|t| t != concat!("trackID=", "0")) {
        return None;
    }
    match base {
        "/stream" => Some(StreamName::Main),
        "/sub" => Some(StreamName::Sub),
        _ => None,
    }
}

/// How a session's RTP and RTCP reach the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Interleaved in the RTSP connection, on these channels.
    Interleaved { rtp: u8, rtcp: u8 },
    /// UDP unicast to the client's address at these ports.
    Udp { rtp: u16, rtcp: u16 },
}

/// The first transport of a SETUP's `Transport` header pistream can serve: RTP/AVP over
/// TCP (interleaved) or unicast UDP with `client_port`. Multicast, RTP/SAVP and the rest
/// are refused with 461.
pub fn choose_transport(transports: Option<&Transports>) -> Result<Delivery, Refusal> {
    let unsupported = Refusal {
        status: StatusCode::UnsupportedTransport,
        text: "pistream serves RTP/AVP/TCP (interleaved) and RTP/AVP unicast UDP with client_port",
    };
    let Some(transports) = transports else {
        return Err(Refusal { status: StatusCode::BadRequest, text: "SETUP needs a Transport header" });
    };
    for transport in transports.iter() {
        let Transport::Rtp(rtp) = transport else { continue };
        if rtp.profile != RtpProfile::Avp || rtp.params.multicast {
            continue;
        }
        match rtp.lower_transport {
            Some(RtpLowerTransport::Tcp) => {
                let (rtp, rtcp) = match rtp.params.interleaved {
                    Some((a, b)) => (a, b.unwrap_or(a.wrapping_add(1))),
                    None => (0, 1),
                };
                return Ok(Delivery::Interleaved { rtp, rtcp });
            }
            None | Some(RtpLowerTransport::Udp) => {
                if let Some((a, b)) = rtp.params.client_port {
                    if a != 0 {
                        return Ok(Delivery::Udp { rtp: a, rtcp: b.unwrap_or(a.wrapping_add(1)) });
                    }
                }
            }
            _ => {}
        }
    }
    Err(unsupported)
}

/// A request refused: its status and one line saying why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub text: &'static str,
}

/// Where a connection's session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No SETUP yet.
    Init,
    Ready,
    Playing,
}

/// What a request asks the connection to do, once allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Options,
    Describe(StreamName),
    Setup(StreamName),
    Play,
    Pause,
    Teardown,
    /// GET_PARAMETER or SET_PARAMETER: a keep-alive.
    KeepAlive,
}

/// The methods answered, for `Public`.
pub const PUBLIC: &str = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

/// The session's state machine, one per connection.
#[derive(Debug)]
pub struct Conversation {
    pub state: State,
    /// The session's id once SETUP made it.
    pub id: Option<String>,
    /// The stream it is set up for.
    pub stream: Option<StreamName>,
}

impl Conversation {
    pub fn new() -> Conversation {
        Conversation { state: State::Init, id: None, stream: None }
    }

    /// What `method` on `path` with the `Session` header `session` asks for, or why it may
    /// not. Does not change the state: [`Conversation::done`] does once it is done.
    pub fn decide(
        &self,
        method: &Method,
        path: Option<&str>,
        session: Option<&str>,
    ) -> Result<Action, Refusal> {
        let not_found = Refusal { status: StatusCode::NotFound, text: "no such stream: use /stream or /sub" };
        let stream = || path.and_then(route).ok_or(not_found);
        let own_session = || match (session, &self.id) {
            (Some(given), Some(id)) if given == id => Ok(()),
            (None, _) => Err(Refusal {
                status: StatusCode::SessionNotFound,
                text: "this request needs a Session header",
            }),
            _ => Err(Refusal {
                status: StatusCode::SessionNotFound,
                text: "no such session on this connection",
            }),
        };
        let setup_first = Refusal {
            status: StatusCode::MethodNotValidInThisState,
            text: "SETUP a stream first (DESCRIBE, SETUP, then PLAY)",
        };
        match method {
            Method::Options => Ok(Action::Options),
            Method::Describe => Ok(Action::Describe(stream()?)),
            Method::Setup => {
                let name = stream()?;
                if self.id.is_some() {
                    own_session()?;
                    if self.stream != Some(name) {
                        return Err(Refusal {
                            status: StatusCode::AggregateOperationNotAllowed,
                            text: "one stream per session: open another connection for the other",
                        });
                    }
                    if self.state == State::Playing {
                        return Err(Refusal {
                            status: StatusCode::MethodNotValidInThisState,
                            text: "PAUSE before changing the transport",
                        });
                    }
                } else if session.is_some() {
                    own_session()?;
                }
                Ok(Action::Setup(name))
            }
            Method::Play | Method::Pause => {
                if self.state == State::Init {
                    return Err(setup_first);
                }
                own_session()?;
                Ok(if *method == Method::Play { Action::Play } else { Action::Pause })
            }
            Method::Teardown => {
                if self.state != State::Init {
                    own_session()?;
                }
                Ok(Action::Teardown)
            }
            Method::GetParameter | Method::SetParameter => {
                if session.is_some() {
                    own_session()?;
                }
                Ok(Action::KeepAlive)
            }
            Method::Announce | Method::Record | Method::Redirect | Method::PlayNotify => Err(Refusal {
                status: StatusCode::MethodNotAllowed,
                text: "pistream serves video; it does not record what a client sends",
            }),
            Method::Extension(_) => {
                Err(Refusal { status: StatusCode::NotImplemented, text: "not an RTSP method pistream knows" })
            }
        }
    }

    /// Records that `action` was done (a SETUP given session `id`).
    pub fn done(&mut self, action: Action, id: impl FnOnce() -> String) {
        match action {
            Action::Setup(name) => {
                if self.id.is_none() {
                    self.id = Some(id());
                }
                self.stream = Some(name);
                if self.state == State::Init {
                    self.state = State::Ready;
                }
            }
            Action::Play => self.state = State::Playing,
            Action::Pause => self.state = State::Ready,
            Action::Teardown => *self = Conversation::new(),
            Action::Options | Action::Describe(_) | Action::KeepAlive => {}
        }
    }
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transports(text: &str) -> Transports {
        let request = rtsp_types::Request::builder(Method::Setup, rtsp_types::Version::V1_0)
            .header(rtsp_types::headers::TRANSPORT, text)
            .empty();
        request.typed_header::<Transports>().unwrap().unwrap()
    }

    #[test]
    fn urls_name_the_two_streams_and_their_track() {
        assert_eq!(route("/stream"), Some(StreamName::Main));
        assert_eq!(route("/stream/"), Some(StreamName::Main));
        assert_eq!(route("/stream/trackID=0"), Some(StreamName::Main));
        assert_eq!(route("/sub/trackID=0"), Some(StreamName::Sub));
        assert_eq!(route("/stream/trackID=1"), None);
        assert_eq!(route("/"), None);
        assert_eq!(route("/streams"), None);
    }

    #[test]
    fn tcp_and_unicast_udp_are_chosen_and_others_refused() {
        let t = |s| choose_transport(Some(&transports(s)));
        assert_eq!(t("RTP/AVP/TCP;unicast;interleaved=2-3"), Ok(Delivery::Interleaved { rtp: 2, rtcp: 3 }));
        assert_eq!(t("RTP/AVP/TCP;unicast"), Ok(Delivery::Interleaved { rtp: 0, rtcp: 1 }));
        assert_eq!(t("RTP/AVP;unicast;client_port=5000-5001"), Ok(Delivery::Udp { rtp: 5000, rtcp: 5001 }));
        assert_eq!(
            t("RTP/AVP;multicast,RTP/AVP/UDP;unicast;client_port=6000-6001"),
            Ok(Delivery::Udp { rtp: 6000, rtcp: 6001 }),
            "the first one pistream serves"
        );
        assert_eq!(t("RTP/AVP;unicast").unwrap_err().status, StatusCode::UnsupportedTransport);
        assert_eq!(
            t("RTP/SAVP;unicast;client_port=5000-5001").unwrap_err().status,
            StatusCode::UnsupportedTransport
        );
        assert_eq!(choose_transport(None).unwrap_err().status, StatusCode::BadRequest);
    }

    #[test]
    fn the_state_machine_wants_setup_before_play_and_its_own_session() {
        let mut c = Conversation::new();
        assert_eq!(
            c.decide(&Method::Play, Some("/stream"), None).unwrap_err().status,
            StatusCode::MethodNotValidInThisState
        );
        assert_eq!(
            c.decide(&Method::Describe, Some("/nope"), None).unwrap_err().status,
            StatusCode::NotFound
        );
        let setup = c.decide(&Method::Setup, Some("/stream/trackID=0"), None).unwrap();
        c.done(setup, || "abc".into());
        assert_eq!(c.state, State::Ready);
        assert_eq!(
            c.decide(&Method::Play, Some("/stream"), Some("xyz")).unwrap_err().status,
            StatusCode::SessionNotFound
        );
        assert_eq!(
            c.decide(&Method::Play, Some("/stream"), None).unwrap_err().status,
            StatusCode::SessionNotFound
        );
        assert_eq!(
            c.decide(&Method::Setup, Some("/sub"), Some("abc")).unwrap_err().status,
            StatusCode::AggregateOperationNotAllowed
        );
        let play = c.decide(&Method::Play, Some("/stream"), Some("abc")).unwrap();
        c.done(play, || unreachable!());
        assert_eq!(c.state, State::Playing);
        assert_eq!(c.decide(&Method::GetParameter, Some("/stream"), Some("abc")), Ok(Action::KeepAlive));
        assert_eq!(
            c.decide(&Method::Record, Some("/stream"), Some("abc")).unwrap_err().status,
            StatusCode::MethodNotAllowed
        );
        assert_eq!(
            c.decide(&Method::Extension("BREW".into()), None, None).unwrap_err().status,
            StatusCode::NotImplemented
        );
        let teardown = c.decide(&Method::Teardown, Some("/stream"), Some("abc")).unwrap();
        c.done(teardown, || unreachable!());
        assert_eq!((c.state, c.id.as_deref()), (State::Init, None));
    }
}
