//! One viewer's sending plan: which wire format each frame goes out in (fixed by `--wire`,
//! or chosen by the `auto` controller), the bytes of that format (made once per frame and
//! shared: [`wire_bytes`]), and the bandwidth probes of `auto`.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::choice::WireChoice;
use super::controller::{Action, Adapt, Counters, TICK};
use super::ladder::{fixed_level, ladder, needs};
use crate::codec::jpeg::Encoder;
use crate::codec::products::{Product, ProductError};
use crate::media::{Geometry, PixelFormat};
use crate::net::tcp_info as link;
use crate::output::pistream::protocol::FormatSet;
use crate::pipeline::hub::{Delivery, Needs, SharedFrame};

/// The longest a probe frame is given to drain.
const PROBE_LIMIT: Duration = Duration::from_millis(400);

/// What the send loop should do after a tick.
#[derive(Debug, PartialEq)]
pub enum Change {
    None,
    /// The level changed (log it): `mbit` is what the link was measured to carry.
    Switched {
        from: Delivery,
        to: Delivery,
        mbit: f64,
    },
}

/// How one viewer's frames go on the wire.
pub struct SendPlan {
    level: Delivery,
    native: Option<PixelFormat>,
    adapt: Option<Adapt>,
    encoder: Encoder,
    /// The raw BGR frame's size: a JPEG larger than this goes out as BGR instead.
    bgr_len: usize,
    started: Instant,
    next_tick: Instant,
    /// A probe waiting for an idle link, at this level.
    probe: Option<Delivery>,
    sent_frames: u64,
}

impl SendPlan {
    /// A plan for frames of `geometry` at `fps` whose capture's own format is `native`,
    /// to a peer that agreed to `agreed`. `auto` runs only for a paced source (`fps` > 0):
    /// unpaced frames (benchmarks) stay raw BGR.
    pub fn new(
        choice: WireChoice,
        native: Option<PixelFormat>,
        agreed: FormatSet,
        geometry: Geometry,
        fps: f64,
    ) -> Result<SendPlan, crate::codec::jpeg::JpegError> {
        let adapt = (choice == WireChoice::Auto && fps > 0.0)
            .then(|| Adapt::new(ladder(native, agreed), geometry, fps));
        let level = adapt.as_ref().map_or_else(|| fixed_level(choice, native, agreed), Adapt::level);
        let now = Instant::now();
        Ok(SendPlan {
            level,
            native,
            adapt,
            encoder: Encoder::new()?,
            bgr_len: geometry.frame_len(),
            started: now,
            next_tick: now + TICK,
            probe: None,
            sent_frames: 0,
        })
    }

    /// What the capture stage must make of each frame for this viewer now.
    pub fn needs(&self) -> Needs {
        let level = needs(self.level, self.native);
        match self.probe {
            Some(probe) => level.and(needs(probe, self.native)),
            None => level,
        }
    }

    /// The level the next frame goes out at: a pending probe once the link is idle.
    fn level_for_next(&mut self, stream: &TcpStream) -> (Delivery, Option<link::LinkState>) {
        if let Some(probe) = self.probe {
            if let Some(state) = link::state(stream).ok().filter(link::LinkState::idle) {
                return (probe, Some(state));
            }
        }
        (self.level, None)
    }

    /// The bytes to send for `frame` and their format, or `None` to skip it (every other
    /// frame at half rate, or a frame that lacks what this level is made from, which
    /// happens for a frame or two after a switch). Also returns the probe's starting state
    /// when this frame is a probe.
    pub fn payload<'f>(
        &mut self,
        frame: &'f SharedFrame,
        stream: &TcpStream,
    ) -> Option<(PixelFormat, &'f [u8], Delivery, Option<link::LinkState>)> {
        let (level, probe_from) = self.level_for_next(stream);
        if level.half_rate && frame.seq % 2 == 1 {
            return None;
        }
        let bytes = wire_bytes(frame, level.format, level.quality, &mut self.encoder).ok()?;
        if level.format == PixelFormat::Mjpeg && bytes.len() > self.bgr_len {
            return frame.has_bgr.then(|| (PixelFormat::Bgr24, &frame.bgr[..], Delivery::BGR, None));
        }
        Some((level.format, bytes, level, probe_from))
    }

    /// Records a frame sent; for a probe, measures how fast it drained and lets `auto` decide.
    pub fn sent(
        &mut self,
        level: Delivery,
        bytes: usize,
        probe_from: Option<(link::LinkState, Instant)>,
        stream: &TcpStream,
    ) -> Change {
        self.sent_frames += 1;
        let Some(adapt) = self.adapt.as_mut() else { return Change::None };
        adapt.sent(level, bytes);
        let Some((before, started)) = probe_from else { return Change::None };
        self.probe = None;
        let rate = link::drain_rate(stream, before, started, bytes, PROBE_LIMIT);
        let action = adapt.probe_result(self.started.elapsed(), rate);
        self.apply(action)
    }

    /// Every [`TICK`], feeds this viewer's counters to `auto`. The bytes are those the peer
    /// has acknowledged (`TCP_INFO`), which follow the link smoothly; `written` (bytes put
    /// into the socket) stands in if the kernel will not say: written bytes arrive in lumps
    /// as large as the send buffer, so they make a slow link look fast for a while.
    pub fn tick(&mut self, offered: u64, dropped: u64, written: u64, stream: &TcpStream) -> Change {
        let now = Instant::now();
        if now < self.next_tick {
            return Change::None;
        }
        self.next_tick = now + TICK;
        let Some(adapt) = self.adapt.as_mut() else { return Change::None };
        let bytes = link::state(stream).map_or(written, |state| state.bytes_acked);
        let action = adapt.tick(Counters { at: now - self.started, offered, dropped, bytes });
        self.apply(action)
    }

    fn apply(&mut self, action: Action) -> Change {
        match action {
            Action::Stay => Change::None,
            Action::Probe(level) => {
                self.probe = Some(level);
                Change::None
            }
            Action::Switch { to, mbit } => {
                let from = self.level;
                self.level = to;
                // A probe chosen for the old level is stale.
                self.probe = None;
                Change::Switched { from, to, mbit }
            }
        }
    }
}

/// The bytes of `frame` in a wire format: BGR and the native format as they are, I420 and
/// JPEG made on first request and shared with every viewer (a camera's own JPEG goes out
/// unchanged). Formats made from the capture's own bytes are never made from BGR instead.
pub fn wire_bytes<'f>(
    frame: &'f SharedFrame,
    format: PixelFormat,
    quality: u8,
    encoder: &mut Encoder,
) -> Result<&'f [u8], ProductError> {
    match format {
        PixelFormat::Bgr24 if frame.has_bgr => Ok(&frame.bgr),
        PixelFormat::Bgr24 => Err(ProductError::Missing("BGR")),
        PixelFormat::Yuyv => frame.native_as(PixelFormat::Yuyv).ok_or(ProductError::Missing("YUYV")),
        PixelFormat::Uyvy => frame.native_as(PixelFormat::Uyvy).ok_or(ProductError::Missing("UYVY")),
        PixelFormat::Nv12 => frame.native_as(PixelFormat::Nv12).ok_or(ProductError::Missing("NV12")),
        PixelFormat::I420 => match frame.native_as(PixelFormat::I420) {
            Some(native) => Ok(native),
            None if frame.source_native.is_some_and(|f| f.is_yuv()) && frame.native_format.is_none() => {
                Err(ProductError::Missing("the camera's planes"))
            }
            None => frame.product(Product::I420, encoder),
        },
        PixelFormat::Mjpeg => match frame.native_as(PixelFormat::Mjpeg) {
            Some(native) => Ok(native),
            None if frame.source_native == Some(PixelFormat::Mjpeg) => {
                Err(ProductError::Missing("the camera's JPEG"))
            }
            None => frame.product(Product::Jpeg(quality), encoder),
        },
        _ => Err(ProductError::Missing("a wire format")),
    }
}
