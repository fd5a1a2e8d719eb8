//! Bilinear resize of packed BGR frames, with OpenCV's `INTER_LINEAR` pixel-centre mapping
//! (`src = (dst + 0.5) * src_size / dst_size - 0.5`, clamped to the edge), so a 2x
//! downscale averages each 2x2 block. Fixed point with 11-bit weights: each source row is
//! interpolated horizontally once into a `u32` row (cached for the next output row), then
//! two such rows are blended vertically. All tables and rows are allocated in
//! [`Scaler::new`]; [`Scaler::resize`] allocates nothing. Float reference:
//! `super::reference::resize_bilinear`.

const BITS: u32 = 11;
const ONE: u32 = 1 << BITS;

/// Resizes `src_w x src_h` BGR frames to `dst_w x dst_h`.
#[derive(Debug, Clone)]
pub struct Scaler {
    src_w: usize,
    src_h: usize,
    dst_w: usize,
    dst_h: usize,
    /// Per output column: byte offset of the left source pixel, and of the right one.
    x0: Vec<u32>,
    x1: Vec<u32>,
    /// Per output column: weight of the right source pixel, 0..ONE.
    xw: Vec<u32>,
    /// Per output row: upper source row, lower source row, weight of the lower.
    y0: Vec<u32>,
    y1: Vec<u32>,
    yw: Vec<u32>,
    /// Horizontally interpolated source rows (values scaled by ONE), and which rows they hold.
    rows: [Vec<u32>; 2],
    held: [usize; 2],
}

/// Left index, right index and right weight (0..ONE) for each of `dst` positions.
fn taps(src: usize, dst: usize) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let scale = src as f64 / dst as f64;
    let (mut i0, mut i1, mut w) = (Vec::with_capacity(dst), Vec::with_capacity(dst), Vec::with_capacity(dst));
    for d in 0..dst {
        let s = ((d as f64 + 0.5) * scale - 0.5).clamp(0.0, (src - 1) as f64);
        let left = s.floor() as usize;
        let frac = ((s - left as f64) * ONE as f64).round() as u32;
        let (left, frac) = if frac >= ONE { (left + 1, 0) } else { (left, frac) };
        i0.push(left.min(src - 1) as u32);
        i1.push((left + 1).min(src - 1) as u32);
        w.push(frac);
    }
    (i0, i1, w)
}

impl Scaler {
    pub fn new(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> Self {
        let (src_w, src_h, dst_w, dst_h) = (src_w as usize, src_h as usize, dst_w as usize, dst_h as usize);
        assert!(src_w > 0 && src_h > 0 && dst_w > 0 && dst_h > 0, "empty frame size");
        let (mut x0, mut x1, xw) = taps(src_w, dst_w);
        for x in x0.iter_mut().chain(x1.iter_mut()) {
            *x *= 3;
        }
        let (y0, y1, yw) = taps(src_h, dst_h);
        Scaler {
            src_w,
            src_h,
            dst_w,
            dst_h,
            x0,
            x1,
            xw,
            y0,
            y1,
            yw,
            rows: [vec![0; dst_w * 3], vec![0; dst_w * 3]],
            held: [usize::MAX; 2],
        }
    }

    pub fn src_size(&self) -> (u32, u32) {
        (self.src_w as u32, self.src_h as u32)
    }

    pub fn dst_size(&self) -> (u32, u32) {
        (self.dst_w as u32, self.dst_h as u32)
    }

    /// Resizes one frame: `src` is `src_w * src_h * 3` bytes, `dst` `dst_w * dst_h * 3`.
    pub fn resize(&mut self, src: &[u8], dst: &mut [u8]) {
        let src_row = self.src_w * 3;
        let dst_row = self.dst_w * 3;
        assert!(src.len() >= src_row * self.src_h && dst.len() >= dst_row * self.dst_h, "frame too small");
        self.held = [usize::MAX; 2];
        for (dy, out) in dst.chunks_exact_mut(dst_row).take(self.dst_h).enumerate() {
            let (a, b, wy) = (self.y0[dy] as usize, self.y1[dy] as usize, self.yw[dy]);
            // Keep row `a` in slot 0 and row `b` in slot 1, reusing what the last row left.
            if self.held[0] != a {
                if self.held[1] == a {
                    self.rows.swap(0, 1);
                    self.held.swap(0, 1);
                } else {
                    self.horizontal(0, &src[a * src_row..][..src_row], a);
                }
            }
            if self.held[1] != b {
                self.horizontal(1, &src[b * src_row..][..src_row], b);
            }
            let (r0, r1) = (&self.rows[0], &self.rows[1]);
            let round = 1u32 << (2 * BITS - 1);
            if wy == 0 {
                for (o, &p) in out.iter_mut().zip(r0) {
                    *o = ((p + (1 << (BITS - 1))) >> BITS) as u8;
                }
            } else {
                let wa = ONE - wy;
                for ((o, &p), &q) in out.iter_mut().zip(r0).zip(r1) {
                    *o = ((p * wa + q * wy + round) >> (2 * BITS)) as u8;
                }
            }
        }
    }

    /// Interpolates source row `row` (its bytes in `src`) horizontally into slot `slot`.
    fn horizontal(&mut self, slot: usize, src: &[u8], row: usize) {
        let out = &mut self.rows[slot];
        for (((o, &l), &r), &w) in out.chunks_exact_mut(3).zip(&self.x0).zip(&self.x1).zip(&self.xw) {
            let (l, r) = (l as usize, r as usize);
            let wl = ONE - w;
            o[0] = src[l] as u32 * wl + src[r] as u32 * w;
            o[1] = src[l + 1] as u32 * wl + src[r + 1] as u32 * w;
            o[2] = src[l + 2] as u32 * wl + src[r + 2] as u32 * w;
        }
        self.held[slot] = row;
    }
}
