//! The send loop: frames the viewer takes from its slot, in the wire format its plan picks
//! for each (`adapt::plan::SendPlan`), or, while the plan says H.264, the units of the shared
//! encoder of that bitrate (`pipeline::h264`: the viewer subscribes, from a keyframe on); and
//! whatever the session's rules say is due: a keyframe request or a report when this side
//! receives video, a heartbeat when nothing else went out, the bye at the end. The peer's
//! reports and keyframe requests (read by the receive loop) go to the plan and the encoder.

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::control::Control;
use super::messages::MessageWriter;
use super::rules::Transmit;
use crate::codec::h264::H264Settings;
use crate::media::PixelFormat;
use crate::net::POLL_INTERVAL;
use crate::output::ending::{Ending, SessionError};
use crate::output::pistream::adapt::plan::{Change, SendPlan};
use crate::output::pistream::protocol::encode_frame_header;
use crate::pipeline::h264;
use crate::pipeline::hub::{Delivery, Hub, Subscription, Viewer, ViewerGuard};
use crate::pipeline::stats::Stats;

/// What a side that sends video brings to a session: its viewer place, the plan of how its
/// frames go on the wire, and what it takes to make its H.264.
pub struct SendSide<'m> {
    pub viewer: &'m ViewerGuard,
    pub plan: SendPlan,
    pub h264: H264Source,
}

/// Where H.264 comes from for a viewer: the camera's hub, the stream's settings but the
/// bitrate (which the plan picks), and the camera's own format.
#[derive(Clone)]
pub struct H264Source {
    pub hub: Arc<Hub>,
    pub settings: H264Settings,
    pub native: Option<PixelFormat>,
}

/// The viewer's subscription to the H.264 encoder of one bitrate.
struct H264Sending {
    subscription: Subscription,
    bitrate: u32,
}

/// The viewer's H.264 subscriptions: the one its units come from, and the one of a new
/// bitrate, which takes over once its first keyframe is there (make before break: a
/// switch of bitrate never leaves the viewer without units).
#[derive(Default)]
struct H264Units {
    current: Option<H264Sending>,
    pending: Option<H264Sending>,
}

impl H264Units {
    /// Subscribes to `bitrate` unless it is already the current one or pending.
    fn want(&mut self, side: &SendSide<'_>, bitrate: u32) -> Result<(), SessionError> {
        if self.current.as_ref().is_some_and(|h| h.bitrate == bitrate) {
            self.pending = None;
            return Ok(());
        }
        if self.pending.as_ref().is_some_and(|h| h.bitrate == bitrate) {
            return Ok(());
        }
        let settings = H264Settings { bitrate, ..side.h264.settings };
        let subscription =
            h264::subscribe(&side.h264.hub, side.viewer, settings, side.h264.native).map_err(|why| {
                SessionError::Io { context: "starting H.264", source: std::io::Error::other(why) }
            })?;
        self.pending = Some(H264Sending { subscription, bitrate });
        Ok(())
    }

    /// The subscription to send from: the pending one once it has its keyframe, or when
    /// there is nothing else (`bridged` false: no frames to send meanwhile).
    fn source(&mut self, bridged: bool) -> Option<&mut Subscription> {
        let ready = self.pending.as_ref().is_some_and(|p| p.subscription.ready());
        if ready || (self.current.is_none() && !bridged) {
            if let Some(pending) = self.pending.take() {
                self.current = Some(pending);
            }
        }
        self.current.as_mut().map(|h| &mut h.subscription)
    }

    fn request_keyframe(&self) {
        for sending in [&self.current, &self.pending].into_iter().flatten() {
            sending.subscription.request_keyframe();
        }
    }

    fn queued(&self) -> u64 {
        self.current.as_ref().map_or(0, |h| h.subscription.queued() as u64)
    }
}

/// Sends the frames (or H.264 units) of `send`'s viewer when this side sends video, and
/// what the rules say is due, until the session is over or a bye went out.
pub fn send_loop(
    stream: &TcpStream,
    writer: &mut MessageWriter,
    mut send: Option<SendSide<'_>>,
    ctl: &Control,
    stats: &Stats,
) -> Result<Ending, SessionError> {
    let mut h264 = H264Units::default();
    let result = (|| loop {
        let due = ctl.rules().poll_transmit(Instant::now(), ctl.stopping());
        match due {
            Some(Transmit::Bye(reason, text)) => {
                // Best effort: the peer may already be gone.
                writer.bye(stream, reason, &text, ctl).ok();
                return Ok(Ending::LocalStop);
            }
            Some(transmit) => {
                match transmit {
                    Transmit::KeyframeRequest => writer.keyframe_request(stream, ctl)?,
                    Transmit::Report => writer.report(stream, &ctl.feedback.report(), ctl)?,
                    _ => writer.heartbeat(stream, ctl)?,
                };
                ctl.rules().transmitted(&transmit, Instant::now());
            }
            None => {}
        }
        if ctl.is_over() && !ctl.rules().owes_bye() {
            return Ok(Ending::LocalStop);
        }
        let Some(side) = send.as_mut() else {
            std::thread::sleep(POLL_INTERVAL);
            continue;
        };
        let viewer: &Viewer = side.viewer;
        if let Some(report) = ctl.feedback.take_report() {
            let change = side.plan.report(report);
            log_change(viewer, &side.plan, change);
        }
        let level = side.plan.level();
        let sent = if level.format == PixelFormat::H264 {
            h264.want(side, level.bitrate())?;
            if ctl.feedback.take_keyframe_request() {
                h264.request_keyframe();
            }
            if side.plan.probing() {
                // A probe of a frame level (JPEG) between the units, once the link is idle.
                send_one(stream, writer, viewer, &mut side.plan, ctl, stats)?;
            }
            match h264.source(side.plan.bridge().is_some()) {
                Some(subscription) => {
                    send_unit(stream, writer, viewer, subscription, &mut side.plan, level, ctl, stats)?
                }
                // Until H.264's first keyframe: frames at the level before.
                None => send_one(stream, writer, viewer, &mut side.plan, ctl, stats)?,
            }
        } else {
            // Leaving H.264 unsubscribes (an encoder stops with its last viewer).
            h264 = H264Units::default();
            ctl.feedback.take_keyframe_request();
            send_one(stream, writer, viewer, &mut side.plan, ctl, stats)?
        };
        if sent {
            ctl.rules().message_sent(Instant::now());
        }
        let offered = viewer.taken.load(Ordering::Relaxed) + viewer.dropped.load(Ordering::Relaxed);
        let change = side.plan.tick(
            offered,
            viewer.dropped.load(Ordering::Relaxed),
            h264.queued(),
            viewer.sent_bytes.load(Ordering::Relaxed),
            stream,
        );
        log_change(viewer, &side.plan, change);
    })();
    drop(h264);
    ctl.end();
    result
}

/// Sends the next H.264 unit of the viewer's subscription, if one comes within a poll
/// interval; returns whether one was sent.
#[allow(clippy::too_many_arguments)]
fn send_unit(
    stream: &TcpStream,
    writer: &mut MessageWriter,
    viewer: &Viewer,
    subscription: &mut Subscription,
    plan: &mut SendPlan,
    level: Delivery,
    ctl: &Control,
    stats: &Stats,
) -> Result<bool, SessionError> {
    let Some(unit) = subscription.take(POLL_INTERVAL) else { return Ok(false) };
    let header = encode_frame_header(unit.seq, unit.captured_us, PixelFormat::H264, unit.data.len());
    let wire_len = writer.write(stream, &header, &unit.data, ctl)? as u64;
    let len = unit.data.len();
    drop(unit);
    let wire_total = viewer.sent_bytes.fetch_add(wire_len, Ordering::Relaxed) + wire_len;
    viewer.set_delivery(level);
    count_sent(wire_len, ctl, stats);
    plan.h264_started();
    plan.sent(level, len, false, wire_total);
    Ok(true)
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
    let wire_len = writer.write(stream, &header, bytes, ctl)? as u64;
    let len = bytes.len();
    drop(frame);
    let wire_total = viewer.sent_bytes.fetch_add(wire_len, Ordering::Relaxed) + wire_len;
    viewer.set_delivery(level);
    count_sent(wire_len, ctl, stats);
    plan.sent(level, len, probe, wire_total);
    log_change(viewer, plan, Change::None);
    Ok(true)
}

fn count_sent(wire_len: u64, ctl: &Control, stats: &Stats) {
    Stats::add(&stats.sent_frames, 1);
    Stats::add(&stats.sent_bytes, wire_len);
    if ctl.send_limit.is_some_and(|limit| Stats::get(&stats.sent_frames) >= limit) {
        ctl.shutdown.request(format!("sent {} frames", Stats::get(&stats.sent_frames)));
    }
}

/// Logs a switch of the wire format, and tells the capture stage what the viewer now needs.
fn log_change(viewer: &Viewer, plan: &SendPlan, change: Change) {
    if let Change::Switched { from, to, mbit } = change {
        log::info!(
            "{}: the link carries about {mbit:.0} Mbit/s: sending {to} instead of {from}",
            viewer.name
        );
    }
    viewer.set_needs(plan.needs());
}
