//! Hands an HTTP connection on a listening endpoint to the web side (`crate::web`), with
//! what it serves from: this endpoint's camera, settings and counters.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};

use super::peer::Endpoint;
use crate::web::{self, Site};

/// Serves one HTTP client; `admitted` is raised once its request has arrived.
pub(super) fn serve(endpoint: &Endpoint, stream: &TcpStream, peer: SocketAddr, admitted: &AtomicBool) {
    let site = Site {
        hub: endpoint.hub.as_ref(),
        source: &endpoint.source,
        geometry: endpoint.hello.geometry,
        nominal_fps: endpoint.hello.fps_millihz as f64 / 1000.0,
        settings: &endpoint.cfg.web,
        keyed: endpoint.cfg.key.is_some(),
        stats: &endpoint.stats,
        shutdown: &endpoint.shutdown,
    };
    web::serve(&site, stream, peer, || admitted.store(true, Ordering::Relaxed));
}
