//! The send loop: frames the viewer takes from its slot, in the wire format its plan picks
//! for each (`wire::send::SendPlan`), heartbeats when there is nothing else to send, and the
//! bye at the end.

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{Control, MessageWriter, SessionEnd, SessionError, HEARTBEAT_INTERVAL};
use crate::hub::Viewer;
use crate::net::POLL_INTERVAL;
use crate::protocol::{encode_frame_header, ByeReason};
use crate::stats::Stats;
use crate::wire::send::{Change, SendPlan};

/// Sends the frames `viewer` takes from its slot (when this side sends video) and
/// heartbeats, until the session is over or shutdown is requested, then says bye.
pub fn send_loop(
    stream: &TcpStream,
    writer: &mut MessageWriter,
    mut send: Option<(&Viewer, SendPlan)>,
    ctl: &Control,
    stats: &Stats,
) -> Result<SessionEnd, SessionError> {
    let result = (|| {
        let mut last_sent = Instant::now();
        loop {
            let pending = ctl.pending_bye.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some((reason, text)) = pending {
                writer.bye(stream, reason, &text, ctl).ok();
                return Ok(SessionEnd::LocalStop);
            }
            if ctl.shutdown.requested() {
                let why = ctl.shutdown.reason().unwrap_or_else(|| "stopped".into());
                // Best effort: the peer may already be gone.
                writer.bye(stream, ByeReason::Finished, &why, ctl).ok();
                return Ok(SessionEnd::LocalStop);
            }
            if ctl.is_over() {
                return Ok(SessionEnd::LocalStop);
            }
            let sent_frame = match send.as_mut() {
                Some((viewer, plan)) => {
                    let sent = send_one(stream, writer, viewer, plan, ctl, stats)?;
                    let offered =
                        viewer.taken.load(Ordering::Relaxed) + viewer.dropped.load(Ordering::Relaxed);
                    let change = plan.tick(
                        offered,
                        viewer.dropped.load(Ordering::Relaxed),
                        viewer.sent_bytes.load(Ordering::Relaxed),
                        stream,
                    );
                    report(viewer, plan, change);
                    sent
                }
                None => {
                    std::thread::sleep(POLL_INTERVAL);
                    false
                }
            };
            if sent_frame {
                last_sent = Instant::now();
            } else if last_sent.elapsed() >= HEARTBEAT_INTERVAL {
                writer.heartbeat(stream, ctl)?;
                last_sent = Instant::now();
            }
        }
    })();
    ctl.end();
    result
}

/// Sends the next frame from the viewer's slot, if one comes within a poll interval;
/// returns whether one was sent.
fn send_one(
    stream: &TcpStream,
    writer: &mut MessageWriter,
    viewer: &Viewer,
    plan: &mut SendPlan,
    ctl: &Control,
    stats: &Stats,
) -> Result<bool, SessionError> {
    let Some(frame) = viewer.take(POLL_INTERVAL) else { return Ok(false) };
    let Some((format, bytes, level, probe)) = plan.payload(&frame, stream) else { return Ok(false) };
    let header = encode_frame_header(frame.seq, frame.captured_us, format, bytes.len());
    let started = Instant::now();
    let wire_len = writer.write(stream, &header, bytes, ctl)? as u64;
    let len = bytes.len();
    drop(frame);
    viewer.sent_bytes.fetch_add(wire_len, Ordering::Relaxed);
    viewer.set_wire(level);
    Stats::add(&stats.sent_frames, 1);
    Stats::add(&stats.sent_bytes, wire_len);
    if ctl.send_limit.is_some_and(|limit| Stats::get(&stats.sent_frames) >= limit) {
        ctl.shutdown.request(format!("sent {} frames", Stats::get(&stats.sent_frames)));
    }
    let change = plan.sent(level, len, probe.map(|state| (state, started)), stream);
    report(viewer, plan, change);
    Ok(true)
}

/// Logs a switch of the wire format, and tells the capture stage what the viewer now needs.
fn report(viewer: &Viewer, plan: &SendPlan, change: Change) {
    if let Change::Switched { from, to, mbit } = change {
        log::info!(
            "{}: the link carries about {mbit:.0} Mbit/s: sending {to} instead of {from}",
            viewer.name
        );
    }
    viewer.set_needs(plan.needs());
}
