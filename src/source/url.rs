//! Network streams and video files through OpenCV's `VideoCapture` (FFmpeg backend): the
//! Android IP Webcam app's `http://PHONE:8080/video` (MJPEG over HTTP), RTSP cameras, files.
//!
//! OpenCV decodes into its own `Mat`; we resize (or copy) it straight into the frame buffer,
//! wrapped as a `Mat`, so each frame is copied once. A stream that drops or a server that
//! restarts is reopened with backoff. Network streams are read continuously, even with
//! no viewer, because `VideoCapture` keeps its own queue that would otherwise go stale.

use std::time::{Duration, Instant};

use opencv::core::{Mat, Size, Vec3b, CV_8UC3};
use opencv::prelude::*;
use opencv::{imgproc, videoio};

use super::capture::{Captured, Source, SourceError, Target};
use crate::codec::convert::mirror_in_place;
use crate::media::{Geometry, Orientation};
use crate::runtime::Backoff;

pub struct UrlSource {
    url: String,
    output: Geometry,
    capture: Option<videoio::VideoCapture>,
    decoded: Mat,
    grey_to_bgr: Mat,
    /// Files are paced at the requested rate; live streams pace themselves.
    period: Option<Duration>,
    next_due: Instant,
    reopen: Backoff,
    orientation: Orientation,
}

fn is_live(url: &str) -> bool {
    url.contains("://") && !url.starts_with("file:")
}

fn open_capture(url: &str) -> Result<videoio::VideoCapture, String> {
    let capture = videoio::VideoCapture::from_file(url, videoio::CAP_FFMPEG).map_err(|e| e.to_string())?;
    if !capture.is_opened().unwrap_or(false) {
        return Err("OpenCV could not open it".into());
    }
    Ok(capture)
}

impl UrlSource {
    /// Opens `url` now: a first failure is an error with what to check.
    pub fn open(url: &str, output: Geometry, fps: f64) -> Result<Self, SourceError> {
        let capture = open_capture(url).map_err(|e| {
            SourceError::Failed(format!(
                "cannot open {url}: {e}. Check the address and that the stream is up \
                 (for the IP Webcam app: http://PHONE:8080/video, phone and Pi on the same network)"
            ))
        })?;
        let period = (!is_live(url) && fps > 0.0).then(|| Duration::from_secs_f64(1.0 / fps));
        Ok(UrlSource {
            url: url.to_string(),
            output,
            capture: Some(capture),
            decoded: Mat::default(),
            grey_to_bgr: Mat::default(),
            period,
            next_due: Instant::now(),
            reopen: Backoff::reopen(),
            orientation: Orientation::UPRIGHT,
        })
    }

    /// The same source, its pictures mirrored as `orientation` says (in place, one pass,
    /// after OpenCV's copy).
    pub fn oriented(mut self, orientation: Orientation) -> Self {
        self.orientation = orientation;
        self
    }

    fn lost(&mut self, why: &str) {
        self.capture = None;
        let delay = self.reopen.failed();
        log::warn!("{} {why}; reopening in {:.1} s", self.url, delay.as_secs_f64());
    }

    /// Resizes or copies the decoded picture into `bgr`.
    fn store(&mut self, bgr: &mut [u8]) -> Result<(), String> {
        let channels = self.decoded.channels();
        let source = match channels {
            3 => &self.decoded,
            1 => {
                imgproc::cvt_color_def(&self.decoded, &mut self.grey_to_bgr, imgproc::COLOR_GRAY2BGR)
                    .map_err(|e| e.to_string())?;
                &self.grey_to_bgr
            }
            n => return Err(format!("decoded frames have {n} channels")),
        };
        let (rows, cols) = (self.output.height as i32, self.output.width as i32);
        let pointer = bgr.as_ptr();
        let mut target =
            Mat::new_rows_cols_with_bytes_mut::<Vec3b>(rows, cols, bgr).map_err(|e| e.to_string())?;
        if source.size().map_err(|e| e.to_string())? == Size::new(cols, rows) && source.typ() == CV_8UC3 {
            source.copy_to(&mut target).map_err(|e| e.to_string())?;
        } else {
            imgproc::resize(source, &mut target, Size::new(cols, rows), 0.0, 0.0, imgproc::INTER_LINEAR)
                .map_err(|e| e.to_string())?;
        }
        // OpenCV writes into an output Mat of the right size and type in place; make sure.
        if target.data() != pointer {
            return Err("OpenCV reallocated the output instead of writing into the frame".into());
        }
        Ok(())
    }
}

impl Source for UrlSource {
    fn geometry(&self) -> Geometry {
        self.output
    }

    fn next_frame(&mut self, target: &mut Target<'_>) -> Result<Captured, SourceError> {
        if let Some(period) = self.period {
            let now = Instant::now();
            if self.next_due > now {
                std::thread::sleep((self.next_due - now).min(Duration::from_millis(100)));
                return Ok(Captured::NotYet);
            }
            self.next_due = (self.next_due + period).max(now);
        }
        let Some(capture) = self.capture.as_mut() else {
            if !self.reopen.is_due() {
                std::thread::sleep(Duration::from_millis(50));
                return Ok(Captured::NotYet);
            }
            match open_capture(&self.url) {
                Ok(capture) => {
                    log::info!("{} reopened", self.url);
                    self.capture = Some(capture);
                    self.reopen.succeeded();
                }
                Err(e) => self.lost(&format!("still unavailable ({e})")),
            }
            return Ok(Captured::NotYet);
        };
        match capture.read(&mut self.decoded) {
            Ok(true) if !self.decoded.empty() => {}
            Ok(_) => {
                self.lost(if is_live(&self.url) { "dropped" } else { "ended" });
                return Ok(Captured::NotYet);
            }
            Err(e) => {
                self.lost(&format!("failed ({e})"));
                return Ok(Captured::NotYet);
            }
        }
        if let Some(bgr) = target.bgr.as_deref_mut() {
            self.store(bgr).map_err(|e| SourceError::Failed(format!("{}: {e}", self.url)))?;
            mirror_in_place(bgr, self.output, self.orientation);
        }
        Ok(Captured::Frame { driver_time: None, native_len: 0 })
    }

    fn describe(&self) -> String {
        format!("{} via OpenCV/FFmpeg -> {}", self.url, self.output)
    }

    fn read_continuously(&self) -> bool {
        is_live(&self.url)
    }
}
