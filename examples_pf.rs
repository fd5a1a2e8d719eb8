use pistream::frame::Geometry;
use pistream::source::pattern;
fn main() {
    for (w, h) in [(640, 480), (1920, 1080)] {
        let g = Geometry::bgr(w, h);
        let mut buf = vec![0u8; g.frame_len()];
        let src = vec![1u8; g.frame_len()];
        let t = std::time::Instant::now();
        for n in 0..200 { pattern::fill(&mut buf, g, n); }
        let fill = t.elapsed().as_secs_f64() / 200.0;
        let t = std::time::Instant::now();
        for _ in 0..200 { buf.copy_from_slice(&src); std::hint::black_box(&buf); }
        let copy = t.elapsed().as_secs_f64() / 200.0;
        println!("{w}x{h}: fill {:.3} ms, memcpy {:.3} ms", fill * 1e3, copy * 1e3);
    }
}
