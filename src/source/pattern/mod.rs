//! The test pattern as a source: a paced (or unpaced) [`PatternSource`] drawing the
//! picture of `picture.rs` (which a receiver checks bit for bit), in BGR or, with
//! `--format`, as a camera of that capture format would deliver it (`coded.rs`).

pub mod coded;
mod picture;

use std::time::{Duration, Instant};

pub use picture::{fill, fill_row, PatternVerifier, Renderer};

use super::capture::{Captured, Source, SourceError, Target};
use crate::codec::convert::{encode, mirror_in_place};
use crate::media::{Geometry, Layout, Orientation, PixelFormat};
use coded::CodedPattern;

/// Longest single sleep while pacing, so the caller can check for shutdown.
const MAX_WAIT: Duration = Duration::from_millis(100);

/// The pattern as a paced [`Source`], in BGR or, with `--format`, as a camera of that
/// capture format delivers it ([`CodedPattern`]).
pub struct PatternSource {
    geometry: Geometry,
    renderer: Renderer,
    period: Option<Duration>,
    next_due: Option<Instant>,
    coded: Option<CodedPattern>,
    /// The coded frame when only BGR is wanted of a coded pattern.
    scratch: Vec<u8>,
    /// `--rotate`/`--hflip`/`--vflip`.
    orientation: Orientation,
    /// The coded frame before mirroring, when mirrored.
    unmirrored: Vec<u8>,
}

impl PatternSource {
    /// A pattern of `geometry` at `fps` frames per second (0 = as fast as possible),
    /// captured in `format` (BGR when `None`).
    pub fn new(geometry: Geometry, fps: f64, format: Option<PixelFormat>) -> Result<Self, SourceError> {
        let period = (fps > 0.0).then(|| Duration::from_secs_f64(1.0 / fps));
        let coded = match format {
            None | Some(PixelFormat::Bgr24) => None,
            Some(format) => Some(CodedPattern::new(format, geometry).map_err(SourceError::Failed)?),
        };
        Ok(PatternSource {
            geometry,
            renderer: Renderer::new(geometry),
            period,
            next_due: None,
            coded,
            scratch: Vec::new(),
            orientation: Orientation::UPRIGHT,
            unmirrored: Vec::new(),
        })
    }

    /// The same pattern, mirrored as `orientation` says (as a camera would be).
    pub fn oriented(mut self, orientation: Orientation) -> Result<Self, SourceError> {
        if !orientation.is_upright() && self.coded.as_ref().is_some_and(|c| c.format() == PixelFormat::Mjpeg)
        {
            return Err(SourceError::Failed(format!(
                "--format MJPG with the pattern cannot be {orientation}: leave out --format or the mirrors"
            )));
        }
        self.orientation = orientation;
        Ok(self)
    }
}

impl Source for PatternSource {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn next_frame(&mut self, target: &mut Target<'_>) -> Result<Captured, SourceError> {
        if let Some(period) = self.period {
            let now = Instant::now();
            let due = *self.next_due.get_or_insert(now);
            if due > now {
                std::thread::sleep((due - now).min(MAX_WAIT));
                if Instant::now() < due {
                    return Ok(Captured::NotYet);
                }
            }
            // Keep a steady cadence, but never try to catch up on a backlog.
            let next = due + period;
            self.next_due = Some(if next < now { now + period } else { next });
        }
        let Some(coded) = &mut self.coded else {
            if let Some(bgr) = target.bgr.as_deref_mut() {
                self.renderer.render(bgr, target.seq);
                mirror_in_place(bgr, self.geometry, self.orientation);
            }
            return Ok(Captured::Frame { driver_time: None, native_len: 0 });
        };
        let native = target.native.as_deref_mut().unwrap_or(&mut self.scratch);
        let native_len = if self.orientation.is_upright() {
            coded.native(target.seq, native)
        } else {
            let len = coded.native(target.seq, &mut self.unmirrored);
            if native.len() < len {
                native.resize(len, 0);
            }
            let g = self.geometry;
            let layout = Layout::tight(coded.format(), g.width, g.height);
            encode::pack_tight_oriented(&layout, &self.unmirrored[..len], native, self.orientation)
        };
        if let Some(bgr) = target.bgr.as_deref_mut() {
            coded.to_bgr(&native[..native_len], bgr).map_err(SourceError::Failed)?;
        }
        let native_len = if target.native.is_some() { native_len } else { 0 };
        Ok(Captured::Frame { driver_time: None, native_len })
    }

    fn native_format(&self) -> Option<PixelFormat> {
        self.coded.as_ref().map(CodedPattern::format)
    }

    fn paced_by_consumer(&self) -> bool {
        self.period.is_none()
    }

    fn describe(&self) -> String {
        let mut format = self.coded.as_ref().map_or(String::new(), |c| format!(" as {}", c.format()));
        if !self.orientation.is_upright() {
            format = format!("{format}, {}", self.orientation);
        }
        match self.period {
            Some(p) => format!("test pattern {}{format} at {:.1} fps", self.geometry, 1.0 / p.as_secs_f64()),
            None => format!("test pattern {}{format} unpaced", self.geometry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Frame;

    #[test]
    fn the_source_draws_the_frame_the_capture_stage_numbers() {
        let g = Geometry::new(8, 8);
        let mut source = PatternSource::new(g, 0.0, None).unwrap();
        let mut f = Frame::new(g);
        let mut verifier = PatternVerifier::new();
        for seq in [0, 1, 7] {
            let mut target = Target { seq, bgr: Some(&mut f.data), native: None };
            assert_eq!(
                source.next_frame(&mut target).unwrap(),
                Captured::Frame { driver_time: None, native_len: 0 }
            );
            f.seq = seq;
            assert!(verifier.check(&f));
        }
    }
}
