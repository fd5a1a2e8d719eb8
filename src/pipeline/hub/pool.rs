//! The capture stage's frames: a pool of reference-counted [`SharedFrame`]s, each reused
//! once every viewer has let go of it. It grows only while every frame is held elsewhere
//! (in a slot, mid-send, in an encoder's input), up to a bound, so steady state allocates
//! nothing.

use std::sync::Arc;

use super::frame::SharedFrame;
use crate::media::Geometry;

/// The capture stage's frames.
pub struct FramePool {
    frames: Vec<Arc<SharedFrame>>,
    geometry: Geometry,
    limit: usize,
}

impl FramePool {
    /// A pool of frames of `geometry`, growing on demand to at most `limit` frames.
    pub fn new(geometry: Geometry, limit: usize) -> Self {
        let frames = (0..2.min(limit)).map(|_| Arc::new(SharedFrame::new(geometry))).collect();
        FramePool { frames, geometry, limit: limit.max(1) }
    }

    /// A frame nobody else holds, to fill (growing the pool if all are held and it is below
    /// its limit); `None` when every frame is held and the pool is full.
    pub fn free(&mut self) -> Option<PoolIndex> {
        if let Some(i) = self.frames.iter().position(|f| Arc::strong_count(f) == 1) {
            return Some(PoolIndex(i));
        }
        if self.frames.len() < self.limit {
            self.frames.push(Arc::new(SharedFrame::new(self.geometry)));
            return Some(PoolIndex(self.frames.len() - 1));
        }
        None
    }

    /// The free frame at `index`, to fill (its products from its last use forgotten).
    pub fn frame_mut(&mut self, index: PoolIndex) -> &mut SharedFrame {
        let frame =
            Arc::get_mut(&mut self.frames[index.0]).expect("PoolIndex names a frame nobody else holds");
        frame.recycle();
        frame
    }

    /// A reference to the frame at `index`, to publish.
    pub fn share(&self, index: PoolIndex) -> Arc<SharedFrame> {
        self.frames[index.0].clone()
    }

    /// Frames allocated so far.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// A frame of a [`FramePool`] that was free when [`FramePool::free`] returned it.
#[derive(Clone, Copy, Debug)]
pub struct PoolIndex(usize);
