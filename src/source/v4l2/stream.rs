//! One open, streaming V4L2 device (through `device.rs`): format set from the chosen mode,
//! mmap streaming with 4 buffers, the newest frame taken from a drained queue, unusable
//! buffers told apart, and conversion into the BGR target.
//!
//! Latency: every wake-up drains the driver's queue (dequeue all ready buffers, requeue
//! the older ones, keep the newest), as µStreamer does, so no frame waits behind others.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use v4l::buffer::Flags as BufferFlags;
use v4l::capability::Flags as CapabilityFlags;
use v4l::format::{Colorspace, Format, FourCC, Quantization};

use super::controls;
use super::device::{Dequeued, Device, MmapStream};
use super::discovery::offers;
use crate::codec::convert::{encode, Converter};
use crate::media::{Geometry, Orientation};
use crate::media::{Layout, PixelFormat, YuvMatrix, YuvRange};
use crate::source::capture::{Captured, SourceError, Target};
use crate::source::settings::CameraSettings;
use crate::source::v4l2::mode::{self, Choice, Request};

const BUFFERS: u32 = 4;
/// How long one `next_frame` waits for the driver before returning to the caller.
const DEQUEUE_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the first frame after opening may take.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(3);
/// No frame for this long counts as a lost device.
pub(super) const STALL_LIMIT: Duration = Duration::from_secs(5);

fn context<'a>(path: &'a Path, doing: &str) -> impl FnOnce(io::Error) -> SourceError + 'a {
    let doing = doing.to_string();
    move |e| SourceError::Failed(format!("{}: {doing}: {e}", path.display()))
}

/// The layout the driver actually set (it may round sizes and pad rows).
fn layout_of(format: &Format, input: PixelFormat) -> Layout {
    let range = match format.quantization {
        Quantization::FullRange => YuvRange::Full,
        Quantization::LimitedRange => YuvRange::Limited,
        // The V4L2 default: full range for JPEG and sRGB/RGB formats, limited for Y'CbCr.
        Quantization::Default if matches!(format.colorspace, Colorspace::JPEG) => YuvRange::Full,
        Quantization::Default => YuvRange::Limited,
    };
    let matrix = match format.colorspace {
        Colorspace::Rec709 => YuvMatrix::Bt709,
        _ => YuvMatrix::Bt601,
    };
    Layout {
        format: input,
        width: format.width,
        height: format.height,
        stride: format.stride as usize,
        range,
        matrix,
    }
}

/// An open, streaming device.
pub(super) struct Capture {
    stream: MmapStream,
    converter: Converter,
    /// The mirrors done here because the driver cannot (upright when it can).
    mirrors: Orientation,
    started: bool,
    last_frame: Instant,
}

/// Whether a dequeued buffer can hold a whole frame: raw formats need `bytesperline` ×
/// height bytes (the converter checks the exact size per format); a JPEG must start with
/// SOI and end with EOI (trailing zero padding allowed, as some UVC cameras send), or it
/// was cut short.
fn unusable(format: PixelFormat, data: &[u8], flags: BufferFlags) -> Option<String> {
    if flags.contains(BufferFlags::ERROR) {
        return Some(format!("the driver flagged the buffer as bad ({} bytes)", data.len()));
    }
    if format == PixelFormat::Mjpeg {
        let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        if data.len() < 4 || data[..2] != [0xff, 0xd8] {
            return Some(format!("a JPEG frame of {} bytes without a start marker", data.len()));
        }
        if end < 4 || data[end - 2..end] != [0xff, 0xd9] {
            return Some(format!("a JPEG frame of {} bytes without an end marker (cut short?)", data.len()));
        }
    }
    None
}

impl Capture {
    pub(super) fn open(
        path: &Path,
        request: &Request,
        output: Geometry,
        camera: &CameraSettings,
        quiet: bool,
    ) -> Result<Capture, SourceError> {
        let device = Device::open(path).map_err(context(path, "opening the device"))?;
        let caps = device.capabilities().map_err(context(path, "querying capabilities"))?;
        if !caps.capabilities.contains(CapabilityFlags::VIDEO_CAPTURE) {
            return Err(SourceError::Failed(format!(
                "{} ({}) is not a video capture device; `pistream devices` lists the ones that are",
                path.display(),
                caps.card
            )));
        }
        let offers = offers(&device).map_err(context(path, "listing formats"))?;
        let choice: Choice = mode::choose(&path.display().to_string(), &offers, request)
            .map_err(|e| SourceError::Failed(e.to_string()))?;
        let wanted = Format::new(choice.width, choice.height, FourCC::new(&choice.format.fourcc()));
        let format = device.set_format(&wanted).map_err(context(path, "setting the format"))?;
        if format.fourcc != wanted.fourcc {
            return Err(SourceError::Failed(format!(
                "{}: the driver replaced {} with {}",
                path.display(),
                choice.format,
                format.fourcc
            )));
        }
        if let Some(fps) = choice.fps {
            // Drivers without frame-rate control refuse this (and libcamera's V4L2 adapter
            // keeps what it is given to itself); the rate is then theirs.
            if let Err(e) = device.set_fps(fps.round().max(1.0) as u32) {
                log::debug!("{}: the driver keeps its own frame rate ({e})", path.display());
            }
        }
        let name = path.display().to_string();
        let user_set = controls::apply(&device, &name, &camera.controls).map_err(SourceError::Failed)?;
        let mirrors = mirror(&device, &name, camera.orientation, &user_set, quiet);
        let layout = layout_of(&format, choice.format);
        let converter = Converter::new(layout, output)
            .map_err(|e| SourceError::Failed(format!("{}: {e}", path.display())))?
            .oriented(mirrors);
        if !quiet {
            let scaled = if (format.width, format.height) != (output.width, output.height) {
                format!(", scaled to {output}")
            } else {
                String::new()
            };
            log::info!(
                "{}: {} ({} {}x{}, stride {}, {:?} range, {:?}){scaled}",
                path.display(),
                caps.card,
                choice.format,
                format.width,
                format.height,
                format.stride,
                layout.range,
                layout.matrix,
            );
            log::info!("chose {choice}");
        }
        let stream = MmapStream::start(device, BUFFERS).map_err(context(path, "mapping buffers"))?;
        Ok(Capture { stream, converter, mirrors, started: false, last_frame: Instant::now() })
    }

    /// Whether a filled buffer is ready, waiting up to `timeout`.
    fn ready(&self, timeout: Duration) -> io::Result<bool> {
        self.stream.device().readable(timeout)
    }

    /// The fourcc frames are captured in.
    pub(super) fn fourcc(&self) -> [u8; 4] {
        self.converter.input().format.fourcc()
    }

    /// The format of the bytes this capture can hand over as they are: Y'CbCr planes or
    /// JPEG at the output size (a scaled capture has none).
    pub(super) fn native_format(&self) -> Option<PixelFormat> {
        let input = self.converter.input();
        let output = self.converter.output();
        let unscaled = (input.width, input.height) == (output.width, output.height);
        let even = input.width.is_multiple_of(2);
        let mirrored = !self.mirrors.is_upright();
        match input.format {
            // A JPEG cannot be mirrored without decoding it: its viewers get one made from
            // the mirrored BGR.
            PixelFormat::Mjpeg if mirrored => None,
            PixelFormat::Yuyv | PixelFormat::Uyvy if mirrored && !even => None,
            PixelFormat::Yuyv | PixelFormat::Uyvy | PixelFormat::I420 | PixelFormat::Mjpeg if unscaled => {
                Some(input.format)
            }
            PixelFormat::Nv12 if unscaled && even => Some(PixelFormat::Nv12),
            _ => None,
        }
    }

    /// Waits for the newest frame and writes what `target` asks for: BGR converted into
    /// its buffer, the capture copied tight into its native buffer. An I/O error means the
    /// device is gone (or stalled for [`STALL_LIMIT`]).
    pub(super) fn capture(&mut self, target: &mut Target<'_>) -> io::Result<Captured> {
        if !self.ready(DEQUEUE_TIMEOUT)? {
            let limit = if self.started { STALL_LIMIT } else { FIRST_FRAME_TIMEOUT };
            if self.last_frame.elapsed() > limit {
                let what = if self.started { "no frame for 5 s" } else { "no first frame within 3 s" };
                return Err(io::Error::new(io::ErrorKind::TimedOut, what));
            }
            return Ok(Captured::NotYet);
        }
        let mut newest = self.stream.dequeue()?;
        self.started = true;
        // Drain: anything else already captured is newer; the older one goes back at once.
        while self.ready(Duration::ZERO)? {
            let newer = self.stream.dequeue()?;
            self.stream.requeue(std::mem::replace(&mut newest, newer))?;
        }
        self.last_frame = Instant::now();
        let native_format = self.native_format();
        let captured = deliver(
            &mut self.converter,
            native_format,
            self.mirrors,
            &newest,
            self.stream.data(&newest),
            target,
        );
        self.stream.requeue(newest)?;
        Ok(captured)
    }

    /// Stops streaming and closes the device (nothing of a vanished device can fail here:
    /// its buffers and file descriptor are released either way, so the node's number is
    /// free for it when it comes back).
    pub(super) fn close(self) {
        let _ = self.stream.stop();
    }
}

/// Has the driver mirror the picture when it has both mirror controls (most sensors and
/// vivid do; many USB cameras do not); returns the mirrors left to do in software. With the
/// controls, pistream owns them: each is set to its default, flipped where `orientation`
/// asks, also when upright (so a mirror an earlier run left set does not stay), unless
/// `--control` set it (`user_set`).
fn mirror(
    device: &Device,
    name: &str,
    orientation: Orientation,
    user_set: &[u32],
    quiet: bool,
) -> Orientation {
    let list = controls::list(device).unwrap_or_else(|e| {
        log::debug!("{name}: no controls listed ({e}): mirrors are done in pistream's conversion");
        Vec::new()
    });
    let find = |id: u32| list.iter().find(|c| c.id == id && c.writable);
    if let (Some(h), Some(v)) = (find(controls::HFLIP), find(controls::VFLIP)) {
        if user_set.contains(&h.id) || user_set.contains(&v.id) {
            return orientation;
        }
        let set = |c: &controls::ControlInfo, flip: bool| {
            device.set_control(c.id, i32::from((c.default != 0) ^ flip))
        };
        match (set(h, orientation.hflip), set(v, orientation.vflip)) {
            (Ok(_), Ok(_)) => {
                if !quiet && !orientation.is_upright() {
                    log::info!("{name}: {orientation} by the driver");
                }
                return Orientation::UPRIGHT;
            }
            (h, v) => log::debug!("{name}: the driver refused its mirror controls ({h:?}, {v:?})"),
        }
    }
    if !quiet && !orientation.is_upright() {
        log::info!("{name}: {orientation} in pistream's conversion (the driver has no mirror controls)");
    }
    orientation
}

/// Writes what `target` asks for from one dequeued buffer's `data` (its `bytesused`: MJPEG
/// frames are shorter than the buffer): BGR converted into its buffer, the capture copied
/// tight into its native buffer.
fn deliver(
    converter: &mut Converter,
    native_format: Option<PixelFormat>,
    mirrors: Orientation,
    buffer: &Dequeued,
    data: &[u8],
    target: &mut Target<'_>,
) -> Captured {
    let (flags, timestamp) = (buffer.flags, buffer.timestamp);
    if let Some(why) = unusable(converter.input().format, data, flags) {
        return Captured::Bad(why);
    }
    if let Some(bgr) = target.bgr.as_deref_mut() {
        if let Err(e) = converter.convert(data, bgr) {
            return Captured::Bad(e.to_string());
        }
    }
    let mut native_len = 0;
    if let (Some(native), Some(format)) = (target.native.as_deref_mut(), native_format) {
        let layout = converter.input();
        native_len = if format == PixelFormat::Mjpeg {
            native.clear();
            native.extend_from_slice(data);
            data.len()
        } else {
            if data.len() < layout.min_frame_len() {
                return Captured::Bad(format!(
                    "a {format} frame of {} bytes, the layout needs {}",
                    data.len(),
                    layout.min_frame_len()
                ));
            }
            let len = format.tight_len(layout.width, layout.height).expect("a raw format");
            if native.len() < len {
                native.resize(len, 0);
            }
            encode::pack_tight_oriented(layout, data, native, mirrors)
        };
    }
    let monotonic = flags & BufferFlags::TIMESTAMP_MASK == BufferFlags::TIMESTAMP_MONOTONIC;
    let driver_time = (monotonic && timestamp.sec > 0)
        .then(|| Duration::new(timestamp.sec as u64, (timestamp.usec.clamp(0, 999_999) * 1000) as u32));
    Captured::Frame { driver_time, native_len }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_buffers_are_told_apart_before_conversion() {
        let ok = BufferFlags::empty();
        assert!(unusable(PixelFormat::Yuyv, &[0; 10], BufferFlags::ERROR).unwrap().contains("flagged"));
        assert_eq!(unusable(PixelFormat::Yuyv, &[0; 10], ok), None, "raw sizes are the converter's check");
        let jpeg = [0xff, 0xd8, 1, 2, 3, 0xff, 0xd9];
        assert_eq!(unusable(PixelFormat::Mjpeg, &jpeg, ok), None);
        assert_eq!(unusable(PixelFormat::Mjpeg, &[&jpeg[..], &[0; 9]].concat(), ok), None, "zero padding");
        assert!(unusable(PixelFormat::Mjpeg, &jpeg[..5], ok).unwrap().contains("end marker"));
        assert!(unusable(PixelFormat::Mjpeg, &jpeg[2..], ok).unwrap().contains("start marker"));
        assert!(unusable(PixelFormat::Mjpeg, &[], ok).is_some(), "an empty frame");
    }
}
