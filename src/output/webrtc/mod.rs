//! WebRTC for browsers, by WHEP (`POST /whep` on the camera's HTTP side): the hub's shared
//! H.264 stream to each browser over SRTP on one UDP port, with NACK resends and keyframes
//! on PLI/FIR. The stack is `str0m`, sans I/O: [`offer`] answers an offer, [`session`] is
//! one viewer, [`service`] the one thread and socket ([`socket`]) that run them all,
//! [`hosts`] the addresses a browser is told to send to, [`settings`] the options.
//!
//! On a LAN nothing needs setting: the UDP port is the camera's own port number and the
//! candidates are the machine's addresses. No STUN or TURN: from outside, use a relay (go2rtc,
//! mediamtx) or `--webrtc-candidate` with a forwarded port.

//!
//! It is the cargo feature `webrtc` (on by default); without it the options are read but
//! `/whep` answers that this build has none, and the page plays MJPEG.

pub mod hosts;
#[cfg(feature = "webrtc")]
pub mod offer;
#[cfg(feature = "webrtc")]
pub mod service;
#[cfg(feature = "webrtc")]
mod session;
pub mod settings;
#[cfg(feature = "webrtc")]
mod socket;

#[cfg(feature = "webrtc")]
use std::sync::{Arc, OnceLock};

#[cfg(feature = "webrtc")]
pub use service::{Refusal, Service};
pub use settings::{CandidateSpec, WebrtcSettings};

/// An endpoint's WebRTC side: its settings, and its service once started.
#[derive(Default)]
pub struct WebrtcSide {
    pub settings: WebrtcSettings,
    #[cfg(feature = "webrtc")]
    service: OnceLock<Arc<Service>>,
}

impl WebrtcSide {
    pub fn new(settings: WebrtcSettings) -> WebrtcSide {
        #[cfg(feature = "webrtc")]
        return WebrtcSide { settings, service: OnceLock::new() };
        #[cfg(not(feature = "webrtc"))]
        WebrtcSide { settings }
    }

    /// The running service (none before the camera listens, or with `--webrtc off`).
    #[cfg(feature = "webrtc")]
    pub fn service(&self) -> Option<&Arc<Service>> {
        self.service.get()
    }

    /// Records the started service.
    #[cfg(feature = "webrtc")]
    pub fn started(&self, service: Arc<Service>) {
        let _ = self.service.set(service);
    }

    /// The UDP port media goes over, while the service runs.
    pub fn udp_port(&self) -> Option<u16> {
        #[cfg(feature = "webrtc")]
        return self.service().map(|s| s.port);
        #[cfg(not(feature = "webrtc"))]
        None
    }
}
