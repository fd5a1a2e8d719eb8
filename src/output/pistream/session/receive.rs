//! The receive loop: validated messages off the socket; frames read straight into the
//! buffer that will be shown (BGR), or into the wire decoder's buffer and converted into it
//! (other formats), then handed to the display mailbox.

use std::net::TcpStream;
use std::time::Instant;

use super::control::Control;
use super::messages::MessageReader;
use crate::media::{Frame, Mailbox, PixelFormat};
use crate::output::ending::{Ending, SessionError};
use crate::output::pistream::decode::{Decoded, WireDecoder};
use crate::output::pistream::protocol::{
    ByeReason, Inbound, Negotiated, ProtocolError, Report, BYE_MAX_LEN, REPORT_LEN,
};
use crate::pipeline::stats::Stats;

/// Undecodable H.264 units logged one by one before the log goes quiet (the stats count on).
const LOST_UNITS_LOGGED: u64 = 3;

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
                    let header_at = Instant::now();
                    // What already waits in the kernel came before the header was read:
                    // only the rest times the path (the report's sample).
                    let waiting = crate::net::bytes_waiting(stream);
                    let (mailbox, back) = frames.as_mut().ok_or(ProtocolError::UnexpectedFrame)?;
                    let (Some(geometry), Some(decoder)) = (negotiated.receive, decoder.as_mut()) else {
                        return Err(ProtocolError::UnexpectedFrame.into());
                    };
                    back.ensure_geometry(geometry);
                    let decoded = if format == PixelFormat::Bgr24 {
                        reader.body(stream, &mut back.data[..len], ctl)?;
                        None
                    } else {
                        reader.body(stream, decoder.buffer(len), ctl)?;
                        Some(decoder)
                    };
                    let took = header_at.elapsed().as_micros() as u64;
                    let decoded = match decoded {
                        None => Decoded::Picture,
                        Some(decoder) => decoder.to_bgr(format, len, &mut back.data)?,
                    };
                    let wire_len = reader.header_len() + reader.body_wire_len(len);
                    let body_wire = reader.body_wire_len(len);
                    ctl.feedback.frame_received(wire_len, body_wire.saturating_sub(waiting), took);
                    Stats::add(&stats.received_frames, 1);
                    stats.received_as(format);
                    Stats::add(&stats.received_bytes, wire_len as u64);
                    match decoded {
                        Decoded::Picture => {
                            back.seq = seq;
                            back.captured_us = captured_us;
                            back.arrived_as = format;
                            mailbox.publish(back);
                        }
                        Decoded::Nothing => {}
                        Decoded::Lost(why) => {
                            Stats::add(&stats.undecodable, 1);
                            let n = Stats::get(&stats.undecodable);
                            if n <= LOST_UNITS_LOGGED || n.is_power_of_two() {
                                log::warn!("frame {seq}: an H.264 unit that does not decode ({why}); not shown, asking for a keyframe ({n} so far)");
                            }
                            ctl.rules().want_keyframe();
                        }
                    }
                }
                Inbound::KeyframeRequest => ctl.feedback.keyframe_requested(),
                Inbound::Report { at_us } => {
                    let mut body = [0u8; REPORT_LEN];
                    reader.body(stream, &mut body, ctl)?;
                    ctl.feedback.reported(Report::decode(at_us, &body));
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
