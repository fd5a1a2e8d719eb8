//! One pistream connection, listening or connecting: the handshake, admission (a viewer
//! place when this side sends, the one display place when it shows, both through
//! `output::admission`), the session, and what follows it (`output::after`).

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};

use super::adapt::plan::SendPlan;
use super::protocol::{ByeReason, Negotiated, Role, HEADER_MAGIC};
use super::session::{self, Control, H264Source, LocalSide, SendSide, Sides};
use crate::media::Frame;
use crate::net::demux::Claim;
use crate::output::ending::{after, Failure, Next};
use crate::output::endpoint::Endpoint;
use crate::pipeline::display::PLACEHOLDER;
use crate::pipeline::hub::ViewerKind;

/// Whether a connection's first bytes are a pistream peer's: the message header's `PS`.
pub fn claim(first: &[u8]) -> Claim {
    let magic = &HEADER_MAGIC[..];
    if first.starts_with(magic) {
        Claim::Mine
    } else if magic.starts_with(first) {
        Claim::NeedMore
    } else {
        Claim::NotMine
    }
}

/// Runs one connection to its end. `admitted` is raised once the handshake has completed
/// and the peer has a place (until then the connection is only pending).
pub fn connection(
    endpoint: &Endpoint,
    stream: &TcpStream,
    peer: SocketAddr,
    role: Role,
    admitted: &AtomicBool,
) -> Next {
    let ctl = Control::new(&endpoint.shutdown, endpoint.send_limit);
    if let Some(refusal) = endpoint.camera_full().filter(|_| role == Role::Listening) {
        // Said at once, before any handshake work (and checked again after it).
        log::info!("refused {peer}: {refusal}");
        session::refuse(stream, ByeReason::Busy, &refusal.text(), &endpoint.shutdown);
        return Next::Continue;
    }
    // A listening side that shows video shows one peer at a time; later peers may still
    // watch (and one that only sends is turned away as busy below).
    let local = LocalSide {
        hello: endpoint.hello,
        key: endpoint.key.as_ref(),
        buffers: endpoint.buffers,
        watch_only: role == Role::Listening && endpoint.is_showing(),
    };
    let established = match session::handshake(stream, role, &local, &ctl) {
        Ok(Some(established)) => established,
        Ok(None) => return Next::Continue,
        Err(e) => return after(endpoint, peer, role, false, Err(e)),
    };
    let negotiated = established.negotiated;
    let h264 = endpoint.h264_settings();
    let plan = match (negotiated.sends(), endpoint.hello.geometry, h264) {
        (true, Some(geometry), Some(h264)) => {
            let fps = endpoint.hello.fps_millihz as f64 / 1000.0;
            match SendPlan::new(
                endpoint.wire,
                endpoint.native,
                negotiated.send_formats,
                geometry,
                fps,
                h264.bitrate,
                endpoint.h264_ceiling().unwrap_or(h264.bitrate),
            ) {
                Ok(plan) => Some(plan),
                Err(e) => return Next::Fail(Failure::Internal(format!("cannot start a JPEG encoder: {e}"))),
            }
        }
        _ => None,
    };
    let watcher = match &plan {
        Some(plan) => match endpoint.watch(peer.to_string(), ViewerKind::Pistream, plan.needs()) {
            Ok(watcher) => watcher,
            Err(refusal) => {
                log::info!("refused {peer}: {refusal}");
                session::turn_away(stream, established, &refusal.text(), &ctl);
                return Next::Continue;
            }
        },
        None => None,
    };
    let shower = match negotiated.receive {
        Some(_) => match endpoint.show(peer, established.peer.capture) {
            Ok(shower) => Some(shower),
            Err(refusal) => {
                log::info!("refused {peer}: {refusal}");
                session::turn_away(stream, established, &refusal.text(), &ctl);
                return Next::Continue;
            }
        },
        None => None,
    };
    admitted.store(true, Ordering::Relaxed);
    log_streaming(peer, &negotiated);
    let mut back = negotiated.receive.map(|_| Frame::new(PLACEHOLDER));
    let h264_source = endpoint.hub.clone().zip(h264).map(|(hub, settings)| H264Source {
        hub,
        settings,
        native: endpoint.native,
    });
    let send = match (watcher.as_deref(), plan, h264_source) {
        (Some(viewer), Some(plan), Some(h264)) => Some(SendSide { viewer, plan, h264 }),
        _ => None,
    };
    let sides = Sides { send, receive: endpoint.display.as_deref().zip(back.as_mut()) };
    let result = session::serve(stream, established, sides, endpoint.buffers, &ctl, &endpoint.stats);
    let showed = shower.is_some();
    drop((shower, watcher));
    after(endpoint, peer, role, showed, result)
}

fn log_streaming(peer: SocketAddr, n: &Negotiated) {
    let what = match (n.sends(), n.receive) {
        (true, Some(g)) => format!("sending our video, receiving {g}"),
        (true, None) => "sending video".to_string(),
        (false, Some(g)) => format!("receiving {g} at {:.1} fps", n.peer_fps_millihz as f64 / 1000.0),
        (false, None) => "nothing".to_string(),
    };
    match n.cipher {
        Some(cipher) => log::info!("streaming with {peer}: {what} (encrypted: {})", cipher.name()),
        None => log::info!("streaming with {peer}: {what}"),
    }
}
