//! Encodes the known image (src/bars.rs) as the JPEGs the writer sends: 640x480 with 4:2:2
//! chroma (what most UVC webcams send) and 1280x720 with 4:2:0, quality 85, with the
//! standard Huffman tables (T.81 Annex K.3), which is what lets the writer strip them.

#[path = "src/bars.rs"]
mod bars;

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

fn main() {
    println!("cargo:rerun-if-changed=src/bars.rs");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    for (w, h, sampling) in [(640u16, 480u16, SamplingFactor::R_4_2_2), (1280, 720, SamplingFactor::R_4_2_0)]
    {
        let mut jpeg = Vec::new();
        let mut encoder = Encoder::new(&mut jpeg, 85);
        encoder.set_sampling_factor(sampling);
        encoder.encode(&bars::rgb(w.into(), h.into()), w, h, ColorType::Rgb).expect("encoding the bars");
        std::fs::write(out.join(format!("bars-{w}x{h}.jpg")), jpeg).expect("writing the JPEG");
    }
}
