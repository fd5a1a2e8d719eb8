//! `v4l2-writer mirror`: compares two packed BGR24 frames of a camera, one captured upright
//! and one with pistream's `--rotate 180`, `--hflip` or `--vflip`: the second must be the
//! first mirrored, pixel for pixel (or, with `--bars`, at the colour bars' centres). Only
//! the middle half of the rows is compared: vivid draws its text overlay (a running clock)
//! at the top, unmirrored, and it changes from frame to frame.

/// "ok: ..." or why not, for frames of `width` x `height` mirrored left-right (`h`),
/// top-bottom (`v`) or both (`hv`): every pixel, or with `bars_only` the centre of each of
/// the eight colour bars on every compared row (a driver's own mirror, such as vivid's,
/// shifts the bar edges by a pixel or two).
pub fn compare(
    upright: &[u8],
    turned: &[u8],
    width: usize,
    height: usize,
    flip: &str,
    bars_only: bool,
) -> Result<String, String> {
    let (hflip, vflip) = match flip {
        "h" => (true, false),
        "v" => (false, true),
        "hv" => (true, true),
        other => return Err(format!("--flip takes h, v or hv, not {other}")),
    };
    let len = width * height * 3;
    if upright.len() < len || turned.len() < len {
        return Err(format!("frames of {} and {} bytes, want {len} each", upright.len(), turned.len()));
    }
    let (first, last) = (height / 4, height * 3 / 4);
    let columns: Vec<usize> =
        if bars_only { (0..8).map(|bar| (2 * bar + 1) * width / 16).collect() } else { (0..width).collect() };
    for y in first..last {
        for &x in &columns {
            let (sx, sy) = (if hflip { width - 1 - x } else { x }, if vflip { height - 1 - y } else { y });
            let a = &upright[(sy * width + sx) * 3..][..3];
            let b = &turned[(y * width + x) * 3..][..3];
            if a != b {
                return Err(format!("pixel ({x}, {y}) is {b:?}, the upright frame's ({sx}, {sy}) is {a:?}"));
            }
        }
    }
    let what = if bars_only { "the bars' centres" } else { "every pixel" };
    Ok(format!("ok: rows {first}..{last} of {height}, {what} mirrored ({flip})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirrored_frame_passes_and_an_upright_one_does_not() {
        let (w, h) = (4, 4);
        let upright: Vec<u8> = (0..w * h * 3).map(|i| i as u8).collect();
        let mut turned = vec![0u8; upright.len()];
        for y in 0..h {
            for x in 0..w {
                turned[(y * w + x) * 3..][..3].copy_from_slice(&upright[(y * w + (w - 1 - x)) * 3..][..3]);
            }
        }
        assert!(compare(&upright, &turned, w, h, "h", false).is_ok());
        assert!(compare(&upright, &upright, w, h, "h", false).is_err());
        assert!(compare(&upright, &turned, w, h, "v", false).is_err());
    }
}
