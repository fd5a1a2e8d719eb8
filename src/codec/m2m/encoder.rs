//! A stateful V4L2 memory-to-memory encoder (kernel doc `userspace-api/media/v4l/
//! dev-encoder.rst`), for any [`Coded`] format: the Pi's bcm2835-codec making H.264, or the
//! kernel's vicodec making FWHT, through the same calls.
//!
//! Set-up follows the spec's order: the coded format on CAPTURE first (with the size: the
//! bcm2835 reads it there), the raw format on OUTPUT (the driver settles the row stride:
//! bcm2835 wants YU12 rows 64-byte aligned, vicodec packs them), the frame interval, the
//! controls, then buffers (MMAP, allocated and mapped once) and streaming. Each picture is
//! copied into a free OUTPUT buffer at the driver's stride, queued, and the coded buffer
//! waited for with `poll`: one picture in, one unit out, so the stage's timing and keyframe
//! requests stay as they are with the software encoder. A keyframe is asked for with
//! `FORCE_KEY_FRAME` where the driver has it, else by a drain and restart (a restarted
//! encoder begins a new stream with a keyframe: vicodec's only way). Every driver error is
//! an [`M2mError`]; the caller falls back to software on it.

use std::io;
use std::time::{Duration, Instant};

use super::coded::Coded;
use super::queue::{copy_rows, set_format, stop_and_release, Done, PlaneFormat, Queue};
use super::sys::{
    self, call, cid, req, v4l2_encoder_cmd, v4l2_event, v4l2_event_subscription, v4l2_streamparm, Driver,
    CAPTURE_MPLANE, OUTPUT_MPLANE,
};
use crate::codec::h264::Planes;

/// How long a picture may take the driver (a Pi does one in ~20 ms; vicodec under an
/// emulated CPU in the rig, ~100 ms at 1280x720).
const PICTURE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the encoder is asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EncoderSettings {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub bitrate: u32,
    pub keyframe_interval: u32,
}

/// A control set at start: whether the stream is useless without it.
struct Control {
    id: u32,
    name: &'static str,
    value: i32,
    required: bool,
}

/// The controls for `coded` at `settings`. H.264: Constrained Baseline (what every viewer
/// decodes; no reordering), the level for the size, SPS/PPS before every IDR so a viewer
/// can join at any keyframe, the bitrate (VBR: bcm2835's CBR skips pictures), the keyframe
/// interval; FWHT: the group of pictures (vicodec's range is 1 to 16).
fn controls(coded: Coded, settings: &EncoderSettings) -> Vec<Control> {
    let gop = settings.keyframe_interval.max(1) as i32;
    match coded {
        Coded::H264 => {
            let pixels_per_s = f64::from(settings.width) * f64::from(settings.height) * settings.fps;
            // V4L2_MPEG_VIDEO_H264_LEVEL_3_1 = 9 (720p30), 4_0 = 11 (1080p30), 4_2 = 13.
            let level = if pixels_per_s <= 1280.0 * 720.0 * 30.0 {
                9
            } else if pixels_per_s <= 2_097_152.0 * 30.0 {
                11
            } else {
                13
            };
            vec![
                Control {
                    id: cid::H264_PROFILE,
                    name: "profile",
                    value: cid::PROFILE_CONSTRAINED_BASELINE,
                    required: true,
                },
                Control { id: cid::H264_LEVEL, name: "level", value: level, required: false },
                Control { id: cid::REPEAT_SEQ_HEADER, name: "repeated SPS/PPS", value: 1, required: true },
                Control {
                    id: cid::HEADER_MODE,
                    name: "header mode",
                    value: cid::HEADER_MODE_JOINED,
                    required: false,
                },
                Control {
                    id: cid::BITRATE_MODE,
                    name: "bitrate mode",
                    value: cid::BITRATE_MODE_VBR,
                    required: false,
                },
                Control {
                    id: cid::BITRATE,
                    name: "bitrate",
                    value: settings.bitrate.min(i32::MAX as u32) as i32,
                    required: true,
                },
                Control { id: cid::H264_I_PERIOD, name: "I-period", value: gop, required: false },
                Control { id: cid::GOP_SIZE, name: "GOP size", value: gop, required: false },
            ]
        }
        Coded::Fwht => {
            vec![Control { id: cid::GOP_SIZE, name: "GOP size", value: gop.min(16), required: false }]
        }
    }
}

/// Why the hardware encoder stopped.
#[derive(Debug, thiserror::Error)]
pub enum M2mError {
    #[error("{device}: {what}: {source}")]
    Call { device: String, what: &'static str, source: io::Error },
    #[error("{device} does not take {what}")]
    Unsupported { device: String, what: String },
    #[error("{device} returned nothing for {ms} ms")]
    Timeout { device: String, ms: u128 },
    #[error("{device} changed the stream's format under the encoder (a source-change event)")]
    SourceChange { device: String },
    #[error("{device} marked a coded buffer as failed")]
    BufferError { device: String },
    #[error("{device}: the picture's planes do not fit its {width}x{height} buffer")]
    Geometry { device: String, width: u32, height: u32 },
}

/// What one picture made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unit {
    pub keyframe: bool,
}

/// An encoder on one open device.
pub struct M2mEncoder {
    driver: Box<dyn Driver>,
    device: String,
    coded: Coded,
    raw: PlaneFormat,
    output: Queue,
    capture: Queue,
    can_force_keyframe: bool,
    /// Stream headers from a buffer of their own, put in front of the next picture.
    headers: Vec<u8>,
    /// Restarts (keyframes asked of a driver without `FORCE_KEY_FRAME`, and after drains).
    pub restarts: u64,
}

impl M2mEncoder {
    /// Sets `driver` (the node named `device` in messages) up to encode `coded` at
    /// `settings`, and starts it streaming.
    pub fn start(
        mut driver: Box<dyn Driver>,
        device: &str,
        coded: Coded,
        settings: &EncoderSettings,
    ) -> Result<M2mEncoder, M2mError> {
        let d = device.to_string();
        let err = |what: &'static str| {
            let d = d.clone();
            move |source| M2mError::Call { device: d, what, source }
        };
        let (w, h) = (settings.width, settings.height);
        let drv = driver.as_mut();
        let want_coded =
            PlaneFormat { fourcc: coded.fourcc(), width: w, height: h, bytesperline: 0, sizeimage: 0 };
        let got = set_format(drv, CAPTURE_MPLANE, want_coded).map_err(err("setting the coded format"))?;
        if got.fourcc != coded.fourcc() {
            return Err(M2mError::Unsupported { device: d, what: format!("{} output", coded.name()) });
        }
        let raw_formats = sys::formats(drv, OUTPUT_MPLANE);
        let fourcc =
            [sys::FOURCC_YU12, sys::FOURCC_NV12].into_iter().find(|f| raw_formats.contains(f)).ok_or_else(
                || M2mError::Unsupported { device: d.clone(), what: "I420 or NV12 pictures".into() },
            )?;
        let want_raw = PlaneFormat { fourcc, width: w, height: h, bytesperline: 0, sizeimage: 0 };
        let raw = set_format(drv, OUTPUT_MPLANE, want_raw).map_err(err("setting the picture format"))?;
        if raw.fourcc != fourcc || raw.width < w || raw.height < h || raw.bytesperline < w {
            return Err(M2mError::Unsupported {
                device: d,
                what: format!("{w}x{h} pictures (it offers {}x{})", raw.width, raw.height),
            });
        }
        // The frame interval: optional (vicodec has none).
        let mut parm: v4l2_streamparm = sys::zeroed();
        parm.type_ = OUTPUT_MPLANE;
        let fps_milli = (settings.fps.max(1.0) * 1000.0).round() as u32;
        // `output` is the member an OUTPUT queue's parameters use (writing a union member is safe).
        parm.parm.output.timeperframe.numerator = 1000;
        parm.parm.output.timeperframe.denominator = fps_milli;
        let _ = call(drv, req::S_PARM, &mut parm);
        for control in controls(coded, settings) {
            // Into the driver's range and steps (bcm2835's bitrate: 25 kbit/s to 25 Mbit/s).
            let value = sys::control_range(drv, control.id).map_or(control.value, |r| r.fit(control.value));
            if let Err(e) = sys::set_control(drv, control.id, value) {
                if control.required {
                    return Err(M2mError::Call { device: d, what: control.name, source: e });
                }
                log::debug!("{d}: no {} control ({e})", control.name);
            }
        }
        let output = Queue::allocate(drv, OUTPUT_MPLANE, 2).map_err(err("allocating picture buffers"))?;
        let mut capture = Queue::allocate(drv, CAPTURE_MPLANE, 4).map_err(err("allocating coded buffers"))?;
        if output.bytes(0).len() < raw.sizeimage as usize {
            return Err(M2mError::Geometry { device: d, width: raw.width, height: raw.height });
        }
        // Asked, not set: a set FORCE_KEY_FRAME would force the next picture (and bcm2835
        // drops it before REQBUFS anyway).
        let can_force_keyframe = sys::has_control(drv, cid::FORCE_KEY_FRAME);
        // A source change (the driver changing the stream's format under us) ends this
        // encoder; drivers that send none refuse the subscription, which is fine.
        let mut subscription: v4l2_event_subscription = sys::zeroed();
        subscription.type_ = sys::EVENT_SOURCE_CHANGE;
        let _ = call(drv, req::SUBSCRIBE_EVENT, &mut subscription);
        start_streaming(drv, &mut capture).map_err(err("starting"))?;
        Ok(M2mEncoder {
            driver,
            device: d,
            coded,
            raw,
            output,
            capture,
            can_force_keyframe,
            headers: Vec::new(),
            restarts: 0,
        })
    }

    /// The picture format the driver settled on (fourcc, stride).
    pub fn raw_format(&self) -> PlaneFormat {
        self.raw
    }

    pub fn forces_keyframes(&self) -> bool {
        self.can_force_keyframe
    }

    fn fail(&self, what: &'static str) -> impl FnOnce(io::Error) -> M2mError + '_ {
        move |source| M2mError::Call { device: self.device.clone(), what, source }
    }

    /// Encodes `planes` (taken at `at_us`) into `out`; a keyframe if `keyframe`.
    pub fn encode(
        &mut self,
        planes: &Planes<'_>,
        keyframe: bool,
        at_us: u64,
        out: &mut Vec<u8>,
    ) -> Result<Unit, M2mError> {
        if keyframe && !self.can_force_keyframe {
            self.restart()?;
        }
        let index = self.free_output()?;
        let raw = self.raw;
        if !write_picture(planes, &raw, self.output.bytes_mut(index)) {
            return Err(M2mError::Geometry {
                device: self.device.clone(),
                width: raw.width,
                height: raw.height,
            });
        }
        if keyframe && self.can_force_keyframe {
            sys::set_control(self.driver.as_mut(), cid::FORCE_KEY_FRAME, 1)
                .map_err(self.fail("forcing a keyframe"))?;
        }
        let driver = self.driver.as_mut();
        self.output.queue(driver, index, raw.sizeimage as usize, at_us).map_err(|e| M2mError::Call {
            device: self.device.clone(),
            what: "queueing a picture",
            source: e,
        })?;
        loop {
            let done = self.wait_coded()?;
            if let Some(unit) = self.take(done, out)? {
                return Ok(unit);
            }
        }
    }

    /// Copies coded buffer `done` into `out` (behind any headers kept) and gives the buffer
    /// back; `None` when it held only headers (kept) or nothing.
    fn take(&mut self, done: Done, out: &mut Vec<u8>) -> Result<Option<Unit>, M2mError> {
        let bytes = &self.capture.bytes(done.index)[done.start..done.end];
        let result = if done.flags & sys::FLAG_ERROR != 0 {
            Err(M2mError::BufferError { device: self.device.clone() })
        } else if bytes.is_empty() {
            Ok(None)
        } else if self.coded.headers_only(bytes) {
            self.headers.extend_from_slice(bytes);
            Ok(None)
        } else {
            out.clear();
            out.extend_from_slice(&self.headers);
            self.headers.clear();
            out.extend_from_slice(bytes);
            Ok(Some(Unit { keyframe: self.coded.is_keyframe(done.flags, bytes) }))
        };
        let driver = self.driver.as_mut();
        self.capture.queue(driver, done.index, 0, 0).map_err(|e| M2mError::Call {
            device: self.device.clone(),
            what: "requeueing a coded buffer",
            source: e,
        })?;
        result
    }

    /// An OUTPUT buffer we may fill: one never queued or one the driver is done with.
    fn free_output(&mut self) -> Result<usize, M2mError> {
        let deadline = Instant::now() + PICTURE_TIMEOUT;
        loop {
            while let Some(done) = self
                .output
                .dequeue(self.driver.as_mut())
                .map_err(self.fail("taking back a picture buffer"))?
            {
                let _ = done;
            }
            if let Some(index) = self.output.free() {
                return Ok(index);
            }
            self.wait(libc_poll::OUT, deadline)?;
        }
    }

    /// The next coded buffer, waited for.
    /// Polls first, even when a buffer is ready (poll then returns at once), so an event
    /// (a source change) is seen with the buffer it came with.
    fn wait_coded(&mut self) -> Result<Done, M2mError> {
        let deadline = Instant::now() + PICTURE_TIMEOUT;
        loop {
            self.wait(libc_poll::IN, deadline)?;
            if let Some(done) =
                self.capture.dequeue(self.driver.as_mut()).map_err(self.fail("taking a coded buffer"))?
            {
                return Ok(done);
            }
        }
    }

    /// Polls for `events` until `deadline`: a timeout or an error is the device failing.
    fn wait(&mut self, events: i16, deadline: Instant) -> Result<(), M2mError> {
        let polled = sys::poll_until(self.driver.as_mut(), events | libc_poll::PRI, deadline)
            .map_err(self.fail("waiting"))?;
        let Some(revents) = polled else {
            return Err(M2mError::Timeout { device: self.device.clone(), ms: PICTURE_TIMEOUT.as_millis() });
        };
        if revents & libc_poll::PRI != 0 {
            let mut event: v4l2_event = sys::zeroed();
            call(self.driver.as_mut(), req::DQEVENT, &mut event).map_err(self.fail("taking an event"))?;
            if event.type_ == sys::EVENT_SOURCE_CHANGE {
                return Err(M2mError::SourceChange { device: self.device.clone() });
            }
        }
        if revents & libc_poll::ERR_HUP != 0 && revents & events == 0 {
            return Err(M2mError::Call {
                device: self.device.clone(),
                what: "waiting",
                source: io::Error::other("the device reported an error (POLLERR), gone or stopped"),
            });
        }
        Ok(())
    }

    /// Drains the encoder (`V4L2_ENC_CMD_STOP`): every coded buffer still to come, to `sink`
    /// (bytes, keyframe), until the driver marks the last. Returns how many had bytes.
    pub fn drain(&mut self, mut sink: impl FnMut(&[u8], bool)) -> Result<usize, M2mError> {
        let mut command: v4l2_encoder_cmd = sys::zeroed();
        command.cmd = sys::ENC_CMD_STOP;
        call(self.driver.as_mut(), req::ENCODER_CMD, &mut command).map_err(self.fail("draining"))?;
        let mut made = 0;
        let mut unit = Vec::new();
        loop {
            let done = self.wait_coded()?;
            let last = done.flags & sys::FLAG_LAST != 0;
            if let Some(u) = self.take(done, &mut unit)? {
                sink(&unit, u.keyframe);
                made += 1;
            }
            if last {
                return Ok(made);
            }
        }
    }

    /// Stops and starts both queues: a new, independent stream that begins with a
    /// keyframe (after a drain, the way back to encoding; bcm2835 ignores `ENC_CMD_START`).
    pub fn restart(&mut self) -> Result<(), M2mError> {
        let driver = self.driver.as_mut();
        let stopped = sys::stream(driver, CAPTURE_MPLANE, false)
            .and_then(|_| sys::stream(driver, OUTPUT_MPLANE, false));
        stopped.map_err(self.fail("stopping"))?;
        self.output.reclaim_all();
        self.capture.reclaim_all();
        self.headers.clear();
        let driver = self.driver.as_mut();
        start_streaming(driver, &mut self.capture).map_err(self.fail("restarting"))?;
        self.restarts += 1;
        Ok(())
    }
}

impl Drop for M2mEncoder {
    fn drop(&mut self) {
        stop_and_release(self.driver.as_mut(), &mut [&mut self.output, &mut self.capture]);
    }
}

/// Queues every CAPTURE buffer and starts both queues.
fn start_streaming(driver: &mut dyn Driver, capture: &mut Queue) -> io::Result<()> {
    for index in 0..capture.len() {
        capture.queue(driver, index, 0, 0)?;
    }
    sys::stream(driver, OUTPUT_MPLANE, true)?;
    sys::stream(driver, CAPTURE_MPLANE, true)
}

/// Copies I420 `planes` into a single-plane YU12 or NV12 buffer laid out as `raw` says
/// (rows `bytesperline` apart, chroma after `bytesperline * height` rows). False when the
/// buffer is too small or the picture larger than the format.
pub fn write_picture(planes: &Planes<'_>, raw: &PlaneFormat, buffer: &mut [u8]) -> bool {
    let (w, h) = (planes.width, planes.height);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let bpl = raw.bytesperline as usize;
    let luma = bpl * raw.height as usize;
    if w > raw.width as usize || h > raw.height as usize || bpl < w {
        return false;
    }
    let written = (|| {
        copy_rows(buffer, bpl, planes.y, planes.y_stride, w, h)?;
        let chroma = buffer.get_mut(luma..)?;
        if raw.fourcc == sys::FOURCC_NV12 {
            for row in 0..ch {
                let line = chroma.get_mut(row * bpl..)?.get_mut(..2 * cw)?;
                let u = planes.u.get(row * planes.uv_stride..)?.get(..cw)?;
                let v = planes.v.get(row * planes.uv_stride..)?.get(..cw)?;
                for (pair, (u, v)) in line.chunks_exact_mut(2).zip(u.iter().zip(v)) {
                    pair[0] = *u;
                    pair[1] = *v;
                }
            }
            return Some(());
        }
        // YU12: U after the luma, V a quarter of the luma further, rows half as long.
        let cbpl = bpl / 2;
        if cbpl < cw {
            return None;
        }
        let (u, v) = chroma.split_at_mut_checked(luma / 4)?;
        copy_rows(u, cbpl, planes.u, planes.uv_stride, cw, ch)?;
        copy_rows(v, cbpl, planes.v, planes.uv_stride, cw, ch)
    })();
    written.is_some()
}

/// poll(2)'s event bits.
mod libc_poll {
    use nix::libc;
    pub(super) const IN: i16 = libc::POLLIN;
    pub(super) const PRI: i16 = libc::POLLPRI;
    pub(super) const OUT: i16 = libc::POLLOUT;
    pub(super) const ERR_HUP: i16 = libc::POLLERR | libc::POLLHUP | libc::POLLNVAL;
}
