//! The URL source against a real MJPEG-over-HTTP server on loopback (multipart/x-mixed-replace,
//! as the Android IP Webcam app serves it), including the server restarting mid-stream:
//! frames resume, and the content that reaches the display is checked.
#![cfg(feature = "opencv")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use opencv::core::{Mat, Scalar, Vector, CV_8UC3};
use opencv::imgcodecs;
use opencv::prelude::*;

use crate::support::{free_port, Proc, SECS};

/// Solid-colour JPEGs (BGR), one per colour.
fn jpegs(colours: &[[u8; 3]], width: i32, height: i32) -> Vec<Vec<u8>> {
    colours
        .iter()
        .map(|c| {
            let mat = Mat::new_rows_cols_with_default(
                height,
                width,
                CV_8UC3,
                Scalar::new(c[0] as f64, c[1] as f64, c[2] as f64, 0.0),
            )
            .unwrap();
            let mut out = Vector::<u8>::new();
            imgcodecs::imencode_def(".jpg", &mat, &mut out).unwrap();
            out.to_vec()
        })
        .collect()
}

fn serve_client(mut stream: TcpStream, frames: Arc<Vec<Vec<u8>>>, until: Instant, stop: Arc<AtomicBool>) {
    let mut request = [0u8; 2048];
    let _ = stream.set_read_timeout(Some(SECS));
    let _ = stream.read(&mut request);
    let head = "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\nCache-Control: no-cache\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    for jpeg in frames.iter().cycle() {
        if Instant::now() >= until || stop.load(Ordering::Relaxed) {
            return;
        }
        let part = format!("--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpeg.len());
        if stream
            .write_all(part.as_bytes())
            .and_then(|_| stream.write_all(jpeg))
            .and_then(|_| stream.write_all(b"\r\n"))
            .is_err()
        {
            return;
        }
        thread::sleep(Duration::from_millis(40)); // 25 fps
    }
}

/// Serves `frames` at 25 fps to every client of `listener` for `duration`, then closes
/// everything (a phone app restarting).
fn serve_for(listener: TcpListener, frames: Vec<Vec<u8>>, duration: Duration) {
    listener.set_nonblocking(true).unwrap();
    let until = Instant::now() + duration;
    let frames = Arc::new(frames);
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    while Instant::now() < until {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                let (frames, stop) = (frames.clone(), stop.clone());
                clients.push(thread::spawn(move || serve_client(stream, frames, until, stop)));
            }
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    stop.store(true, Ordering::Relaxed);
    drop(listener);
    for client in clients {
        let _ = client.join();
    }
}

#[test]
fn an_mjpeg_http_stream_is_shown_and_survives_a_server_restart() {
    let _machine = crate::support::shared();
    // Bound before the camera starts, so its first request finds the server.
    let first_server = TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = first_server.local_addr().unwrap().port();
    let (before, after) = ([[200, 30, 30], [30, 200, 30]], [[30, 30, 200], [220, 220, 220]]);
    // 640x480 JPEGs, captured at 320x240: exercises the resize into the frame buffer.
    let (first, second) = (jpegs(&before, 640, 480), jpegs(&after, 640, 480));
    let server = thread::spawn(move || {
        serve_for(first_server, first, Duration::from_secs(3));
        thread::sleep(Duration::from_millis(1500)); // the "app" restarts: down for 1.5 s
        serve_for(TcpListener::bind(("127.0.0.1", http_port)).unwrap(), second, Duration::from_secs(6));
    });

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let url = format!("http://127.0.0.1:{http_port}/video");
    let cam = Proc::spawn(
        "camera",
        &["camera", "--listen", &listen, "--source", &url, "--size", "320x240", "--stats", "off"],
    );
    cam.wait_for("listening on", 10 * SECS);
    let raw = std::env::temp_dir().join(format!("pistream-url-{}.bgr", std::process::id()));
    let sink = format!("raw:{}", raw.display());
    let mut disp = Proc::spawn(
        "display",
        &["display", "--connect", &listen, "--sink", &sink, "--seconds", "8", "--stats", "off"],
    );
    assert!(disp.wait_exit(30 * SECS).success(), "{}", disp.output());
    cam.wait_for("reopened", SECS);
    server.join().unwrap();

    let bytes = std::fs::read(&raw).unwrap();
    let _ = std::fs::remove_file(&raw);
    let frame_len = 320 * 240 * 3;
    assert_eq!(bytes.len() % frame_len, 0);
    // Classify each frame by its mean colour; JPEG keeps solid colours within a few levels.
    let mut sequence = Vec::new();
    for frame in bytes.chunks_exact(frame_len) {
        let mut sum = [0u64; 3];
        for px in frame.chunks_exact(3) {
            for c in 0..3 {
                sum[c] += px[c] as u64;
            }
        }
        let n = (frame.len() / 3) as u64;
        let mean = [sum[0] / n, sum[1] / n, sum[2] / n];
        let all: Vec<[u8; 3]> = before.iter().chain(after.iter()).copied().collect();
        let (index, distance) = all
            .iter()
            .enumerate()
            .map(|(i, c)| (i, (0..3).map(|k| mean[k].abs_diff(c[k] as u64)).max().unwrap()))
            .min_by_key(|&(_, d)| d)
            .unwrap();
        assert!(distance <= 4, "a frame with mean BGR {mean:?} matches no served colour");
        sequence.push(index >= before.len());
    }
    let first_after = sequence.iter().position(|&b| b).expect("no frame from after the restart arrived");
    assert!(first_after >= 10, "frames from before the restart: {first_after}");
    assert!(sequence[first_after..].iter().all(|&b| b), "old frames after new ones");
    assert!(
        sequence.len() - first_after >= 20,
        "only {} frames after the restart",
        sequence.len() - first_after
    );
}
