//! Our own thin layer over the V4L2 calls pistream makes: every one goes through libc's
//! `open`, `ioctl`, `mmap`, `munmap` and `close`, so the libraries that interpose those
//! (libcamera's V4L2 adapter, which `libcamerify` preloads; libv4l2's `v4l2convert.so`) see
//! them. The `v4l` crate's own calls cannot be used for that: its ioctls are raw
//! `syscall(SYS_ioctl)`s, which no preloaded library sees (and libcamera's adapter hands back
//! an eventfd from `open`, so they would reach no V4L2 device at all). The structs, request
//! codes and conversions are the `v4l` crate's (`v4l::v4l_sys`, `v4l::v4l2::vidioc`).
//! Opening a node and the struct helpers are shared with the hardware codecs' layer
//! (`codec::m2m::sys`), which makes its calls the same way.
//!
//! [`Device`] queries and configures; [`MmapStream`] streams with memory-mapped buffers, in
//! a borrow-safe shape: a dequeued buffer is a [`Dequeued`] token, its bytes are borrowed
//! from the stream ([`MmapStream::data`]) and it goes back to the driver only through
//! [`MmapStream::requeue`], which needs the stream mutably, so no borrow of its bytes can
//! outlive it.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use nix::libc;

use crate::codec::m2m::sys::{open_node, text, zeroed};
use v4l::buffer::Flags as BufferFlags;
use v4l::capability::Capabilities;
use v4l::format::{Description, Format, FourCC};
use v4l::frameinterval::FrameInterval;
use v4l::framesize::FrameSize;
use v4l::timestamp::Timestamp;
use v4l::v4l2::vidioc;
use v4l::v4l_sys::{
    v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_CAPTURE as VIDEO_CAPTURE, v4l2_buffer, v4l2_capability, v4l2_control,
    v4l2_fmtdesc, v4l2_format, v4l2_frmivalenum, v4l2_frmsizeenum,
    v4l2_memory_V4L2_MEMORY_MMAP as MEMORY_MMAP, v4l2_query_ext_ctrl, v4l2_querymenu, v4l2_requestbuffers,
    v4l2_streamparm,
};

/// An open V4L2 device node.
pub struct Device {
    fd: OwnedFd,
}

impl Device {
    /// Opens `path` for reading and writing, non-blocking (every wait is a `poll`).
    pub fn open(path: &Path) -> io::Result<Device> {
        Ok(Device { fd: open_node(path)? })
    }

    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// One ioctl through libc, retried when a signal interrupts it.
    fn ioctl<T>(&self, request: vidioc::_IOC_TYPE, arg: &mut T) -> io::Result<()> {
        loop {
            // SAFETY: `arg` is the struct `request` reads and writes (each call below pairs
            // them as the V4L2 API defines), valid for the call; the fd is open.
            let status = unsafe { libc::ioctl(self.fd(), request as _, arg as *mut T) };
            if status != -1 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// `VIDIOC_QUERYCAP`.
    pub fn capabilities(&self) -> io::Result<Capabilities> {
        let mut caps: v4l2_capability = zeroed();
        self.ioctl(vidioc::VIDIOC_QUERYCAP, &mut caps)?;
        // Our own conversion: the crate's unwraps text that is not UTF-8 (a camera's name
        // must not be able to panic pistream), and reads only `device_caps`, which a driver
        // without V4L2_CAP_DEVICE_CAPS leaves at 0.
        const DEVICE_CAPS: u32 = 0x8000_0000;
        let flags = if caps.capabilities & DEVICE_CAPS != 0 { caps.device_caps } else { caps.capabilities };
        Ok(Capabilities {
            driver: text(&caps.driver),
            card: text(&caps.card),
            bus: text(&caps.bus_info),
            version: ((caps.version >> 16) as u8, (caps.version >> 8) as u8, caps.version as u8),
            capabilities: v4l::capability::Flags::from(flags),
        })
    }

    /// Every capture format (`VIDIOC_ENUM_FMT` until the driver says no more).
    pub fn formats(&self) -> io::Result<Vec<Description>> {
        let mut out = Vec::new();
        for index in 0.. {
            let mut desc = v4l2_fmtdesc { index, type_: VIDEO_CAPTURE, ..zeroed() };
            match self.ioctl(vidioc::VIDIOC_ENUM_FMT, &mut desc) {
                Ok(()) => out.push(Description {
                    index: desc.index,
                    typ: desc.type_,
                    flags: v4l::format::description::Flags::from(desc.flags),
                    description: text(&desc.description),
                    fourcc: FourCC::from(desc.pixelformat),
                }),
                Err(e) if index == 0 && e.raw_os_error() != Some(libc::EINVAL) => return Err(e),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    /// The frame sizes of `fourcc` (`VIDIOC_ENUM_FRAMESIZES`).
    pub fn frame_sizes(&self, fourcc: FourCC) -> io::Result<Vec<FrameSize>> {
        let mut out = Vec::new();
        for index in 0.. {
            let mut size = v4l2_frmsizeenum { index, pixel_format: fourcc.into(), ..zeroed() };
            match self.ioctl(vidioc::VIDIOC_ENUM_FRAMESIZES, &mut size) {
                Ok(()) => out.extend(FrameSize::try_from(size).ok()),
                Err(e) if index == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    /// The frame intervals of `fourcc` at `width` x `height` (`VIDIOC_ENUM_FRAMEINTERVALS`).
    pub fn frame_intervals(&self, fourcc: FourCC, width: u32, height: u32) -> io::Result<Vec<FrameInterval>> {
        let mut out = Vec::new();
        for index in 0.. {
            let mut interval =
                v4l2_frmivalenum { index, pixel_format: fourcc.into(), width, height, ..zeroed() };
            match self.ioctl(vidioc::VIDIOC_ENUM_FRAMEINTERVALS, &mut interval) {
                Ok(()) => out.extend(FrameInterval::try_from(interval).ok()),
                Err(e) if index == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    /// Sets the capture format (`VIDIOC_S_FMT`); returns what the driver set (it may round
    /// the size, pad rows, or pick another format).
    pub fn set_format(&self, format: &Format) -> io::Result<Format> {
        let mut fmt = v4l2_format { type_: VIDEO_CAPTURE, ..zeroed() };
        fmt.fmt.pix = (*format).into();
        self.ioctl(vidioc::VIDIOC_S_FMT, &mut fmt)?;
        // SAFETY: for a capture-type v4l2_format the driver fills the `pix` member.
        Ok(Format::from(unsafe { fmt.fmt.pix }))
    }

    /// Asks for `fps` frames per second (`VIDIOC_S_PARM`).
    pub fn set_fps(&self, fps: u32) -> io::Result<()> {
        let mut parm = v4l2_streamparm { type_: VIDEO_CAPTURE, ..zeroed() };
        // `capture` is the member of a capture-type v4l2_streamparm (writing a union field
        // is safe; reading one would not be).
        parm.parm.capture.timeperframe.numerator = 1;
        parm.parm.capture.timeperframe.denominator = fps.max(1);
        self.ioctl(vidioc::VIDIOC_S_PARM, &mut parm)
    }

    /// The control after `id` (`VIDIOC_QUERY_EXT_CTRL` with `V4L2_CTRL_FLAG_NEXT_CTRL`;
    /// start from 0), or `None` past the last.
    pub fn next_control(&self, id: u32) -> io::Result<Option<v4l2_query_ext_ctrl>> {
        const NEXT_CTRL: u32 = 0x8000_0000;
        let mut query = v4l2_query_ext_ctrl { id: id | NEXT_CTRL, ..zeroed() };
        match self.ioctl(vidioc::VIDIOC_QUERY_EXT_CTRL, &mut query) {
            Ok(()) => Ok(Some(query)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A menu item's name or value (`VIDIOC_QUERYMENU`), or `None` if the driver skips it.
    pub fn menu_item(&self, id: u32, index: u32) -> Option<v4l2_querymenu> {
        let mut item = v4l2_querymenu { id, index, ..zeroed() };
        self.ioctl(vidioc::VIDIOC_QUERYMENU, &mut item).ok().map(|()| item)
    }

    /// A control's value (`VIDIOC_G_CTRL`).
    pub fn control(&self, id: u32) -> io::Result<i32> {
        let mut control = v4l2_control { id, value: 0 };
        self.ioctl(vidioc::VIDIOC_G_CTRL, &mut control)?;
        Ok(control.value)
    }

    /// Sets a control (`VIDIOC_S_CTRL`); returns the value the driver kept.
    pub fn set_control(&self, id: u32, value: i32) -> io::Result<i32> {
        let mut control = v4l2_control { id, value };
        self.ioctl(vidioc::VIDIOC_S_CTRL, &mut control)?;
        Ok(control.value)
    }

    /// Whether a buffer is ready to dequeue, waiting up to `timeout`.
    pub fn readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut fds = [libc::pollfd { fd: self.fd(), events: libc::POLLIN, revents: 0 }];
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        loop {
            // SAFETY: one pollfd, valid for the call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
            if n >= 0 {
                return Ok(n > 0 && fds[0].revents & libc::POLLIN != 0);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// One memory-mapped buffer.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: a mapping is plain memory owned by the stream that holds it; the stream is used by
// one thread at a time (`&mut` for every change).
unsafe impl Send for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are one mapping made by `mmap` and unmapped only here.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// A buffer the driver has filled and handed over: where it is and what it holds. Not
/// `Clone`: it goes back to the driver once, through [`MmapStream::requeue`].
#[derive(Debug)]
pub(super) struct Dequeued {
    index: u32,
    /// How many bytes of it the frame takes (MJPEG frames are shorter than the buffer).
    pub bytesused: usize,
    pub flags: BufferFlags,
    pub timestamp: Timestamp,
}

/// A capture device streaming into memory-mapped buffers.
pub(super) struct MmapStream {
    device: Device,
    buffers: Vec<Mapping>,
    streaming: bool,
}

impl MmapStream {
    /// Asks for `count` buffers, maps them, queues them all and starts streaming.
    pub(super) fn start(device: Device, count: u32) -> io::Result<MmapStream> {
        let mut request =
            v4l2_requestbuffers { count, type_: VIDEO_CAPTURE, memory: MEMORY_MMAP, ..zeroed() };
        device.ioctl(vidioc::VIDIOC_REQBUFS, &mut request)?;
        let mut stream = MmapStream { device, buffers: Vec::new(), streaming: false };
        for index in 0..request.count {
            let mut buffer = v4l2_buffer { index, type_: VIDEO_CAPTURE, memory: MEMORY_MMAP, ..zeroed() };
            stream.device.ioctl(vidioc::VIDIOC_QUERYBUF, &mut buffer)?;
            let len = buffer.length as usize;
            // SAFETY: maps the buffer the driver just described (its offset and length) from
            // our open fd, read-only and shared, as V4L2's mmap streaming defines.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    stream.device.fd(),
                    buffer.m.offset as libc::off_t,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            stream.buffers.push(Mapping { ptr, len });
        }
        for index in 0..request.count {
            stream.queue(index)?;
        }
        let mut kind = VIDEO_CAPTURE;
        stream.device.ioctl(vidioc::VIDIOC_STREAMON, &mut kind)?;
        stream.streaming = true;
        Ok(stream)
    }

    pub(super) fn device(&self) -> &Device {
        &self.device
    }

    fn queue(&mut self, index: u32) -> io::Result<()> {
        let mut buffer = v4l2_buffer { index, type_: VIDEO_CAPTURE, memory: MEMORY_MMAP, ..zeroed() };
        self.device.ioctl(vidioc::VIDIOC_QBUF, &mut buffer)
    }

    /// The next filled buffer (`VIDIOC_DQBUF`; `WouldBlock` if none is ready: poll first).
    pub(super) fn dequeue(&mut self) -> io::Result<Dequeued> {
        let mut buffer = v4l2_buffer { type_: VIDEO_CAPTURE, memory: MEMORY_MMAP, ..zeroed() };
        self.device.ioctl(vidioc::VIDIOC_DQBUF, &mut buffer)?;
        let len = self.buffers.get(buffer.index as usize).map_or(0, |m| m.len);
        Ok(Dequeued {
            index: buffer.index,
            bytesused: (buffer.bytesused as usize).min(len),
            flags: BufferFlags::from(buffer.flags),
            timestamp: Timestamp::from(buffer.timestamp),
        })
    }

    /// The bytes of a dequeued buffer (its `bytesused`), borrowed until it is requeued.
    pub(super) fn data(&self, buffer: &Dequeued) -> &[u8] {
        match self.buffers.get(buffer.index as usize) {
            // SAFETY: the mapping is `len` readable bytes, alive as long as `self`; the buffer
            // is dequeued, so the driver does not write it until `requeue`, which needs
            // `&mut self` and so cannot run while this borrow lives.
            Some(m) => unsafe { std::slice::from_raw_parts(m.ptr as *const u8, buffer.bytesused) },
            None => &[],
        }
    }

    /// Hands a buffer back to the driver to fill again.
    pub(super) fn requeue(&mut self, buffer: Dequeued) -> io::Result<()> {
        self.queue(buffer.index)
    }

    /// Stops streaming and lets the buffers go (a device that vanished cannot say so;
    /// everything is released either way).
    pub(super) fn stop(mut self) -> io::Result<()> {
        self.stop_streaming()
    }

    fn stop_streaming(&mut self) -> io::Result<()> {
        if !std::mem::replace(&mut self.streaming, false) {
            return Ok(());
        }
        let mut kind = VIDEO_CAPTURE;
        let stopped = self.device.ioctl(vidioc::VIDIOC_STREAMOFF, &mut kind);
        self.buffers.clear();
        let mut request =
            v4l2_requestbuffers { count: 0, type_: VIDEO_CAPTURE, memory: MEMORY_MMAP, ..zeroed() };
        let _ = self.device.ioctl(vidioc::VIDIOC_REQBUFS, &mut request);
        stopped
    }
}

impl Drop for MmapStream {
    fn drop(&mut self) {
        let _ = self.stop_streaming();
    }
}
