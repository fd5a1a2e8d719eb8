//! WebRTC for browsers, by WHEP (`POST /whep` on the camera's HTTP side): the hub's shared
//! H.264 stream to each browser over SRTP on one UDP port, with NACK resends and keyframes
//! on PLI/FIR. The stack is `str0m`, sans I/O: [`offer`] answers an offer, [`session`] is
//! one viewer, [`service`] the one thread and socket ([`socket`]) that run them all,
//! [`hosts`] the addresses a browser is told to send to, [`settings`] the options.
//!
//! On a LAN nothing needs setting: the UDP port is the camera's own port number and the
//! candidates are the machine's addresses. No STUN or TURN: from outside, use a relay (go2rtc,
//! mediamtx) or `--webrtc-candidate` with a forwarded port.

pub mod hosts;
pub mod offer;
pub mod service;
mod session;
pub mod settings;
mod socket;

use std::sync::{Arc, OnceLock};

pub use service::{Refusal, Service};
pub use settings::{CandidateSpec, WebrtcSettings};

/// An endpoint's WebRTC side: its settings, and its service once started.
#[derive(Default)]
pub struct WebrtcSide {
    pub settings: WebrtcSettings,
    service: OnceLock<Arc<Service>>,
}

impl WebrtcSide {
    pub fn new(settings: WebrtcSettings) -> WebrtcSide {
        WebrtcSide { settings, service: OnceLock::new() }
    }

    /// The running service (none before the camera listens, or with `--webrtc off`).
    pub fn service(&self) -> Option<&Arc<Service>> {
        self.service.get()
    }

    /// Records the started service.
    pub fn started(&self, service: Arc<Service>) {
        let _ = self.service.set(service);
    }
}
