//! One viewer's sending plan: which wire format each frame goes out in (fixed by `--wire`,
//! or chosen by the `auto` controller from the viewer's counters and the receiver's
//! reports), the bytes of that format (made once per frame and shared: [`wire_bytes`]),
//! the bandwidth probes of `auto`, and the level frames keep going out at while a switch
//! to H.264 waits for its first keyframe.

use std::net::TcpStream;
use std::time::Instant;

use super::choice::WireChoice;
use super::controller::{Action, Adapt, Counters, TICK};
use super::ladder::{fixed_level, ladder, needs};
use crate::codec::jpeg::Encoder;
use crate::codec::products::{Product, ProductError};
use crate::media::{Geometry, PixelFormat};
use crate::net::tcp_info as link;
use crate::output::pistream::protocol::{FormatSet, Report};
use crate::pipeline::hub::{Delivery, Needs, SharedFrame};

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
    /// The frame level before a switch to H.264, kept until H.264's first unit goes out.
    bridge: Option<Delivery>,
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
    /// to a peer that agreed to `agreed`; H.264 at `h264_bitrate` (`auto`: at most
    /// `h264_ceiling`).
    /// `auto` runs only for a paced source (`fps` > 0): unpaced frames (benchmarks) stay
    /// raw BGR.
    pub fn new(
        choice: WireChoice,
        native: Option<PixelFormat>,
        agreed: FormatSet,
        geometry: Geometry,
        fps: f64,
        h264_bitrate: u32,
        h264_ceiling: u32,
    ) -> Result<SendPlan, crate::codec::jpeg::JpegError> {
        let adapt = (choice == WireChoice::Auto && fps > 0.0)
            .then(|| Adapt::new(ladder(native, agreed, h264_ceiling), geometry, fps));
        let level =
            adapt.as_ref().map_or_else(|| fixed_level(choice, native, agreed, h264_bitrate), Adapt::level);
        let now = Instant::now();
        Ok(SendPlan {
            level,
            bridge: None,
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

    /// The level frames go out at now (a probe aside).
    pub fn level(&self) -> Delivery {
        self.level
    }

    /// The frame level that bridges a switch to H.264 until its first unit, if any.
    pub fn bridge(&self) -> Option<Delivery> {
        self.bridge
    }

    /// Whether a probe waits to go out.
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    /// H.264's first unit went out: no more bridge frames.
    pub fn h264_started(&mut self) {
        self.bridge = None;
    }

    /// Takes the peer's report of what arrived.
    pub fn report(&mut self, report: Report) -> Change {
        let Some(adapt) = self.adapt.as_mut() else { return Change::None };
        let at = self.started.elapsed();
        let was_probing = adapt.probing();
        let action = adapt.report(at, report);
        if was_probing && !adapt.probing() && action == Action::Stay {
            log::debug!("auto: the probe of a better level failed ({})", adapt.describe(at));
        }
        self.apply(action)
    }

    /// What the capture stage must make of each frame for this viewer now.
    pub fn needs(&self) -> Needs {
        let mut wanted = needs(self.level, self.native);
        for extra in [self.probe, self.bridge].into_iter().flatten() {
            wanted = wanted.and(needs(extra, self.native));
        }
        wanted
    }

    /// The level the next frame goes out at: a pending probe once the link is idle, else
    /// the level (or the bridge level while H.264 has not started).
    fn level_for_next(&mut self, stream: &TcpStream) -> (Delivery, bool) {
        if let Some(probe) = self.probe {
            if link::state(stream).is_ok_and(|state| state.idle()) {
                return (probe, true);
            }
        }
        (self.bridge.unwrap_or(self.level), false)
    }

    /// The bytes to send for `frame` and their format, or `None` to skip it (every other
    /// frame at half rate, or a frame that lacks what this level is made from, which
    /// happens for a frame or two after a switch). Also says whether the frame is a probe.
    pub fn payload<'f>(
        &mut self,
        frame: &'f SharedFrame,
        stream: &TcpStream,
    ) -> Option<(PixelFormat, &'f [u8], Delivery, bool)> {
        let (level, probe) = self.level_for_next(stream);
        if level.format == PixelFormat::H264 || (level.half_rate && frame.seq % 2 == 1) {
            return None;
        }
        let bytes = wire_bytes(frame, level.format, level.quality, &mut self.encoder).ok()?;
        if level.format == PixelFormat::Mjpeg && bytes.len() > self.bgr_len {
            return frame.has_bgr.then(|| (PixelFormat::Bgr24, &frame.bgr[..], Delivery::BGR, false));
        }
        Some((level.format, bytes, level, probe))
    }

    /// Records a frame (or unit) of `bytes` sent at `level`, a probe or not; `wire_total`
    /// is the frame bytes this viewer has put on the wire in all.
    pub fn sent(&mut self, level: Delivery, bytes: usize, probe: bool, wire_total: u64) {
        self.sent_frames += 1;
        let Some(adapt) = self.adapt.as_mut() else { return };
        let at = self.started.elapsed();
        adapt.sent(level, bytes, at, wire_total);
        if probe {
            self.probe = None;
            adapt.probe_sent(self.sent_frames, at);
        }
    }

    /// Every [`TICK`], feeds this viewer's counters to `auto`: frames offered and dropped,
    /// H.264 units waiting, and the bytes the next hop acknowledged (`TCP_INFO`; `written`,
    /// the bytes put into the socket, stands in if the kernel will not say).
    pub fn tick(
        &mut self,
        offered: u64,
        dropped: u64,
        backlog: u64,
        written: u64,
        stream: &TcpStream,
    ) -> Change {
        let now = Instant::now();
        if now < self.next_tick {
            return Change::None;
        }
        self.next_tick = now + TICK;
        let Some(adapt) = self.adapt.as_mut() else { return Change::None };
        let bytes = link::state(stream).map_or(written, |state| state.bytes_acked);
        let action = adapt.tick(Counters { at: now - self.started, offered, dropped, bytes, backlog });
        self.apply(action)
    }

    fn apply(&mut self, action: Action) -> Change {
        match action {
            Action::Stay => Change::None,
            Action::Probe(level) => {
                if let Some(adapt) = &self.adapt {
                    log::debug!("auto: probing {level} ({})", adapt.describe(self.started.elapsed()));
                }
                self.probe = Some(level);
                Change::None
            }
            Action::Switch { to, mbit } => {
                let from = self.level;
                self.level = to;
                // A probe chosen for the old level is stale.
                self.probe = None;
                // Frames keep going out at the old level until H.264 starts.
                self.bridge = match (from.format == PixelFormat::H264, to.format == PixelFormat::H264) {
                    (false, true) => Some(from),
                    (true, true) => self.bridge,
                    _ => None,
                };
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
