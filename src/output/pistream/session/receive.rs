//! The receive loop: validated messages off the socket; frames read straight into the
//! buffer that will be shown (BGR), or into the wire decoder's buffer and converted into it
//! (other formats), then handed to the display mailbox.

use std::net::TcpStream;

use super::control::Control;
use super::messages::MessageReader;
use crate::media::{Frame, Mailbox, PixelFormat};
use crate::output::ending::{Ending, SessionError};
use crate::output::pistream::decode::WireDecoder;
use crate::output::pistream::protocol::{ByeReason, Inbound, Negotiated, ProtocolError, BYE_MAX_LEN};
use crate::pipeline::stats::Stats;

/// Reads messages until the peer says bye, the session is over, or something fails.
/// Frames go into `back` and are published to `mailbox` (when this side receives video).
pub fn receive_loop(
    stream: &TcpStream,
    reader: &mut MessageReader,
    mut frames: Option<(&Mailbox, &mut Frame)>,
    negotiated: &Negotiated,
    ctl: &Control,
    stats: &Stats,
) -> Result<Ending, SessionError> {
    let result = (|| {
        let mut decoder = match negotiated.receive {
            Some(geometry) => Some(WireDecoder::new(geometry, negotiated.receive_formats)?),
            None => None,
        };
        loop {
            let Some(inbound) = reader.next(stream, ctl)? else {
                return Ok(Ending::LocalStop);
            };
            match inbound {
                Inbound::Frame { seq, captured_us, format, len } => {
                    let (mailbox, back) = frames.as_mut().ok_or(ProtocolError::UnexpectedFrame)?;
                    let (Some(geometry), Some(decoder)) = (negotiated.receive, decoder.as_mut()) else {
                        return Err(ProtocolError::UnexpectedFrame.into());
                    };
                    back.ensure_geometry(geometry);
                    if format == PixelFormat::Bgr24 {
                        reader.body(stream, &mut back.data[..len], ctl)?;
                    } else {
                        reader.body(stream, decoder.buffer(len), ctl)?;
                        decoder.to_bgr(format, len, &mut back.data)?;
                    }
                    back.seq = seq;
                    back.captured_us = captured_us;
                    back.arrived_as = format;
                    mailbox.publish(back);
                    Stats::add(&stats.received_frames, 1);
                    stats.received_as(format);
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
                        _ => Ok(Ending::PeerEnded(text)),
                    };
                }
            }
        }
    })();
    if let Err(e) = &result {
        ctl.rules().receiver_failed(e);
    }
    ctl.end();
    result
}
