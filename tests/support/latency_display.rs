//! A display assembled from pistream's own library parts (connect, handshake, the session's
//! receive loop, the display mailbox) that records when each frame was shown and its
//! capture-to-shown latency, so tests and benchmarks can compute exact percentiles over
//! any window instead of the binary's once-a-second summaries.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use pistream::media::Mailbox;
use pistream::media::PixelFormat;
use pistream::media::{now_us, Frame, Geometry};
use pistream::output::pistream::protocol::{Hello, Role};
use pistream::output::pistream::session::{self, Control, LocalSide, Sides};
use pistream::pipeline::stats::Stats;
use pistream::runtime::Shutdown;

/// One shown frame: when, its latency in ms, and the wire format it came in.
pub type Sample = (Instant, f64, PixelFormat);

pub struct LatencyDisplay {
    samples: Arc<Mutex<Vec<Sample>>>,
    shutdown: Arc<Shutdown>,
    done: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl LatencyDisplay {
    /// Connects to a camera at `target` (HOST:PORT) and starts recording.
    pub fn connect(target: &str) -> LatencyDisplay {
        let (stream, _) = pistream::net::connect_once(target).expect("the camera (or its proxy) answers");
        let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
        let shutdown = Shutdown::new();
        let done = Arc::new(AtomicBool::new(false));
        let mailbox = Arc::new(Mailbox::new(Geometry::new(1, 1)));
        let session = {
            let (mailbox, shutdown) = (mailbox.clone(), shutdown.clone());
            thread::spawn(move || {
                let ctl = Control::new(&shutdown, None);
                let hello =
                    Hello::receiver().decoding(pistream::output::pistream::adapt::decodable_formats());
                let local = LocalSide::plain(hello);
                let Ok(Some(established)) = session::handshake(&stream, Role::Connecting, &local, &ctl)
                else {
                    return;
                };
                let mut back = Frame::new(Geometry::new(1, 1));
                let sides = Sides { send: None, receive: Some((&*mailbox, &mut back)) };
                let _ =
                    session::serve(&stream, established, sides, Default::default(), &ctl, &Stats::default());
            })
        };
        let consumer = {
            let (samples, done) = (samples.clone(), done.clone());
            thread::spawn(move || {
                let mut front = Frame::new(Geometry::new(1, 1));
                while !done.load(Ordering::Relaxed) {
                    if mailbox.take(&mut front, Duration::from_millis(10)) {
                        let latency = now_us().saturating_sub(front.captured_us) as f64 / 1000.0;
                        samples.lock().unwrap().push((Instant::now(), latency, front.arrived_as));
                    }
                }
            })
        };
        LatencyDisplay { samples, shutdown, done, threads: vec![session, consumer] }
    }

    /// Every frame shown so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().clone()
    }

    /// Stops, and returns every frame shown.
    pub fn stop(mut self) -> Vec<Sample> {
        self.shutdown.request("done");
        self.done.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.samples()
    }
}

/// The `p`-th percentile (0..=100) of `values`.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize - 1;
    sorted[rank.min(sorted.len() - 1)]
}
