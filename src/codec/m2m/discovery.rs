//! Finding memory-to-memory codecs by what they can do, not by path: a multi-planar M2M
//! node whose CAPTURE side offers the coded format and whose OUTPUT side takes raw pictures
//! is an encoder of that format (the Pi's `/dev/video11`, "bcm2835-codec-encode"); the other
//! way round, a decoder (`/dev/video10`).

use std::path::{Path, PathBuf};

use super::coded::Coded;
use super::sys::{self, Driver, Kernel, CAPTURE_MPLANE, CAP_VIDEO_M2M_MPLANE, OUTPUT_MPLANE};

/// Which way a codec works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Encoder,
    Decoder,
}

/// A codec node found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub driver: String,
    pub card: String,
}

impl Found {
    /// E.g. `/dev/video11 (bcm2835-codec-encode)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.path.display(), self.card)
    }
}

/// Every `/dev/video*` node, in number order.
pub fn video_nodes() -> Vec<PathBuf> {
    let mut nodes: Vec<(u32, PathBuf)> = std::fs::read_dir("/dev")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let number = name.strip_prefix("video")?.parse().ok()?;
            Some((number, entry.path()))
        })
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, path)| path).collect()
}

/// Whether the open node `driver` is a `direction` codec of `coded`.
fn is_codec(driver: &mut dyn Driver, coded: Coded, direction: Direction) -> bool {
    let Ok((_, _, caps)) = sys::capabilities(driver) else { return false };
    if caps & CAP_VIDEO_M2M_MPLANE == 0 {
        return false;
    }
    let (coded_side, raw_side) = match direction {
        Direction::Encoder => (CAPTURE_MPLANE, OUTPUT_MPLANE),
        Direction::Decoder => (OUTPUT_MPLANE, CAPTURE_MPLANE),
    };
    let raw = sys::formats(driver, raw_side);
    sys::formats(driver, coded_side).contains(&coded.fourcc())
        && raw.iter().any(|f| *f == sys::FOURCC_YU12 || *f == sys::FOURCC_NV12)
}

/// The first `direction` codec of `coded` among `nodes`.
fn find_in(nodes: &[PathBuf], coded: Coded, direction: Direction) -> Option<Found> {
    nodes.iter().find_map(|path| probe(path, coded, direction))
}

/// The first `direction` codec of `coded` on this machine.
pub fn find(coded: Coded, direction: Direction) -> Option<Found> {
    find_in(&video_nodes(), coded, direction)
}

/// `path`, if it is a `direction` codec of `coded`.
pub fn probe(path: &Path, coded: Coded, direction: Direction) -> Option<Found> {
    let mut node = Kernel::open(path).ok()?;
    if !is_codec(&mut node, coded, direction) {
        return None;
    }
    let (driver, card, _) = sys::capabilities(&mut node).ok()?;
    Some(Found { path: path.to_path_buf(), driver, card })
}
