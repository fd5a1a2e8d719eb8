//! A fake of the Pi's bcm2835-codec H.264 encoder (raspberrypi/linux,
//! drivers/staging/vc04_services/bcm2835-codec/bcm2835-v4l2-codec.c), for the unit tests of
//! what vicodec cannot show: its identity, its controls and their ranges, its 64-byte YU12
//! rows, `FORCE_KEY_FRAME` dropped before buffers exist, SPS/PPS joined to the first frame
//! unless `REPEAT_SEQ_HEADER` asks for them before every IDR (or in a buffer of their own in
//! `HEADER_MODE_SEPARATE`), `V4L2_BUF_FLAG_KEYFRAME` on keyframes, bytesused 0 taken as
//! end of stream, LAST on the buffer after `ENC_CMD_STOP`. Each rule cites the driver's
//! behaviour as read there (the stored copy the closing note of issue 23 names).

use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;
use std::io;
use std::sync::{Arc, Mutex};

use super::sys::{self, cid, req, Mapping};

/// What the fake saw, shared with the test.
#[derive(Default, Debug)]
pub(super) struct Seen {
    pub(super) controls: HashMap<u32, i32>,
    /// Controls in order, with whether buffers existed when each came.
    pub(super) control_log: Vec<(u32, i32, bool)>,
    /// Keyframe requests that took effect (after REQBUFS).
    pub(super) forced: usize,
    /// The coded size the CAPTURE format was given (bcm2835 reads it).
    pub(super) coded_size: (u32, u32),
    /// Every picture queued: its bytes as queued, and `bytesused`.
    pub(super) pictures: Vec<(Vec<u8>, u32)>,
    pub(super) end_of_stream_buffers: usize,
    pub(super) fps: Option<(u32, u32)>,
}

struct Buffer {
    memory: Box<[u8]>,
}

/// A driver that lies, for the tests that pistream never panics on what a device says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lie {
    /// DQBUF names a buffer that does not exist.
    BufferIndex,
    /// DQBUF says more bytes than the buffer has.
    BytesUsed,
    /// DQBUF puts the data's start past its end.
    DataOffset,
    /// S_FMT gives picture rows shorter than the picture.
    RowStride,
}

/// The fake driver.
pub(super) struct FakeBcm2835 {
    pub(super) seen: Arc<Mutex<Seen>>,
    /// `HEADER_MODE_SEPARATE` (FFmpeg's choice): SPS/PPS in a buffer of their own.
    separate_headers: bool,
    /// After this many pictures, a source-change event (once subscribed).
    pub(super) source_change_after: Option<usize>,
    subscribed: bool,
    pub(super) lie: Option<Lie>,
    /// After this many pictures every call fails as a vanished device does.
    pub(super) vanish_after: Option<usize>,
    raw: (u32, u32, u32, u32, u32),
    coded_sizeimage: u32,
    output: Vec<Buffer>,
    capture: Vec<Buffer>,
    capture_queued: VecDeque<(usize, u64)>,
    output_done: VecDeque<(usize, u64)>,
    capture_done: VecDeque<(usize, u32, u32, u64)>,
    frames: usize,
    force_pending: bool,
    headers_sent: bool,
    stopping: bool,
}

const EINVAL: i32 = 22;
const ERANGE: i32 = 34;
const EBUSY: i32 = 16;
const ENODEV: i32 = 19;
const EAGAIN: i32 = 11;
const SPS_PPS: [u8; 12] = [0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0x38];

fn align(n: u32, to: u32) -> u32 {
    n.div_ceil(to) * to
}

fn fail(errno: i32) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(errno))
}

impl FakeBcm2835 {
    pub(super) fn new(separate_headers: bool) -> FakeBcm2835 {
        FakeBcm2835 {
            seen: Arc::default(),
            separate_headers,
            vanish_after: None,
            lie: None,
            source_change_after: None,
            subscribed: false,
            raw: (0, 0, 0, 0, 0),
            coded_sizeimage: 0,
            output: Vec::new(),
            capture: Vec::new(),
            capture_queued: VecDeque::new(),
            output_done: VecDeque::new(),
            capture_done: VecDeque::new(),
            frames: 0,
            force_pending: false,
            headers_sent: false,
            stopping: false,
        }
    }

    fn event_pending(&self) -> bool {
        self.subscribed && self.source_change_after.is_some_and(|n| self.frames > n)
    }

    fn vanished(&self) -> bool {
        self.vanish_after.is_some_and(|n| self.frames > n)
    }

    fn control(&mut self, id: u32, value: i32) -> io::Result<()> {
        let buffers = !self.output.is_empty();
        let mut seen = self.seen.lock().unwrap();
        seen.control_log.push((id, value, buffers));
        let ok = match id {
            cid::BITRATE => (25_000..=25_000_000).contains(&value),
            cid::BITRATE_MODE | cid::HEADER_MODE | cid::REPEAT_SEQ_HEADER => (0..=1).contains(&value),
            cid::H264_PROFILE => [0, 1, 2, 4].contains(&value),
            cid::H264_LEVEL => (0..=15).contains(&value),
            cid::H264_I_PERIOD | cid::GOP_SIZE => value >= 0,
            cid::FORCE_KEY_FRAME => {
                // `if (!ctx->component) break;`: dropped until REQBUFS made the component.
                if buffers {
                    self.force_pending = true;
                    seen.forced += 1;
                }
                true
            }
            _ => return fail(EINVAL),
        };
        if !ok {
            return fail(ERANGE);
        }
        seen.controls.insert(id, value);
        if id == cid::H264_I_PERIOD {
            seen.controls.insert(cid::GOP_SIZE, value); // aliased in the driver
        }
        Ok(())
    }

    fn gop(&self) -> usize {
        self.seen.lock().unwrap().controls.get(&cid::GOP_SIZE).copied().unwrap_or(60).max(1) as usize
    }

    /// "Encodes" the picture in OUTPUT buffer `index`: fills the next CAPTURE buffer(s).
    fn encode(&mut self, index: usize, bytesused: u32, timestamp: u64) {
        {
            let mut seen = self.seen.lock().unwrap();
            seen.pictures.push((self.output[index].memory.to_vec(), bytesused));
            if bytesused == 0 {
                seen.end_of_stream_buffers += 1;
            }
        }
        self.output_done.push_back((index, timestamp));
        let forced = std::mem::take(&mut self.force_pending);
        let keyframe = self.frames.is_multiple_of(self.gop()) || forced;
        self.frames += 1;
        let repeat = self.seen.lock().unwrap().controls.get(&cid::REPEAT_SEQ_HEADER) == Some(&1);
        let headers = keyframe && (repeat || !self.headers_sent);
        self.headers_sent |= headers;
        let mut unit = Vec::new();
        if headers && self.separate_headers {
            self.emit(&SPS_PPS, 0, timestamp);
        } else if headers {
            unit.extend_from_slice(&SPS_PPS);
        }
        unit.extend_from_slice(if keyframe {
            &[0, 0, 0, 1, 0x65, 0x88, 0x80]
        } else {
            &[0, 0, 0, 1, 0x41, 0x9a, 0x02]
        });
        self.emit(&unit, if keyframe { sys::FLAG_KEYFRAME } else { 0 }, timestamp);
    }

    fn emit(&mut self, bytes: &[u8], flags: u32, timestamp: u64) {
        if let Some((index, _)) = self.capture_queued.pop_front() {
            self.capture[index].memory[..bytes.len()].copy_from_slice(bytes);
            self.capture_done.push_back((index, bytes.len() as u32, flags, timestamp));
        }
    }

    fn handle(&mut self, request: u64, arg: *mut c_void) -> io::Result<()> {
        if self.vanished() {
            return fail(ENODEV);
        }
        match request {
            req::QUERYCAP => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let caps = unsafe { &mut *arg.cast::<sys::v4l2_capability>() };
                caps.driver[..13].copy_from_slice(&b"bcm2835-codec".map(|b| b as _));
                caps.card[..20].copy_from_slice(&b"bcm2835-codec-encode".map(|b| b as _));
                caps.capabilities = 0x8000_0000 | 0x0400_4000;
                caps.device_caps = 0x0400_4000;
                Ok(())
            }
            req::ENUM_FMT => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let desc = unsafe { &mut *arg.cast::<sys::v4l2_fmtdesc>() };
                let list: &[u32] = if desc.type_ == sys::OUTPUT_MPLANE {
                    &[sys::FOURCC_YU12, sys::FOURCC_NV12, u32::from_le_bytes(*b"RGB3")]
                } else {
                    &[sys::FOURCC_H264]
                };
                match list.get(desc.index as usize) {
                    Some(f) => {
                        desc.pixelformat = *f;
                        Ok(())
                    }
                    None => fail(EINVAL),
                }
            }
            req::S_FMT => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let format = unsafe { &mut *arg.cast::<sys::v4l2_format>() };
                if !self.output.is_empty() || !self.capture.is_empty() {
                    return fail(EBUSY);
                }
                // SAFETY: the multi-planar member, the one an M2M queue's struct uses (plain integers).
                let pix = unsafe { &mut format.fmt.pix_mp };
                let (w, h) = (pix.width.clamp(32, 1920), pix.height.clamp(32, 1920));
                pix.width = w;
                pix.height = h;
                pix.num_planes = 1;
                if format.type_ == sys::CAPTURE_MPLANE {
                    pix.pixelformat = sys::FOURCC_H264;
                    self.seen.lock().unwrap().coded_size = (w, h);
                    let floor = if w * h <= 1280 * 720 { 512 << 10 } else { 768 << 10 };
                    self.coded_sizeimage = pix.plane_fmt[0].sizeimage.max(floor);
                    pix.plane_fmt[0].sizeimage = self.coded_sizeimage;
                    pix.plane_fmt[0].bytesperline = 0;
                } else {
                    if pix.pixelformat != sys::FOURCC_NV12 {
                        pix.pixelformat = sys::FOURCC_YU12;
                    }
                    // bytesperline_align: YU12 64 for the encoder, NV12 32; a larger stride
                    // asked for is kept (rounded up); the height is not aligned.
                    let to = if pix.pixelformat == sys::FOURCC_NV12 { 32 } else { 64 };
                    let bpl = align(w.max(pix.plane_fmt[0].bytesperline), to);
                    let bpl = if self.lie == Some(Lie::RowStride) { w / 2 } else { bpl };
                    pix.plane_fmt[0].bytesperline = bpl;
                    pix.plane_fmt[0].sizeimage = bpl * h * 3 / 2;
                    self.raw = (pix.pixelformat, w, h, bpl, bpl * h * 3 / 2);
                }
                Ok(())
            }
            req::S_PARM => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let parm = unsafe { &*arg.cast::<sys::v4l2_streamparm>() };
                // SAFETY: the multi-planar member, the one an M2M queue's struct uses (plain integers).
                let t = unsafe { parm.parm.output.timeperframe };
                self.seen.lock().unwrap().fps = Some((t.numerator, t.denominator));
                Ok(())
            }
            req::QUERYCTRL => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let query = unsafe { &mut *arg.cast::<sys::v4l2_queryctrl>() };
                let (min, max, step) = match query.id {
                    cid::BITRATE => (25_000, 25_000_000, 25_000),
                    cid::BITRATE_MODE | cid::HEADER_MODE | cid::REPEAT_SEQ_HEADER => (0, 1, 1),
                    cid::H264_PROFILE => (0, 4, 1),
                    cid::H264_LEVEL => (0, 15, 1),
                    cid::H264_I_PERIOD | cid::GOP_SIZE => (0, i32::MAX, 1),
                    cid::FORCE_KEY_FRAME => (0, 0, 0),
                    _ => return fail(EINVAL),
                };
                (query.minimum, query.maximum, query.step) = (min, max, step);
                Ok(())
            }
            req::S_CTRL => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let control = unsafe { &*arg.cast::<sys::v4l2_control>() };
                self.control(control.id, control.value)
            }
            req::REQBUFS => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let request = unsafe { &mut *arg.cast::<sys::v4l2_requestbuffers>() };
                let size =
                    if request.type_ == sys::OUTPUT_MPLANE { self.raw.4 } else { self.coded_sizeimage };
                let buffers: Vec<Buffer> = (0..request.count)
                    .map(|_| Buffer { memory: vec![0u8; size as usize].into_boxed_slice() })
                    .collect();
                if request.type_ == sys::OUTPUT_MPLANE {
                    self.output = buffers;
                } else {
                    self.capture = buffers;
                }
                Ok(())
            }
            req::QUERYBUF | req::QBUF => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let buffer = unsafe { &mut *arg.cast::<sys::v4l2_buffer>() };
                // SAFETY: the encoder's buffer struct points at its own planes array (QBUF's contract).
                let plane = unsafe { &mut *buffer.m.planes };
                let index = buffer.index as usize;
                let output = buffer.type_ == sys::OUTPUT_MPLANE;
                let len = if output { self.output.len() } else { self.capture.len() };
                if buffer.length != 1 || index >= len {
                    return fail(EINVAL);
                }
                if request == req::QUERYBUF {
                    plane.m.mem_offset = (index as u32) << 12 | if output { 0 } else { 1 << 20 };
                    plane.length = if output { self.raw.4 } else { self.coded_sizeimage };
                    return Ok(());
                }
                let timestamp = buffer.timestamp.tv_sec as u64 * 1_000_000 + buffer.timestamp.tv_usec as u64;
                if output {
                    self.encode(index, plane.bytesused, timestamp);
                } else {
                    self.capture_queued.push_back((index, timestamp));
                    if std::mem::take(&mut self.stopping) {
                        // The VPU's EOS buffer comes back empty, marked LAST.
                        let (index, _) = self.capture_queued.pop_front().unwrap();
                        self.capture_done.push_back((index, 0, sys::FLAG_LAST, 0));
                    }
                }
                Ok(())
            }
            req::DQBUF => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let buffer = unsafe { &mut *arg.cast::<sys::v4l2_buffer>() };
                // SAFETY: the encoder's buffer struct points at its own planes array (QBUF's contract).
                let plane = unsafe { &mut *buffer.m.planes };
                let (index, bytes, flags, timestamp) = if buffer.type_ == sys::OUTPUT_MPLANE {
                    let Some((index, ts)) = self.output_done.pop_front() else { return fail(EAGAIN) };
                    (index, 0, 0, ts)
                } else {
                    let Some(done) = self.capture_done.pop_front() else { return fail(EAGAIN) };
                    done
                };
                let capture = buffer.type_ == sys::CAPTURE_MPLANE;
                let lie = if capture { self.lie } else { None };
                buffer.index = if lie == Some(Lie::BufferIndex) { 99 } else { index as u32 };
                buffer.flags = flags;
                plane.bytesused = if lie == Some(Lie::BytesUsed) { u32::MAX } else { bytes };
                plane.data_offset = if lie == Some(Lie::DataOffset) { bytes + 1000 } else { 0 };
                buffer.timestamp.tv_sec = (timestamp / 1_000_000) as _;
                buffer.timestamp.tv_usec = (timestamp % 1_000_000) as _;
                Ok(())
            }
            req::ENCODER_CMD => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let command = unsafe { &*arg.cast::<sys::v4l2_encoder_cmd>() };
                if command.cmd == sys::ENC_CMD_STOP {
                    match self.capture_queued.pop_front() {
                        Some((index, _)) => self.capture_done.push_back((index, 0, sys::FLAG_LAST, 0)),
                        None => self.stopping = true,
                    }
                }
                Ok(())
            }
            req::SUBSCRIBE_EVENT => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let subscription = unsafe { &*arg.cast::<sys::v4l2_event_subscription>() };
                self.subscribed |= subscription.type_ == sys::EVENT_SOURCE_CHANGE;
                Ok(())
            }
            req::DQEVENT => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let event = unsafe { &mut *arg.cast::<sys::v4l2_event>() };
                if !self.event_pending() {
                    return fail(2); // ENOENT: no event
                }
                self.source_change_after = None;
                event.type_ = sys::EVENT_SOURCE_CHANGE;
                Ok(())
            }
            req::STREAMON => Ok(()),
            req::STREAMOFF => {
                // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
                let kind = unsafe { *arg.cast::<i32>() } as u32;
                if kind == sys::CAPTURE_MPLANE {
                    self.capture_queued.clear();
                    self.capture_done.clear();
                } else {
                    self.output_done.clear();
                }
                Ok(())
            }
            _ => fail(EINVAL),
        }
    }
}

impl sys::Driver for FakeBcm2835 {
    unsafe fn ioctl(&mut self, request: u64, arg: *mut c_void) -> io::Result<()> {
        self.handle(request, arg)
    }

    fn map(&mut self, offset: u32, len: usize) -> io::Result<Mapping> {
        let index = (offset & 0xfffff) as usize >> 12;
        let buffers = if offset & (1 << 20) != 0 { &mut self.capture } else { &mut self.output };
        let buffer = buffers.get_mut(index).ok_or_else(|| io::Error::from_raw_os_error(EINVAL))?;
        if len > buffer.memory.len() {
            return Err(io::Error::from_raw_os_error(EINVAL));
        }
        // SAFETY: the buffer's memory is boxed (it never moves) and lives until REQBUFS
        // frees it or the fake drops; the encoder's Drop releases its mappings before
        // either (`Queue::release` clears them, then asks REQBUFS 0).
        // SAFETY: `arg` is the struct this request takes (the ioctl's contract).
        Ok(unsafe { Mapping::borrowed(buffer.memory.as_mut_ptr(), len) })
    }

    fn poll(&mut self, events: i16, _timeout_ms: i32) -> io::Result<i16> {
        if self.vanished() {
            return Ok(nix::libc::POLLERR);
        }
        let mut revents = 0;
        if !self.capture_done.is_empty() {
            revents |= nix::libc::POLLIN;
        }
        if !self.output_done.is_empty() {
            revents |= nix::libc::POLLOUT;
        }
        if self.event_pending() {
            revents |= nix::libc::POLLPRI;
        }
        Ok(revents & events)
    }
}
