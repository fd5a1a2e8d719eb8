//! The hello: the first message each way, saying who the peer is, what it streams, which
//! wire formats it can send and decode, and whether it holds a key.
//!
//! ```text
//! offset size field
//!      0    8 magic "PISTREAM"
//!      8    2 protocol version (u16 big-endian, currently 3)
//!     10    1 flags: bit 0 = sends video, bit 1 = wants video, bit 2 = holds a key (a Noise
//!             handshake follows the hellos); other bits 0
//!     11    1 ciphers a keyed side can run fast: bit 0 = ChaCha20-Poly1305 (always set
//!             when keyed), bit 1 = AES-256-GCM (this CPU has AES instructions); 0 unkeyed
//!     12    4 width  (u32; 0 when the side sends no video)
//!     16    4 height (u32; 0 when the side sends no video)
//!     20    4 nominal frame rate, millihertz (u32; 0 = unknown/unpaced)
//!     24    2 wire formats this side can send (bit code-1 per format; BGR3 always; 0 when
//!             it sends no video)
//!     26    2 wire formats this side accepts (at least one; 0 when it wants no video)
//!     28   16 nonce: random in every hello (makes every keyed transcript unique)
//!     44    4 capture fourcc: how the sender's frames were captured ("YUYV", "MJPG",
//!             "BGR3" for the test pattern...), four printable ASCII bytes; zeros when it
//!             sends no video
//! ```
//! Magic and version come first so that a peer of another version is told so even if the
//! rest of its hello has another layout; the header's length may be up to
//! [`HELLO_MAX_LEN`] for that reason, and version 3 requires exactly [`HELLO_LEN`].
//! (Version 3 has the same layout as version 2 and adds H.264 to the format sets and the
//! keyframe request and report messages: a version-2 peer is told the versions differ.)

use super::error::show_bytes;
use super::error::ProtocolError;
use super::formats::FormatSet;
use super::keys::CipherSet;
use crate::media::PixelFormat;
use crate::media::{Geometry, MAX_DIMENSION};

pub const HELLO_MAGIC: [u8; 8] = *b"PISTREAM";
pub const PROTOCOL_VERSION: u16 = 3;
pub const HELLO_LEN: usize = 48;
/// Longest hello body accepted, so a newer peer's longer hello still reaches the version check.
pub const HELLO_MAX_LEN: usize = 1024;
/// Highest nominal frame rate a hello may announce, in millihertz (1000 fps).
pub(super) const MAX_FPS_MILLIHZ: u32 = 1_000_000;

/// Which way video flows from one side's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directions {
    pub sends: bool,
    pub wants: bool,
}

impl Directions {
    fn to_byte(self) -> u8 {
        u8::from(self.sends) | (u8::from(self.wants) << 1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    pub directions: Directions,
    /// The geometry of the frames this side sends; `None` when it sends none.
    pub geometry: Option<Geometry>,
    pub fps_millihz: u32,
    /// Wire formats this side can send (empty when it sends none).
    pub sends: FormatSet,
    /// Wire formats this side can decode (empty when it wants no video).
    pub decodes: FormatSet,
    /// `Some` when this side holds a key: the ciphers it can run fast.
    pub keyed: Option<CipherSet>,
    pub nonce: [u8; 16],
    /// How this side's frames were captured (a V4L2 fourcc); zeros when it sends none.
    pub capture: [u8; 4],
}

impl Hello {
    /// A sender's hello with the minimum: raw BGR frames of this geometry, captured as
    /// BGR3, nothing decoded. Endpoints widen `sends`, `decodes` and `capture` from their
    /// `--wire` choice and their source.
    pub fn sender(geometry: Geometry, fps: f64) -> Self {
        Hello {
            directions: Directions { sends: true, wants: false },
            geometry: Some(geometry),
            fps_millihz: fps_to_millihz(fps),
            sends: FormatSet::only(PixelFormat::Bgr24),
            decodes: FormatSet::EMPTY,
            keyed: None,
            nonce: [0; 16],
            capture: *b"BGR3",
        }
    }

    /// A display's hello: wants frames (raw BGR), sends none.
    pub fn receiver() -> Self {
        Hello {
            directions: Directions { sends: false, wants: true },
            geometry: None,
            fps_millihz: 0,
            sends: FormatSet::EMPTY,
            decodes: FormatSet::only(PixelFormat::Bgr24),
            keyed: None,
            nonce: [0; 16],
            capture: [0; 4],
        }
    }

    /// A call's hello: sends frames of this geometry and wants the peer's.
    pub fn two_way(geometry: Geometry, fps: f64) -> Self {
        Hello {
            directions: Directions { sends: true, wants: true },
            decodes: FormatSet::only(PixelFormat::Bgr24),
            ..Hello::sender(geometry, fps)
        }
    }

    /// The same hello offering these send formats (BGR3 is always added).
    pub fn sending(self, formats: FormatSet) -> Self {
        Hello { sends: formats.with(PixelFormat::Bgr24), ..self }
    }

    /// The same hello accepting these formats (a display may accept only some: H.264
    /// alone, say).
    pub fn decoding(self, formats: FormatSet) -> Self {
        Hello { decodes: formats, ..self }
    }

    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut out = [0u8; HELLO_LEN];
        out[0..8].copy_from_slice(&HELLO_MAGIC);
        out[8..10].copy_from_slice(&PROTOCOL_VERSION.to_be_bytes());
        out[10] = self.directions.to_byte() | (u8::from(self.keyed.is_some()) << 2);
        out[11] = self.keyed.map_or(0, CipherSet::bits);
        if let Some(g) = self.geometry {
            out[12..16].copy_from_slice(&g.width.to_be_bytes());
            out[16..20].copy_from_slice(&g.height.to_be_bytes());
        }
        out[20..24].copy_from_slice(&self.fps_millihz.to_be_bytes());
        if self.directions.sends {
            out[24..26].copy_from_slice(&self.sends.bits().to_be_bytes());
        }
        if self.directions.wants {
            out[26..28].copy_from_slice(&self.decodes.bits().to_be_bytes());
        }
        out[28..44].copy_from_slice(&self.nonce);
        if self.directions.sends {
            out[44..48].copy_from_slice(&self.capture);
        }
        out
    }

    /// Decodes and validates a hello body (whose length the header gave).
    pub fn decode(body: &[u8]) -> Result<Self, ProtocolError> {
        if body.len() < 10 || body[0..8] != HELLO_MAGIC {
            return Err(ProtocolError::BadHelloMagic { got: show_bytes(body) });
        }
        let version = u16::from_be_bytes([body[8], body[9]]);
        if version != PROTOCOL_VERSION {
            return Err(ProtocolError::UnsupportedVersion { got: version, ours: PROTOCOL_VERSION });
        }
        if body.len() != HELLO_LEN {
            return Err(ProtocolError::BadLength {
                kind: "hello",
                got: body.len() as u32,
                expected: HELLO_LEN.to_string(),
            });
        }
        let u32_at = |at: usize| u32::from_be_bytes(body[at..at + 4].try_into().expect("4 bytes"));
        let u16_at = |at: usize| u16::from_be_bytes([body[at], body[at + 1]]);
        let bits = body[10];
        if bits & !0b111 != 0 {
            return Err(bad(
                "flags",
                format!("{bits:#04x}"),
                "only bits 0 (sends), 1 (wants) and 2 (holds a key) are defined",
            ));
        }
        let directions = Directions { sends: bits & 1 != 0, wants: bits & 2 != 0 };
        let keyed = if bits & 0b100 != 0 {
            let ciphers = CipherSet::from_bits(body[11]).ok_or_else(|| {
                bad(
                    "ciphers",
                    format!("{:#04x}", body[11]),
                    "a keyed side sets bit 0 (ChaCha20-Poly1305) and may set bit 1 (AES-256-GCM); no other bits",
                )
            })?;
            Some(ciphers)
        } else if body[11] != 0 {
            return Err(bad("ciphers", format!("{:#04x}", body[11]), "must be 0 when the key flag is clear"));
        } else {
            None
        };
        let capture: [u8; 4] = body[44..48].try_into().expect("4 bytes");
        let printable = capture.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
        if (directions_sends(body[10]) && !printable) || (!directions_sends(body[10]) && capture != [0; 4]) {
            return Err(bad(
                "capture fourcc",
                show_bytes(&capture),
                "four printable ASCII bytes from a side that sends video, zeros otherwise",
            ));
        }
        let (width, height) = (u32_at(12), u32_at(16));
        let (send_bits, decode_bits) = (u16_at(24), u16_at(26));
        let geometry = if directions.sends {
            let geometry = Geometry::new(width, height);
            if !geometry.is_valid() {
                return Err(bad(
                    "frame size",
                    format!("{width}x{height}"),
                    "each dimension must be 1..=8192",
                ));
            }
            Some(geometry)
        } else {
            if width != 0 || height != 0 {
                return Err(bad(
                    "frame size",
                    format!("{width}x{height}"),
                    "must be 0x0 for a side that sends no video",
                ));
            }
            None
        };
        let sends = format_set("send formats", send_bits, directions.sends, true)?;
        let decodes = format_set("decode formats", decode_bits, directions.wants, false)?;
        let fps_millihz = u32_at(20);
        if fps_millihz > MAX_FPS_MILLIHZ {
            return Err(bad("fps", format!("{:.3}", fps_millihz as f64 / 1000.0), "must be at most 1000"));
        }
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&body[28..44]);
        Ok(Hello { directions, geometry, fps_millihz, sends, decodes, keyed, nonce, capture })
    }
}

/// A hello's format set: known bits when the direction is on (a sender's with BGR3, which
/// every pistream sends; a receiver's not empty), 0 when it is off.
fn format_set(
    field: &'static str,
    bits: u16,
    direction: bool,
    sending: bool,
) -> Result<FormatSet, ProtocolError> {
    let shown = || format!("{bits:#06x}");
    if !direction {
        return if bits == 0 {
            Ok(FormatSet::EMPTY)
        } else {
            Err(bad(field, shown(), "must be 0 for a side that does not stream that way"))
        };
    }
    let set = FormatSet::from_bits(bits)
        .ok_or_else(|| bad(field, shown(), "names a wire format this pistream does not know"))?;
    if sending && !set.contains(PixelFormat::Bgr24) {
        return Err(bad(field, shown(), "must include BGR3 (bit 0), which every pistream sends"));
    }
    if set.is_empty() {
        return Err(bad(field, shown(), "must name at least one wire format"));
    }
    Ok(set)
}

fn directions_sends(flags: u8) -> bool {
    flags & 1 != 0
}

fn bad(field: &'static str, got: String, why: &'static str) -> ProtocolError {
    ProtocolError::BadHelloField { field, got, why }
}

fn fps_to_millihz(fps: f64) -> u32 {
    (fps * 1000.0).round().clamp(0.0, MAX_FPS_MILLIHZ as f64) as u32
}

const _: () = assert!(MAX_DIMENSION == 8192, "error text above names 8192");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::pistream::protocol::keys::Cipher;

    #[test]
    fn round_trip_each_role() {
        let keyed = Hello {
            keyed: Some(CipherSet::of(&[Cipher::ChaChaPoly, Cipher::AesGcm])),
            nonce: [7; 16],
            ..Hello::two_way(Geometry::new(3, 1), 7.5).sending(FormatSet::all()).decoding(FormatSet::all())
        };
        for hello in [Hello::sender(Geometry::new(640, 480), 30.0), Hello::receiver(), keyed] {
            assert_eq!(Hello::decode(&hello.encode()), Ok(hello));
        }
    }

    #[test]
    fn layout_is_big_endian_at_documented_offsets() {
        let bytes = Hello::sender(Geometry::new(640, 480), 30.0).sending(FormatSet::all()).encode();
        assert_eq!(&bytes[0..8], b"PISTREAM");
        assert_eq!(&bytes[8..10], &[0, 3]);
        assert_eq!(bytes[10], 0b01);
        assert_eq!(&bytes[12..16], &[0, 0, 2, 128]);
        assert_eq!(&bytes[16..20], &[0, 0, 1, 224]);
        assert_eq!(&bytes[20..24], &30_000u32.to_be_bytes());
        assert_eq!(&bytes[24..28], &[0, 0b111_1111, 0, 0]);
    }

    #[test]
    fn older_versions_are_named_with_both_versions_before_layout_checks() {
        for old in [1u16, 2] {
            let mut body = vec![0u8; 48];
            body[0..8].copy_from_slice(b"PISTREAM");
            body[8..10].copy_from_slice(&old.to_be_bytes());
            let err = Hello::decode(&body).unwrap_err();
            assert_eq!(err, ProtocolError::UnsupportedVersion { got: old, ours: 3 });
            let text = err.to_string();
            assert!(text.contains(&format!("version {old}")) && text.contains("version 3"), "{text}");
        }
    }

    #[test]
    fn invalid_fields_name_the_field_and_value() {
        let sender = || Hello::sender(Geometry::new(640, 480), 30.0).encode();
        let mut bytes = sender();
        bytes[12..16].copy_from_slice(&0u32.to_be_bytes());
        let err = Hello::decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("frame size") && err.contains("0x480"), "{err}");

        let mut bytes = sender();
        bytes[24..26].copy_from_slice(&0b10u16.to_be_bytes());
        let err = Hello::decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("send formats") && err.contains("BGR3"), "{err}");

        let mut bytes = sender();
        bytes[11] = 1;
        let err = Hello::decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("ciphers") && err.contains("key flag"), "{err}");

        let mut bytes = Hello::receiver().encode();
        bytes[0] = b'X';
        assert!(matches!(Hello::decode(&bytes), Err(ProtocolError::BadHelloMagic { .. })));
    }
}
