//! H.264 as a stage of the hub: one encoder per bitrate in use, fed every captured frame
//! while anyone subscribes, its units shared by every viewer of that bitrate (nothing is
//! encoded per viewer). The encoder takes each frame's I420: a Y'CbCr camera's own tight
//! planes in the limited range as they are, otherwise the I420 product (made once per frame
//! from the planes, which fits full-range or padded ones to the limited range, or from BGR),
//! which I420 wire viewers share too.

use std::sync::Arc;

use crate::codec::convert::encode::bgr_to;
use crate::codec::convert::Scaler;
use crate::codec::h264::{H264Encoder, H264Settings, Planes, SoftwareEncoder};
use crate::codec::jpeg::Encoder as JpegEncoder;
use crate::codec::products::Product;
use crate::codec::select::Backend;
use crate::media::{EncodedUnit, Layout, PixelFormat};
use crate::pipeline::hub::keyframe::MIN_GAP;
use crate::pipeline::hub::{Hub, Needs, SharedFrame, StageSpec, StatefulEncoder, Subscription, ViewerGuard};

/// An H.264 encoder as the hub drives it.
pub struct H264Stage {
    encoder: Box<dyn H264Encoder>,
    /// What the capture must make: the camera's planes when it has Y'CbCr, else BGR.
    needs: Needs,
    /// Products need an encoder argument; I420 never uses it.
    jpeg: Option<JpegEncoder>,
}

impl H264Stage {
    /// The encoder `backend` gives for `settings` (hardware or software, as
    /// `--h264-encoder` chose), for a camera whose own bytes are `native`.
    pub fn new(
        backend: &Backend,
        settings: H264Settings,
        native: Option<PixelFormat>,
    ) -> Result<H264Stage, String> {
        let encoder = backend.open(settings).map_err(|e| e.to_string())?;
        Ok(H264Stage {
            encoder,
            needs: if native.is_some_and(|f| f.is_yuv()) { Needs::NATIVE } else { Needs::BGR },
            jpeg: None,
        })
    }
}

impl StatefulEncoder for H264Stage {
    fn needs(&self) -> Needs {
        self.needs
    }

    fn encode(
        &mut self,
        frame: &SharedFrame,
        keyframe: bool,
        unit: &mut EncodedUnit,
    ) -> Result<bool, String> {
        let g = frame.geometry;
        let layout = Layout::tight(PixelFormat::I420, g.width, g.height);
        let planes = match frame.native_as(PixelFormat::I420) {
            Some(planes) => planes,
            None => {
                let jpeg = match self.jpeg.as_mut() {
                    Some(jpeg) => jpeg,
                    None => self.jpeg.insert(JpegEncoder::new().map_err(|e| e.to_string())?),
                };
                frame.product(Product::I420, jpeg).map_err(|e| e.to_string())?
            }
        };
        let planes = Planes::of(&layout, planes).map_err(|e| e.to_string())?;
        encode_into(self.encoder.as_mut(), &planes, keyframe, frame.captured_us, unit)
    }
}

/// Encodes `planes` into `unit` (a keyframe if `keyframe`): whether the codec made a unit.
fn encode_into(
    encoder: &mut dyn H264Encoder,
    planes: &Planes<'_>,
    keyframe: bool,
    captured_us: u64,
    unit: &mut EncodedUnit,
) -> Result<bool, String> {
    match encoder.encode(planes, keyframe, captured_us, &mut unit.data).map_err(|e| e.to_string())? {
        Some(encoded) => {
            unit.keyframe = encoded.keyframe;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The stage of H.264 at `settings`: one per bitrate and keyframe interval, shared.
pub fn stage_spec(settings: &H264Settings) -> StageSpec {
    StageSpec {
        key: u64::from(settings.bitrate) << 32 | u64::from(settings.keyframe_interval),
        name: format!("H.264 {:.1} Mbit/s", f64::from(settings.bitrate) / 1e6),
        gop: settings.keyframe_interval as usize,
        min_keyframe_gap: MIN_GAP,
        unit_capacity: unit_capacity(settings),
    }
}

/// A keyframe's worth of bytes: twelve average frames at the bitrate (keyframes measured
/// five to six on the test pattern), at least 64 KiB.
fn unit_capacity(settings: &H264Settings) -> usize {
    let average = f64::from(settings.bitrate) / 8.0 / settings.fps.max(1.0);
    ((average * 12.0) as usize).max(64 * 1024)
}

/// Subscribes `viewer` to the H.264 stream of `settings` (starting its encoder if it is the
/// first): units from the next keyframe on.
pub fn subscribe(
    hub: &Arc<Hub>,
    viewer: &ViewerGuard,
    settings: H264Settings,
    native: Option<PixelFormat>,
) -> Result<Subscription, String> {
    subscribe_stage(hub, viewer, stage_spec(&settings), || {
        H264Stage::new(hub.h264_backend(), settings, native).map(|s| Box::new(s) as Box<dyn StatefulEncoder>)
    })
}

/// Subscribes `viewer` to the stage of `spec`, made by `make` if no one runs it yet; an
/// encoder that cannot start is an error for this subscriber.
fn subscribe_stage(
    hub: &Arc<Hub>,
    viewer: &ViewerGuard,
    spec: StageSpec,
    make: impl FnOnce() -> Result<Box<dyn StatefulEncoder>, String>,
) -> Result<Subscription, String> {
    let mut failure = None;
    let subscription = hub
        .subscribe(viewer, spec, || match make() {
            Ok(stage) => stage,
            Err(e) => {
                failure = Some(e);
                Box::new(Failed)
            }
        })
        .map_err(|e| format!("cannot start the H.264 encoder's thread: {e}"))?;
    match failure {
        Some(why) => Err(why),
        None => Ok(subscription),
    }
}

/// The H.264 stream of smaller, fewer pictures (RTSP's `/sub`, for detectors): each frame
/// it takes is scaled from BGR to `settings.geometry` and encoded; frames come at most at
/// `settings.fps` (the others are passed over). Scaler and planes are allocated once.
pub struct ScaledStage {
    encoder: Box<dyn H264Encoder>,
    settings: H264Settings,
    scaler: Option<Scaler>,
    bgr: Vec<u8>,
    i420: Vec<u8>,
    /// Capture time (µs) from which the next frame is taken.
    next_due_us: u64,
    /// A keyframe asked for on a frame passed over: made on the next one taken.
    keyframe_pending: bool,
}

impl ScaledStage {
    pub fn new(settings: H264Settings) -> Result<ScaledStage, String> {
        let encoder = SoftwareEncoder::new(settings).map_err(|e| e.to_string())?;
        let g = settings.geometry;
        let (w, h) = (g.width as usize, g.height as usize);
        Ok(ScaledStage {
            encoder: Box::new(encoder),
            settings,
            scaler: None,
            bgr: vec![0; w * h * 3],
            i420: vec![0; w * h + 2 * w.div_ceil(2) * h.div_ceil(2)],
            next_due_us: 0,
            keyframe_pending: false,
        })
    }
}

impl StatefulEncoder for ScaledStage {
    fn needs(&self) -> Needs {
        Needs::BGR
    }

    fn encode(
        &mut self,
        frame: &SharedFrame,
        keyframe: bool,
        unit: &mut EncodedUnit,
    ) -> Result<bool, String> {
        self.keyframe_pending |= keyframe;
        if !frame.has_bgr {
            return Err("the frame has no BGR to scale".into());
        }
        let interval_us = (1e6 / self.settings.fps.max(0.1)) as u64;
        // A due time far ahead means the capture clock stepped back: start again from now.
        if frame.captured_us < self.next_due_us && self.next_due_us - frame.captured_us <= 2 * interval_us {
            return Ok(false);
        }
        // Due again one interval on, less a little so a capture's jitter does not skip one.
        self.next_due_us = frame.captured_us + interval_us - interval_us / 8;
        let (sw, sh) = (frame.geometry.width, frame.geometry.height);
        let out = self.settings.geometry;
        let scaler = match &mut self.scaler {
            Some(scaler) if scaler.src_size() == (sw, sh) => scaler,
            slot => slot.insert(Scaler::new(sw, sh, out.width, out.height)),
        };
        scaler.resize(&frame.bgr, &mut self.bgr);
        bgr_to(PixelFormat::I420, out.width, out.height, &self.bgr, &mut self.i420);
        let layout = Layout::tight(PixelFormat::I420, out.width, out.height);
        let planes = Planes::of(&layout, &self.i420).map_err(|e| e.to_string())?;
        let force = std::mem::take(&mut self.keyframe_pending);
        let made = encode_into(self.encoder.as_mut(), &planes, force, frame.captured_us, unit)?;
        // Skipped by the codec: the keyframe asked for is still owed.
        self.keyframe_pending |= force && !made;
        Ok(made)
    }
}

/// Subscribes `viewer` to the scaled stream of `settings` (its size and rate): one encoder
/// for every viewer of it.
pub fn subscribe_scaled(
    hub: &Arc<Hub>,
    viewer: &ViewerGuard,
    settings: H264Settings,
) -> Result<Subscription, String> {
    let mut spec = stage_spec(&settings);
    // Told apart from the full stream's stages by its size.
    spec.key ^=
        1 << 63 | u64::from(settings.geometry.width) << 48 | u64::from(settings.geometry.height) << 36;
    spec.name = format!(
        "H.264 {}x{} {:.1} Mbit/s",
        settings.geometry.width,
        settings.geometry.height,
        f64::from(settings.bitrate) / 1e6
    );
    subscribe_stage(hub, viewer, spec, || {
        ScaledStage::new(settings).map(|s| Box::new(s) as Box<dyn StatefulEncoder>)
    })
}

/// An encoder that could not start: makes nothing (its subscribers see no units).
struct Failed;

impl StatefulEncoder for Failed {
    fn needs(&self) -> Needs {
        Needs::NONE
    }

    fn encode(&mut self, _: &SharedFrame, _: bool, _: &mut EncodedUnit) -> Result<bool, String> {
        Err("the H.264 encoder did not start".into())
    }
}
