//! `v4l2-writer sample`: reads packed BGR24 frames (a pistream display's `--sink raw:`
//! file, or a FIFO it writes into) and prints, for every frame, the pixels at the centre of
//! each of the eight bars on four rows (1/8, 3/8, 5/8 and 7/8 of the height), so that
//! tests/vm/check can compare every frame shown with the known image, and a frame decoded
//! only in part (its lower rows missing) fails.

use std::io::{self, Read, Write};

/// Rows sampled, as eighths of the height.
const ROWS: [usize; 4] = [1, 3, 5, 7];

/// Prints `frame N: b,g,r ...` (32 samples) per whole frame, then `frames N` (and
/// `partial B` if the input ended inside a frame). Returns the number of whole frames.
pub fn run(input: &mut impl Read, out: &mut impl Write, width: usize, height: usize) -> io::Result<u64> {
    let mut frame = vec![0u8; width * height * 3];
    let mut n = 0u64;
    loop {
        let mut got = 0;
        while got < frame.len() {
            match input.read(&mut frame[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if got < frame.len() {
            writeln!(out, "frames {n}{}", if got > 0 { format!(" partial {got}") } else { String::new() })?;
            out.flush()?;
            return Ok(n);
        }
        let mut line = format!("frame {n}:");
        for eighth in ROWS {
            let y = height * eighth / 8;
            for bar in 0..8 {
                let x = (2 * bar + 1) * width / 16;
                let p = &frame[(y * width + x) * 3..][..3];
                line.push_str(&format!(" {},{},{}", p[0], p[1], p[2]));
            }
        }
        writeln!(out, "{line}")?;
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn samples_every_frame_at_the_bar_centres() {
        let (w, h) = (32, 16);
        let mut frames = Vec::new();
        for f in 0..2u8 {
            for y in 0..h {
                for x in 0..w {
                    frames.extend_from_slice(&[f, (x * 8 / w) as u8, y as u8]);
                }
            }
        }
        frames.extend_from_slice(&[9; 5]);
        let mut out = Vec::new();
        assert_eq!(super::run(&mut &frames[..], &mut out, w, h).unwrap(), 2);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("frame 1: 1,0,2 1,1,2 "), "{}", lines[1]);
        assert!(lines[0].ends_with(" 0,7,14"), "{}", lines[0]);
        assert_eq!(lines[0].split(' ').count(), 2 + 32);
        assert_eq!(lines[2], "frames 2 partial 5");
    }
}
