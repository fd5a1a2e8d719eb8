//! A userspace "slow link" for tests: a TCP proxy that forwards one direction at a fixed
//! byte rate after a fixed delay (the other direction passes freely). Bytes wait in front
//! of the link as they would in front of a bottleneck, and go out one after another at the
//! link's rate, each arriving `delay` after it went out: a frame's bytes reach the client
//! spread over the time the link takes to carry them, as on a real link.
//!
//! Two kinds of hop in front of the link:
//! - [`slow_link`]: a router. Small socket buffers on both sides and about 64 KiB of queue,
//!   so the sender's TCP feels the link's pace (its acknowledgements follow the link).
//! - [`slow_proxy`]: a TCP-terminating proxy (socat, an SSH tunnel, a user-space VPN): it
//!   reads eagerly into ordinary socket buffers and its own 512 KiB, acknowledging at its
//!   own speed, so the sender's TCP sees a fast link until all of that is full.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use socket2::SockRef;

/// Bytes a router holds in front of the link.
const ROUTER_QUEUE: usize = 64 * 1024;
/// Bytes a TCP-terminating proxy reads ahead of the link (beyond its socket buffers).
const PROXY_QUEUE: usize = 512 * 1024;
const CHUNK: usize = 8 * 1024;

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

/// Proxies connections on a new loopback port to `upstream`, through a router: bytes from
/// upstream reach the client at `rate` bytes/s, each `delay` after it went on the link.
pub fn slow_link(upstream: u16, rate: f64, delay: Duration) -> SlowLink {
    start(upstream, rate, delay, false)
}

/// As [`slow_link`], through a TCP-terminating proxy with ordinary buffers.
pub fn slow_proxy(upstream: u16, rate: f64, delay: Duration) -> SlowLink {
    start(upstream, rate, delay, true)
}

fn start(upstream: u16, rate: f64, delay: Duration, proxy: bool) -> SlowLink {
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
                    if !proxy {
                        SockRef::from(s).set_recv_buffer_size(64 * 1024).unwrap();
                        SockRef::from(s).set_send_buffer_size(64 * 1024).unwrap();
                    }
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                thread::spawn(move || pump_free(c2, s2));
                let queue = Arc::new(Queue::default());
                let cap = if proxy { PROXY_QUEUE } else { ROUTER_QUEUE };
                {
                    let (queue, stop) = (queue.clone(), stop.clone());
                    thread::spawn(move || read_into(server, &queue, cap, &stop));
                }
                let (stop, rate) = (stop.clone(), rate.clone());
                thread::spawn(move || carry(&queue, client, &rate, delay, &stop));
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

/// Bytes waiting in front of the link.
#[derive(Default)]
struct Queue {
    state: Mutex<(VecDeque<Vec<u8>>, usize, bool)>,
    changed: Condvar,
}

/// Reads from upstream whenever the queue has room for a chunk.
fn read_into(mut from: TcpStream, queue: &Queue, cap: usize, stop: &AtomicBool) {
    let mut buf = vec![0u8; CHUNK];
    from.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    while !stop.load(Ordering::Relaxed) {
        {
            let mut state = queue.state.lock().unwrap();
            while state.1 + CHUNK > cap && !stop.load(Ordering::Relaxed) {
                state = queue.changed.wait_timeout(state, Duration::from_millis(5)).unwrap().0;
            }
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let mut state = queue.state.lock().unwrap();
                state.0.push_back(buf[..n].to_vec());
                state.1 += n;
                queue.changed.notify_all();
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let mut state = queue.state.lock().unwrap();
    state.2 = true;
    queue.changed.notify_all();
}

/// Puts the queue's bytes on the link one chunk after another at the rate (a chunk leaves
/// the queue when the link is free for it, so the queue is what waits in front of the
/// link), and delivers each `delay` after it went out, on time to the millisecond.
fn carry(queue: &Queue, mut to: TcpStream, rate: &AtomicU64, delay: Duration, stop: &AtomicBool) {
    let mut in_flight: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut link_free = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        while in_flight.front().is_some_and(|(due, _)| *due <= now) {
            let (_, chunk) = in_flight.pop_front().unwrap();
            if to.write_all(&chunk).is_err() {
                return;
            }
        }
        let mut closed = false;
        if link_free <= now {
            let mut state = queue.state.lock().unwrap();
            if let Some(chunk) = state.0.pop_front() {
                state.1 -= chunk.len();
                queue.changed.notify_all();
                drop(state);
                let rate = rate.load(Ordering::Relaxed).max(1) as f64;
                // A link busy until a moment ago carries on from then (a late wake-up is
                // caught up); an idle one starts now.
                let start = if now - link_free < Duration::from_millis(2) { link_free } else { now };
                link_free = start + Duration::from_secs_f64(chunk.len() as f64 / rate);
                in_flight.push_back((link_free + delay, chunk));
                continue;
            }
            closed = state.2;
            if !closed && in_flight.is_empty() {
                // Nothing to carry: wait for bytes.
                drop(queue.changed.wait_timeout(state, Duration::from_millis(5)).unwrap());
                continue;
            }
        }
        if closed && in_flight.is_empty() {
            break;
        }
        // Sleep until the next delivery or until the link is free again, at most 1 ms (new
        // bytes for an idle link wait that long at most).
        let mut until = now + Duration::from_millis(1);
        if let Some((due, _)) = in_flight.front() {
            until = until.min(*due);
        }
        if link_free > now {
            until = until.min(link_free);
        }
        let wait = until.saturating_duration_since(Instant::now());
        if wait > Duration::ZERO {
            thread::sleep(wait);
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
