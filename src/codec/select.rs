//! Which H.264 encoder a camera uses (`--h264-encoder auto|hardware|software`), decided
//! once at start, and the fallback that keeps a stream alive when the hardware fails.
//!
//! `auto` (the default) takes a hardware memory-to-memory H.264 encoder when the machine
//! has one (a Pi 4, 3 or Zero 2 W: the bcm2835-codec) and it accepts the stream's size and
//! settings, else OpenH264 in software (a Pi 5 has no H.264 encoder). `hardware` on a
//! machine without one is an error at start; `software` never looks. A hardware encoder
//! that fails mid-stream (a driver error, the device gone) is replaced by the software one
//! with one warning line, and the stream goes on from a keyframe: viewers keep receiving
//! H.264.
//!
//! For the VM rig only, `PISTREAM_TEST_M2M_CODEC=fwht` makes the hardware side drive the
//! kernel's vicodec test codec (FWHT) as if it were a Pi's encoder: its units are FWHT, not
//! H.264, until the fallback; no viewer can decode them. It exists to prove the fallback
//! on a real kernel M2M device.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use super::h264::{Encoded, H264Encoder, H264Error, H264Settings, Planes, SoftwareEncoder};
use super::m2m::{self, Coded, Direction, Found, HardwareEncoder};

/// `--h264-encoder`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EncoderChoice {
    #[default]
    Auto,
    Hardware,
    Software,
}

impl FromStr for EncoderChoice {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(EncoderChoice::Auto),
            "hardware" => Ok(EncoderChoice::Hardware),
            "software" => Ok(EncoderChoice::Software),
            other => Err(format!("--h264-encoder {other}: give auto (the default), hardware or software")),
        }
    }
}

/// The environment variable of the rig's FWHT stand-in (see the module note).
pub const TEST_CODEC_VAR: &str = "PISTREAM_TEST_M2M_CODEC";

/// What `--h264-encoder` resolved to on this machine, and what encodes now.
#[derive(Clone, Debug)]
pub struct Backend {
    choice: EncoderChoice,
    hardware: Option<Found>,
    coded: Coded,
    /// What encodes now (for `/state`): the last encoder opened or fallen back to.
    now: Arc<Mutex<String>>,
}

impl Default for Backend {
    fn default() -> Backend {
        Backend::with(EncoderChoice::Software, None, Coded::H264)
    }
}

impl Backend {
    fn with(choice: EncoderChoice, hardware: Option<Found>, coded: Coded) -> Backend {
        let backend = Backend { choice, hardware, coded, now: Arc::default() };
        *backend.now.lock().unwrap_or_else(|p| p.into_inner()) = backend.describe();
        backend
    }

    /// Looks for a hardware encoder as `choice` asks. `hardware` without one is an error
    /// that says what to do.
    pub fn resolve(choice: EncoderChoice) -> Result<Backend, String> {
        let coded = match std::env::var(TEST_CODEC_VAR).as_deref() {
            Ok("fwht") => Coded::Fwht,
            _ => Coded::H264,
        };
        let hardware = match choice {
            EncoderChoice::Software => None,
            _ => m2m::find(coded, Direction::Encoder),
        };
        if choice == EncoderChoice::Hardware && hardware.is_none() {
            return Err(format!(
                "--h264-encoder hardware: this machine has no hardware {} encoder (looked for a V4L2 \
                 memory-to-memory device making {} from I420 or NV12 among /dev/video*, as a Pi 4, 3 or \
                 Zero 2 W has at /dev/video11; a Pi 5 has none). Use --h264-encoder software, or auto \
                 to take one when present",
                coded.name(),
                coded.name()
            ));
        }
        Ok(Backend::with(choice, hardware, coded))
    }

    /// For the start line: which encoder and why.
    pub fn describe(&self) -> String {
        match (&self.hardware, self.choice) {
            (Some(found), _) => format!("hardware, {}", found.describe()),
            (None, EncoderChoice::Software) => "software (OpenH264), as --h264-encoder software asks".into(),
            (None, _) => "software (OpenH264): no hardware H.264 encoder on this machine".into(),
        }
    }

    /// What encodes now (`/state`'s `h264_encoder`).
    pub fn now(&self) -> String {
        self.now.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_now(&self, text: String) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = text;
    }

    /// An encoder for `settings`: the hardware one (behind the fallback) when there is one
    /// and it takes them, else software. A hardware encoder that refuses the settings is
    /// a warning, not an error: the stream runs in software.
    pub fn open(&self, settings: H264Settings) -> Result<Box<dyn H264Encoder>, H264Error> {
        self.open_with(settings, |found, coded, settings| {
            HardwareEncoder::open(&found.path, &found.card, coded, settings)
                .map(|h| Box::new(h) as Box<dyn H264Encoder>)
        })
    }

    /// [`Backend::open`] with the hardware encoder made by `hardware` (the device found, the
    /// coded format, the settings).
    fn open_with(
        &self,
        settings: H264Settings,
        hardware: impl FnOnce(&Found, Coded, &H264Settings) -> Result<Box<dyn H264Encoder>, H264Error>,
    ) -> Result<Box<dyn H264Encoder>, H264Error> {
        if let Some(found) = &self.hardware {
            match hardware(found, self.coded, &settings) {
                Ok(hardware) => {
                    self.set_now(hardware.describe());
                    log::info!("H.264: {}", hardware.describe());
                    return Ok(Box::new(Fallback { current: hardware, hardware: true, settings, backend: self.clone() }));
                }
                Err(e) => log::warn!("the hardware H.264 encoder does not take this stream ({e}); it falls back to software (OpenH264)"),
            }
        }
        let software = SoftwareEncoder::new(settings)?;
        self.set_now(software.describe());
        Ok(Box::new(software))
    }
}

/// A hardware encoder that hands over to the software one on its first error.
struct Fallback {
    current: Box<dyn H264Encoder>,
    hardware: bool,
    settings: H264Settings,
    backend: Backend,
}

impl H264Encoder for Fallback {
    fn encode(
        &mut self,
        planes: &Planes<'_>,
        keyframe: bool,
        at_us: u64,
        out: &mut Vec<u8>,
    ) -> Result<Option<Encoded>, H264Error> {
        match self.current.encode(planes, keyframe, at_us, out) {
            Err(e) if self.hardware => {
                log::warn!("the hardware H.264 encoder failed ({e}); the stream falls back to software (OpenH264) from a keyframe");
                self.current = Box::new(SoftwareEncoder::new(self.settings)?);
                self.hardware = false;
                self.backend
                    .set_now(format!("{} (after the hardware encoder failed)", self.current.describe()));
                // The software encoder's first picture is an IDR with its SPS and PPS.
                self.current.encode(planes, true, at_us, out)
            }
            result => result,
        }
    }

    fn describe(&self) -> String {
        self.current.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::h264::{nal_units, Decoder, NalType};
    use crate::media::{Geometry, Layout, PixelFormat};

    /// A "hardware" encoder that works (in software) for `works_for` pictures, then fails
    /// as a vanished device does.
    struct Vanishing {
        inner: SoftwareEncoder,
        works_for: usize,
    }

    impl H264Encoder for Vanishing {
        fn encode(
            &mut self,
            planes: &Planes<'_>,
            keyframe: bool,
            at_us: u64,
            out: &mut Vec<u8>,
        ) -> Result<Option<Encoded>, H264Error> {
            if self.works_for == 0 {
                return Err(H264Error::Encode("/dev/video11: waiting: No such device".into()));
            }
            self.works_for -= 1;
            self.inner.encode(planes, keyframe, at_us, out)
        }
        fn describe(&self) -> String {
            "vanishing".into()
        }
    }

    #[test]
    fn a_failing_hardware_encoder_hands_over_to_software_from_a_keyframe_and_the_stream_decodes_on() {
        let (w, h) = (64u32, 48u32);
        let settings =
            H264Settings { keyframe_interval: 100, ..H264Settings::new(Geometry::new(w, h), 30.0) };
        let backend = Backend::default();
        let mut encoder = Fallback {
            current: Box::new(Vanishing { inner: SoftwareEncoder::new(settings).unwrap(), works_for: 5 }),
            hardware: true,
            settings,
            backend: backend.clone(),
        };
        let layout = Layout::tight(PixelFormat::I420, w, h);
        let mut decoder = Decoder::new().unwrap();
        let (mut out, mut back) = (Vec::new(), Vec::new());
        for n in 0..10u8 {
            let picture: Vec<u8> = (0..layout.min_frame_len()).map(|i| (i as u8).wrapping_add(n)).collect();
            let made = encoder.encode(
                &Planes::of(&layout, &picture).unwrap(),
                false,
                u64::from(n) * 33_333,
                &mut out,
            );
            let made = made.unwrap().expect("a unit for every picture, across the failure");
            let first = NalType::of(nal_units(&out).next().unwrap()[0]);
            assert_eq!(made.keyframe, n == 0 || n == 5, "picture {n}");
            if n == 5 {
                assert_eq!(first, NalType::Sps, "the software stream starts with its parameter sets");
            }
            assert!(decoder.decode(&out, &mut back).unwrap().is_some(), "picture {n} decodes");
        }
        assert!(!encoder.hardware);
        assert!(
            backend.now().starts_with("software (OpenH264)")
                && backend.now().contains("after the hardware encoder failed"),
            "{}",
            backend.now()
        );
    }

    #[test]
    fn the_choice_parses_and_software_never_looks_for_hardware() {
        assert_eq!("auto".parse(), Ok(EncoderChoice::Auto));
        assert_eq!("hardware".parse(), Ok(EncoderChoice::Hardware));
        let err = "gpu".parse::<EncoderChoice>().unwrap_err();
        assert!(err.contains("auto") && err.contains("software"), "{err}");
        let backend = Backend::resolve(EncoderChoice::Software).unwrap();
        assert!(backend.describe().starts_with("software"), "{}", backend.describe());
    }

    #[test]
    fn a_hardware_encoder_that_refuses_the_stream_leaves_it_to_software_and_one_that_starts_is_used() {
        let found = Found {
            path: "/dev/video11".into(),
            driver: "bcm2835-codec".into(),
            card: "bcm2835-codec-encode".into(),
        };
        let backend = Backend::with(EncoderChoice::Auto, Some(found), Coded::H264);
        assert_eq!(backend.describe(), "hardware, /dev/video11 (bcm2835-codec-encode)");
        let settings = H264Settings::new(Geometry::new(64, 48), 30.0);
        let refused = backend
            .open_with(settings, |_, _, _| {
                Err(H264Error::Start("/dev/video11: does not take 2028x1520 pictures".into()))
            })
            .unwrap();
        assert!(refused.describe().starts_with("software (OpenH264)"), "{}", refused.describe());
        assert_eq!(backend.now(), refused.describe());
        let started = backend
            .open_with(settings, |_, coded, settings| {
                assert_eq!(coded, Coded::H264);
                Ok(Box::new(Vanishing { inner: SoftwareEncoder::new(*settings)?, works_for: 1 }))
            })
            .unwrap();
        assert_eq!(backend.now(), "vanishing", "what encodes now: the hardware one");
        assert_eq!(started.describe(), "vanishing");
    }
}
