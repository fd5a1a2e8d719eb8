//! One RTSP connection, in its own thread: its requests read as they come (parsed by
//! `rtsp-types`; RTCP a client interleaves is read here too), answered in order, and once
//! it plays, each access unit of its stream cut into RTP packets and sent interleaved in
//! this connection or as UDP datagrams, with an RTCP sender report about once a second.
//!
//! Per viewer, nothing is encoded or copied: the access unit is shared with every viewer of
//! the stream (`pipeline::hub`), and each packet goes out as its small head and a slice of
//! that unit in one vectored write (`rtp.rs`). A viewer that cannot keep up skips to the
//! next keyframe in its queue; UDP sends never wait (a full socket buffer drops the packet,
//! counted), so a slow UDP client slows no one.

use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rtsp_types::headers::Transports;
use rtsp_types::{Message, Method, ParseError, StatusCode};
use socket2::SockRef;

use super::rtcp::{read_report, sender_report};
use super::rtp::{self, Framing, Packetizer, Packets};
use super::sdp::{self, ParameterSets};
use super::session::{choose_transport, Action, Conversation, Delivery, Refusal, State, StreamName, PUBLIC};
use crate::output::admission::{Refusal as Busy, Watcher};
use crate::output::Endpoint;
use crate::pipeline::hub::{Delivery as ViewerDelivery, Needs, Subscription, ViewerKind};
use crate::pipeline::stats::Stats;

/// The realm of Digest and Basic challenges.
const REALM: &str = "pistream";
/// The most bytes of requests (and interleaved RTCP) held before they are whole.
const INBOUND_MAX: usize = 16 * 1024;
/// How long a reader waits for a request before looking at everything else again.
const POLL: Duration = Duration::from_millis(50);
/// How long a playing session waits for its next unit before reading requests again (a
/// keep-alive or PAUSE waits at most this long; a shorter wait wakes every playing
/// client's thread more often for nothing, as units come every 33 ms at 30 fps).
const UNIT_WAIT: Duration = Duration::from_millis(50);
/// Sender reports this often.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// How long DESCRIBE waits for the stream's first keyframe (its parameter sets).
const DESCRIBE_WAIT: Duration = Duration::from_secs(3);
/// Packets written in one vectored write over TCP (two slices each).
const BATCH: usize = 32;

/// Serves one RTSP client of `endpoint` until it leaves, times out or the run stops;
/// `admitted` is raised while it plays (holds a viewer place).
pub fn connection(endpoint: &Endpoint, stream: &TcpStream, peer: SocketAddr, admitted: &AtomicBool) {
    let mut connection = Connection::new(endpoint, stream, peer, admitted);
    if let Err(e) = stream.set_read_timeout(Some(POLL)) {
        log::debug!("RTSP {peer}: {e}");
        return;
    }
    let ended = connection.run();
    match ended {
        Ok(why) => log::info!("RTSP {peer} ended: {why}"),
        Err(e) => log::info!("RTSP {peer} ended: {e}"),
    }
}

/// A session's RTP state and where its packets go.
struct Sending {
    delivery: Delivery,
    udp: Option<UdpPair>,
    packetizer: Packetizer,
    packets: Packets,
    /// RTP time = capture time at 90 kHz + this.
    offset: u32,
    report: Vec<u8>,
    next_report: Instant,
    /// UDP packets the socket had no room for.
    dropped_packets: u64,
    /// The capture time of the last unit sent, and when it was sent: RTCP's RTP time is
    /// extrapolated from it on the monotonic clock, so it follows the packets' own time
    /// base (a V4L2 driver's clock, say) even when the wall clock steps.
    last_unit: Option<(u64, Instant)>,
}

/// The server's UDP sockets of a session, connected to the client's ports.
struct UdpPair {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

/// What a playing session holds: its viewer place and its stream's units.
struct Playing<'e> {
    subscription: Subscription,
    watcher: Watcher<'e>,
}

struct Connection<'e> {
    endpoint: &'e Endpoint,
    stream: &'e TcpStream,
    peer: SocketAddr,
    /// Raised while it plays (holds a viewer place): until then the listener counts it as
    /// pending (at most 16, the oldest closed past that), so connections that only ask,
    /// with or without a password, hold neither a place nor more than those threads.
    admitted: &'e AtomicBool,
    inbound: Box<[u8; INBOUND_MAX]>,
    filled: usize,
    conversation: Conversation,
    nonce: String,
    last_heard: Instant,
    sending: Option<Sending>,
    playing: Option<Playing<'e>>,
    /// Units sent to this client, and RTCP receiver reports read.
    units_sent: u64,
    reports_read: u64,
}

impl<'e> Connection<'e> {
    fn new(
        endpoint: &'e Endpoint,
        stream: &'e TcpStream,
        peer: SocketAddr,
        admitted: &'e AtomicBool,
    ) -> Connection<'e> {
        Connection {
            endpoint,
            stream,
            peer,
            admitted,
            inbound: Box::new([0; INBOUND_MAX]),
            filled: 0,
            conversation: Conversation::new(),
            nonce: hex(&random::<16>()),
            last_heard: Instant::now(),
            sending: None,
            playing: None,
            units_sent: 0,
            reports_read: 0,
        }
    }

    fn timeout(&self) -> Duration {
        self.endpoint.rtsp.settings.session_timeout
    }

    /// Runs the connection; returns why it ended.
    fn run(&mut self) -> io::Result<String> {
        loop {
            if self.endpoint.shutdown.requested() {
                return Ok("the camera stops".into());
            }
            if !self.read_input()? {
                return Ok(if self.conversation.state == State::Init {
                    "the client closed the connection".into()
                } else {
                    "the client closed the connection without TEARDOWN".into()
                });
            }
            match self.handle_input()? {
                Flow::Continue => {}
                Flow::Close(why) => return Ok(why),
            }
            self.read_udp_reports();
            if self.playing.is_some() {
                self.send_due()?;
            }
            // Over TCP, a playing client is alive while it takes bytes (write_all's limit);
            // otherwise it must say something within the timeout.
            let tcp_playing = self.playing.is_some()
                && matches!(self.sending.as_ref().map(|s| s.delivery), Some(Delivery::Interleaved { .. }));
            if !tcp_playing && self.last_heard.elapsed() > self.timeout() {
                return Ok(format!("nothing heard for {} s (the session timeout)", self.timeout().as_secs()));
            }
        }
    }

    /// Reads what the client sent: waits up to [`POLL`] unless it plays (then it only
    /// looks). False when the client closed the connection.
    fn read_input(&mut self) -> io::Result<bool> {
        if self.filled == INBOUND_MAX {
            return Ok(true);
        }
        let free = &mut self.inbound[self.filled..];
        let result = if self.playing.is_some() {
            SockRef::from(self.stream).recv_with_flags(as_uninit(free), libc_dontwait())
        } else {
            (&*self.stream).read(free)
        };
        match result {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.filled += n;
                self.last_heard = Instant::now();
                Ok(true)
            }
            Err(e) if crate::net::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Answers every whole request in the input, and reads interleaved RTCP.
    fn handle_input(&mut self) -> io::Result<Flow> {
        while self.filled > 0 {
            if self.inbound[0] == b'$' {
                // Interleaved data from the client (RFC 2326 10.12): RTCP receiver reports.
                if self.filled < 4 {
                    return Ok(Flow::Continue);
                }
                let len = usize::from(u16::from_be_bytes([self.inbound[2], self.inbound[3]]));
                if self.filled < 4 + len {
                    if 4 + len > INBOUND_MAX {
                        return Ok(Flow::Close("interleaved data larger than pistream reads".into()));
                    }
                    return Ok(Flow::Continue);
                }
                if read_report(&self.inbound[4..4 + len]).is_report {
                    self.reports_read += 1;
                }
                self.consume(4 + len);
                continue;
            }
            let parsed = Message::<Vec<u8>>::parse(&self.inbound[..self.filled]);
            match parsed {
                Ok((message, used)) => {
                    self.consume(used);
                    match message {
                        Message::Request(request) => {
                            if let Flow::Close(why) = self.answer(&request)? {
                                return Ok(Flow::Close(why));
                            }
                        }
                        // A response (to nothing pistream asked) or data: not for us.
                        Message::Response(_) | Message::Data(_) => {}
                    }
                }
                Err(ParseError::Incomplete(_)) if self.filled < INBOUND_MAX => return Ok(Flow::Continue),
                Err(ParseError::Incomplete(_)) => {
                    self.respond_plain(StatusCode::BadRequest, None, "", "request over 16 KiB")?;
                    return Ok(Flow::Close("a request over 16 KiB".into()));
                }
                Err(ParseError::Error) => {
                    self.respond_plain(StatusCode::BadRequest, None, "", "not an RTSP request")?;
                    return Ok(Flow::Close("a malformed request".into()));
                }
            }
        }
        Ok(Flow::Continue)
    }

    fn consume(&mut self, used: usize) {
        self.inbound.copy_within(used..self.filled, 0);
        self.filled -= used;
    }

    /// Answers one request.
    fn answer(&mut self, request: &rtsp_types::Request<Vec<u8>>) -> io::Result<Flow> {
        let cseq = request.header(&rtsp_types::headers::CSEQ).map(|v| v.as_str().to_string());
        let cseq = cseq.as_deref();
        let method = request.method();
        let path = request.request_uri().map(|u| u.path().to_string());
        let session = request
            .header(&rtsp_types::headers::SESSION)
            .map(|v| v.as_str().split(';').next().unwrap_or("").trim().to_string());
        log::debug!("RTSP {} {:?} {path:?}", self.peer, method);
        let action = match self.conversation.decide(method, path.as_deref(), session.as_deref()) {
            Ok(action) => action,
            Err(refusal) => return self.refuse(refusal, cseq),
        };
        if action != Action::Options {
            if let Some(refusal) = self.auth_refusal(request, method) {
                let (status, challenge, text) = refusal;
                self.respond_plain(status, cseq, &challenge, text)?;
                return Ok(Flow::Continue);
            }
        }
        let Some(hub) = self.endpoint.hub.as_ref() else {
            self.respond_plain(
                StatusCode::NotFound,
                cseq,
                "",
                "this endpoint shows video; it has no camera",
            )?;
            return Ok(Flow::Continue);
        };
        let url = request.request_uri().map(|u| u.to_string()).unwrap_or_default();
        match action {
            Action::Options => {
                self.respond(StatusCode::Ok, cseq, &format!("Public: {PUBLIC}\r\n"), "", b"")?;
            }
            Action::Describe(name) => {
                let Some(sets) = self.parameter_sets(name) else {
                    self.respond_plain(
                        StatusCode::ServiceUnavailable,
                        cseq,
                        "Retry-After: 5\r\n",
                        "the stream has no picture yet (or every viewer place is taken); try again",
                    )?;
                    return Ok(Flow::Continue);
                };
                let server_ip =
                    self.stream.local_addr().map(|a| a.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
                let fps = self.stream_fps(name);
                let body = sdp::describe(&sets, server_ip, u64::from_be_bytes(random::<8>()) >> 1, fps);
                let base = if url.ends_with('/') { url.clone() } else { format!("{url}/") };
                self.respond(
                    StatusCode::Ok,
                    cseq,
                    &format!("Content-Base: {base}\r\n"),
                    "application/sdp",
                    body.as_bytes(),
                )?;
            }
            Action::Setup(name) => {
                let transports = match request.typed_header::<Transports>() {
                    Ok(t) => t,
                    Err(_) => {
                        return self.refuse(
                            Refusal {
                                status: StatusCode::BadRequest,
                                text: "a Transport header pistream cannot read",
                            },
                            cseq,
                        );
                    }
                };
                let delivery = match choose_transport(transports.as_ref()) {
                    Ok(d) => d,
                    Err(refusal) => return self.refuse(refusal, cseq),
                };
                let sending = match self.sending_for(delivery) {
                    Ok(s) => s,
                    Err(e) => {
                        log::warn!("RTSP {}: cannot open UDP ports: {e}", self.peer);
                        self.respond_plain(
                            StatusCode::InternalServerError,
                            cseq,
                            "",
                            "cannot open UDP ports",
                        )?;
                        return Ok(Flow::Continue);
                    }
                };
                let transport = transport_reply(&sending);
                self.sending = Some(sending);
                self.conversation.done(action, || hex(&random::<8>()));
                let _ = name;
                let session = self.session_header();
                self.respond(StatusCode::Ok, cseq, &format!("Transport: {transport}\r\n{session}"), "", b"")?;
            }
            Action::Play => {
                if self.playing.is_none() {
                    let name = self.conversation.stream.unwrap_or(StreamName::Main);
                    match self.start_playing(hub, name) {
                        Ok(playing) => {
                            self.playing = Some(playing);
                            self.admitted.store(true, Ordering::Relaxed);
                            if matches!(
                                self.sending.as_ref().map(|s| s.delivery),
                                Some(Delivery::Interleaved { .. })
                            ) {
                                // At most 32 KiB not yet sent in the kernel (a third of a second at
                                // the default 640x480 bitrate): on a slow link, newer units wait in
                                // this viewer's queue, which skips to a keyframe when it falls a
                                // GOP behind, rather than as seconds of backlog in the socket.
                                let socket = SockRef::from(self.stream);
                                let _ = socket.set_send_buffer_size(1 << 20);
                                let _ = socket.set_tcp_notsent_lowat(32 * 1024);
                            }
                        }
                        Err(PlayError::Busy(busy)) => {
                            log::info!("refused RTSP {}: {busy}", self.peer);
                            self.respond_plain(
                                StatusCode::ServiceUnavailable,
                                cseq,
                                "Retry-After: 5\r\n",
                                &format!(
                                    "{} viewers already watch this camera (--max-viewers); try again later",
                                    hub.max_viewers()
                                ),
                            )?;
                            return Ok(Flow::Continue);
                        }
                        Err(PlayError::Encoder(why)) => {
                            log::warn!("RTSP {}: {why}", self.peer);
                            self.respond_plain(StatusCode::InternalServerError, cseq, "", &why)?;
                            return Ok(Flow::Continue);
                        }
                    }
                    log::info!("RTSP {} plays {}", self.peer, name.path());
                }
                self.conversation.done(action, String::new);
                let sending = self.sending.as_ref().expect("SETUP made the sending state");
                // The newest frame's capture time, on the clock the packets' timestamps use.
                let media_now = hub.latest().map_or_else(now_us, |frame| frame.captured_us);
                let rtp_info = format!(
                    "RTP-Info: url={}/{};seq={};rtptime={}\r\nRange: npt=now-\r\n",
                    url.trim_end_matches('/').trim_end_matches(sdp::TRACK).trim_end_matches('/'),
                    sdp::TRACK,
                    sending.packetizer.sequence,
                    rtp::timestamp(media_now, sending.offset)
                );
                let session = self.session_header();
                self.respond(StatusCode::Ok, cseq, &format!("{rtp_info}{session}"), "", b"")?;
            }
            Action::Pause => {
                self.playing = None;
                self.admitted.store(false, Ordering::Relaxed);
                self.conversation.done(action, String::new);
                let session = self.session_header();
                self.respond(StatusCode::Ok, cseq, &session, "", b"")?;
            }
            Action::Teardown => {
                let session = self.session_header();
                self.playing = None;
                self.sending = None;
                self.conversation.done(action, String::new);
                self.respond(StatusCode::Ok, cseq, &session, "", b"")?;
                return Ok(Flow::Close("TEARDOWN".into()));
            }
            Action::KeepAlive => {
                let session = self.session_header();
                self.respond(StatusCode::Ok, cseq, &session, "", b"")?;
            }
        }
        Ok(Flow::Continue)
    }

    fn refuse(&mut self, refusal: Refusal, cseq: Option<&str>) -> io::Result<Flow> {
        log::info!("RTSP {}: {} {}", self.peer, u16::from(refusal.status), refusal.text);
        let allow = if refusal.status == StatusCode::MethodNotAllowed {
            format!("Allow: {PUBLIC}\r\n")
        } else {
            String::new()
        };
        self.respond_plain(refusal.status, cseq, &allow, refusal.text)?;
        Ok(Flow::Continue)
    }

    /// Why a request may not be served: no or wrong credentials (401, with a Digest and
    /// a Basic challenge), a keyed camera with no password file (403).
    fn auth_refusal(
        &self,
        request: &rtsp_types::Request<Vec<u8>>,
        method: &Method,
    ) -> Option<(StatusCode, String, &'static str)> {
        let authorization = request.header(&rtsp_types::headers::AUTHORIZATION).map(|v| v.as_str());
        match &self.endpoint.web.credentials {
            Some(credentials) => {
                let method_name = method_name(method);
                let uri = request.request_uri().map(|u| u.as_str()).unwrap_or("*");
                if credentials.accepts(authorization)
                    || credentials.accepts_digest(authorization, method_name, uri, REALM, &self.nonce)
                {
                    return None;
                }
                let challenge = format!(
                    "WWW-Authenticate: Digest realm=\"{REALM}\", nonce=\"{}\", algorithm=MD5\r\nWWW-Authenticate: Basic realm=\"{REALM}\"\r\n",
                    self.nonce
                );
                Some((
                    StatusCode::Unauthorized,
                    challenge,
                    "a user name and password are needed (the camera's --password-file)",
                ))
            }
            None if self.endpoint.key.is_some() => Some((
                StatusCode::Forbidden,
                String::new(),
                "this camera has --key-file, so RTSP is off until it is started with --password-file too",
            )),
            None => None,
        }
    }

    /// The stream's parameter sets: known already, or from its first keyframe (the
    /// encoder asked for one), watched for a moment as a viewer.
    fn parameter_sets(&self, name: StreamName) -> Option<ParameterSets> {
        if let Some(sets) = self.endpoint.rtsp.parameter_sets(name) {
            return Some(sets);
        }
        let hub = self.endpoint.hub.as_ref()?;
        let visitor =
            hub.join(format!("{} (RTSP DESCRIBE)", self.peer), ViewerKind::Rtsp, Needs::NONE).ok()?;
        let mut subscription = super::streams::subscribe(self.endpoint, &visitor, name).ok()?;
        subscription.request_keyframe();
        let deadline = Instant::now() + DESCRIBE_WAIT;
        while Instant::now() < deadline {
            if let Some(unit) = subscription.take(Duration::from_millis(100)) {
                let sets = ParameterSets::of(&unit.data)?;
                self.endpoint.rtsp.learn(name, sets.clone());
                return Some(sets);
            }
        }
        None
    }

    fn stream_fps(&self, name: StreamName) -> f64 {
        super::streams::settings(self.endpoint, name).map_or(0.0, |s| s.fps)
    }

    /// The RTP state of a new SETUP (a random SSRC, sequence number and time offset), and
    /// for UDP the server's sockets, connected to the client's ports.
    fn sending_for(&self, delivery: Delivery) -> io::Result<Sending> {
        let udp = match delivery {
            Delivery::Udp { rtp, rtcp } => {
                let local = self.stream.local_addr()?.ip();
                let client = self.peer.ip();
                let (rtp_socket, rtcp_socket) = udp_port_pair(local)?;
                rtp_socket.connect(SocketAddr::new(client, rtp))?;
                rtcp_socket.connect(SocketAddr::new(client, rtcp))?;
                for socket in [&rtp_socket, &rtcp_socket] {
                    socket.set_nonblocking(true)?;
                }
                // Room for a keyframe's datagrams: a full buffer drops packets, never waits.
                let _ = SockRef::from(&rtp_socket).set_send_buffer_size(1 << 20);
                Some(UdpPair { rtp: rtp_socket, rtcp: rtcp_socket })
            }
            Delivery::Interleaved { .. } => None,
        };
        let ids = random::<10>();
        Ok(Sending {
            delivery,
            udp,
            packetizer: Packetizer::new(
                u32::from_be_bytes([ids[0], ids[1], ids[2], ids[3]]),
                u16::from_be_bytes([ids[4], ids[5]]),
            ),
            packets: Packets::with_capacity(256),
            offset: u32::from_be_bytes([ids[6], ids[7], ids[8], ids[9]]),
            report: Vec::with_capacity(64),
            next_report: Instant::now(),
            dropped_packets: 0,
            last_unit: None,
        })
    }

    fn session_header(&self) -> String {
        match &self.conversation.id {
            Some(id) => format!("Session: {id};timeout={}\r\n", self.timeout().as_secs()),
            None => String::new(),
        }
    }

    /// Takes a viewer place and subscribes it to the stream, asking for a keyframe.
    fn start_playing(
        &self,
        hub: &std::sync::Arc<crate::pipeline::hub::Hub>,
        name: StreamName,
    ) -> Result<Playing<'e>, PlayError> {
        let endpoint: &'e Endpoint = self.endpoint;
        let watcher = endpoint
            .watch(format!("{} rtsp{}", self.peer, name.path()), ViewerKind::Rtsp, Needs::NONE)
            .map_err(PlayError::Busy)?
            .ok_or_else(|| PlayError::Encoder("no camera".into()))?;
        let _ = hub;
        let subscription = super::streams::subscribe(endpoint, &watcher, name).map_err(PlayError::Encoder)?;
        watcher.set_delivery(ViewerDelivery::h264(super::streams::bitrate(endpoint, name)));
        subscription.request_keyframe();
        Ok(Playing { subscription, watcher })
    }

    /// Sends the next unit if one is there (waiting a little for it) and a sender report
    /// when one is due.
    fn send_due(&mut self) -> io::Result<()> {
        let limit = self.timeout();
        let (Some(playing), Some(sending)) = (self.playing.as_mut(), self.sending.as_mut()) else {
            return Ok(());
        };
        let unit = playing.subscription.take(UNIT_WAIT);
        if let Some(unit) = unit {
            let timestamp = rtp::timestamp(unit.captured_us, sending.offset);
            let framing = match sending.delivery {
                Delivery::Interleaved { rtp, .. } => Framing::Interleaved(rtp),
                Delivery::Udp { .. } => Framing::Datagram,
            };
            sending.packetizer.cut(&unit.data, timestamp, framing, &mut sending.packets);
            let bytes = send_packets(self.stream, sending, &unit.data, self.endpoint, limit)?;
            sending.last_unit = Some((unit.captured_us, Instant::now()));
            playing.watcher.sent_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
            Stats::add(&self.endpoint.stats.sent_frames, 1);
            Stats::add(&self.endpoint.stats.sent_bytes, bytes as u64);
            self.units_sent += 1;
        }
        if let (true, Some((captured_us, sent_at))) =
            (Instant::now() >= sending.next_report, sending.last_unit)
        {
            sending.next_report += REPORT_INTERVAL;
            if sending.next_report < Instant::now() {
                sending.next_report = Instant::now() + REPORT_INTERVAL;
            }
            let media_now = captured_us + sent_at.elapsed().as_micros() as u64;
            let p = &sending.packetizer;
            sender_report(
                p.ssrc,
                now_us(),
                rtp::timestamp(media_now, sending.offset),
                p.packet_count,
                p.octet_count,
                &mut sending.report,
            );
            match (&sending.delivery, &sending.udp) {
                (Delivery::Interleaved { rtcp, .. }, _) => {
                    let frame = [b'$', *rtcp, (sending.report.len() >> 8) as u8, sending.report.len() as u8];
                    write_all(
                        self.stream,
                        &mut [IoSlice::new(&frame), IoSlice::new(&sending.report)],
                        self.endpoint,
                        limit,
                    )?;
                }
                (Delivery::Udp { .. }, Some(udp)) => {
                    let _ = udp.rtcp.send(&sending.report);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads RTCP the client sends to the session's UDP ports: it is alive.
    fn read_udp_reports(&mut self) {
        let Some(udp) = self.sending.as_ref().and_then(|s| s.udp.as_ref()) else { return };
        let mut buf = [0u8; 1500];
        for socket in [&udp.rtcp, &udp.rtp] {
            while let Ok(n) = socket.recv(&mut buf) {
                self.last_heard = Instant::now();
                if read_report(&buf[..n]).is_report {
                    self.reports_read += 1;
                }
            }
        }
    }

    /// A response with `headers` (each ending in CRLF) and a body of `content_type`.
    fn respond(
        &self,
        status: StatusCode,
        cseq: Option<&str>,
        headers: &str,
        content_type: &str,
        body: &[u8],
    ) -> io::Result<()> {
        let code = u16::from(status);
        let mut head = format!("RTSP/1.0 {code} {}\r\n", reason(code));
        if let Some(cseq) = cseq {
            head.push_str(&format!("CSeq: {cseq}\r\n"));
        }
        head.push_str("Server: pistream\r\n");
        head.push_str(headers);
        if !content_type.is_empty() {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        if !body.is_empty() || !content_type.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        write_all(
            self.stream,
            &mut [IoSlice::new(head.as_bytes()), IoSlice::new(body)],
            self.endpoint,
            self.timeout(),
        )
    }

    /// A response whose body is one line of text.
    fn respond_plain(
        &self,
        status: StatusCode,
        cseq: Option<&str>,
        headers: &str,
        text: &str,
    ) -> io::Result<()> {
        let body = format!("{text}\n");
        self.respond(status, cseq, headers, "text/plain", body.as_bytes())
    }
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        if self.units_sent > 0 {
            let dropped = self.sending.as_ref().map_or(0, |s| s.dropped_packets);
            log::debug!(
                "RTSP {}: {} units sent, {dropped} UDP packets dropped, {} receiver reports",
                self.peer,
                self.units_sent,
                self.reports_read
            );
        }
    }
}

enum Flow {
    Continue,
    Close(String),
}

enum PlayError {
    Busy(Busy),
    Encoder(String),
}

/// Writes the unit's packets: over TCP in vectored batches, over UDP one datagram each
/// (a full socket buffer drops the packet). Returns the bytes sent.
fn send_packets(
    stream: &TcpStream,
    sending: &mut Sending,
    unit: &[u8],
    endpoint: &Endpoint,
    limit: Duration,
) -> io::Result<usize> {
    let packets = &sending.packets;
    let mut bytes = 0;
    match &sending.udp {
        None => {
            let mut i = 0;
            while i < packets.list.len() {
                let end = (i + BATCH).min(packets.list.len());
                let mut slices = [IoSlice::new(&[]); 2 * BATCH];
                for (k, n) in (i..end).enumerate() {
                    let (head, payload) = packets.parts(unit, n);
                    slices[2 * k] = IoSlice::new(head);
                    slices[2 * k + 1] = IoSlice::new(payload);
                    bytes += head.len() + payload.len();
                }
                write_all(stream, &mut slices[..2 * (end - i)], endpoint, limit)?;
                i = end;
            }
        }
        Some(udp) => {
            let socket = SockRef::from(&udp.rtp);
            for n in 0..packets.list.len() {
                let (head, payload) = packets.parts(unit, n);
                match socket.send_vectored(&[IoSlice::new(head), IoSlice::new(payload)]) {
                    Ok(sent) => bytes += sent,
                    // No room, or the client's port is closed (ICMP): dropped, counted.
                    Err(_) => sending.dropped_packets += 1,
                }
            }
        }
    }
    Ok(bytes)
}

/// Writes every byte of `parts`; fails once the client took nothing for `limit`, or the
/// run stops.
fn write_all(
    stream: &TcpStream,
    parts: &mut [IoSlice<'_>],
    endpoint: &Endpoint,
    limit: Duration,
) -> io::Result<()> {
    let mut parts = parts;
    let mut last_progress = Instant::now();
    while !parts.is_empty() {
        match (&*stream).write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                IoSlice::advance_slices(&mut parts, n);
                last_progress = Instant::now();
            }
            Err(e) if crate::net::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                if endpoint.shutdown.requested() {
                    return Err(io::Error::other("the camera stops"));
                }
                if last_progress.elapsed() >= limit {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client took nothing for the session timeout",
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Two UDP sockets on `local` at an even port and the next one (RTP's and RTCP's, as RFC
/// 3550 asks and strict clients check).
fn udp_port_pair(local: IpAddr) -> io::Result<(UdpSocket, UdpSocket)> {
    let mut last_error = io::Error::other("no free pair of UDP ports");
    for _ in 0..64 {
        let probe = UdpSocket::bind(SocketAddr::new(local, 0))?;
        let port = probe.local_addr()?.port();
        let even = port & !1;
        if even == 0 {
            continue;
        }
        let rtp = if port == even {
            probe
        } else {
            drop(probe);
            match UdpSocket::bind(SocketAddr::new(local, even)) {
                Ok(s) => s,
                Err(e) => {
                    last_error = e;
                    continue;
                }
            }
        };
        match UdpSocket::bind(SocketAddr::new(local, even + 1)) {
            Ok(rtcp) => return Ok((rtp, rtcp)),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// The `Transport` header of a SETUP's answer.
fn transport_reply(sending: &Sending) -> String {
    let ssrc = sending.packetizer.ssrc;
    match (sending.delivery, &sending.udp) {
        (Delivery::Interleaved { rtp, rtcp }, _) => {
            format!("RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp};ssrc={ssrc:08X}")
        }
        (Delivery::Udp { rtp, rtcp }, Some(udp)) => {
            let port = |s: &UdpSocket| s.local_addr().map(|a| a.port()).unwrap_or(0);
            format!(
                "RTP/AVP;unicast;client_port={rtp}-{rtcp};server_port={}-{};ssrc={ssrc:08X}",
                port(&udp.rtp),
                port(&udp.rtcp)
            )
        }
        (Delivery::Udp { rtp, rtcp }, None) => {
            format!("RTP/AVP;unicast;client_port={rtp}-{rtcp};ssrc={ssrc:08X}")
        }
    }
}

fn method_name(method: &Method) -> &str {
    match method {
        Method::Describe => "DESCRIBE",
        Method::GetParameter => "GET_PARAMETER",
        Method::Options => "OPTIONS",
        Method::Pause => "PAUSE",
        Method::Play => "PLAY",
        Method::PlayNotify => "PLAY_NOTIFY",
        Method::Redirect => "REDIRECT",
        Method::Setup => "SETUP",
        Method::SetParameter => "SET_PARAMETER",
        Method::Announce => "ANNOUNCE",
        Method::Record => "RECORD",
        Method::Teardown => "TEARDOWN",
        Method::Extension(name) => name,
    }
}

/// The reason phrase of the status codes pistream answers with.
fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        459 => "Aggregate Operation Not Allowed",
        461 => "Unsupported Transport",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// `N` random bytes (session ids, nonces, SSRCs); the clock's bits if the OS cannot give any.
fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        let t = now_us().to_le_bytes();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = t[i % 8] ^ (i as u8).wrapping_mul(151);
        }
    }
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn as_uninit(buf: &mut [u8]) -> &mut [std::mem::MaybeUninit<u8>] {
    // SAFETY: initialised bytes are valid MaybeUninit<u8>, and recv only writes bytes.
    unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) }
}

fn libc_dontwait() -> i32 {
    nix::sys::socket::MsgFlags::MSG_DONTWAIT.bits()
}
