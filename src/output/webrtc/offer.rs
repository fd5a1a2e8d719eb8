//! A WHEP offer answered without I/O: the browser's SDP in, a str0m session (`Rtc`) and
//! its SDP answer out, or why not (each reason with the HTTP status it is answered with).
//! The session is ICE-lite (the camera never starts checks; it answers the browser's, on
//! the addresses given here), sends one H.264 video track (Constrained Baseline, what the
//! hub's encoder makes, packetization mode 1) and keeps a short history of sent packets to
//! resend on NACK (str0m resends over RTX, which browsers and aiortc offer).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::format::Codec;
use str0m::media::{Mid, Pt};
use str0m::{Candidate, Output, Rtc};

/// Longest offer accepted: a browser's offer with every codec is 5 to 10 KB.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;
/// Packets of history kept for NACKs: at 640x480 about a second, at 1080p a keyframe and a
/// few frames (str0m also drops what is older than 3 s).
const SEND_HISTORY_PACKETS: usize = 600;
/// Our payload types (the offer's own numbers replace them in the answer).
const H264_PT: u8 = 102;
const RTX_PT: u8 = 103;
/// Constrained Baseline, level 3.1 (the level is only a preference in the match).
const PROFILE_LEVEL_ID: u32 = 0x42e01f;

/// Why an offer is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferError {
    /// Not SDP str0m can read (400).
    Malformed(String),
    /// No video track the camera can send to: no video m-line, or no H.264 Constrained
    /// Baseline with packetization mode 1 in it (406).
    NoH264,
    /// The offer is SDP but cannot be answered (400): why.
    Rejected(String),
}

impl OfferError {
    /// The HTTP status line it is answered with.
    pub fn status(&self) -> &'static str {
        match self {
            OfferError::Malformed(_) | OfferError::Rejected(_) => "400 Bad Request",
            OfferError::NoH264 => "406 Not Acceptable",
        }
    }

    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            OfferError::Malformed(why) => format!("the body is not an SDP offer: {why}\n"),
            OfferError::NoH264 => "the offer has no video this camera can send: it sends H.264 Constrained Baseline (profile-level-id 42e01f) with packetization-mode=1; offer a recvonly video m-line with it\n".into(),
            OfferError::Rejected(why) => format!("the offer cannot be answered: {why}\n"),
        }
    }
}

/// An answered offer: the session, its answer, and where its video goes.
pub struct Answered {
    pub rtc: Rtc,
    /// The SDP answer (CRLF lines).
    pub sdp: String,
    pub mid: Mid,
    /// The H.264 payload type the browser chose.
    pub pt: Pt,
    /// The local candidates given (the addresses ICE checks may arrive on).
    pub locals: Vec<SocketAddr>,
    /// When the session's first timer fires.
    pub due: Instant,
}

/// Answers `offer` with a session whose candidates are `locals` (at least one).
pub fn answer(offer: &str, locals: &[SocketAddr], now: Instant) -> Result<Answered, OfferError> {
    let offer = SdpOffer::from_sdp_string(offer).map_err(|e| OfferError::Malformed(e.to_string()))?;
    let mut config = Rtc::builder()
        .set_ice_lite(true)
        .clear_codecs()
        .set_send_buffer_video(SEND_HISTORY_PACKETS)
        // Egress stats a second: NACKs, PLIs and FIRs for the counters.
        .set_stats_interval(Some(Duration::from_secs(1)));
    config.codec_config().add_h264(H264_PT.into(), Some(RTX_PT.into()), true, PROFILE_LEVEL_ID);
    let mut rtc = config.build(now);
    let mut given = Vec::with_capacity(locals.len());
    for addr in locals {
        if let Ok(candidate) = Candidate::host(*addr, "udp") {
            if rtc.add_local_candidate(candidate).is_some() {
                given.push(*addr);
            }
        }
    }
    if given.is_empty() {
        return Err(OfferError::Rejected("this camera has no address to offer".into()));
    }
    let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| OfferError::Rejected(e.to_string()))?;
    let sdp = answer.to_sdp_string();
    let due = loop {
        match rtc.poll_output() {
            Ok(Output::Timeout(at)) => break at,
            Ok(_) => {}
            Err(e) => return Err(OfferError::Rejected(e.to_string())),
        }
    };
    // The video track the answer accepted (str0m tells of it only once connected).
    let mid = accepted_video_mid(&sdp).ok_or(OfferError::NoH264)?;
    let pt = rtc
        .writer(mid)
        .and_then(|writer| {
            writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::H264 && p.spec().format.packetization_mode == Some(1))
                .map(|p| p.pt())
        })
        .ok_or(OfferError::NoH264)?;
    Ok(Answered { rtc, sdp, mid, pt, locals: given, due })
}

/// The `a=mid` of the first video m-line an answer accepts (a port other than 0).
fn accepted_video_mid(answer: &str) -> Option<Mid> {
    answer.split("\r\nm=").skip(1).find_map(|section| {
        let mut fields = section.split_whitespace();
        if fields.next() != Some("video") || fields.next() == Some("0") {
            return None;
        }
        let mid = section.lines().find_map(|line| line.strip_prefix("a=mid:"))?;
        Some(Mid::from(mid.trim()))
    })
}

#[cfg(test)]
#[path = "offer_tests.rs"]
mod tests;
