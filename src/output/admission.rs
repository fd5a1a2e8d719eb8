//! The one admission guard every output takes its places through: a viewer place in the
//! hub (up to `--max-viewers`, pistream displays, seed peers and HTTP clients together) and
//! the one display place of a side that shows video. A place is held by a guard and given
//! back when the guard is dropped; a viewer's drops then go into the run's counters. A
//! connection holds no place until its handshake (or request head) is done.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use std::sync::Arc;

use super::endpoint::Endpoint;
use crate::pipeline::hub::{Full, Hub, Needs, ViewerGuard, ViewerKind};
use crate::pipeline::stats::Stats;

/// Why a connection cannot be served now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-viewers` already watch.
    Full { max: usize },
    /// This side already shows another peer's video.
    Showing(SocketAddr),
}

impl std::fmt::Display for Refusal {
    /// What the log says of it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Full { .. } => f.write_str(&self.text()),
            Refusal::Showing(current) => write!(f, "already showing {current}"),
        }
    }
}

impl Refusal {
    /// What the peer is told (a pistream bye, a log line).
    pub fn text(&self) -> String {
        match self {
            Refusal::Full { max } => {
                format!("busy: {max} viewers already watch this camera (--max-viewers); try again later")
            }
            Refusal::Showing(current) => format!("busy: already showing {current}; try again when it ends"),
        }
    }
}

/// A viewer place, held while the guard lives.
pub struct Watcher<'e> {
    viewer: ViewerGuard,
    stats: &'e Stats,
}

impl std::ops::Deref for Watcher<'_> {
    type Target = ViewerGuard;
    fn deref(&self) -> &ViewerGuard {
        &self.viewer
    }
}

impl Drop for Watcher<'_> {
    fn drop(&mut self) {
        Stats::add(&self.stats.viewer_drops_gone, self.viewer.dropped.load(Ordering::Relaxed));
    }
}

/// The display place, held while the guard lives.
pub struct Shower<'e> {
    endpoint: &'e Endpoint,
}

impl Drop for Shower<'_> {
    fn drop(&mut self) {
        *self.endpoint.lock_showing() = None;
    }
}

/// A viewer place for `name` on `hub`, its drops counted in `stats` when it leaves.
pub fn watch<'s>(
    hub: &Arc<Hub>,
    stats: &'s Stats,
    name: String,
    kind: ViewerKind,
    needs: Needs,
) -> Result<Watcher<'s>, Refusal> {
    match hub.join(name, kind, needs) {
        Ok(viewer) => Ok(Watcher { viewer, stats }),
        Err(Full { max }) => Err(Refusal::Full { max }),
    }
}

impl Endpoint {
    /// Whether a new viewer would be refused now (said at once, before any handshake work,
    /// and checked again by [`Endpoint::watch`]).
    pub fn camera_full(&self) -> Option<Refusal> {
        self.hub.as_ref().filter(|hub| hub.is_full()).map(|hub| Refusal::Full { max: hub.max_viewers() })
    }

    /// Whether this side shows a peer now.
    pub fn is_showing(&self) -> bool {
        self.lock_showing().is_some()
    }

    /// A viewer place for `name` on this side's camera (`None` without a camera).
    pub fn watch(
        &self,
        name: String,
        kind: ViewerKind,
        needs: Needs,
    ) -> Result<Option<Watcher<'_>>, Refusal> {
        self.hub.as_ref().map(|hub| watch(hub, &self.stats, name, kind, needs)).transpose()
    }

    /// The display place for `peer`, whose frames were captured as `capture` (the window is
    /// titled after it and `--verify` follows the capture format).
    pub fn show(&self, peer: SocketAddr, capture: [u8; 4]) -> Result<Shower<'_>, Refusal> {
        let mut showing = self.lock_showing();
        if let Some(current) = *showing {
            return Err(Refusal::Showing(current));
        }
        *showing = Some(peer);
        drop(showing);
        self.peer_name.set(peer.to_string(), capture);
        Ok(Shower { endpoint: self })
    }
}
