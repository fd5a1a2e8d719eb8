//! One queue of a multi-planar memory-to-memory device: its format, and its memory-mapped
//! buffers, allocated and mapped once, each either with the driver (queued) or with us.

use std::io;

use super::sys::{
    self, call, req, v4l2_buffer, v4l2_format, v4l2_plane, v4l2_requestbuffers, Driver, Mapping,
};

/// A queue's format as the driver settled it (one memory plane: the layouts every M2M codec
/// pistream drives uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneFormat {
    pub fourcc: u32,
    pub width: u32,
    pub height: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
}

fn format_of(format: &v4l2_format) -> PlaneFormat {
    // SAFETY: `pix_mp` is the member a multi-planar queue's format uses (packed: read by value).
    let pix = unsafe { format.fmt.pix_mp };
    let plane = pix.plane_fmt[0];
    PlaneFormat {
        fourcc: pix.pixelformat,
        width: pix.width,
        height: pix.height,
        bytesperline: plane.bytesperline,
        sizeimage: plane.sizeimage,
    }
}

/// `VIDIOC_S_FMT` on queue `kind`: what the driver made of the request.
pub(super) fn set_format(driver: &mut dyn Driver, kind: u32, want: PlaneFormat) -> io::Result<PlaneFormat> {
    let mut format: v4l2_format = sys::zeroed();
    format.type_ = kind;
    // SAFETY: as in `format_of`; every member is a plain integer.
    unsafe {
        format.fmt.pix_mp.width = want.width;
        format.fmt.pix_mp.height = want.height;
        format.fmt.pix_mp.pixelformat = want.fourcc;
        format.fmt.pix_mp.field = sys::FIELD_NONE;
        format.fmt.pix_mp.num_planes = 1;
        format.fmt.pix_mp.plane_fmt[0].bytesperline = want.bytesperline;
        format.fmt.pix_mp.plane_fmt[0].sizeimage = want.sizeimage;
    }
    call(driver, req::S_FMT, &mut format)?;
    Ok(format_of(&format))
}

/// `VIDIOC_G_FMT` on queue `kind`.
pub(super) fn get_format(driver: &mut dyn Driver, kind: u32) -> io::Result<PlaneFormat> {
    let mut format: v4l2_format = sys::zeroed();
    format.type_ = kind;
    call(driver, req::G_FMT, &mut format)?;
    Ok(format_of(&format))
}

/// A buffer the driver gave back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Done {
    pub(super) index: usize,
    /// Where the payload starts and ends in the buffer.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) flags: u32,
    pub(super) timestamp_us: u64,
}

/// The buffers of one queue.
pub(super) struct Queue {
    kind: u32,
    buffers: Vec<Mapping>,
    queued: Vec<bool>,
}

impl Queue {
    /// Asks for `count` buffers on queue `kind` (the driver may give more or fewer) and
    /// maps every one.
    pub(super) fn allocate(driver: &mut dyn Driver, kind: u32, count: u32) -> io::Result<Queue> {
        let mut request =
            v4l2_requestbuffers { count, type_: kind, memory: sys::MEMORY_MMAP, ..sys::zeroed() };
        call(driver, req::REQBUFS, &mut request)?;
        if request.count == 0 {
            return Err(io::Error::other("the driver gave no buffers"));
        }
        let mut buffers = Vec::with_capacity(request.count as usize);
        for index in 0..request.count {
            let mut planes: [v4l2_plane; 1] = sys::zeroed();
            let mut buffer = Self::buffer(kind, index, &mut planes);
            call(driver, req::QUERYBUF, &mut buffer)?;
            // SAFETY: QUERYBUF filled the plane's offset (the member MMAP buffers use).
            let offset = unsafe { planes[0].m.mem_offset };
            buffers.push(driver.map(offset, planes[0].length as usize)?);
        }
        let queued = vec![false; buffers.len()];
        Ok(Queue { kind, buffers, queued })
    }

    fn buffer(kind: u32, index: u32, planes: &mut [v4l2_plane; 1]) -> v4l2_buffer {
        let mut buffer: v4l2_buffer = sys::zeroed();
        buffer.index = index;
        buffer.type_ = kind;
        buffer.memory = sys::MEMORY_MMAP;
        buffer.m.planes = planes.as_mut_ptr();
        buffer.length = 1;
        buffer
    }

    pub(super) fn len(&self) -> usize {
        self.buffers.len()
    }

    /// A buffer that is with us, if any.
    pub(super) fn free(&self) -> Option<usize> {
        self.queued.iter().position(|q| !q)
    }

    pub(super) fn bytes(&self, index: usize) -> &[u8] {
        self.buffers[index].bytes()
    }

    pub(super) fn bytes_mut(&mut self, index: usize) -> &mut [u8] {
        self.buffers[index].bytes_mut()
    }

    /// Gives buffer `index` to the driver, `bytesused` of it filled (0 for a buffer to be
    /// filled by the driver), stamped `timestamp_us`.
    pub(super) fn queue(
        &mut self,
        driver: &mut dyn Driver,
        index: usize,
        bytesused: usize,
        timestamp_us: u64,
    ) -> io::Result<()> {
        let mut planes: [v4l2_plane; 1] = sys::zeroed();
        planes[0].bytesused = bytesused as u32;
        planes[0].length = self.buffers[index].size() as u32;
        let mut buffer = Self::buffer(self.kind, index as u32, &mut planes);
        buffer.timestamp.tv_sec = (timestamp_us / 1_000_000) as _;
        buffer.timestamp.tv_usec = (timestamp_us % 1_000_000) as _;
        call(driver, req::QBUF, &mut buffer)?;
        self.queued[index] = true;
        Ok(())
    }

    /// Takes back a buffer the driver is done with; `None` when none is (EAGAIN).
    pub(super) fn dequeue(&mut self, driver: &mut dyn Driver) -> io::Result<Option<Done>> {
        let mut planes: [v4l2_plane; 1] = sys::zeroed();
        let mut buffer = Self::buffer(self.kind, 0, &mut planes);
        match call(driver, req::DQBUF, &mut buffer) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
        let index = buffer.index as usize;
        if index >= self.buffers.len() {
            return Err(io::Error::other(format!("the driver gave back buffer {index}, which it never had")));
        }
        self.queued[index] = false;
        let len = self.buffers[index].size();
        let end = (planes[0].bytesused as usize).min(len);
        let start = (planes[0].data_offset as usize).min(end);
        let timestamp_us =
            (buffer.timestamp.tv_sec as u64).saturating_mul(1_000_000) + buffer.timestamp.tv_usec as u64;
        Ok(Some(Done { index, start, end, flags: buffer.flags, timestamp_us }))
    }

    /// Marks every buffer as ours again (after STREAMOFF, which takes them all back).
    pub(super) fn reclaim_all(&mut self) {
        self.queued.iter_mut().for_each(|q| *q = false);
    }

    /// Unmaps the buffers and frees them in the driver (`REQBUFS` 0).
    pub(super) fn release(&mut self, driver: &mut dyn Driver) {
        self.buffers.clear();
        self.queued.clear();
        let mut request =
            v4l2_requestbuffers { count: 0, type_: self.kind, memory: sys::MEMORY_MMAP, ..sys::zeroed() };
        let _ = call(driver, req::REQBUFS, &mut request);
    }
}

/// Copies `rows` rows of `width` bytes from `src` (rows `src_stride` apart) to `dst` (rows
/// `dst_stride` apart); `None`, having copied part, when either side is too short. Layouts
/// come from the driver (strides, sizes): a wrong one must not panic pistream.
pub(super) fn copy_rows(
    dst: &mut [u8],
    dst_stride: usize,
    src: &[u8],
    src_stride: usize,
    width: usize,
    rows: usize,
) -> Option<()> {
    for row in 0..rows {
        let from = src.get(row.checked_mul(src_stride)?..)?.get(..width)?;
        dst.get_mut(row.checked_mul(dst_stride)?..)?.get_mut(..width)?.copy_from_slice(from);
    }
    Some(())
}

/// Stops both queues (taking every buffer back), then unmaps and frees `queues`' buffers:
/// a codec's end. Errors are ignored: the device may be gone.
pub(super) fn stop_and_release(driver: &mut dyn Driver, queues: &mut [&mut Queue]) {
    let _ = sys::stream(driver, sys::CAPTURE_MPLANE, false);
    let _ = sys::stream(driver, sys::OUTPUT_MPLANE, false);
    for queue in queues {
        queue.release(driver);
    }
}
