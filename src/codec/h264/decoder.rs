//! Decoding H.264 access units into tight I420 (what the display converts into the frame it
//! shows), with OpenH264's decoder. A unit whose reference is missing (a lost or skipped
//! unit) is an error until the next IDR: the caller then asks for a keyframe and shows
//! nothing meanwhile.

use openh264::decoder::Decoder as OpenH264Decoder;
use openh264::formats::YUVSource;
use openh264::OpenH264API;

/// Why a unit did not decode.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the H.264 decoder could not start: {0}")]
    Start(String),
    #[error("an H.264 unit that does not decode ({0})")]
    Undecodable(String),
}

/// OpenH264's decoding state flags (codec_app_def.h `DECODING_STATE`) in words.
fn decoding_state(code: i64) -> String {
    const FLAGS: [(i64, &str); 8] = [
        (0x01, "frame pending"),
        (0x02, "reference lost"),
        (0x04, "bitstream error"),
        (0x08, "dependent layer lost"),
        (0x10, "no parameter sets"),
        (0x20, "concealed"),
        (0x40, "reference list null"),
        (0x1000, "invalid argument"),
    ];
    let words: Vec<&str> = FLAGS.iter().filter(|(bit, _)| code & bit != 0).map(|(_, w)| *w).collect();
    if words.is_empty() {
        format!("decoder state {code:#x}")
    } else {
        words.join(", ")
    }
}

/// An H.264 decoder that writes tight I420.
pub struct Decoder {
    decoder: OpenH264Decoder,
}

impl Decoder {
    pub fn new() -> Result<Decoder, DecodeError> {
        let decoder = OpenH264Decoder::with_api_config(OpenH264API::from_source(), Default::default())
            .map_err(|e| DecodeError::Start(e.to_string()))?;
        Ok(Decoder { decoder })
    }

    /// Decodes one access unit into `out` (tight I420, resized once to the picture's size);
    /// returns the picture's size, or `None` when the unit held no picture (parameter sets
    /// alone).
    pub fn decode(&mut self, unit: &[u8], out: &mut Vec<u8>) -> Result<Option<(u32, u32)>, DecodeError> {
        let picture = match self.decoder.decode(unit) {
            Ok(Some(picture)) => picture,
            Ok(None) => return Ok(None),
            Err(e) => return Err(DecodeError::Undecodable(decoding_state(e.native_code()))),
        };
        let (w, h) = picture.dimensions();
        let (sy, su, sv) = picture.strides();
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let len = w * h + 2 * cw * ch;
        if out.len() < len {
            out.resize(len, 0);
        }
        let (luma, chroma) = out[..len].split_at_mut(w * h);
        let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
        for (row, dst) in luma.chunks_exact_mut(w).enumerate() {
            dst.copy_from_slice(&picture.y()[row * sy..][..w]);
        }
        for (row, (du, dv)) in u_plane.chunks_exact_mut(cw).zip(v_plane.chunks_exact_mut(cw)).enumerate() {
            du.copy_from_slice(&picture.u()[row * su..][..cw]);
            dv.copy_from_slice(&picture.v()[row * sv..][..cw]);
        }
        Ok(Some((w as u32, h as u32)))
    }
}
