//! The known image: vivid's 75% colour bars (white, yellow, cyan, green, magenta, red,
//! blue, black, left to right; 75% of 255 is 191), the same colours tests/vm/check expects
//! from vivid, with bands of fine pseudo-random texture so that a JPEG of it is as large as
//! a camera's (a flat image compresses to almost nothing). The texture stays at least 24
//! rows away from the rows `v4l2-writer sample` reads (1/8, 3/8, 5/8, 7/8 of the height):
//! JPEG blocks are 8 or 16 rows, so the sampled pixels stay the bars' own colours.
//! Shared by build.rs (which JPEG-encodes it) and the writer (which makes raw frames of it).

/// R, G, B of each bar, left to right.
pub const BARS: [[u8; 3]; 8] = [
    [191, 191, 191],
    [191, 191, 0],
    [0, 191, 191],
    [0, 191, 0],
    [191, 0, 191],
    [191, 0, 0],
    [0, 0, 191],
    [0, 0, 0],
];

/// Rows within this distance of a sampled row are left flat.
const FLAT_ROWS: usize = 24;

/// Whether row `y` of a `height`-high image carries texture.
fn textured(y: usize, height: usize) -> bool {
    [1, 3, 5, 7].iter().all(|&eighth| (height * eighth / 8).abs_diff(y) > FLAT_ROWS)
}

/// The image as packed RGB24.
pub fn rgb(width: usize, height: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let bar = BARS[x * 8 / width];
            if !textured(y, height) {
                out.extend_from_slice(&bar);
                continue;
            }
            // A hash of the position: +-24 on each channel.
            let mut h = (x as u32).wrapping_mul(0x9e37_79b1) ^ (y as u32).wrapping_mul(0x85eb_ca77);
            h ^= h >> 15;
            h = h.wrapping_mul(0x2c1b_3c6d);
            h ^= h >> 12;
            for (c, &v) in bar.iter().enumerate() {
                let d = ((h >> (8 * c)) & 0xff) as i32 * 48 / 255 - 24;
                out.push((v as i32 + d).clamp(0, 255) as u8);
            }
        }
    }
    out
}
