//! A stateful V4L2 memory-to-memory decoder (kernel doc `dev-decoder.rst`), as
//! `pistream encoders --check` uses it to turn an encoder's stream back into pictures:
//! coded units in on OUTPUT; the driver reads the stream's header and says its size with a
//! source-change event, then the CAPTURE queue is set up and pictures come out (I420, or
//! NV12 spread to I420).

use std::io;
use std::time::{Duration, Instant};

use super::coded::Coded;
use super::queue::{copy_rows, get_format, set_format, stop_and_release, PlaneFormat, Queue};
use super::sys::{
    self, call, req, v4l2_event, v4l2_event_subscription, Driver, CAPTURE_MPLANE, EVENT_SOURCE_CHANGE,
    OUTPUT_MPLANE,
};

const PICTURE_TIMEOUT: Duration = Duration::from_secs(2);

/// A decoder on one open device.
pub struct M2mDecoder {
    driver: Box<dyn Driver>,
    output: Queue,
    capture: Option<(Queue, PlaneFormat)>,
}

fn other(what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl M2mDecoder {
    /// Sets `driver` up to decode `coded` pictures of about `width`x`height` (the stream's
    /// header has the last word).
    pub fn start(
        mut driver: Box<dyn Driver>,
        coded: Coded,
        width: u32,
        height: u32,
    ) -> io::Result<M2mDecoder> {
        let drv = driver.as_mut();
        let size = width * height * 4 + 4096;
        let want = PlaneFormat { fourcc: coded.fourcc(), width, height, bytesperline: 0, sizeimage: size };
        set_format(drv, OUTPUT_MPLANE, want).map_err(|e| other("setting the coded format", e))?;
        let mut subscription: v4l2_event_subscription = sys::zeroed();
        subscription.type_ = EVENT_SOURCE_CHANGE;
        call(drv, req::SUBSCRIBE_EVENT, &mut subscription)
            .map_err(|e| other("subscribing to source changes", e))?;
        let output =
            Queue::allocate(drv, OUTPUT_MPLANE, 2).map_err(|e| other("allocating coded buffers", e))?;
        sys::stream(drv, OUTPUT_MPLANE, true).map_err(|e| other("starting", e))?;
        Ok(M2mDecoder { driver, output, capture: None })
    }

    /// Decodes one coded unit into `out` (tight I420); its size, or `None` when the driver
    /// made no picture of it.
    pub fn decode(&mut self, unit: &[u8], out: &mut Vec<u8>) -> io::Result<Option<(u32, u32)>> {
        let deadline = Instant::now() + PICTURE_TIMEOUT;
        let index = loop {
            while self.output.dequeue(self.driver.as_mut())?.is_some() {}
            if let Some(index) = self.output.free() {
                break index;
            }
            self.wait(nix::libc::POLLOUT, deadline)?;
        };
        let buffer = self.output.bytes_mut(index);
        if unit.len() > buffer.len() {
            return Err(io::Error::other(format!(
                "a {} byte unit in a {} byte buffer",
                unit.len(),
                buffer.len()
            )));
        }
        buffer[..unit.len()].copy_from_slice(unit);
        self.output.queue(self.driver.as_mut(), index, unit.len(), 0)?;
        loop {
            if self.capture.is_none() {
                self.wait(nix::libc::POLLPRI, deadline)?;
                self.source_change()?;
                continue;
            }
            let (queue, format) = self.capture.as_mut().expect("set up above");
            if let Some(done) = queue.dequeue(self.driver.as_mut())? {
                let format = *format;
                let bytes = &queue.bytes(done.index)[done.start..done.end];
                let made = !bytes.is_empty() && done.flags & sys::FLAG_ERROR == 0;
                let fits = !made || to_i420(bytes, &format, out).is_some();
                queue.queue(self.driver.as_mut(), done.index, 0, 0)?;
                if !fits {
                    return Err(io::Error::other(format!(
                        "a {} byte picture does not hold the {}x{} layout (rows of {}) its format says",
                        done.end - done.start,
                        format.width,
                        format.height,
                        format.bytesperline
                    )));
                }
                return Ok(made.then_some((format.width, format.height)));
            }
            self.wait(nix::libc::POLLIN, deadline)?;
        }
    }

    /// Takes the pending event; on a source change, sets CAPTURE up at the stream's size.
    fn source_change(&mut self) -> io::Result<()> {
        let mut event: v4l2_event = sys::zeroed();
        call(self.driver.as_mut(), req::DQEVENT, &mut event)?;
        if event.type_ != EVENT_SOURCE_CHANGE {
            return Ok(());
        }
        let drv = self.driver.as_mut();
        let mut format = get_format(drv, CAPTURE_MPLANE)?;
        if format.fourcc != sys::FOURCC_YU12 && format.fourcc != sys::FOURCC_NV12 {
            format = set_format(drv, CAPTURE_MPLANE, PlaneFormat { fourcc: sys::FOURCC_YU12, ..format })?;
        }
        let mut queue = Queue::allocate(drv, CAPTURE_MPLANE, 4)?;
        for index in 0..queue.len() {
            queue.queue(drv, index, 0, 0)?;
        }
        sys::stream(drv, CAPTURE_MPLANE, true)?;
        self.capture = Some((queue, format));
        Ok(())
    }

    fn wait(&mut self, events: i16, deadline: Instant) -> io::Result<()> {
        match sys::poll_until(self.driver.as_mut(), events, deadline)? {
            Some(_) => Ok(()),
            None => Err(io::Error::new(io::ErrorKind::TimedOut, "the decoder returned nothing")),
        }
    }
}

impl Drop for M2mDecoder {
    fn drop(&mut self) {
        match self.capture.as_mut() {
            Some((capture, _)) => stop_and_release(self.driver.as_mut(), &mut [&mut self.output, capture]),
            None => stop_and_release(self.driver.as_mut(), &mut [&mut self.output]),
        }
    }
}

/// A decoded YU12 or NV12 picture (rows `bytesperline` apart) as tight I420; `None` when
/// the buffer does not hold the layout its format says.
fn to_i420(bytes: &[u8], format: &PlaneFormat, out: &mut Vec<u8>) -> Option<()> {
    let (w, h, bpl) = (format.width as usize, format.height as usize, format.bytesperline as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    out.clear();
    out.resize(w.checked_mul(h)?.checked_add(2 * cw * ch)?, 0);
    let (y, chroma_out) = out.split_at_mut(w * h);
    copy_rows(y, w, bytes, bpl, w, h)?;
    let (u, v) = chroma_out.split_at_mut(cw * ch);
    let chroma = bytes.get(bpl.checked_mul(h)?..)?;
    if format.fourcc == sys::FOURCC_NV12 {
        for row in 0..ch {
            let line = chroma.get(row * bpl..)?.get(..2 * cw)?;
            for (x, pair) in line.chunks_exact(2).enumerate() {
                (u[row * cw + x], v[row * cw + x]) = (pair[0], pair[1]);
            }
        }
        return Some(());
    }
    let cbpl = bpl / 2;
    copy_rows(u, cw, chroma, cbpl, cw, ch)?;
    copy_rows(v, cw, chroma.get(cbpl * ch..)?, cbpl, cw, ch)
}
