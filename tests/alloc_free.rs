//! Proof that the steady-state send and receive loops allocate nothing per frame: a
//! counting global allocator counts every allocation in the process while a camera
//! session streams 1000 frames to a display session over loopback (send loops, receive
//! loops on their own threads, the producer, the consumer). Between the consumer's 100th
//! and 600th frame, that count must not move. (Own test binary with a single test: the
//! global allocator applies to the whole binary, and no other test runs meanwhile.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use pistream::frame::{Frame, Geometry};
use pistream::mailbox::Mailbox;
use pistream::net::tune_connected;
use pistream::protocol::{Hello, Role};
use pistream::session::{self, Control, LocalSide, Sides};
use pistream::shutdown::Shutdown;
use pistream::source::pattern;
use pistream::stats::Stats;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicU64 = AtomicU64::new(0);

fn count() {
    if COUNTING.load(Ordering::Relaxed) {
        COUNT.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarding the caller's layout contract to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for alloc and dealloc.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Streams `frames` pattern frames camera -> display over a real loopback TCP connection
/// through the real session code; returns the allocation count when the consumer had
/// checked each of `marks` frames, and the total.
fn allocations_for(frames: u64, marks: [u64; 2]) -> ([u64; 2], u64) {
    let geometry = Geometry::bgr(640, 480);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    tune_connected(&client).unwrap();
    tune_connected(&server).unwrap();

    let capture_box = Arc::new(Mailbox::new(geometry));
    // The display side's three buffers already have the stream's geometry, as they do after
    // the first frames of a session; which of them the handshake-time reallocation would hit
    // depends on thread timing, and that one-off cost is not what this test is about.
    let display_box = Arc::new(Mailbox::new(geometry));
    let camera_shutdown = Shutdown::new();
    let display_shutdown = Shutdown::new();

    // Producer: not measured (it stands in for a camera driver); lossless so the count is exact.
    let producer = {
        let capture_box = capture_box.clone();
        let stop = camera_shutdown.clone();
        thread::spawn(move || {
            let mut back = Frame::new(geometry);
            let mut seq = 0;
            while !stop.requested() {
                pattern::fill(&mut back.data, geometry, seq);
                back.seq = seq;
                capture_box.publish(&mut back);
                seq += 1;
                // A pause early in the stream, so that one-off work that comes with time
                // (the first heartbeat, the first socket-timeout wake-up) happens in every
                // run, short or long, before the frames that are compared.
                if seq == 10 {
                    thread::sleep(Duration::from_millis(1500));
                }
                while !capture_box.wait_taken(Duration::from_millis(50)) && !stop.requested() {}
            }
        })
    };
    COUNT.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let camera = {
        let capture_box = capture_box.clone();
        let shutdown = camera_shutdown.clone();
        thread::spawn(move || {
            let mut front = Frame::new(geometry);
            let stats = Stats::default();
            let ctl = Control::new(&shutdown, Some(frames));
            let sides = Sides { send: Some((&*capture_box, &mut front)), receive: None };
            let hello = Hello::sender(geometry, 0.0);
            session::run(
                &server,
                Role::Listening,
                &LocalSide::plain(hello),
                sides,
                &ctl,
                &stats,
                &mut |_| {},
            )
            .unwrap();
        })
    };
    let display = {
        let display_box = display_box.clone();
        let shutdown = display_shutdown.clone();
        thread::spawn(move || {
            let mut back = Frame::new(geometry);
            let stats = Stats::default();
            let ctl = Control::new(&shutdown, None);
            let sides = Sides { send: None, receive: Some((&*display_box, &mut back)) };
            let result = session::run(
                &client,
                Role::Connecting,
                &LocalSide::plain(Hello::receiver()),
                sides,
                &ctl,
                &stats,
                &mut |_| {},
            );
            assert!(matches!(result.unwrap(), session::SessionEnd::PeerBye { .. }));
            Stats::get(&stats.received_frames)
        })
    };
    // Consumer: the display loop's part, take and verify.
    let mut front = Frame::new(geometry);
    let mut verifier = pattern::PatternVerifier::new();
    let mut checked = 0;
    let mut at_marks = [u64::MAX; 2];
    while !display.is_finished() {
        for (mark, at) in marks.iter().zip(at_marks.iter_mut()) {
            if checked == *mark && *at == u64::MAX {
                *at = COUNT.load(Ordering::SeqCst);
            }
        }
        if display_box.take(&mut front, Duration::from_millis(10)) {
            assert!(verifier.check(&front), "frame {} corrupt", front.seq);
            checked += 1;
        }
    }
    COUNTING.store(false, Ordering::SeqCst);
    camera.join().unwrap();
    let received = display.join().unwrap();
    camera_shutdown.request("done");
    producer.join().unwrap();
    assert_eq!(received, frames, "every frame crossed the wire");
    assert!(checked > marks[1], "the consumer saw only {checked} frames");
    (at_marks, COUNT.load(Ordering::SeqCst))
}

#[test]
fn steady_state_send_and_receive_allocate_nothing_per_frame() {
    let ([at_100, at_600], total) = allocations_for(1000, [100, 600]);
    eprintln!(
        "allocations: {at_100} up to the 100th frame (threads, buffers, the renderer), \
         {} from the 100th to the 600th, {total} in all",
        at_600 - at_100
    );
    // Setup (spawning the session threads, the receive buffers, the verifier's renderer)
    // and teardown (the bye's text) happen outside the window; 500 frames inside it add
    // nothing.
    assert_eq!(at_600, at_100, "{} allocations per frame", (at_600 - at_100) as f64 / 500.0);
    assert!(at_100 > 0, "the counter counts (thread spawns allocate)");
}
