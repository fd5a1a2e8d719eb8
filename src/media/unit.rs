//! A unit of a stream whose pictures refer to earlier ones (an H.264 access unit): its
//! bytes, the capture it was made from, and whether a decoder can start at it. A viewer of
//! such a stream starts at a keyframe and, after any gap, waits for the next one
//! (`pipeline::hub`).

/// One encoded unit. Units live in a stage's pool and are refilled in place (the byte
/// buffer keeps its capacity), so steady state allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedUnit {
    /// The capture stage's sequence number of the picture it was made from.
    pub seq: u64,
    /// That picture's capture time, µs since the UNIX epoch.
    pub captured_us: u64,
    /// A decoder can start here (an IDR picture, with its parameter sets in front).
    pub keyframe: bool,
    /// The unit's bytes, as the codec frames them (H.264: Annex B).
    pub data: Vec<u8>,
}
