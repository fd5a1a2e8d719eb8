//! V4L2 cameras: `device.rs` is our thin layer of V4L2 calls (through libc, so LD_PRELOAD
//! adapters such as libcamera's see them; the `v4l` crate's bindings and types),
//! `discovery.rs` finds devices and lists what they offer, `controls.rs` lists and sets
//! their controls (`--control`, the mirrors), `mode.rs` picks a capture mode,
//! `stream.rs` streams one; this file is the [`Source`] that keeps a camera open,
//! closing and reopening it with backoff when it vanishes or stalls, while the network
//! side keeps the viewers connected (heartbeats).

pub mod controls;
mod device;
mod discovery;
pub mod mode;
mod stream;

use std::path::{Path, PathBuf};

pub use controls::ControlSetting;
pub use device::Device;
pub use discovery::{
    bayer_only_device, capture_device_info, device_nodes, first_usable_capture_device, offers,
};
use stream::Capture;

use super::capture::{Captured, Source, SourceError, Target};
use super::settings::CameraSettings;
use crate::media::Geometry;
use crate::runtime::Backoff;
use mode::Request;

/// A V4L2 device as a [`Source`], reopened with backoff when it fails.
pub struct V4l2Source {
    path: PathBuf,
    request: Request,
    output: Geometry,
    camera: CameraSettings,
    capture: Option<Capture>,
    reopen: Backoff,
    /// The native format and fourcc of the first open (a reopened device must match them).
    native: Option<crate::media::PixelFormat>,
    fourcc: [u8; 4],
}

impl V4l2Source {
    /// Opens `path` now (a first failure is returned as an error: a wrong path or an
    /// unusable camera should stop the program with a clear message).
    pub fn open(
        path: &Path,
        request: Request,
        output: Geometry,
        camera: &CameraSettings,
    ) -> Result<Self, SourceError> {
        let capture = Capture::open(path, &request, output, camera, false)?;
        let (native, fourcc) = (capture.native_format(), capture.fourcc());
        Ok(V4l2Source {
            path: path.to_path_buf(),
            request,
            output,
            camera: camera.clone(),
            capture: Some(capture),
            reopen: Backoff::reopen(),
            native,
            fourcc,
        })
    }
}

impl Source for V4l2Source {
    fn geometry(&self) -> Geometry {
        self.output
    }

    fn next_frame(&mut self, target: &mut Target<'_>) -> Result<Captured, SourceError> {
        let Some(capture) = self.capture.as_mut() else {
            if !self.reopen.is_due() {
                std::thread::sleep(std::time::Duration::from_millis(100));
                return Ok(Captured::NotYet);
            }
            match Capture::open(&self.path, &self.request, self.output, &self.camera, true) {
                // Sessions were negotiated for the first open's format (its bytes may go on
                // the wire as they are): a device that comes back in another one (another
                // camera on the same path) is not used until pistream restarts.
                Ok(capture) if (capture.native_format(), capture.fourcc()) != (self.native, self.fourcc) => {
                    let now = capture.fourcc();
                    capture.close();
                    let delay = self.reopen.failed();
                    log::warn!(
                        "{} is back but captures {} now, not {} as when pistream started; restart pistream to \
                         use it (retrying in {:.1} s)",
                        self.path.display(),
                        String::from_utf8_lossy(&now),
                        String::from_utf8_lossy(&self.fourcc),
                        delay.as_secs_f64()
                    );
                }
                Ok(capture) => {
                    log::info!("{} is back; capturing again", self.path.display());
                    self.capture = Some(capture);
                    self.reopen.succeeded();
                }
                Err(e) => {
                    let delay = self.reopen.failed();
                    log::warn!("still no camera ({e}); retrying in {:.1} s", delay.as_secs_f64());
                }
            }
            return Ok(Captured::NotYet);
        };
        match capture.capture(target) {
            Ok(captured) => Ok(captured),
            Err(e) => {
                if let Some(capture) = self.capture.take() {
                    capture.close();
                }
                self.reopen.succeeded();
                let delay = self.reopen.failed();
                log::warn!(
                    "camera {} lost ({e}); the viewers stay connected, retrying in {:.1} s",
                    self.path.display(),
                    delay.as_secs_f64()
                );
                Ok(Captured::NotYet)
            }
        }
    }

    fn describe(&self) -> String {
        format!("V4L2 {} -> {}", self.path.display(), self.output)
    }

    fn native_format(&self) -> Option<crate::media::PixelFormat> {
        self.native
    }

    fn capture_fourcc(&self) -> [u8; 4] {
        self.fourcc
    }
}

impl Drop for V4l2Source {
    fn drop(&mut self) {
        if let Some(capture) = self.capture.take() {
            capture.close();
        }
    }
}
