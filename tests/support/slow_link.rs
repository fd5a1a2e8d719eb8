//! A userspace "slow link" for tests: a TCP proxy that forwards one direction at a fixed
//! byte rate after a fixed delay (the other direction passes freely), with small socket
//! buffers on both sides so the link itself holds only about a bandwidth-delay product,
//! as a router would, instead of hiding megabytes of queue.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use socket2::SockRef;

pub struct SlowLink {
    pub port: u16,
    stop: Arc<AtomicBool>,
    rate: Arc<AtomicU64>,
}

impl SlowLink {
    /// Changes the link's rate, bytes per second, from now on.
    pub fn set_rate(&self, rate: f64) {
        self.rate.store(rate as u64, Ordering::Relaxed);
    }
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Proxies connections on a new loopback port to `upstream`; bytes from upstream reach the
/// client at `rate` bytes/s, each `delay` after it left upstream.
pub fn slow_link(upstream: u16, rate: f64, delay: Duration) -> SlowLink {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let rate = Arc::new(AtomicU64::new(rate as u64));
    listener.set_nonblocking(true).unwrap();
    {
        let (stop, rate) = (stop.clone(), rate.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                for s in [&client, &server] {
                    s.set_nodelay(true).unwrap();
                    SockRef::from(s).set_recv_buffer_size(64 * 1024).unwrap();
                    SockRef::from(s).set_send_buffer_size(64 * 1024).unwrap();
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                thread::spawn(move || pump_free(c2, s2));
                let (stop, rate) = (stop.clone(), rate.clone());
                thread::spawn(move || pump_slow(server, client, &rate, delay, stop));
            }
        });
    }
    SlowLink { port, stop, rate }
}

fn pump_free(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Reads as fast as the rate allows (so upstream's TCP sees the link's pace), holds each
/// chunk for `delay`, then writes it on.
fn pump_slow(
    mut from: TcpStream,
    mut to: TcpStream,
    rate: &AtomicU64,
    delay: Duration,
    stop: Arc<AtomicBool>,
) {
    const CHUNK: usize = 8 * 1024;
    // When the next chunk may be admitted (a token bucket allowing 10 ms of burst).
    let mut next_allowed = Instant::now();
    let mut in_flight: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = vec![0u8; CHUNK];
    from.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // Deliver what has waited long enough.
        while in_flight.front().is_some_and(|(due, _)| *due <= Instant::now()) {
            let (_, chunk) = in_flight.pop_front().unwrap();
            if to.write_all(&chunk).is_err() {
                return;
            }
        }
        // Admit the next chunk when the rate allows (bursts after idle time limited to 10 ms).
        let now = Instant::now();
        next_allowed = next_allowed.max(now.checked_sub(Duration::from_millis(10)).unwrap_or(now));
        if next_allowed > now {
            thread::sleep((next_allowed - now).min(Duration::from_millis(2)));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rate = rate.load(Ordering::Relaxed).max(1) as f64;
                next_allowed += Duration::from_secs_f64(n as f64 / rate);
                in_flight.push_back((Instant::now() + delay, buf[..n].to_vec()));
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    for (_, chunk) in in_flight {
        let _ = to.write_all(&chunk);
    }
    let _ = to.shutdown(Shutdown::Write);
}
