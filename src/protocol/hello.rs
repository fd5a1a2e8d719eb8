//! The hello: the first message each way, saying who the peer is and what it streams.
//!
//! ```text
//! offset size field
//!      0    8 magic "PISTREAM"
//!      8    2 protocol version (u16 big-endian, currently 1)
//!     10    1 flags: bit 0 = sends video, bit 1 = wants video, bit 2 = authenticates with a
//!             shared key (an auth message follows the hellos); other bits 0
//!     11    1 reserved, 0
//!     12    4 width  (u32; 0 when the side sends no video)
//!     16    4 height (u32; 0 when the side sends no video)
//!     20    4 pixel format fourcc ("BGR3"; zeros when the side sends no video)
//!     24    4 nominal frame rate, millihertz (u32; 0 = unknown/unpaced)
//!     28   16 nonce: random when bit 2 is set (see auth.rs), else zeros
//!     44    4 reserved, 0
//! ```
//! Magic and version come first so that a peer of another version is told so even if the
//! rest of its hello has another layout; the header's length may be up to
//! [`HELLO_MAX_LEN`] for that reason, and version 1 requires exactly [`HELLO_LEN`].

use super::error::show_bytes;
use super::ProtocolError;
use crate::frame::{Geometry, PixelFormat, MAX_DIMENSION};

pub const HELLO_MAGIC: [u8; 8] = *b"PISTREAM";
pub const PROTOCOL_VERSION: u16 = 1;
pub const HELLO_LEN: usize = 48;
/// Longest hello body accepted, so a newer peer's longer hello still reaches the version check.
pub const HELLO_MAX_LEN: usize = 1024;
/// Highest nominal frame rate a hello may announce, in millihertz (1000 fps).
pub const MAX_FPS_MILLIHZ: u32 = 1_000_000;

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
    /// This side holds a shared key and will authenticate (flag bit 2).
    pub auth: bool,
    pub nonce: [u8; 16],
}

impl Hello {
    /// A camera's hello: sends frames of this geometry.
    pub fn sender(geometry: Geometry, fps: f64) -> Self {
        Hello {
            directions: Directions { sends: true, wants: false },
            geometry: Some(geometry),
            fps_millihz: fps_to_millihz(fps),
            auth: false,
            nonce: [0; 16],
        }
    }

    /// A display's hello: wants frames, sends none.
    pub fn receiver() -> Self {
        Hello {
            directions: Directions { sends: false, wants: true },
            geometry: None,
            fps_millihz: 0,
            auth: false,
            nonce: [0; 16],
        }
    }

    /// A call's hello: sends frames of this geometry and wants the peer's.
    pub fn two_way(geometry: Geometry, fps: f64) -> Self {
        Hello { directions: Directions { sends: true, wants: true }, ..Hello::sender(geometry, fps) }
    }

    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut out = [0u8; HELLO_LEN];
        out[0..8].copy_from_slice(&HELLO_MAGIC);
        out[8..10].copy_from_slice(&PROTOCOL_VERSION.to_be_bytes());
        out[10] = self.directions.to_byte() | (u8::from(self.auth) << 2);
        if let Some(g) = self.geometry {
            out[12..16].copy_from_slice(&g.width.to_be_bytes());
            out[16..20].copy_from_slice(&g.height.to_be_bytes());
            out[20..24].copy_from_slice(&g.format.fourcc());
        }
        out[24..28].copy_from_slice(&self.fps_millihz.to_be_bytes());
        out[28..44].copy_from_slice(&self.nonce);
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
        let bits = body[10];
        if bits & !0b111 != 0 {
            return Err(bad(
                "flags",
                format!("{bits:#04x}"),
                "only bits 0 (sends), 1 (wants) and 2 (authenticates) are defined",
            ));
        }
        if body[11] != 0 {
            return Err(bad("reserved byte 11", format!("{:#04x}", body[11]), "reserved bytes must be 0"));
        }
        if body[44..48] != [0; 4] {
            return Err(bad("reserved bytes 44..48", show_bytes(&body[44..48]), "reserved bytes must be 0"));
        }
        let directions = Directions { sends: bits & 1 != 0, wants: bits & 2 != 0 };
        let (width, height, fourcc) = (u32_at(12), u32_at(16), [body[20], body[21], body[22], body[23]]);
        let geometry = if directions.sends {
            let format = PixelFormat::from_fourcc(fourcc).ok_or_else(|| {
                bad("pixel format", show_bytes(&fourcc), "this pistream receives only BGR3 (packed BGR24)")
            })?;
            let geometry = Geometry { width, height, format };
            if !geometry.is_valid() {
                return Err(bad(
                    "frame size",
                    format!("{width}x{height}"),
                    "each dimension must be 1..=8192",
                ));
            }
            Some(geometry)
        } else {
            if width != 0 || height != 0 || fourcc != [0; 4] {
                return Err(bad(
                    "frame size",
                    format!("{width}x{height}"),
                    "must be 0x0 for a side that sends no video",
                ));
            }
            None
        };
        let fps_millihz = u32_at(24);
        if fps_millihz > MAX_FPS_MILLIHZ {
            return Err(bad("fps", format!("{:.3}", fps_millihz as f64 / 1000.0), "must be at most 1000"));
        }
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&body[28..44]);
        let auth = bits & 0b100 != 0;
        if !auth && nonce != [0; 16] {
            return Err(bad(
                "nonce",
                show_bytes(&nonce),
                "must be zeros when the authenticate flag is clear",
            ));
        }
        Ok(Hello { directions, geometry, fps_millihz, auth, nonce })
    }
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

    #[test]
    fn round_trip_each_role() {
        for hello in [
            Hello::sender(Geometry::bgr(640, 480), 30.0),
            Hello::receiver(),
            Hello::two_way(Geometry::bgr(3, 1), 7.5),
        ] {
            assert_eq!(Hello::decode(&hello.encode()), Ok(hello));
        }
    }

    #[test]
    fn layout_is_big_endian_at_documented_offsets() {
        let bytes = Hello::sender(Geometry::bgr(640, 480), 30.0).encode();
        assert_eq!(&bytes[0..8], b"PISTREAM");
        assert_eq!(&bytes[8..10], &[0, 1]);
        assert_eq!(bytes[10], 0b01);
        assert_eq!(&bytes[12..16], &[0, 0, 2, 128]);
        assert_eq!(&bytes[16..20], &[0, 0, 1, 224]);
        assert_eq!(&bytes[20..24], b"BGR3");
        assert_eq!(&bytes[24..28], &30_000u32.to_be_bytes());
    }

    #[test]
    fn wrong_version_is_reported_before_layout_checks() {
        let mut body = vec![0u8; 100];
        body[0..8].copy_from_slice(b"PISTREAM");
        body[8..10].copy_from_slice(&7u16.to_be_bytes());
        let err = Hello::decode(&body).unwrap_err();
        assert_eq!(err, ProtocolError::UnsupportedVersion { got: 7, ours: 1 });
        assert!(err.to_string().contains("version 7"));
    }

    #[test]
    fn invalid_fields_name_the_field_and_value() {
        let mut bytes = Hello::sender(Geometry::bgr(640, 480), 30.0).encode();
        bytes[12..16].copy_from_slice(&0u32.to_be_bytes());
        let err = Hello::decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("frame size") && err.contains("0x480"), "{err}");

        let mut bytes = Hello::sender(Geometry::bgr(640, 480), 30.0).encode();
        bytes[20..24].copy_from_slice(b"YUYV");
        let err = Hello::decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("pixel format") && err.contains("YUYV"), "{err}");

        let mut bytes = Hello::receiver().encode();
        bytes[0] = b'X';
        assert!(matches!(Hello::decode(&bytes), Err(ProtocolError::BadHelloMagic { .. })));
    }
}
