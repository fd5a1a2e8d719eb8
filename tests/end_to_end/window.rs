//! The window sink under a real X server (Xvfb): a screenshot of the display window must
//! show the test pattern pixel for pixel, and Enter in the window must end the session.
//! Needs Xvfb, ImageMagick's `import`, `xwininfo` and `xdotool` (scripts/test installs them).

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use pistream::media::Geometry;
use pistream::source::pattern;

use crate::support::xvfb::Xvfb;
use crate::support::{free_port, Proc, SECS};

/// Parses a binary PPM (P6, maxval 255) into (width, height, RGB bytes).
fn parse_ppm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if bytes[at] == b'#' {
            while bytes[at] != b'\n' {
                at += 1;
            }
            continue;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    assert_eq!(fields[3], "255");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = bytes[at + 1..].to_vec();
    assert_eq!(data.len(), w * h * 3);
    (w, h, data)
}

/// The pattern frame number (mod 256) whose pixels the screenshot shows exactly, if any.
fn matching_pattern_frame(w: usize, h: usize, rgb: &[u8]) -> Option<u64> {
    let g = Geometry::new(640, 480);
    let mut expected = vec![0u8; g.frame_len()];
    (0..256u64).find(|&n| {
        pattern::fill(&mut expected, g, n);
        // Every 7th pixel of every 5th row, skipping the 8-byte sequence stamp.
        (0..h.min(480)).step_by(5).all(|y| {
            (0..w.min(640)).step_by(7).filter(|&x| y > 0 || x >= 3).all(|x| {
                let shot = &rgb[(y * w + x) * 3..][..3];
                let bgr = &expected[(y * 640 + x) * 3..][..3];
                shot == [bgr[2], bgr[1], bgr[0]]
            })
        })
    })
}

#[test]
fn the_window_shows_the_pattern_and_enter_ends_the_session() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have(
        "the_window_shows_the_pattern_and_enter_ends_the_session",
        &["Xvfb", "xdotool", "xwininfo", "import"],
    ) {
        return;
    }
    let x = Xvfb::start();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // 2 fps: the picture holds still long enough for a screenshot.
    let cam = Proc::spawn(
        "camera",
        &["camera", "--listen", &listen, "--source", "pattern", "--fps", "2", "--stats", "off"],
    );
    cam.wait_for("listening on", 10 * SECS);
    let mut disp = Proc::spawn_env(
        "display",
        &["display", "--connect", &listen, "--sink", "window", "--stats", "off"],
        &[("DISPLAY", x.display.as_str())],
    );
    disp.wait_for("receiving 640x480", 10 * SECS);
    let title = format!("pistream - {listen}");
    let deadline = Instant::now() + 15 * SECS;
    let (window, frame) = loop {
        std::thread::sleep(Duration::from_millis(300));
        let info =
            Command::new("xwininfo").args(["-name", &title]).env("DISPLAY", &x.display).output().unwrap();
        if info.status.success() {
            let info = String::from_utf8_lossy(&info.stdout).into_owned();
            let id = info.split_whitespace().skip_while(|w| *w != "id:").nth(1).unwrap().to_string();
            let mut ppm = Vec::new();
            x.run("import", &["-window", &id, "-depth", "8", "ppm:-"])
                .as_slice()
                .read_to_end(&mut ppm)
                .unwrap();
            let (w, h, rgb) = parse_ppm(&ppm);
            assert!(w >= 640 && h >= 480, "window is {w}x{h}, expected the 640x480 frame at 1:1");
            if let Some(n) = matching_pattern_frame(w, h, &rgb) {
                break (id, n);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no screenshot of {title:?} matched the pattern;\n{}",
            disp.output()
        );
    };
    eprintln!("screenshot matches pattern frame {frame} (mod 256)");
    // Enter, as in the original Python chat, ends the call.
    x.run("xdotool", &["key", "--window", &window, "Return"]);
    let status = disp.wait_exit(10 * SECS);
    assert!(status.success(), "{}", disp.output());
    assert!(disp.output().contains("window closed"), "{}", disp.output());
    cam.wait_for("left: window closed", 5 * SECS);
}
