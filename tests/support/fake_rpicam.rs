//! The fake `rpicam-vid` (`tests/fakes/rpicam_vid.rs`, an example `cargo test` builds) as a
//! test puts it on PATH, and reading back what pistream made of its frames.

use std::path::PathBuf;

use pistream::codec::convert::Converter;
use pistream::media::{Geometry, Layout, PixelFormat, YuvMatrix, YuvRange};

pub use super::camera_module::{stamp_of, tight_frame};

/// The fake's binary, next to the test binaries (`target/<profile>/examples/`).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let fake = profile.join("examples").join("fake-rpicam-vid");
    assert!(
        fake.exists(),
        "{} is missing: `cargo test` builds it (the example fake-rpicam-vid)",
        fake.display()
    );
    fake
}

/// A directory holding `rpicam-vid` (the fake), and a PATH with it first.
pub struct FakeOnPath {
    pub dir: PathBuf,
    pub path: String,
}

impl FakeOnPath {
    pub fn new(name: &str) -> FakeOnPath {
        let dir = std::env::temp_dir().join(format!("pistream-fake-rpicam-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(binary(), dir.join("rpicam-vid")).unwrap();
        let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
        FakeOnPath { dir, path }
    }

    /// A file in the directory (for the fake's knobs that name files).
    pub fn file(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for FakeOnPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a frame the fake sent as number `index` must look like once pistream has made it
/// BGR: its full-range planes through pistream's converter (what the conversion itself
/// does is checked against the float reference elsewhere; this checks the frame arrived
/// whole, in its place, with its padding dropped).
pub fn expected_bgr(width: u32, height: u32, index: u64) -> Vec<u8> {
    let layout = Layout::tight(PixelFormat::I420, width, height).with_yuv(YuvRange::Full, YuvMatrix::Bt601);
    let g = Geometry::new(width, height);
    let mut converter = Converter::new(layout, g).unwrap();
    let mut bgr = vec![0u8; g.frame_len()];
    converter.convert(&tight_frame(width, height, index), &mut bgr).unwrap();
    bgr
}

/// Checks every BGR frame in a raw sink file against the frame its stamp names; returns the
/// stamps in order (each frame whole, none torn).
pub fn check_raw_frames(file: &str, width: u32, height: u32) -> Vec<u64> {
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let frame_len = Geometry::new(width, height).frame_len();
    assert_eq!(data.len() % frame_len, 0, "{file}: whole frames");
    let mut stamps = Vec::new();
    for (i, frame) in data.chunks_exact(frame_len).enumerate() {
        let index = stamp_of(frame, width);
        let expected = expected_bgr(width, height, index);
        if frame != expected.as_slice() {
            let differing = frame.iter().zip(&expected).filter(|(a, b)| a != b).count();
            panic!("{width}x{height}: shown frame {i} (stamped {index}) differs from what was sent in {differing} bytes");
        }
        stamps.push(index);
    }
    stamps
}
