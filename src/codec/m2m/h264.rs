//! The hardware encoder as pistream's H.264 stage drives it: an [`M2mEncoder`] behind the
//! [`H264Encoder`] interface the software encoder has, so the stage, its keyframe requests
//! and every viewer are the same whichever encodes.

use std::path::Path;

use super::coded::Coded;
use super::encoder::{EncoderSettings, M2mEncoder};
use super::sys::Kernel;
use crate::codec::h264::{Encoded, H264Encoder, H264Error, H264Settings, Planes};

/// A hardware H.264 encoder on a device node.
pub struct HardwareEncoder {
    encoder: M2mEncoder,
    described: String,
}

impl HardwareEncoder {
    /// Opens the encoder at `path` (named `card` in messages) for `settings`, making
    /// `coded` (H.264; FWHT only in the rig, where vicodec stands in for a Pi's encoder).
    pub fn open(
        path: &Path,
        card: &str,
        coded: Coded,
        settings: &H264Settings,
    ) -> Result<HardwareEncoder, H264Error> {
        let device = format!("{} ({card})", path.display());
        let node = Kernel::open(path).map_err(|e| H264Error::Start(format!("{device}: {e}")))?;
        let wanted = EncoderSettings {
            width: settings.geometry.width,
            height: settings.geometry.height,
            fps: settings.fps,
            bitrate: settings.bitrate,
            keyframe_interval: settings.keyframe_interval,
        };
        let encoder = M2mEncoder::start(Box::new(node), &device, coded, &wanted)
            .map_err(|e| H264Error::Start(e.to_string()))?;
        let described = format!(
            "hardware ({device}{}), {:.1} Mbit/s, a keyframe every {} frames",
            if coded == Coded::H264 { String::new() } else { format!(", making {}", coded.name()) },
            f64::from(settings.bitrate) / 1e6,
            settings.keyframe_interval
        );
        Ok(HardwareEncoder { encoder, described })
    }
}

impl H264Encoder for HardwareEncoder {
    fn encode(
        &mut self,
        planes: &Planes<'_>,
        keyframe: bool,
        at_us: u64,
        out: &mut Vec<u8>,
    ) -> Result<Option<Encoded>, H264Error> {
        planes.check()?;
        let unit = self
            .encoder
            .encode(planes, keyframe, at_us, out)
            .map_err(|e| H264Error::Encode(e.to_string()))?;
        Ok(Some(Encoded { keyframe: unit.keyframe }))
    }

    fn describe(&self) -> String {
        self.described.clone()
    }
}
