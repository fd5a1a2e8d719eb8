//! Raspberry Pi camera modules (CSI: Camera Module 2 and 3, HQ, any libcamera camera) through
//! `rpicam-vid`, run as a child process (`super::child`) that writes raw YUV420 frames to its
//! stdout, as Raspberry Pi recommends over translation layers, and as go2rtc drives Pi
//! cameras. The camera's ISP does the demosaic, white balance, exposure, autofocus and the
//! mirrors; pistream reads whole frames into its pooled buffers as the ISP laid them out
//! (I420 with padded rows, full range, BT.601: the sYCC rpicam-vid asks libcamera for) and
//! hands them to every viewer as a YUV camera's planes, with their stride.
//!
//! `options.rs` builds rpicam-vid's command line and checks `--camera-option`; `layout.rs`
//! knows each ISP's frame layout; `reader.rs` reads frames off the pipe; `messages.rs`
//! reads its stderr; `list.rs` reads `rpicam-vid --list-cameras`. This file is the
//! [`Source`]: it starts rpicam-vid, restarts it with backoff when it exits or stops
//! sending (the viewers stay connected, as for an unplugged V4L2 camera), and stops it when
//! the source is dropped.

mod layout;
pub mod list;
mod messages;
pub mod options;
mod reader;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use layout::{FrameLayout, Isp};
pub use options::{CameraOption, Request};

use super::capture::{Captured, Source, SourceError, Target};
use super::child::{find_program, ChildProcess, SpawnError};
use crate::codec::convert::Converter;
use crate::media::{Geometry, PixelFormat, YuvRange};
use crate::runtime::Backoff;
use messages::Message;
use reader::{FrameReader, Step};

/// The program's names: the current one, and the one before Raspberry Pi OS Bookworm's
/// rename (rpicam-apps 1.4).
pub const PROGRAMS: [&str; 2] = ["rpicam-vid", "libcamera-vid"];
/// What to install when neither is there.
pub const PACKAGE_HINT: &str = "install it with `sudo apt install rpicam-apps` (Raspberry Pi OS)";
/// How long a new rpicam-vid may take to send its first frame (the camera starts, the
/// ISP's algorithms settle: 1-3 s on a Pi; a Zero 2 W, and libcamera under emulation in the
/// VM rig, are much slower).
const FIRST_FRAME: Duration = Duration::from_secs(30);
/// No frame for this long from a running rpicam-vid counts as a stall: it is restarted.
pub const STALL_LIMIT: Duration = Duration::from_secs(5);
/// A frame that started arriving must finish within this.
const MID_FRAME_LIMIT: Duration = Duration::from_secs(1);
/// How long one `next_frame` waits for a frame to start.
const WAIT: Duration = Duration::from_millis(100);
/// How long the first bytes wait for stderr to name the ISP, when the layout depends on it.
const ISP_HINT_WAIT: Duration = Duration::from_millis(1500);

/// What the stderr thread learned, shared with the source.
#[derive(Default)]
struct Heard {
    isp: Option<Isp>,
    configured: Option<(u32, u32, String)>,
    /// The last line that was not empty, for saying why the program ended.
    last_line: String,
    /// The last error line.
    last_error: Option<String>,
}

/// A running rpicam-vid and what reads it.
struct Running {
    child: ChildProcess,
    heard: Arc<Mutex<Heard>>,
    reader: FrameReader,
    started: Instant,
    frames: u64,
    last_frame: Instant,
}

/// A libcamera camera through rpicam-vid, as a [`Source`].
pub struct RpicamSource {
    program: PathBuf,
    request: Request,
    output: Geometry,
    /// The ISP found on this machine (an ISP device node, or the device tree), if any.
    local_isp: Option<Isp>,
    running: Option<Running>,
    restart: Backoff,
    /// The layout frames come in, decided when the first one begins (a restart keeps it).
    layout: FrameLayout,
    /// Its planes to BGR (made with the layout).
    converter: Option<Converter>,
    /// Where a frame is read when the viewers want only BGR.
    frame: Vec<u8>,
}

/// The rpicam-vid (or libcamera-vid) on `PATH`.
pub fn program() -> Option<PathBuf> {
    PROGRAMS.iter().find_map(|name| find_program(name))
}

fn lock(heard: &Mutex<Heard>) -> std::sync::MutexGuard<'_, Heard> {
    heard.lock().unwrap_or_else(|p| p.into_inner())
}

impl RpicamSource {
    /// Starts rpicam-vid for `request` and waits until its first frame begins (or it fails:
    /// then the error says why, with its last line).
    pub fn open(request: Request) -> Result<RpicamSource, SourceError> {
        if !request.width.is_multiple_of(2)
            || !request.height.is_multiple_of(2)
            || request.width < 64
            || request.height < 64
        {
            return Err(SourceError::Failed(format!(
                "--source rpicam needs an even width and height of at least 64, not {}x{}",
                request.width, request.height
            )));
        }
        let program = program().ok_or_else(|| {
            SourceError::Failed(format!(
                "rpicam-vid is not installed (neither {} is on PATH): {PACKAGE_HINT}",
                PROGRAMS.join(" nor ")
            ))
        })?;
        let output = Geometry::new(request.width, request.height);
        let mut source = RpicamSource {
            program,
            request,
            output,
            local_isp: local_isp(),
            running: None,
            restart: Backoff::reopen(),
            layout: FrameLayout::new(Isp::Vc4, output.width, output.height),
            converter: None,
            frame: Vec::new(),
        };
        source.start().map_err(SourceError::Failed)?;
        source.await_first_bytes()?;
        let mut running = source.running.take().expect("started");
        let decided = source.decide_layout(&running);
        if let Ok(layout) = decided {
            running.reader = FrameReader::new(layout);
        }
        source.running = Some(running);
        let layout = decided?;
        let converter =
            Converter::new(layout.planes(), output).map_err(|e| SourceError::Failed(e.to_string()))?;
        (source.layout, source.converter) = (layout, Some(converter));
        Ok(source)
    }

    fn name(&self) -> String {
        self.program.file_name().map_or("rpicam-vid".into(), |n| n.to_string_lossy().into_owned())
    }

    /// Starts the program; an error says why it could not be run.
    fn start(&mut self) -> Result<(), String> {
        let heard = Arc::new(Mutex::new(Heard::default()));
        let name = self.name();
        let sink = heard.clone();
        let on_line = move |line: &str| {
            if line.trim().is_empty() {
                return;
            }
            let message = Message::classify(line);
            let mut heard = lock(&sink);
            heard.last_line.clear();
            heard.last_line.push_str(line.trim());
            match &message {
                Message::Isp(isp) => heard.isp = Some(*isp),
                Message::Configured { width, height, colour_space } => {
                    heard.configured = Some((*width, *height, colour_space.clone()))
                }
                Message::Error => heard.last_error = Some(line.trim().to_string()),
                Message::Other => {}
            }
            drop(heard);
            match message {
                Message::Error => log::warn!("{name}: {}", line.trim()),
                _ => log::debug!("{name}: {}", line.trim()),
            }
        };
        let program = self.program.to_string_lossy().into_owned();
        let child = ChildProcess::spawn(&program, self.request.args(), on_line).map_err(|e| match e {
            SpawnError::NotFound { .. } => format!("rpicam-vid is not installed: {PACKAGE_HINT}"),
            e => e.to_string(),
        })?;
        reader::nonblocking(child.stdout_raw()).map_err(|e| format!("setting up rpicam-vid's pipe: {e}"))?;
        log::debug!("started {} (pid {}): {}", self.name(), child.pid(), self.request.args().join(" "));
        let now = Instant::now();
        let reader = FrameReader::new(self.layout);
        self.running = Some(Running { child, heard, reader, started: now, frames: 0, last_frame: now });
        Ok(())
    }

    /// Waits for the first frame's bytes after the first start: an rpicam-vid that exits
    /// or sends nothing makes `open` fail with its own words.
    fn await_first_bytes(&mut self) -> Result<(), SourceError> {
        let running = self.running.as_mut().expect("just started");
        let fd = running.child.stdout_raw();
        let deadline = Instant::now() + FIRST_FRAME;
        while Instant::now() < deadline {
            match poll_pipe(fd, Duration::from_millis(50)) {
                Pipe::Data => return Ok(()),
                Pipe::Closed => {
                    // The program closed its stdout: it is ending; give it a moment to.
                    let until = Instant::now() + Duration::from_secs(1);
                    while running.child.exited().is_none() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    let how = running
                        .child
                        .exited()
                        .map_or("closed its output".to_string(), |s| format!("exited ({s})"));
                    return Err(self.failed_to_start(&how));
                }
                Pipe::Empty => {}
            }
            if let Some(status) = running.child.exited() {
                return Err(self.failed_to_start(&format!("exited ({status})")));
            }
        }
        Err(self.failed_to_start(&format!("sent no frame within {} s", FIRST_FRAME.as_secs())))
    }

    fn failed_to_start(&mut self, what: &str) -> SourceError {
        let running = self.running.take().expect("running");
        let heard = running.heard.clone();
        let _ = running.child.stop();
        let heard = lock(&heard);
        let said = heard.last_error.as_deref().unwrap_or(&heard.last_line);
        let hint = if said.contains("no cameras available") {
            ": no camera module found; check the ribbon cable and `rpicam-hello --list-cameras`"
        } else if said.contains("acquire camera") || said.contains("in use") {
            ": another program is using the camera; stop it first"
        } else {
            ""
        };
        SourceError::Failed(format!(
            "{} {what}{}{hint}",
            self.name(),
            if said.is_empty() { String::new() } else { format!(": \"{said}\"") }
        ))
    }

    /// Stops the running program, logs why, and schedules the restart.
    fn lost(&mut self, why: &str) {
        let Some(running) = self.running.take() else { return };
        let heard = running.heard.clone();
        let status = running.child.stop();
        let heard = lock(&heard);
        let said = heard.last_error.as_deref().unwrap_or(&heard.last_line);
        let delay = self.restart.failed();
        log::warn!(
            "{} {why}{}{}; the viewers stay connected, restarting it in {:.1} s",
            self.name(),
            status.filter(|_| why.starts_with("exited")).map_or(String::new(), |s| format!(" ({s})")),
            if said.is_empty() { String::new() } else { format!(", its last line: \"{said}\"") },
            delay.as_secs_f64()
        );
    }

    /// The layout frames come in, decided when the first bytes arrive: the ISP named on
    /// rpicam-vid's stderr, else the one found on this machine. Widths that are a multiple
    /// of 128 are laid out alike by every ISP.
    fn decide_layout(&self, running: &Running) -> Result<FrameLayout, SourceError> {
        let (w, h) = (self.request.width, self.request.height);
        let deadline = Instant::now() + ISP_HINT_WAIT;
        let isp = loop {
            let heard = lock(&running.heard).isp;
            if let Some(isp) =
                heard.or(if w % 128 == 0 { Some(self.local_isp.unwrap_or(Isp::Vc4)) } else { None })
            {
                break isp;
            }
            if Instant::now() >= deadline {
                break self.local_isp.ok_or_else(|| {
                    SourceError::Failed(format!(
                        "cannot tell which Raspberry Pi ISP lays out {}'s frames (its rows are padded \
                         differently on a Pi 5 and on earlier models, and at {w} pixels that matters): no \
                         bcm2835-isp or pispbe device here and no libcamera line naming one; use a width \
                         that is a multiple of 128 (640, 1280, 1920)",
                        self.name()
                    ))
                })?;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some((cw, ch, colour_space)) = lock(&running.heard).configured.clone() {
            if (cw, ch) != (w, h) {
                return Err(SourceError::Failed(format!(
                    "{} configured the camera for {cw}x{ch}, not the {w}x{h} asked for; choose a size the \
                     camera gives (`pistream devices` lists its modes)",
                    self.name()
                )));
            }
            if !colour_space.is_empty() && colour_space != "sYCC" {
                log::warn!(
                    "{} sends {colour_space} colour, not the sYCC (full range) pistream reads it as: colours may \
                     be slightly off",
                    self.name()
                );
            }
        }
        let layout = FrameLayout::new(isp, w, h);
        log::info!("{}: {layout}", self.name());
        Ok(layout)
    }
}

impl Source for RpicamSource {
    fn geometry(&self) -> Geometry {
        self.output
    }

    fn next_frame(&mut self, target: &mut Target<'_>) -> Result<Captured, SourceError> {
        if self.running.is_none() {
            if !self.restart.is_due() {
                std::thread::sleep(WAIT);
                return Ok(Captured::NotYet);
            }
            if let Err(e) = self.start() {
                let delay = self.restart.failed();
                log::warn!(
                    "cannot restart the camera program ({e}); retrying in {:.1} s",
                    delay.as_secs_f64()
                );
                return Ok(Captured::NotYet);
            }
        }
        let mut running = self.running.take().expect("started above");
        let frame_len = self.layout.frame_len();
        let native_wanted = target.native.is_some();
        let dst: &mut Vec<u8> = match target.native.as_deref_mut() {
            Some(native) => native,
            None => &mut self.frame,
        };
        if dst.len() < frame_len {
            dst.resize(frame_len, 0);
        }
        let fd = running.child.stdout_raw();
        let step = running
            .reader
            .read(fd, &mut dst[..frame_len], WAIT, MID_FRAME_LIMIT)
            .map_err(|e| SourceError::Failed(format!("reading {}'s frames: {e}", self.program.display())));
        let step = match step {
            Ok(step) => step,
            Err(e) => {
                self.running = Some(running);
                self.lost(&format!("could not be read ({e})"));
                return Ok(Captured::NotYet);
            }
        };
        if step == Step::Frame {
            if let (Some(bgr), Some(converter)) = (target.bgr.as_deref_mut(), self.converter.as_mut()) {
                let planes = match target.native.as_deref() {
                    Some(native) => &native[..frame_len],
                    None => &self.frame[..frame_len],
                };
                if let Err(e) = converter.convert(planes, bgr) {
                    self.running = Some(running);
                    return Ok(Captured::Bad(e.to_string()));
                }
            }
            running.frames += 1;
            running.last_frame = Instant::now();
            if running.frames == 1 {
                self.restart.succeeded();
            }
            self.running = Some(running);
            return Ok(Captured::Frame {
                driver_time: None,
                native_len: if native_wanted { frame_len } else { 0 },
            });
        }
        self.after(running, step)
    }

    fn describe(&self) -> String {
        let fps =
            if self.request.fps > 0.0 { format!(" at {} fps", self.request.fps) } else { String::new() };
        format!(
            "{} camera {} ({}x{}{fps}, YUV420{}{})",
            self.name(),
            self.request.camera,
            self.request.width,
            self.request.height,
            if self.request.orientation.is_upright() {
                String::new()
            } else {
                format!(", {}", self.request.orientation)
            },
            self.local_isp.map_or(String::new(), |isp| format!(", {isp} ISP")),
        )
    }

    fn native_format(&self) -> Option<PixelFormat> {
        Some(PixelFormat::I420)
    }

    fn native_range(&self) -> YuvRange {
        YuvRange::Full
    }

    fn native_stride(&self) -> Option<usize> {
        Some(self.layout.stride)
    }

    fn read_continuously(&self) -> bool {
        // rpicam-vid hands a buffer back to the camera before it writes it out: a pipe left
        // full would make it write frames the camera is already refilling, and frames
        // waiting in the pipe would be stale when someone starts watching.
        true
    }
}

impl RpicamSource {
    /// What follows a step that brought no frame.
    fn after(&mut self, mut running: Running, step: Step) -> Result<Captured, SourceError> {
        match step {
            Step::Frame => unreachable!("handled by the caller"),
            Step::Skipped(why) => {
                self.running = Some(running);
                Ok(Captured::Bad(why))
            }
            Step::Mismatch(why) => {
                let _ = running.child.stop();
                Err(SourceError::Failed(format!(
                    "{why}. This is a bug in pistream's idea of this camera's frames; please report it with the \
                     output of `rpicam-vid --version` and the Pi model"
                )))
            }
            Step::NotYet => {
                let (limit, what) = if running.frames == 0 {
                    (FIRST_FRAME, format!("sent no frame within {} s of starting", FIRST_FRAME.as_secs()))
                } else {
                    (STALL_LIMIT, format!("sent no frame for {} s", STALL_LIMIT.as_secs()))
                };
                let since = if running.frames == 0 { running.started } else { running.last_frame };
                let exited = running.child.exited();
                self.running = Some(running);
                if let Some(status) = exited {
                    self.lost(&format!("exited ({status})"));
                } else if since.elapsed() > limit {
                    self.lost(&what);
                }
                Ok(Captured::NotYet)
            }
            Step::Closed { partial } => {
                self.running = Some(running);
                let cut = if partial > 0 { format!(" {partial} bytes into a frame") } else { String::new() };
                self.lost(&format!("exited{cut}"));
                Ok(Captured::NotYet)
            }
            Step::StalledMidFrame { partial } => {
                self.running = Some(running);
                self.lost(&format!(
                    "stopped {partial} bytes into a frame for {} s",
                    MID_FRAME_LIMIT.as_secs()
                ));
                Ok(Captured::NotYet)
            }
        }
    }
}

/// What a pipe holds.
enum Pipe {
    Data,
    /// Its writer closed it and nothing is left to read.
    Closed,
    Empty,
}

/// Waits up to `timeout` for bytes (or the end) on a pipe.
fn poll_pipe(fd: std::os::fd::RawFd, timeout: Duration) -> Pipe {
    use nix::libc;
    let mut pollfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pollfd, 1, timeout.as_millis() as libc::c_int) };
    if n <= 0 {
        Pipe::Empty
    } else if pollfd.revents & libc::POLLIN != 0 {
        Pipe::Data
    } else {
        Pipe::Closed
    }
}

/// The Raspberry Pi ISP on this machine, found as rpicam-apps finds it: a V4L2 node whose
/// card is `bcm2835-isp` (Pi 0-4) or `pispbe` (Pi 5), else the device tree's SoC.
pub fn local_isp() -> Option<Isp> {
    for path in super::v4l2::device_nodes() {
        let Ok(device) = super::v4l2::Device::open(&path) else { continue };
        let Ok(caps) = device.capabilities() else { continue };
        match caps.card.as_str() {
            "bcm2835-isp" => return Some(Isp::Vc4),
            "pispbe" => return Some(Isp::Pisp),
            _ => {}
        }
    }
    let compatible = std::fs::read("/proc/device-tree/compatible").ok()?;
    let compatible = String::from_utf8_lossy(&compatible);
    if compatible.contains("brcm,bcm2712") {
        Some(Isp::Pisp)
    } else if ["brcm,bcm2711", "brcm,bcm2837", "brcm,bcm2836", "brcm,bcm2835"]
        .iter()
        .any(|c| compatible.contains(c))
    {
        Some(Isp::Vc4)
    } else {
        None
    }
}
