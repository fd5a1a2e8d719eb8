//! Reading an H.264 Annex B byte stream: its NAL units (between `00 00 01` start codes),
//! their types, and where one access unit (a picture with its parameter sets) ends and the
//! next begins, for a camera's own H.264 coming down a pipe. Pure; nothing is copied.

/// The NAL unit types pistream looks at (ITU-T H.264 table 7-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NalType {
    /// A slice of a picture that refers to others.
    Slice,
    /// A slice of an IDR picture: a decoder can start here.
    Idr,
    Sei,
    Sps,
    Pps,
    /// Access unit delimiter.
    Aud,
    Other(u8),
}

impl NalType {
    pub fn of(header: u8) -> NalType {
        match header & 0x1f {
            1 => NalType::Slice,
            5 => NalType::Idr,
            6 => NalType::Sei,
            7 => NalType::Sps,
            8 => NalType::Pps,
            9 => NalType::Aud,
            other => NalType::Other(other),
        }
    }

    /// Whether this NAL carries (part of) a picture.
    pub fn is_slice(self) -> bool {
        matches!(self, NalType::Slice | NalType::Idr)
    }
}

/// The NAL units of `stream` (each without its start code), in order.
pub fn nal_units(stream: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    let mut rest = match find_start(stream) {
        Some((at, len)) => &stream[at + len..],
        None => &stream[stream.len()..],
    };
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (nal, next) = match find_start(rest) {
            Some((at, len)) => (&rest[..at], &rest[at + len..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        // A trailing zero before the next start code belongs to it (`00 00 00 01`).
        let end = nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        Some(&nal[..end])
    })
    .filter(|nal| !nal.is_empty())
}

/// The first start code in `bytes`: its offset and length (3 bytes, `00 00 01`).
fn find_start(bytes: &[u8]) -> Option<(usize, usize)> {
    bytes.windows(3).position(|w| w == [0, 0, 1]).map(|at| (at, 3))
}

/// Splits a byte stream arriving in pieces into access units: a new unit begins at a
/// parameter set, an access unit delimiter or SEI that follows a picture's slice, or at a
/// slice whose `first_mb_in_slice` is 0 after a slice. [`AccessUnits::push`] takes bytes as
/// they come and returns each whole unit once the next has begun.
#[derive(Debug, Default)]
pub struct AccessUnits {
    /// Bytes of the unit being gathered, from its first start code.
    pending: Vec<u8>,
    /// Whether the pending unit holds a slice yet.
    has_slice: bool,
    /// How far into `pending` NAL units were already looked at.
    scanned: usize,
}

impl AccessUnits {
    pub fn new() -> AccessUnits {
        AccessUnits::default()
    }

    /// Bytes gathered and not yet returned.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Adds `bytes`; calls `unit` with each access unit completed by them (Annex B, with
    /// its start codes).
    pub fn push(&mut self, bytes: &[u8], mut unit: impl FnMut(&[u8])) {
        self.pending.extend_from_slice(bytes);
        loop {
            // The next start code after `scanned` (the one opening the NAL being looked at
            // is at or before it).
            let from = self.scanned;
            let Some((at, len)) = find_start(&self.pending[from..]).map(|(at, len)| (from + at, len)) else {
                self.scanned = self.pending.len().saturating_sub(2);
                return;
            };
            let Some(&header) = self.pending.get(at + len) else {
                self.scanned = at;
                return;
            };
            let kind = NalType::of(header);
            let begins_unit = if kind.is_slice() {
                // first_mb_in_slice, ue(v): 0 is the single bit "1" at the top of the byte.
                let first_mb_zero = self.pending.get(at + len + 1).map(|b| b & 0x80 != 0);
                match first_mb_zero {
                    None => {
                        self.scanned = at;
                        return;
                    }
                    Some(zero) => self.has_slice && zero,
                }
            } else {
                self.has_slice && matches!(kind, NalType::Sps | NalType::Pps | NalType::Aud | NalType::Sei)
            };
            if begins_unit {
                // A zero before the start code belongs to it (`00 00 00 01`).
                let end = if at > 0 && self.pending[at - 1] == 0 { at - 1 } else { at };
                unit(&self.pending[..end]);
                self.pending.drain(..end);
                self.has_slice = false;
                self.scanned = 0;
                continue;
            }
            self.has_slice |= kind.is_slice();
            self.scanned = at + len;
        }
    }

    /// Forgets what was gathered (the stream broke off).
    pub fn clear(&mut self) {
        self.pending.clear();
        self.has_slice = false;
        self.scanned = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nal_units_are_found_between_start_codes() {
        let stream = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 0x88, 4];
        let nals: Vec<&[u8]> = nal_units(&stream).collect();
        assert_eq!(nals, [&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 0x88, 4]]);
        assert_eq!(NalType::of(0x65), NalType::Idr);
        assert_eq!(NalType::of(0x41), NalType::Slice);
        assert_eq!(nal_units(&[1, 2, 3]).count(), 0, "no start code, no NAL");
    }

    #[test]
    fn a_byte_stream_in_any_pieces_splits_into_its_access_units() {
        let idr =
            [&[0, 0, 0, 1, 0x67, 0x42, 9][..], &[0, 0, 0, 1, 0x68, 0xce], &[0, 0, 0, 1, 0x65, 0x88, 1, 2]]
                .concat();
        let p1 = [0u8, 0, 0, 1, 0x41, 0x9a, 5, 6];
        // A picture in two slices: the second's first_mb_in_slice is not 0 (top bit clear).
        let p2 = [&[0, 0, 0, 1, 0x41, 0x9a, 7][..], &[0, 0, 0, 1, 0x41, 0x20, 8]].concat();
        let stream = [&idr[..], &p1, &p2, &idr].concat();
        for piece in [1, 2, 3, 5, 7, 100] {
            let mut units = AccessUnits::new();
            let mut got: Vec<Vec<u8>> = Vec::new();
            for chunk in stream.chunks(piece) {
                units.push(chunk, |u| got.push(u.to_vec()));
            }
            assert_eq!(got, [idr.clone(), p1.to_vec(), p2.clone()], "pieces of {piece}");
            assert_eq!(units.pending(), idr.len(), "the last unit waits for the next to begin");
        }
    }
}
