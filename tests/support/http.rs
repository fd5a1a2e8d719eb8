//! HTTP clients of a camera, for the tests: a whole short answer ([`get`]), an MJPEG
//! `/stream` client on its own thread that counts parts and checks pixels
//! ([`StreamClient`]), and the picture checks they use (a third-party JPEG decoder, PSNR
//! against the test pattern).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use pistream::media::Geometry;
use pistream::source::pattern;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::process::SECS;

/// An HTTP response read whole (for short answers).
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

pub fn get(port: u16, path: &str, extra: &str) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(10 * SECS)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: pi\r\n{extra}\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Response { status, head, body: all[split + 4..].to_vec() }
}

pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub fn decode_bgr(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::BGR);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    let pixels = decoder.decode().expect("a JPEG a third-party decoder reads");
    let (w, h) = decoder.dimensions().unwrap();
    (w, h, pixels)
}

pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse =
        a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

/// PSNR of a picture against pattern frame `seq` of its size, skipping the 8-byte stamp.
pub fn pattern_psnr(bgr: &[u8], width: usize, height: usize, seq: u64) -> f64 {
    let g = Geometry::new(width as u32, height as u32);
    let mut expected = vec![0u8; g.frame_len()];
    pattern::fill(&mut expected, g, seq);
    psnr(&bgr[24..], &expected[24..])
}

/// An MJPEG client of `/stream` on its own thread: counts parts, checks every 10th one's
/// pixels against the pattern.
pub struct StreamClient {
    frames: Arc<AtomicU64>,
    worst_psnr: Arc<Mutex<f64>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<Result<(), String>>>,
}

impl StreamClient {
    pub fn start(port: u16, path: &'static str) -> StreamClient {
        Self::start_sized(port, path, 640, 480)
    }

    pub fn start_sized(port: u16, path: &'static str, width: usize, height: usize) -> StreamClient {
        let (frames, worst_psnr, stop) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(Mutex::new(f64::INFINITY)),
            Arc::new(AtomicBool::new(false)),
        );
        let thread = {
            let (frames, worst_psnr, stop) = (frames.clone(), worst_psnr.clone(), stop.clone());
            thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
                s.set_read_timeout(Some(10 * SECS)).unwrap();
                write!(s, "GET {path} HTTP/1.1\r\nHost: pi\r\n\r\n").unwrap();
                let mut r = BufReader::new(s);
                let mut line = String::new();
                r.read_line(&mut line).map_err(|e| e.to_string())?;
                if !line.starts_with("HTTP/1.1 200") {
                    return Err(format!("status line {line:?}"));
                }
                let mut content_type = String::new();
                loop {
                    line.clear();
                    r.read_line(&mut line).map_err(|e| e.to_string())?;
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Type: ") {
                        content_type = v.trim().to_string();
                    }
                }
                let boundary = content_type
                    .strip_prefix("multipart/x-mixed-replace;boundary=")
                    .ok_or(format!("content type {content_type:?}"))?
                    .to_string();
                while !stop.load(Ordering::Relaxed) {
                    line.clear();
                    r.read_line(&mut line).map_err(|e| e.to_string())?;
                    if line.trim() != format!("--{boundary}") {
                        return Err(format!("expected the boundary, got {line:?}"));
                    }
                    let (mut len, mut seq) = (None, 0u64);
                    loop {
                        line.clear();
                        r.read_line(&mut line).map_err(|e| e.to_string())?;
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.strip_prefix("Content-Length: ") {
                            len = v.trim().parse::<usize>().ok();
                        }
                        if let Some(v) = line.strip_prefix("X-Frame-Seq: ") {
                            seq = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let len = len.ok_or("a part without Content-Length")?;
                    let mut jpeg = vec![0u8; len + 2];
                    r.read_exact(&mut jpeg).map_err(|e| e.to_string())?;
                    if &jpeg[len..] != b"\r\n" {
                        return Err("a part not followed by CRLF".into());
                    }
                    let n = frames.fetch_add(1, Ordering::Relaxed);
                    if n % 10 == 0 {
                        let (w, h, bgr) = decode_bgr(&jpeg[..len]);
                        if (w, h) != (width, height) {
                            return Err(format!("a {w}x{h} JPEG, expected {width}x{height}"));
                        }
                        let p = pattern_psnr(&bgr, w, h, seq);
                        let mut worst = worst_psnr.lock().unwrap();
                        *worst = worst.min(p);
                    }
                }
                Ok(())
            })
        };
        StreamClient { frames, worst_psnr, stop, thread: Some(thread) }
    }

    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    pub fn finish(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap().expect("the MJPEG client");
        *self.worst_psnr.lock().unwrap()
    }
}
