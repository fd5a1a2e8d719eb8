//! The V4L2 calls a memory-to-memory codec needs, typed, over one seam ([`Driver`]: an
//! ioctl, a mapping, a poll) so the same code drives a kernel device ([`Kernel`]) and, in
//! unit tests, a fake of a driver we have no hardware for (the Pi's bcm2835-codec).
//!
//! The structs are the `v4l` crate's bindgen ones (`v4l::v4l_sys`); the request codes the
//! crate lacks (events) are built here with the kernel's `_IOC` formula and checked against
//! the struct sizes. Every call goes through libc's `ioctl`, as the camera's own layer does
//! (`source::v4l2::device`), so LD_PRELOAD adapters see them. The codes and struct layouts
//! are the same on x86_64 and aarch64 (checked with a C probe against `<linux/videodev2.h>`
//! on both).

use std::ffi::{c_void, CString};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::libc;
use v4l::v4l2::vidioc;
pub use v4l::v4l_sys::{
    v4l2_buffer, v4l2_capability, v4l2_control, v4l2_encoder_cmd, v4l2_event, v4l2_event_subscription,
    v4l2_fmtdesc, v4l2_format, v4l2_plane, v4l2_queryctrl, v4l2_requestbuffers, v4l2_streamparm,
};

/// Queue types of a multi-planar memory-to-memory device: raw pictures go in on OUTPUT
/// (for an encoder), coded ones come out on CAPTURE.
pub const CAPTURE_MPLANE: u32 = 9;
pub const OUTPUT_MPLANE: u32 = 10;
pub const MEMORY_MMAP: u32 = 1;
pub const FIELD_NONE: u32 = 1;
pub const CAP_VIDEO_M2M_MPLANE: u32 = 0x4000;
const CAP_DEVICE_CAPS: u32 = 0x8000_0000;

/// Buffer flags (`V4L2_BUF_FLAG_*`).
pub const FLAG_KEYFRAME: u32 = 0x08;
pub const FLAG_ERROR: u32 = 0x40;
pub const FLAG_LAST: u32 = 0x0010_0000;

/// Fourccs.
pub const FOURCC_H264: u32 = u32::from_le_bytes(*b"H264");
pub const FOURCC_FWHT: u32 = u32::from_le_bytes(*b"FWHT");
pub const FOURCC_YU12: u32 = u32::from_le_bytes(*b"YU12");
pub const FOURCC_NV12: u32 = u32::from_le_bytes(*b"NV12");

/// `V4L2_ENC_CMD_STOP`, `V4L2_EVENT_SOURCE_CHANGE`.
pub const ENC_CMD_STOP: u32 = 1;
pub const EVENT_SOURCE_CHANGE: u32 = 5;

/// Codec controls (`V4L2_CID_MPEG_VIDEO_*`, videodev2's v4l2-controls.h).
pub mod cid {
    pub const GOP_SIZE: u32 = 0x0099_09cb;
    pub const BITRATE_MODE: u32 = 0x0099_09ce;
    pub const BITRATE: u32 = 0x0099_09cf;
    pub const HEADER_MODE: u32 = 0x0099_09d8;
    pub const REPEAT_SEQ_HEADER: u32 = 0x0099_09e2;
    pub const FORCE_KEY_FRAME: u32 = 0x0099_09e5;
    pub const H264_I_PERIOD: u32 = 0x0099_0a66;
    pub const H264_LEVEL: u32 = 0x0099_0a67;
    pub const H264_PROFILE: u32 = 0x0099_0a6b;
    /// Values: `V4L2_MPEG_VIDEO_BITRATE_MODE_VBR`, `..._HEADER_MODE_JOINED_WITH_1ST_FRAME`,
    /// `..._H264_PROFILE_CONSTRAINED_BASELINE`.
    pub const BITRATE_MODE_VBR: i32 = 0;
    pub const HEADER_MODE_JOINED: i32 = 1;
    pub const PROFILE_CONSTRAINED_BASELINE: i32 = 1;
}

/// `_IOC(dir, 'V', nr, size)` as the kernel builds request codes.
const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    dir << 30 | (size as u64) << 16 | (b'V' as u64) << 8 | nr
}

/// Request codes. The `v4l` crate's, plus the event ones it does not have.
#[allow(
    clippy::unnecessary_cast,
    reason = "the crate's request type is the target's c_ulong: u32 on 32-bit Pis"
)]
pub mod req {
    use super::*;
    pub const QUERYCAP: u64 = vidioc::VIDIOC_QUERYCAP as u64;
    pub const ENUM_FMT: u64 = vidioc::VIDIOC_ENUM_FMT as u64;
    pub const G_FMT: u64 = vidioc::VIDIOC_G_FMT as u64;
    pub const S_FMT: u64 = vidioc::VIDIOC_S_FMT as u64;
    pub const REQBUFS: u64 = vidioc::VIDIOC_REQBUFS as u64;
    pub const QUERYBUF: u64 = vidioc::VIDIOC_QUERYBUF as u64;
    pub const QBUF: u64 = vidioc::VIDIOC_QBUF as u64;
    pub const DQBUF: u64 = vidioc::VIDIOC_DQBUF as u64;
    pub const STREAMON: u64 = vidioc::VIDIOC_STREAMON as u64;
    pub const STREAMOFF: u64 = vidioc::VIDIOC_STREAMOFF as u64;
    pub const S_PARM: u64 = vidioc::VIDIOC_S_PARM as u64;
    pub const S_CTRL: u64 = vidioc::VIDIOC_S_CTRL as u64;
    pub const QUERYCTRL: u64 = vidioc::VIDIOC_QUERYCTRL as u64;
    pub const ENCODER_CMD: u64 = vidioc::VIDIOC_ENCODER_CMD as u64;
    pub const DQEVENT: u64 = ioc(2, 89, mem::size_of::<v4l2_event>());
    pub const SUBSCRIBE_EVENT: u64 = ioc(1, 90, mem::size_of::<v4l2_event_subscription>());
}

/// What a memory-to-memory codec needs from the kernel: one ioctl, a mapping of a buffer,
/// a poll. [`Kernel`] is a device node; tests put a fake driver here.
pub trait Driver: Send {
    /// `ioctl(fd, request, arg)`.
    ///
    /// # Safety
    /// `arg` must point at the struct `request` reads and writes, valid for the call (and
    /// any pointer inside it, such as a buffer's planes, too).
    unsafe fn ioctl(&mut self, request: u64, arg: *mut c_void) -> io::Result<()>;
    /// Maps `len` bytes of the buffer at `offset` (QUERYBUF's `mem_offset`), read and write.
    fn map(&mut self, offset: u32, len: usize) -> io::Result<Mapping>;
    /// Waits up to `timeout_ms` for `events` (`POLLIN`, `POLLOUT`, `POLLPRI`); the events
    /// that happened (`POLLERR` among them).
    fn poll(&mut self, events: i16, timeout_ms: i32) -> io::Result<i16>;
}

/// A mapped buffer: unmapped on drop when the kernel mapped it.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
    kernel: bool,
}

// SAFETY: the mapping is memory owned by this value (or by the fake driver, which outlives
// it); it moves between threads with the codec that owns it, never shared.
unsafe impl Send for Mapping {}

impl Mapping {
    /// A mapping of memory someone else keeps alive longer than this value (a fake driver's).
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes for this value's whole life.
    pub unsafe fn borrowed(ptr: *mut u8, len: usize) -> Mapping {
        Mapping { ptr, len, kernel: false }
    }

    pub fn size(&self) -> usize {
        self.len
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: valid for `len` bytes while `self` lives (see the constructors).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.kernel {
            // SAFETY: `ptr`/`len` are what `mmap` returned; nothing uses them after this.
            unsafe { libc::munmap(self.ptr.cast(), self.len) };
        }
    }
}

/// A device node, non-blocking (every wait is a `poll`).
pub struct Kernel {
    fd: OwnedFd,
}

impl Kernel {
    pub fn open(path: &Path) -> io::Result<Kernel> {
        Ok(Kernel { fd: open_node(path)? })
    }
}

/// Opens a V4L2 node through libc's `open` (which LD_PRELOAD adapters replace), for reading
/// and writing, non-blocking (every wait is a `poll`). The camera's layer opens its nodes
/// here too (`source::v4l2::device`).
pub fn open_node(path: &Path) -> io::Result<OwnedFd> {
    let name = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))?;
    // SAFETY: `name` is a NUL-terminated path that lives across the call.
    let fd = unsafe { libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Driver for Kernel {
    unsafe fn ioctl(&mut self, request: u64, arg: *mut c_void) -> io::Result<()> {
        loop {
            // SAFETY: `arg` is the request's struct (this function's contract); the fd is open.
            let status = unsafe { libc::ioctl(self.fd.as_raw_fd(), request as _, arg) };
            if status != -1 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    fn map(&mut self, offset: u32, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh shared mapping of the device's buffer at `offset`, as QUERYBUF told.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.fd.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: ptr.cast(), len, kernel: true })
    }

    fn poll(&mut self, events: i16, timeout_ms: i32) -> io::Result<i16> {
        let mut fds = libc::pollfd { fd: self.fd.as_raw_fd(), events, revents: 0 };
        loop {
            // SAFETY: one valid pollfd for the call.
            let n = unsafe { libc::poll(&mut fds, 1, timeout_ms) };
            if n >= 0 {
                return Ok(fds.revents);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Polls `driver` for `events` until `deadline`: the events that happened, or `None` once
/// the deadline has passed.
pub fn poll_until(
    driver: &mut dyn Driver,
    events: i16,
    deadline: std::time::Instant,
) -> io::Result<Option<i16>> {
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    if left.is_zero() {
        return Ok(None);
    }
    driver.poll(events, left.as_millis().clamp(1, i32::MAX as u128) as i32).map(Some)
}

/// A zeroed V4L2 argument struct.
pub fn zeroed<T>() -> T {
    // SAFETY: used only for the C structs of the V4L2 API (plain integers, arrays, unions
    // and raw pointers), for which all-zero bytes are a valid value.
    unsafe { mem::zeroed() }
}

/// A driver's fixed-size, NUL-terminated text field, read lossily.
pub fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The typed calls, on any [`Driver`].
///
/// Each caller pairs `request` with its struct, as the V4L2 API defines them, so the
/// driver reads and writes a `T` that lives across the call.
pub fn call<T>(driver: &mut dyn Driver, request: u64, arg: &mut T) -> io::Result<()> {
    // SAFETY: `arg` is a live, exclusive `T`, the struct `request` takes (see above).
    unsafe { driver.ioctl(request, (arg as *mut T).cast()) }
}

/// `VIDIOC_QUERYCAP`: driver, card and the node's own capabilities.
pub fn capabilities(driver: &mut dyn Driver) -> io::Result<(String, String, u32)> {
    let mut caps: v4l2_capability = zeroed();
    call(driver, req::QUERYCAP, &mut caps)?;
    let flags = if caps.capabilities & CAP_DEVICE_CAPS != 0 { caps.device_caps } else { caps.capabilities };
    Ok((text(&caps.driver), text(&caps.card), flags))
}

/// Every format of queue `kind` (`VIDIOC_ENUM_FMT` until the driver says no more).
pub fn formats(driver: &mut dyn Driver, kind: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for index in 0..64 {
        let mut desc: v4l2_fmtdesc = zeroed();
        desc.index = index;
        desc.type_ = kind;
        if call(driver, req::ENUM_FMT, &mut desc).is_err() {
            break;
        }
        out.push(desc.pixelformat);
    }
    out
}

/// `VIDIOC_S_CTRL`.
pub fn set_control(driver: &mut dyn Driver, id: u32, value: i32) -> io::Result<()> {
    let mut control = v4l2_control { id, value };
    call(driver, req::S_CTRL, &mut control)
}

/// Whether the driver has control `id` (`VIDIOC_QUERYCTRL`; asks without setting it).
pub fn has_control(driver: &mut dyn Driver, id: u32) -> bool {
    control_range(driver, id).is_some()
}

/// A control's range and step, as `VIDIOC_QUERYCTRL` gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub min: i32,
    pub max: i32,
    pub step: i32,
}

impl Range {
    /// `value` clamped to the range and rounded down to a step from `min`.
    pub fn fit(self, value: i32) -> i32 {
        if self.max < self.min {
            return value;
        }
        let clamped = value.clamp(self.min, self.max);
        let step = i64::from(self.step.max(1));
        let steps = (i64::from(clamped) - i64::from(self.min)) / step;
        (i64::from(self.min) + steps * step) as i32
    }
}

/// Control `id`'s range, if the driver has it.
pub fn control_range(driver: &mut dyn Driver, id: u32) -> Option<Range> {
    let mut query: v4l2_queryctrl = zeroed();
    query.id = id;
    call(driver, req::QUERYCTRL, &mut query).ok()?;
    Some(Range { min: query.minimum, max: query.maximum, step: query.step })
}

/// `VIDIOC_STREAMON` / `STREAMOFF` on queue `kind`.
pub fn stream(driver: &mut dyn Driver, kind: u32, on: bool) -> io::Result<()> {
    let mut kind = kind as i32;
    call(driver, if on { req::STREAMON } else { req::STREAMOFF }, &mut kind)
}

/// A fourcc as text, e.g. `H264`.
pub fn fourcc_text(fourcc: u32) -> String {
    fourcc.to_le_bytes().iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '?' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_codes_are_the_kernels() {
        // From a C probe against <linux/videodev2.h> (x86_64 and aarch64 alike).
        assert_eq!(req::DQEVENT, 0x8088_5659);
        assert_eq!(req::SUBSCRIBE_EVENT, 0x4020_565a);
        assert_eq!(req::QBUF, 0xc058_560f);
        assert_eq!(req::DQBUF, 0xc058_5611);
        assert_eq!(req::S_FMT, 0xc0d0_5605);
        assert_eq!(req::ENCODER_CMD, 0xc028_564d);
        assert_eq!(mem::size_of::<v4l2_buffer>(), 88);
        assert_eq!(mem::size_of::<v4l2_plane>(), 64);
        assert_eq!(fourcc_text(FOURCC_H264), "H264");
    }
}
