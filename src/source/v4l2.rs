//! V4L2 capture with the `v4l` crate: device discovery, the format/size/rate the device
//! offers (fed to `negotiate.rs`), mmap streaming with 4 buffers, and conversion of each
//! frame into the BGR output buffer.
//!
//! Latency: every wake-up drains the driver's queue (dequeue all ready buffers, requeue
//! the older ones, keep the newest), as µStreamer does, so no frame waits behind others.
//! A device that vanishes or stops delivering is closed and reopened with backoff; the
//! network side meanwhile keeps the viewer connected (heartbeats).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use v4l::buffer::Type;
use v4l::capability::Flags as CapabilityFlags;
use v4l::device::Handle;
use v4l::format::{Colorspace, Format, FourCC, Quantization};
use v4l::frameinterval::FrameIntervalEnum;
use v4l::framesize::FrameSizeEnum;
use v4l::io::mmap::Stream;
use v4l::io::traits::{CaptureStream, Stream as _};
use v4l::video::capture::Parameters;
use v4l::video::Capture as _;
use v4l::Device;

use super::negotiate::{self, Choice, FormatOffer, FpsOffer, Request, SizeOffer};
use super::{Source, SourceError};
use crate::convert::{Converter, InputFormat, InputLayout, YuvMatrix, YuvRange};
use crate::frame::{now_us, Frame, Geometry};

const BUFFERS: u32 = 4;
/// How long one `next_frame` waits for the driver before returning to the caller.
const DEQUEUE_TIMEOUT: Duration = Duration::from_millis(100);
/// How long the first frame after opening may take.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(3);
/// No frame for this long counts as a lost device.
const STALL_LIMIT: Duration = Duration::from_secs(5);
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Linux's errno for a device that has gone away (unplugged, driver unbound).
const ENODEV: i32 = 19;

/// `/dev/video*` nodes, in numeric order.
pub fn device_nodes() -> Vec<PathBuf> {
    let mut nodes: Vec<(u32, PathBuf)> = std::fs::read_dir("/dev")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let index = name.strip_prefix("video")?.parse().ok()?;
            Some((index, entry.path()))
        })
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, path)| path).collect()
}

/// Driver and card name of a node, if it is a video capture device that can stream.
pub fn capture_device_info(path: &Path) -> Option<(String, String)> {
    let device = Device::with_path(path).ok()?;
    let caps = device.query_caps().ok()?;
    let usable = caps.capabilities.contains(CapabilityFlags::VIDEO_CAPTURE)
        && caps.capabilities.contains(CapabilityFlags::STREAMING);
    usable.then_some((caps.driver, caps.card))
}

/// The first capture device, for `camera` without `--source`.
pub fn first_capture_device() -> Option<PathBuf> {
    device_nodes().into_iter().find(|p| capture_device_info(p).is_some())
}

fn context<'a>(path: &'a Path, doing: &str) -> impl FnOnce(io::Error) -> SourceError + 'a {
    let doing = doing.to_string();
    move |e| SourceError::Failed(format!("{}: {doing}: {e}", path.display()))
}

/// Everything a device offers, as negotiation input.
pub fn offers(device: &Device) -> io::Result<Vec<FormatOffer>> {
    let mut offers = Vec::new();
    for description in device.enum_formats()? {
        let fourcc = description.fourcc;
        let mut sizes = Vec::new();
        for size in device.enum_framesizes(fourcc).unwrap_or_default() {
            match size.size {
                FrameSizeEnum::Discrete(d) => {
                    let fps = rates(device, fourcc, d.width, d.height);
                    sizes.push(SizeOffer::Discrete { width: d.width, height: d.height, fps });
                }
                FrameSizeEnum::Stepwise(s) => sizes.push(SizeOffer::Stepwise {
                    min: (s.min_width, s.min_height),
                    max: (s.max_width, s.max_height),
                    step: (s.step_width, s.step_height),
                    fps: rates(device, fourcc, s.max_width.min(640), s.max_height.min(480)),
                }),
            }
        }
        offers.push(FormatOffer { fourcc: fourcc.repr, description: description.description, sizes });
    }
    Ok(offers)
}

fn rates(device: &Device, fourcc: FourCC, width: u32, height: u32) -> FpsOffer {
    let fps_of = |num: u32, den: u32| if num == 0 { 0.0 } else { den as f64 / num as f64 };
    let Ok(intervals) = device.enum_frameintervals(fourcc, width, height) else { return FpsOffer::Unknown };
    let mut discrete = Vec::new();
    for interval in intervals {
        match interval.interval {
            FrameIntervalEnum::Discrete(f) => discrete.push(fps_of(f.numerator, f.denominator)),
            FrameIntervalEnum::Stepwise(s) => {
                return FpsOffer::Range {
                    min: fps_of(s.max.numerator, s.max.denominator),
                    max: fps_of(s.min.numerator, s.min.denominator),
                }
            }
        }
    }
    if discrete.is_empty() {
        FpsOffer::Unknown
    } else {
        FpsOffer::Discrete(discrete)
    }
}

/// The layout the driver actually set (it may round sizes and pad rows).
fn layout_of(format: &Format, input: InputFormat) -> InputLayout {
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
    InputLayout {
        format: input,
        width: format.width,
        height: format.height,
        stride: format.stride as usize,
        range,
        matrix,
    }
}

/// An open, streaming device.
struct Capture {
    stream: Stream<'static>,
    handle: Arc<Handle>,
    converter: Converter,
    started: bool,
    last_frame: Instant,
    _device: Device,
}

/// `POLLIN` for `Handle::poll`: a filled buffer is ready to dequeue.
const POLLIN: i16 = 0x001;

impl Capture {
    fn open(path: &Path, request: &Request, output: Geometry, quiet: bool) -> Result<Capture, SourceError> {
        let device = Device::with_path(path).map_err(context(path, "opening the device"))?;
        let caps = device.query_caps().map_err(context(path, "querying capabilities"))?;
        if !caps.capabilities.contains(CapabilityFlags::VIDEO_CAPTURE) {
            return Err(SourceError::Failed(format!(
                "{} ({}) is not a video capture device; `pistream devices` lists the ones that are",
                path.display(),
                caps.card
            )));
        }
        let offers = offers(&device).map_err(context(path, "listing formats"))?;
        let choice: Choice = negotiate::choose(&path.display().to_string(), &offers, request)
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
            // Drivers without frame-rate control refuse this; the rate is then theirs.
            let _ = device.set_params(&Parameters::with_fps(fps.round().max(1.0) as u32));
        }
        let layout = layout_of(&format, choice.format);
        let converter = Converter::new(layout, output)
            .map_err(|e| SourceError::Failed(format!("{}: {e}", path.display())))?;
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
        let mut stream = Stream::with_buffers(&device, Type::VideoCapture, BUFFERS)
            .map_err(context(path, "mapping buffers"))?;
        // Bounds only the first dequeue, which also starts the stream; later ones happen
        // only after poll says a buffer is ready (a timed-out dequeue would leave the
        // crate's stream requeueing a buffer that is already queued).
        stream.set_timeout(FIRST_FRAME_TIMEOUT);
        let handle = stream.handle();
        Ok(Capture { stream, handle, converter, started: false, last_frame: Instant::now(), _device: device })
    }

    /// Waits for the newest frame and converts it into `frame`.
    fn capture(&mut self, frame: &mut Frame) -> io::Result<bool> {
        if self.started && self.handle.poll(POLLIN, DEQUEUE_TIMEOUT.as_millis() as i32)? == 0 {
            if self.last_frame.elapsed() > STALL_LIMIT {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no frame for 5 s"));
            }
            return Ok(false);
        }
        let (data, meta) = self.stream.next()?;
        self.started = true;
        // Always slice to bytesused: MJPEG frames are shorter than the buffer.
        let mut newest = (data.as_ptr(), (meta.bytesused as usize).min(data.len()));
        // Drain: anything else already captured is newer (next() requeues the older one).
        while self.handle.poll(POLLIN, 0)? > 0 {
            let (data, meta) = self.stream.next()?;
            newest = (data.as_ptr(), (meta.bytesused as usize).min(data.len()));
        }
        self.last_frame = Instant::now();
        // SAFETY: `newest` points into the mmap'ed buffer the last `next()` dequeued. The
        // stream stays alive (and the mapping with it) for this borrow of `self`, and that
        // buffer is not requeued to the driver until the following `next()` call, so no
        // one writes to it while we read.
        let data = unsafe { std::slice::from_raw_parts(newest.0, newest.1) };
        match self.converter.convert(data, &mut frame.data) {
            Ok(()) => Ok(true),
            // One bad frame (a torn JPEG) is skipped, not fatal.
            Err(e) => {
                log::warn!("skipping a bad frame: {e}");
                Ok(false)
            }
        }
    }

    /// Stops streaming without letting the `v4l` stream's Drop panic: if STREAMOFF fails
    /// for any reason other than a vanished device, the mapping is leaked instead. A
    /// vanished device (ENODEV, which the stream's Drop ignores) is dropped normally so its
    /// file descriptor is closed: while it stays open the kernel keeps the node's number,
    /// and the device coming back would get a new one (/dev/video1 instead of video0).
    fn close(self) {
        let Capture { mut stream, .. } = self;
        if let Err(e) = stream.stop() {
            if e.raw_os_error() != Some(ENODEV) {
                std::mem::forget(stream);
            }
        }
    }
}

/// A V4L2 device as a [`Source`], reopened with backoff when it fails.
pub struct V4l2Source {
    path: PathBuf,
    request: Request,
    output: Geometry,
    capture: Option<Capture>,
    retry_at: Instant,
    retry_delay: Duration,
    seq: u64,
}

impl V4l2Source {
    /// Opens `path` now (a first failure is returned as an error: a wrong path or an
    /// unusable camera should stop the program with a clear message).
    pub fn open(path: &Path, request: Request, output: Geometry) -> Result<Self, SourceError> {
        let capture = Capture::open(path, &request, output, false)?;
        Ok(V4l2Source {
            path: path.to_path_buf(),
            request,
            output,
            capture: Some(capture),
            retry_at: Instant::now(),
            retry_delay: RETRY_MIN,
            seq: 0,
        })
    }
}

impl Source for V4l2Source {
    fn geometry(&self) -> Geometry {
        self.output
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        let Some(capture) = self.capture.as_mut() else {
            if Instant::now() < self.retry_at {
                std::thread::sleep(Duration::from_millis(100));
                return Ok(false);
            }
            match Capture::open(&self.path, &self.request, self.output, true) {
                Ok(capture) => {
                    log::info!("{} is back; capturing again", self.path.display());
                    self.capture = Some(capture);
                    self.retry_delay = RETRY_MIN;
                }
                Err(e) => {
                    self.retry_delay = (self.retry_delay * 2).min(RETRY_MAX);
                    self.retry_at = Instant::now() + self.retry_delay;
                    log::warn!("still no camera ({e}); retrying in {:.1} s", self.retry_delay.as_secs_f64());
                }
            }
            return Ok(false);
        };
        frame.ensure_geometry(self.output);
        match capture.capture(frame) {
            Ok(true) => {
                frame.seq = self.seq;
                frame.captured_us = now_us();
                self.seq += 1;
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) => {
                log::warn!(
                    "camera {} lost ({e}); the viewer stays connected, retrying in {:.1} s",
                    self.path.display(),
                    RETRY_MIN.as_secs_f64()
                );
                if let Some(capture) = self.capture.take() {
                    capture.close();
                }
                self.retry_delay = RETRY_MIN;
                self.retry_at = Instant::now() + RETRY_MIN;
                Ok(false)
            }
        }
    }

    fn describe(&self) -> String {
        format!("V4L2 {} -> {}", self.path.display(), self.output)
    }
}

impl Drop for V4l2Source {
    fn drop(&mut self) {
        if let Some(capture) = self.capture.take() {
            capture.close();
        }
    }
}
