//! Reads rpicam-vid's frames off its stdout pipe straight into the frame they are kept in,
//! as the ISP laid them out (rows padded): the kernel's copy out of the pipe is the only one,
//! and nothing is allocated per frame. (Reading each row into its place in a tight frame
//! with `readv`, padding into a scratch buffer, cost 1.8x `cat`'s CPU per frame at 1456x1088
//! in the rpicam benchmark: the kernel's cost per iovec; the frame's consumers take the
//! stride instead.)
//!
//! The pipe carries frames back to back with nothing between them, so a wrong idea of their
//! length would tear every picture. rpicam-vid writes a frame at a time at the camera's pace
//! and then waits for the next, so the pipe runs dry between frames; [`Alignment`] watches
//! where it does. A frame in which the pipe paused for a while mid-way, or that left bytes
//! waiting when it began right after a pause, is not shown; three such frames in a row mean
//! the frames are not the length pistream expects, which is an error naming both lengths.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use nix::libc;

use super::layout::FrameLayout;

/// A pause in the pipe at least this long (the camera idling between frames, at any frame
/// rate up to 120 fps) counts for [`Alignment`]; shorter ones are scheduling.
pub(super) const LONG_PAUSE: Duration = Duration::from_millis(8);
/// Suspicious frames in a row that make a length mismatch an error.
const SUSPICIOUS_IN_A_ROW: u32 = 3;

/// What one call to [`FrameReader::read`] ended with.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// A whole frame is in the destination.
    Frame,
    /// A whole frame was read but is not to be shown (see [`Alignment`]); the reason.
    Skipped(String),
    /// No frame started within the wait.
    NotYet,
    /// The pipe closed (the program exited); `partial` bytes of a frame had arrived.
    Closed { partial: usize },
    /// A frame started but no byte of it came for the mid-frame limit.
    StalledMidFrame { partial: usize },
    /// The frames are not the length expected (see [`Alignment`]).
    Mismatch(String),
}

/// Reads frames of one layout from a pipe.
pub(super) struct FrameReader {
    layout: FrameLayout,
    /// Bytes of the current frame read so far.
    frame_pos: usize,
    /// Bytes read from the pipe since it opened.
    stream_pos: u64,
    alignment: Alignment,
    /// Whether the pipe paused (long) exactly where the current frame began, and
    /// whether it paused (long) inside it.
    began_after_pause: bool,
    paused_inside: bool,
    /// When the last `readv` came back short: the pipe ran dry there.
    dry_since: Option<Instant>,
}

impl FrameReader {
    pub(super) fn new(layout: FrameLayout) -> FrameReader {
        FrameReader {
            layout,
            frame_pos: 0,
            stream_pos: 0,
            alignment: Alignment::new(layout.frame_len()),
            began_after_pause: true,
            paused_inside: false,
            dry_since: Some(Instant::now()),
        }
    }

    /// Reads the next frame from `fd` (non-blocking: [`nonblocking`]) into `dst` (at least
    /// the frame's length): returns
    /// [`Step::NotYet`] if none starts within `wait`; once one has started, keeps reading
    /// until it is whole, the pipe closes, or no byte comes for `mid_frame_limit`.
    pub(super) fn read(
        &mut self,
        fd: RawFd,
        dst: &mut [u8],
        wait: Duration,
        mid_frame_limit: Duration,
    ) -> io::Result<Step> {
        let frame_len = self.layout.frame_len();
        assert!(dst.len() >= frame_len, "the destination holds a frame");
        let mut last_byte = Instant::now();
        loop {
            let rest = &mut dst[self.frame_pos..frame_len];
            // SAFETY: reads at most `rest.len()` bytes into `rest`, which holds that many.
            let got = unsafe { libc::read(fd, rest.as_mut_ptr().cast(), rest.len()) };
            if got > 0 {
                let now = Instant::now();
                if let Some(since) = self.dry_since.take() {
                    if now - since >= LONG_PAUSE {
                        self.alignment.pause_at(self.stream_pos);
                        if self.frame_pos == 0 {
                            self.began_after_pause = true;
                        } else {
                            self.paused_inside = true;
                        }
                    }
                }
                last_byte = now;
                self.frame_pos += got as usize;
                self.stream_pos += got as u64;
                if self.frame_pos == frame_len {
                    return Ok(self.finish_frame(fd));
                }
                continue;
            }
            if got == 0 {
                let partial = self.frame_pos;
                self.restart_frame();
                return Ok(Step::Closed { partial });
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {}
                _ => return Err(e),
            }
            // The pipe is dry: wait for bytes, within the limits.
            self.dry_since.get_or_insert_with(Instant::now);
            let limit = if self.frame_pos == 0 { wait } else { mid_frame_limit };
            let waited = last_byte.elapsed();
            if waited >= limit {
                if self.frame_pos == 0 {
                    return Ok(Step::NotYet);
                }
                let partial = self.frame_pos;
                self.restart_frame();
                return Ok(Step::StalledMidFrame { partial });
            }
            readable(fd, (limit - waited).min(Duration::from_millis(100)))?;
        }
    }

    /// Judges a whole frame and starts the next.
    fn finish_frame(&mut self, fd: RawFd) -> Step {
        let more_waiting = readable(fd, Duration::ZERO).unwrap_or(false);
        if !more_waiting {
            self.dry_since = Some(Instant::now());
        }
        let verdict = self.alignment.frame_end(self.began_after_pause, self.paused_inside, more_waiting);
        self.restart_frame();
        self.began_after_pause = false;
        match verdict {
            Verdict::Fine => Step::Frame,
            Verdict::Skip(why) => Step::Skipped(why),
            Verdict::Mismatch(why) => Step::Mismatch(format!("{why}; pistream expects {}", self.layout)),
        }
    }

    /// Drops what was read of a frame: the next byte starts a new one.
    fn restart_frame(&mut self) {
        self.frame_pos = 0;
        self.paused_inside = false;
    }
}

/// Makes a pipe's reads return at once when it is empty ([`FrameReader::read`] needs that).
pub(super) fn nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL and F_SETFL take and change only the descriptor's status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether `fd` has bytes to read (or is closed) within `timeout`.
fn readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pollfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pollfd, 1, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
    }
    Ok(n > 0)
}

/// What [`Alignment`] makes of a frame.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Fine,
    Skip(String),
    Mismatch(String),
}

/// Whether frames are the length expected, from where the pipe pauses: a camera writes a
/// frame and then waits for the next, so with the right length every long pause falls on a
/// frame boundary. A frame is suspicious when the pipe paused inside it (it is skipped: it
/// holds parts of two frames), or when it began right after a pause yet more bytes were
/// waiting the moment it was whole (the writer's frame may have been longer; or a fast
/// writer had already begun the next, so it is shown). [`SUSPICIOUS_IN_A_ROW`] suspicious
/// frames in a row are a mismatch, reported with the distance between the last two pauses
/// (the writer's frame length, when the reader kept up): frames shorter than expected are
/// never shown, frames longer show one torn picture before the error. Without pauses (a
/// writer faster than the reader) nothing is judged.
pub(super) struct Alignment {
    expected: usize,
    suspicious: u32,
    pauses: [Option<u64>; 2],
}

impl Alignment {
    pub(super) fn new(expected: usize) -> Alignment {
        Alignment { expected, suspicious: 0, pauses: [None, None] }
    }

    /// The pipe paused (long) after `stream_pos` bytes.
    pub(super) fn pause_at(&mut self, stream_pos: u64) {
        self.pauses = [self.pauses[1], Some(stream_pos)];
    }

    /// A whole frame was read.
    pub(super) fn frame_end(
        &mut self,
        began_after_pause: bool,
        paused_inside: bool,
        more_waiting: bool,
    ) -> Verdict {
        // Bytes waiting right after a frame that began after a pause: the writer's frame
        // went on (or a fast writer had started the next one: a stream read for the first
        // time, a writer ahead of the reader), so it counts, but the frame is shown.
        let longer = began_after_pause && more_waiting;
        if !paused_inside && !longer {
            self.suspicious = 0;
            return Verdict::Fine;
        }
        self.suspicious += 1;
        if self.suspicious >= SUSPICIOUS_IN_A_ROW {
            let observed = match self.pauses {
                [Some(a), Some(b)] if b > a => format!(", {} bytes apart", b - a),
                _ => String::new(),
            };
            return Verdict::Mismatch(format!(
                "rpicam-vid's frames are not {} bytes long: {SUSPICIOUS_IN_A_ROW} frames in a row did not end where \
                 its pauses between frames fell{observed}",
                self.expected
            ));
        }
        if paused_inside {
            Verdict::Skip("the camera paused in the middle of a frame (not shown)".into())
        } else {
            Verdict::Fine
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::rpicam::layout::Isp;

    #[test]
    fn pauses_on_frame_boundaries_are_fine_and_skipped_frames_reset() {
        let mut a = Alignment::new(100);
        for frame in 0..10u64 {
            a.pause_at(frame * 100);
            assert_eq!(a.frame_end(true, false, false), Verdict::Fine);
        }
        // A writer ahead of the reader: no pauses, nothing judged.
        assert_eq!(a.frame_end(false, false, true), Verdict::Fine);
        // One pause mid-frame (a scheduling hiccup): skipped, then fine again.
        assert!(matches!(a.frame_end(false, true, false), Verdict::Skip(_)));
        assert_eq!(a.frame_end(true, false, false), Verdict::Fine);
        assert!(matches!(a.frame_end(false, true, false), Verdict::Skip(_)));
        assert!(matches!(a.frame_end(false, true, false), Verdict::Skip(_)));
        assert_eq!(a.frame_end(false, false, false), Verdict::Fine);
    }

    #[test]
    fn frames_of_another_length_are_a_mismatch_naming_the_writers_length() {
        // Writer frames of 90 bytes, read as 100: pauses at 90, 180, 270... fall inside.
        let mut a = Alignment::new(100);
        a.pause_at(0);
        a.pause_at(90);
        assert!(matches!(a.frame_end(true, true, false), Verdict::Skip(_)));
        a.pause_at(180);
        assert!(matches!(a.frame_end(false, true, false), Verdict::Skip(_)));
        a.pause_at(270);
        let Verdict::Mismatch(why) = a.frame_end(false, true, false) else { panic!("a mismatch") };
        assert!(why.contains("not 100 bytes") && why.contains("90 bytes apart"), "{why}");
        // Writer frames of 110 bytes read as 100: the first ends with bytes waiting (shown:
        // a fast writer looks the same), the next two pause inside.
        let mut a = Alignment::new(100);
        assert_eq!(a.frame_end(true, false, true), Verdict::Fine);
        assert!(matches!(a.frame_end(false, true, false), Verdict::Skip(_)));
        assert!(matches!(a.frame_end(false, true, false), Verdict::Mismatch(_)));
        // A fast writer's first frame alone is not a mismatch.
        let mut a = Alignment::new(100);
        assert_eq!(a.frame_end(true, false, true), Verdict::Fine);
        for _ in 0..5 {
            assert_eq!(a.frame_end(false, false, true), Verdict::Fine);
        }
    }

    /// Frames written by a paced writer through a real pipe: each arrives whole, and frames
    /// of the wrong length are caught.
    #[test]
    fn frames_come_through_a_pipe_whole_and_a_wrong_length_is_caught() {
        let layout = FrameLayout::new(Isp::Vc4, 100, 4); // stride 128
        let padded = |n: u8| -> Vec<u8> {
            let mut frame = Vec::new();
            let planes = [(4, 100, 128), (2, 50, 64), (2, 50, 64)];
            let mut i = 0u32;
            for (rows, row, stride) in planes {
                for _ in 0..rows {
                    frame.extend((0..row).map(|_| {
                        i += 1;
                        (i as u8).wrapping_add(n)
                    }));
                    frame.extend(std::iter::repeat_n(0xee, stride - row));
                }
            }
            frame
        };
        let run = |frames: Vec<Vec<u8>>| -> Vec<Step> {
            let (read_end, write_end) = nix::unistd::pipe().unwrap();
            {
                use std::os::fd::AsRawFd;
                nonblocking(read_end.as_raw_fd()).unwrap();
            }
            let writer = std::thread::spawn(move || {
                let mut file = std::fs::File::from(write_end);
                for frame in frames {
                    std::io::Write::write_all(&mut file, &frame).unwrap();
                    std::thread::sleep(Duration::from_millis(30));
                }
            });
            let mut reader = FrameReader::new(layout);
            let mut dst = vec![0u8; layout.frame_len()];
            let mut steps = Vec::new();
            loop {
                use std::os::fd::AsRawFd;
                let step = reader
                    .read(read_end.as_raw_fd(), &mut dst, Duration::from_secs(2), Duration::from_secs(2))
                    .unwrap();
                if step == Step::Frame {
                    assert_eq!(dst, padded(steps.len() as u8), "frame {} whole", steps.len());
                }
                let done = matches!(step, Step::Closed { .. } | Step::Mismatch(_));
                steps.push(step);
                if done {
                    break;
                }
            }
            writer.join().unwrap();
            steps
        };
        let steps = run((0..4).map(padded).collect());
        assert_eq!(steps, [Step::Frame, Step::Frame, Step::Frame, Step::Frame, Step::Closed { partial: 0 }]);
        // The same frames 64 bytes short (as if the stride were 32 bytes smaller).
        let short: Vec<Vec<u8>> = (0..6).map(|n| padded(n)[64..].to_vec()).collect();
        let steps = run(short);
        assert!(
            matches!(steps.last(), Some(Step::Mismatch(why)) if why.contains("not 768 bytes") && why.contains("704 bytes apart")),
            "{steps:?}"
        );
        assert!(!steps.contains(&Step::Frame), "no torn frame is shown: {steps:?}");
    }
}
