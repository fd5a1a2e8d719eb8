//! The seed wire: what the Python video chat pistream grew from (a blog post's script,
//! kept runnable in `tests/seed/`) puts on its TCP connection, as rules
//! without I/O. It is not pistream's protocol (docs/PROTOCOL.md, appendix A): no header, no
//! framing, no authentication and no integrity check. The driver that owns the socket is
//! `app/seed/`.
//!
//! The server listens (on port 5678); the client connects and sends `connected`; then both
//! ends send raw 640x480 BGR frames of [`FRAME_LEN`] bytes back to back, one `send` each,
//! and either may send `finished` to end the chat. The Python program takes whatever one
//! `recv` returns as a frame, and drops it unless it is exactly one frame long; pistream
//! instead cuts the byte stream into whole frames ([`FrameCutter`]), so a frame survives
//! however TCP splits or joins the bytes.

use std::ops::Range;
use std::time::Duration;

use crate::media::Geometry;

/// The one frame size the seed program sends and accepts.
pub const GEOMETRY: Geometry = Geometry::new(640, 480);
/// Bytes in one seed frame: 640 x 480 x 3.
pub const FRAME_LEN: usize = 640 * 480 * 3;
/// What the client sends first.
pub const CONNECTED: &[u8; 9] = b"connected";
/// What either end sends to end the chat.
pub const FINISHED: &[u8; 8] = b"finished";

/// The line pistream prints once when it speaks the seed wire.
pub const WARNING: &str = "--peer seed: the seed wire has no framing, no authentication and no integrity \
     check: anyone who can reach this connection can watch it, feed it frames or end it; use it only on a \
     network you trust";

/// Why a seed session failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The listening side read something other than `connected`.
    #[error("{0}")]
    Opening(String),
    #[error("no \"connected\" from the peer within {} s: is it the seed program's client?", .0.as_secs())]
    Silent(Duration),
    #[error("the peer stopped reading: no byte of a frame went out for {} s", .0.as_secs())]
    Stalled(Duration),
    #[error("{context}: {source}")]
    Io { context: &'static str, source: std::io::Error },
}

/// Checks the client's opening bytes (the server reads exactly [`CONNECTED`]'s length).
pub fn check_connected(first: &[u8]) -> Result<(), String> {
    if first == CONNECTED {
        return Ok(());
    }
    let shown: String = first.iter().map(|&b| std::ascii::escape_default(b).to_string()).collect();
    let hint = if first.starts_with(&crate::output::pistream::protocol::HEADER_MAGIC) {
        "a pistream peer: start this side without --peer seed, or the other with it"
    } else {
        "not the seed program's client"
    };
    Err(format!("the peer opened with \"{shown}\", not the seed client's \"connected\" ({hint})"))
}

/// The sequence number pistream's test pattern (and the seed test's Python pattern) stamps
/// into a frame's first 8 bytes, big-endian. Meaningless for camera frames.
pub fn stamp(frame: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = frame.len().min(8);
    bytes[..n].copy_from_slice(&frame[..n]);
    u64::from_be_bytes(bytes)
}

/// What the bytes just read completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Part of a frame: read on.
    More,
    /// A whole frame is in the buffer; the next read starts a new one.
    Frame,
    /// `finished` at a frame boundary: the peer ends the chat.
    Finished,
}

/// Cuts the received byte stream into [`FRAME_LEN`]-byte frames, read straight into one
/// frame buffer: each read fills [`FrameCutter::unfilled`] and never crosses the end of the
/// frame, so no byte is ever copied and nothing is allocated per frame.
///
/// `finished` is recognised where a frame would begin: as soon as the first 8 bytes of a
/// frame are `finished`, the chat is over (a camera frame that happens to begin with those
/// bytes would end it too; the Python program has the same blind spot). A `finished` sent
/// in the middle of a frame (the Python program can do that: its two threads share the
/// socket) cannot be told from pixels; the peer closing the connection ends the chat then.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameCutter {
    filled: usize,
}

impl FrameCutter {
    pub fn new() -> Self {
        FrameCutter::default()
    }

    /// The part of the frame buffer the next read fills.
    pub fn unfilled(&self) -> Range<usize> {
        self.filled..FRAME_LEN
    }

    /// Whether no byte of the next frame has arrived yet.
    pub fn at_frame_start(&self) -> bool {
        self.filled == 0
    }

    /// Bytes of a frame begun and not completed (what a closing connection cuts off).
    pub fn partial(&self) -> usize {
        self.filled
    }

    /// Takes `n` bytes just read into `frame[self.unfilled()]` (`frame` is the whole
    /// [`FRAME_LEN`]-byte buffer). `n` past the frame's end is a caller's bug: it is
    /// clamped, never trusted.
    pub fn advance(&mut self, frame: &[u8], n: usize) -> Cut {
        let before = self.filled;
        self.filled = (before + n).min(FRAME_LEN);
        let head = FINISHED.len();
        if before < head && self.filled >= head && frame.get(..head) == Some(&FINISHED[..]) {
            self.filled = 0;
            return Cut::Finished;
        }
        if self.filled == FRAME_LEN {
            self.filled = 0;
            return Cut::Frame;
        }
        Cut::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::pattern;

    /// Feeds `stream` to a cutter in reads of the given sizes (cycled), as a socket would
    /// return them; returns the cuts and the stamps of the frames.
    fn cut(stream: &[u8], reads: &[usize]) -> (Vec<Cut>, Vec<u64>, usize) {
        let mut cutter = FrameCutter::new();
        let mut frame = vec![0u8; FRAME_LEN];
        let (mut cuts, mut stamps, mut at) = (Vec::new(), Vec::new(), 0);
        for &size in reads.iter().cycle() {
            if at == stream.len() {
                break;
            }
            let room = cutter.unfilled();
            let n = size.min(room.len()).min(stream.len() - at);
            frame[room.start..room.start + n].copy_from_slice(&stream[at..at + n]);
            at += n;
            let c = cutter.advance(&frame, n);
            if c == Cut::Frame {
                stamps.push(stamp(&frame));
            }
            if c != Cut::More {
                cuts.push(c);
            }
            if c == Cut::Finished {
                break;
            }
        }
        (cuts, stamps, cutter.partial())
    }

    fn pattern_frames(seqs: std::ops::Range<u64>) -> Vec<u8> {
        let mut out = vec![0u8; FRAME_LEN * (seqs.end - seqs.start) as usize];
        for (i, seq) in seqs.enumerate() {
            pattern::fill(&mut out[i * FRAME_LEN..][..FRAME_LEN], GEOMETRY, seq);
        }
        out
    }

    #[test]
    fn frames_are_cut_whole_however_the_reads_split_them() {
        let mut stream = pattern_frames(5..9);
        stream.extend_from_slice(FINISHED);
        for reads in [&[FRAME_LEN][..], &[7, 65_536, 3][..], &[1_000_000][..], &[921_599, 2][..], &[8, 1][..]]
        {
            let (cuts, stamps, partial) = cut(&stream, reads);
            assert_eq!(cuts, [Cut::Frame, Cut::Frame, Cut::Frame, Cut::Frame, Cut::Finished], "{reads:?}");
            assert_eq!(stamps, [5, 6, 7, 8], "{reads:?}");
            assert_eq!(partial, 0);
        }
    }

    #[test]
    fn finished_is_seen_byte_by_byte_at_a_boundary_and_not_inside_a_frame() {
        let (cuts, _, _) = cut(FINISHED, &[1]);
        assert_eq!(cuts, [Cut::Finished]);
        // `finished` in the middle of a frame is pixels: the frame completes, nothing ends.
        let mut stream = pattern_frames(0..1);
        stream[1000..1008].copy_from_slice(FINISHED);
        let (cuts, _, partial) = cut(&stream, &[4096]);
        assert_eq!((cuts, partial), (vec![Cut::Frame], 0));
    }

    #[test]
    fn a_closing_connection_leaves_the_partial_frame_counted() {
        let stream = pattern_frames(0..2);
        let (cuts, _, partial) = cut(&stream[..FRAME_LEN + 1234], &[100_000]);
        assert_eq!((cuts, partial), (vec![Cut::Frame], 1234));
        let (_, _, partial) = cut(b"finis", &[2]);
        assert_eq!(partial, 5, "a torn `finished` is no ending: only the close is");
    }

    #[test]
    fn an_oversized_count_is_clamped_to_the_frame() {
        let mut cutter = FrameCutter::new();
        let frame = vec![1u8; FRAME_LEN];
        assert_eq!(cutter.advance(&frame, usize::MAX / 2), Cut::Frame);
        assert!(cutter.at_frame_start());
    }

    #[test]
    fn only_connected_opens_and_a_pistream_peer_is_named() {
        assert!(check_connected(b"connected").is_ok());
        let err = check_connected(b"GET / HTT").unwrap_err();
        assert!(err.contains("\"GET / HTT\"") && err.contains("not the seed program's client"), "{err}");
        let err = check_connected(b"PS\x02\x00\x01\x00\x00\x00\xff").unwrap_err();
        assert!(err.contains("a pistream peer") && err.contains("\\xff"), "{err}");
    }

    #[test]
    fn the_stamp_is_the_pattern_sequence_number() {
        let frames = pattern_frames(300..301);
        assert_eq!(stamp(&frames), 300);
        assert_eq!(stamp(&[0, 0, 1]), 0x0000_0100_0000_0000);
    }
}
