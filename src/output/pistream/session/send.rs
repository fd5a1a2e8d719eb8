//! The send loop: frames the viewer takes from its slot, in the wire format its plan picks
//! for each (`adapt::plan::SendPlan`), and whatever the session's rules say is due: a
//! heartbeat when nothing else went out, the bye at the end.

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::control::Control;
use super::messages::MessageWriter;
use super::rules::Transmit;
use crate::net::POLL_INTERVAL;
use crate::output::ending::{Ending, SessionError};
use crate::output::pistream::adapt::plan::{Change, SendPlan};
use crate::output::pistream::protocol::encode_frame_header;
use crate::pipeline::hub::Viewer;
use crate::pipeline::stats::Stats;

/// Sends the frames `viewer` takes from its slot (when this side sends video) and what the
/// rules say is due, until the session is over or a bye went out.
pub fn send_loop(
    stream: &TcpStream,
    writer: &mut MessageWriter,
    mut send: Option<(&Viewer, SendPlan)>,
    ctl: &Control,
    stats: &Stats,
) -> Result<Ending, SessionError> {
    let result = (|| loop {
        let due = ctl.rules().poll_transmit(Instant::now(), ctl.stopping());
        match due {
            Some(Transmit::Bye(reason, text)) => {
                // Best effort: the peer may already be gone.
                writer.bye(stream, reason, &text, ctl).ok();
                return Ok(Ending::LocalStop);
            }
            Some(Transmit::Heartbeat) => {
                writer.heartbeat(stream, ctl)?;
                ctl.rules().message_sent(Instant::now());
            }
            None => {}
        }
        if ctl.is_over() && !ctl.rules().owes_bye() {
            return Ok(Ending::LocalStop);
        }
        match send.as_mut() {
            Some((viewer, plan)) => {
                if send_one(stream, writer, viewer, plan, ctl, stats)? {
                    ctl.rules().message_sent(Instant::now());
                }
                let offered = viewer.taken.load(Ordering::Relaxed) + viewer.dropped.load(Ordering::Relaxed);
                let change = plan.tick(
                    offered,
                    viewer.dropped.load(Ordering::Relaxed),
                    viewer.sent_bytes.load(Ordering::Relaxed),
                    stream,
                );
                report(viewer, plan, change);
            }
            None => std::thread::sleep(POLL_INTERVAL),
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
    viewer.set_delivery(level);
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
