//! The receive loop: validated messages off the socket; frames read straight into the
//! buffer that will be shown (BGR), or into the wire decoder's buffer and converted into it
//! (other formats), then handed to the display mailbox.

use std::net::TcpStream;
use std::sync::atomic::Ordering;

use super::{Control, MessageReader, SessionEnd, SessionError};
use crate::frame::Frame;
use crate::mailbox::Mailbox;
use crate::protocol::{ByeReason, Inbound, Negotiated, ProtocolError, WireFormat, BYE_MAX_LEN};
use crate::stats::Stats;
use crate::wire::receive::WireDecoder;

/// Reads messages until the peer says bye, the session is over, or something fails.
/// Frames go into `back` and are published to `mailbox` (when this side receives video).
pub fn receive_loop(
    stream: &TcpStream,
    reader: &mut MessageReader,
    mut frames: Option<(&Mailbox, &mut Frame)>,
    negotiated: &Negotiated,
    ctl: &Control,
    stats: &Stats,
) -> Result<SessionEnd, SessionError> {
    let result = (|| {
        let mut decoder = match negotiated.receive {
            Some(geometry) => Some(WireDecoder::new(geometry, negotiated.receive_formats)?),
            None => None,
        };
        loop {
            let Some(inbound) = reader.next(stream, ctl)? else {
                return Ok(SessionEnd::LocalStop);
            };
            match inbound {
                Inbound::Frame { seq, captured_us, format, len } => {
                    let (mailbox, back) = frames.as_mut().ok_or(ProtocolError::UnexpectedFrame)?;
                    let (Some(geometry), Some(decoder)) = (negotiated.receive, decoder.as_mut()) else {
                        return Err(ProtocolError::UnexpectedFrame.into());
                    };
                    back.ensure_geometry(geometry);
                    if format == WireFormat::Bgr24 {
                        reader.body(stream, &mut back.data[..len], ctl)?;
                    } else {
                        reader.body(stream, decoder.buffer(len), ctl)?;
                        decoder.to_bgr(format, len, &mut back.data)?;
                    }
                    back.seq = seq;
                    back.captured_us = captured_us;
                    back.wire = format;
                    mailbox.publish(back);
                    Stats::add(&stats.received_frames, 1);
                    stats.received_format.store(format.code(), Ordering::Relaxed);
                    Stats::add(
                        &stats.received_bytes,
                        (reader.header_len() + reader.body_wire_len(len)) as u64,
                    );
                }
                Inbound::Heartbeat => {}
                Inbound::Bye { len } => {
                    let mut body = [0u8; BYE_MAX_LEN];
                    reader.body(stream, &mut body[..len], ctl)?;
                    let (reason, text) = ByeReason::decode(&body[..len]);
                    return match reason {
                        ByeReason::ProtocolError => Err(SessionError::PeerReported(text)),
                        // Turned away after the handshake (no place left): a refusal.
                        ByeReason::Busy => Err(SessionError::Refused(text)),
                        _ => Ok(SessionEnd::PeerBye { reason, text }),
                    };
                }
            }
        }
    })();
    match &result {
        Err(SessionError::Protocol(e)) => ctl.end_with_bye(ByeReason::ProtocolError, e.to_string()),
        _ => ctl.end(),
    }
    result
}
