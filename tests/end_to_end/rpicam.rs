//! Camera modules through rpicam-vid (`--source rpicam`), with the fake rpicam-vid on PATH
//! (`tests/fakes/rpicam_vid.rs`): the command line pistream gives it, frames in the Pi 4's
//! and the Pi 5's row layouts at the widths camera modules are used at, each shown frame
//! checked against the one sent (by the number stamped in it); a program that exits, stalls
//! or ignores SIGTERM; pistream killed with SIGKILL; the errors a user sees; `camera` with no
//! `--source` picking the camera module; and the mirrors, pixel for pixel, on the pattern.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::support::fake_rpicam::{check_raw_frames, stamp_of, FakeOnPath};
use crate::support::{frame_log_path, free_port, read_frame_log, Proc, SECS};

/// A listening camera on the fake rpicam-vid, once it listens.
fn rpicam_camera(fake: &FakeOnPath, port: u16, args: &[&str], env: &[(&str, &str)]) -> Proc {
    let listen = format!("127.0.0.1:{port}");
    let mut all = vec!["camera", "--listen", &listen, "--source", "rpicam", "--stats", "off"];
    if !args.contains(&"--wire") {
        all.extend(["--wire", "bgr"]);
    }
    all.extend_from_slice(args);
    let mut env = env.to_vec();
    env.push(("PATH", &fake.path));
    let camera = Proc::spawn_env("camera", &all, &env);
    camera.wait_for("listening on", 15 * SECS);
    camera
}

/// A display of `frames` frames into a raw file (and a frame log); returns both paths once
/// it is done.
fn raw_display(port: u16, frames: u64, name: &str) -> (String, String) {
    let raw = std::env::temp_dir().join(format!("pistream-rpicam-{}-{name}.bgr", std::process::id()));
    let _ = std::fs::remove_file(&raw);
    let raw = raw.to_string_lossy().into_owned();
    let log = frame_log_path(name);
    let sink = format!("raw:{raw}");
    let frames = frames.to_string();
    let connect = format!("127.0.0.1:{port}");
    let mut display = Proc::spawn(
        "display",
        &[
            "display",
            "--connect",
            &connect,
            "--sink",
            &sink,
            "--frames",
            &frames,
            "--frame-log",
            &log,
            "--stats",
            "off",
        ],
    );
    let status = display.wait_exit(60 * SECS);
    assert!(status.success(), "display: {}", display.output());
    (raw, log)
}

#[test]
fn frames_in_the_pi_4_and_pi_5_layouts_arrive_whole_at_every_width() {
    let _machine = crate::support::shared();
    for isp in ["pi4", "pi5"] {
        for width in [640u32, 800, 1280, 1456, 1920, 2028] {
            let fake = FakeOnPath::new(&format!("layout-{isp}-{width}"));
            let port = free_port();
            let size = format!("{width}x240");
            let mut camera = rpicam_camera(&fake, port, &["--size", &size], &[("FAKE_RPICAM_ISP", isp)]);
            let stride = camera.wait_for("rows of", 5 * SECS);
            let (raw, log) = raw_display(port, 6, &format!("{isp}-{width}"));
            let stamps = check_raw_frames(&raw, width, 240);
            let _ = std::fs::remove_file(&raw);
            let _ = read_frame_log(&log);
            assert_eq!(stamps.len(), 6, "{isp} {width}");
            assert!(stamps.windows(2).all(|p| p[0] < p[1]), "{isp} {width}: in order: {stamps:?}");
            let expected_stride = width.next_multiple_of(if isp == "pi5" { 128 } else { 64 });
            assert!(stride.contains(&format!("rows of {expected_stride} bytes")), "{isp} {width}: {stride}");
            camera.signal(Signal::SIGTERM);
            assert!(camera.wait_exit(10 * SECS).success(), "{}", camera.output());
        }
    }
}

#[test]
fn rpicam_vid_is_given_the_size_rate_camera_mirrors_and_settings() {
    let _machine = crate::support::shared();
    let fake = FakeOnPath::new("args");
    let args_file = fake.file("args");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut camera = Proc::spawn_env(
        "camera",
        &[
            "camera",
            "--listen",
            &listen,
            "--source",
            "rpicam:1",
            "--size",
            "1456x1088",
            "--fps",
            "25",
            "--rotate",
            "180",
            "--hflip",
            "--camera-option",
            "awb=daylight",
            "--camera-option",
            "shutter=20000",
            "--camera-option",
            "autofocus-mode=manual",
            "--camera-option",
            "lens-position=0.5",
            "--seconds",
            "1",
        ],
        &[("PATH", &fake.path), ("FAKE_RPICAM_ARGS", &args_file)],
    );
    assert!(camera.wait_exit(20 * SECS).success(), "{}", camera.output());
    let given = std::fs::read_to_string(&args_file).unwrap();
    // A half turn and a left-right mirror leave a top-bottom mirror.
    assert_eq!(
        given.trim(),
        "-t 0 -n --flush --codec yuv420 -o - --camera 1 --width 1456 --height 1088 --framerate 25 --vflip \
         --awb=daylight --shutter=20000 --autofocus-mode=manual --lens-position=0.5"
    );
    let source = camera.wait_for("source:", SECS);
    assert!(
        source.contains("rpicam-vid camera 1 (1456x1088 at 25 fps, YUV420, mirrored top to bottom"),
        "{source}"
    );
}

/// The lines of processes whose parent is `parent` and that are zombies.
fn zombie_children(parent: i32) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| {
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let fields: Vec<&str> = after.split_whitespace().collect();
            fields.first() == Some(&"Z") && fields.get(1) == Some(&parent.to_string().as_str())
        })
        .collect()
}

/// Whether process `pid` still runs (a zombie has ended).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')').map(|(_, r)| r.trim_start().chars().next()),
            Some(Some('Z' | 'X'))
        ),
        Err(_) => false,
    }
}

fn pids(file: &str) -> Vec<i32> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(|l| l.trim().parse().unwrap()).collect()
}

#[test]
fn a_camera_program_that_exits_or_stalls_is_restarted_while_the_display_stays() {
    let _machine = crate::support::shared();
    let fake = FakeOnPath::new("restarts");
    let (state, pid_file) = (fake.file("state"), fake.file("pids"));
    let port = free_port();
    let camera = rpicam_camera(
        &fake,
        port,
        &["--size", "640x360"],
        &[
            ("FAKE_RPICAM_STATE", &state),
            ("FAKE_RPICAM_PIDS", &pid_file),
            // First run: 20 frames, half a frame, an error, exit 255. Second: 20 frames, then
            // nothing (and no exit). Third: on and on.
            ("FAKE_RPICAM_EXIT_AFTER", "1:20"),
            ("FAKE_RPICAM_STALL_AFTER", "2:20"),
        ],
    );
    // Most of the first run's 20 frames go before anyone watches (the pipe is read
    // continuously); the display sees the second run's, the stall, and the third run's.
    let (raw, log) = raw_display(port, 45, "restarts");
    let stamps = check_raw_frames(&raw, 640, 360);
    let _ = std::fs::remove_file(&raw);
    let shown = read_frame_log(&log);
    assert!(stamps.windows(2).all(|p| p[0] < p[1]), "in order: {stamps:?}");
    let exited = camera.wait_for("rpicam-vid exited", SECS);
    assert!(
        exited.contains("failed to start camera") && exited.contains("restarting it in 0.5 s"),
        "{exited}"
    );
    let stalled = camera.wait_for("sent no frame for 5 s", SECS);
    assert!(stalled.contains("the viewers stay connected"), "{stalled}");
    let out = camera.output();
    assert!(
        out.contains("warning: rpicam-vid: ERROR: *** failed to start camera ***"),
        "its errors are warnings:\n{out}"
    );
    let connects = out.lines().filter(|l| l.ends_with(" connected")).count();
    assert_eq!(connects, 1, "the display stayed connected throughout:\n{out}");
    // The stall: the longest gap between shown frames is the 5 s limit plus the restart's
    // 0.5 s backoff and start-up (measured 5.6-5.8 s here), never a disconnect.
    let gaps: Vec<u64> = shown.windows(2).map(|p| p[1].shown_us - p[0].shown_us).collect();
    let longest = *gaps.iter().max().unwrap();
    assert!((5_000_000..8_000_000).contains(&longest), "longest gap {longest} µs");
    let started = pids(&pid_file);
    assert_eq!(started.len(), 3, "three runs: {started:?}");
    assert!(started[..2].iter().all(|&p| !running(p)), "the first two runs are gone: {started:?}");
    assert!(zombie_children(camera.pid()).is_empty(), "no zombies: {:?}", zombie_children(camera.pid()));
}

#[test]
fn the_camera_program_never_outlives_pistream() {
    let _machine = crate::support::shared();
    // Stopped normally, with a program that ignores SIGTERM: SIGKILL a second later.
    let fake = FakeOnPath::new("lifetime");
    let pid_file = fake.file("pids");
    let port = free_port();
    let mut camera =
        rpicam_camera(&fake, port, &[], &[("FAKE_RPICAM_PIDS", &pid_file), ("FAKE_RPICAM_IGNORE_TERM", "1")]);
    let child = pids(&pid_file)[0];
    assert!(running(child));
    let stopped = Instant::now();
    camera.signal(Signal::SIGINT);
    assert!(camera.wait_exit(10 * SECS).success(), "{}", camera.output());
    let took = stopped.elapsed();
    assert!(!running(child), "the program was killed");
    assert!(took < Duration::from_secs(4), "stopping took {took:?} (1 s of it the SIGTERM grace)");
    // pistream killed with SIGKILL: the kernel kills the program too (PR_SET_PDEATHSIG).
    let pid_file = fake.file("pids-kill");
    let camera = rpicam_camera(&fake, free_port(), &[], &[("FAKE_RPICAM_PIDS", &pid_file)]);
    let child = pids(&pid_file)[0];
    camera.signal(Signal::SIGKILL);
    let deadline = Instant::now() + 2 * SECS;
    while running(child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!running(child), "rpicam-vid {child} outlived pistream killed with SIGKILL");
}

#[test]
fn errors_say_what_is_wrong_and_what_to_do() {
    let _machine = crate::support::shared();
    let run = |args: &[&str], env: &[(&str, &str)]| -> (i32, String) {
        let mut all = vec!["camera", "--listen", "127.0.0.1:0", "--stats", "off", "--seconds", "20"];
        all.extend_from_slice(args);
        let mut p = Proc::spawn_env("camera", &all, env);
        let status = p.wait_exit(30 * SECS);
        (status.code().unwrap_or(-1), p.output())
    };
    // No rpicam-vid anywhere on PATH.
    let (code, out) = run(&["--source", "rpicam"], &[("PATH", "/nonexistent")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("rpicam-vid is not installed") && out.contains("sudo apt install rpicam-apps"),
        "{out}"
    );
    // A setting rpicam-vid does not have: a usage error before anything starts.
    let fake = FakeOnPath::new("errors");
    let (code, out) = run(&["--source", "rpicam", "--camera-option", "shuter=100"], &[("PATH", &fake.path)]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--camera-option shuter: rpicam-vid has no such setting"), "{out}");
    // The camera in use: rpicam-vid's own words, and what to do.
    let (code, out) = run(
        &["--source", "rpicam"],
        &[
            ("PATH", &fake.path),
            ("FAKE_RPICAM_FAIL", "failed to acquire camera /base/soc/i2c0mux/i2c@1/imx708@1a"),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("failed to acquire camera") && out.contains("another program is using the camera"),
        "{out}"
    );
    // Frames of another length than the ISP's rule gives (rows padded to 32, not 64 bytes):
    // a named error, not torn pictures.
    let (code, out) = run(
        &["--source", "rpicam", "--size", "800x480"],
        &[("PATH", &fake.path), ("FAKE_RPICAM_ALIGN", "32")],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("rpicam-vid's frames are not 599040 bytes long") && out.contains("rows of 832 bytes"),
        "{out}"
    );
    // libcamera configured another size than asked for.
    let (code, out) = run(
        &["--source", "rpicam", "--size", "1456x1088"],
        &[("PATH", &fake.path), ("FAKE_RPICAM_CONFIGURED", "1456x1080")],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("configured the camera for 1456x1080, not the 1456x1088 asked for"), "{out}");
    // V4L2 controls on a camera module, and an odd size.
    let (code, out) = run(&["--source", "rpicam", "--control", "brightness=3"], &[("PATH", &fake.path)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("use --camera-option"), "{out}");
    let (code, out) = run(&["--source", "rpicam", "--size", "641x480"], &[("PATH", &fake.path)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("even width and height"), "{out}");
}

#[test]
fn camera_without_a_source_uses_the_camera_module_when_no_v4l2_camera_is_there() {
    let _machine = crate::support::shared();
    if pistream::source::v4l2::first_usable_capture_device().is_some() {
        eprintln!("skip: this machine has a V4L2 camera, which `camera` would rightly pick first");
        return;
    }
    let fake = FakeOnPath::new("auto");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut camera = Proc::spawn_env(
        "camera",
        &["camera", "--listen", &listen, "--seconds", "1"],
        &[("PATH", &fake.path)],
    );
    assert!(camera.wait_exit(20 * SECS).success(), "{}", camera.output());
    let out = camera.output();
    assert!(
        out.contains("using rpicam-vid camera 0 (imx708, Camera Module 3): the camera module, through libcamera; continuous autofocus"),
        "{out}"
    );
    assert!(out.contains("source: rpicam-vid camera 0 (640x480 at 30 fps, YUV420"), "{out}");
    // rpicam-vid there, but no camera: the error says where pistream looked.
    let mut camera = Proc::spawn_env(
        "camera",
        &["camera", "--listen", &listen, "--seconds", "1"],
        &[("PATH", &fake.path), ("FAKE_RPICAM_CAMERAS", "none")],
    );
    assert_eq!(camera.wait_exit(20 * SECS).code(), Some(1));
    let out = camera.output();
    assert!(
        out.contains("no camera found") && out.contains("camera modules with rpicam-vid (it lists none)"),
        "{out}"
    );
}

/// A packed BGR frame mirrored as asked, by plain loops.
fn mirrored(bgr: &[u8], width: usize, height: usize, hflip: bool, vflip: bool) -> Vec<u8> {
    let mut out = vec![0u8; bgr.len()];
    for y in 0..height {
        for x in 0..width {
            let (sx, sy) = (if hflip { width - 1 - x } else { x }, if vflip { height - 1 - y } else { y });
            out[(y * width + x) * 3..][..3].copy_from_slice(&bgr[(sy * width + sx) * 3..][..3]);
        }
    }
    out
}

#[test]
fn the_mirrors_turn_the_pattern_pixel_for_pixel() {
    use pistream::codec::convert::{encode, Converter};
    use pistream::media::{Geometry, Layout, PixelFormat};
    let _machine = crate::support::shared();
    let (w, h) = (64usize, 48usize);
    let g = Geometry::new(w as u32, h as u32);
    for (flags, hflip, vflip) in [
        (&["--rotate", "180"][..], true, true),
        (&["--hflip"][..], true, false),
        (&["--vflip"][..], false, true),
    ] {
        for format in [None, Some("YU12"), Some("YUYV")] {
            let port = free_port();
            let mut extra = vec!["--size", "64x48", "--wire", "bgr"];
            extra.extend_from_slice(flags);
            extra.extend(format.iter().flat_map(|f| ["--format", *f]));
            let mut camera = crate::support::pattern_camera(port, &extra);
            let (raw, log) = raw_display(port, 5, "mirrors");
            let data = std::fs::read(&raw).unwrap();
            let _ = std::fs::remove_file(&raw);
            let shown = read_frame_log(&log);
            assert_eq!(shown.len(), 5);
            for (frame, line) in data.chunks_exact(g.frame_len()).zip(&shown) {
                let mut pattern = vec![0u8; g.frame_len()];
                pistream::source::pattern::fill(&mut pattern, g, line.seq);
                let turned = mirrored(&pattern, w, h, hflip, vflip);
                let expected = match format {
                    None => turned,
                    // A YUV camera mirrored: its planes are those of the mirrored picture
                    // (even sizes), which the camera then converts to BGR.
                    Some(fourcc) => {
                        let format = PixelFormat::from_fourcc(fourcc.as_bytes().try_into().unwrap()).unwrap();
                        let mut planes = vec![0u8; format.tight_len(64, 48).unwrap()];
                        encode::bgr_to(format, 64, 48, &turned, &mut planes);
                        let mut bgr = vec![0u8; g.frame_len()];
                        Converter::new(Layout::tight(format, 64, 48), g)
                            .unwrap()
                            .convert(&planes, &mut bgr)
                            .unwrap();
                        bgr
                    }
                };
                assert!(
                    frame == expected.as_slice(),
                    "{flags:?} {format:?}: frame {} not mirrored exactly",
                    line.seq
                );
            }
            camera.signal(Signal::SIGTERM);
            camera.wait_exit(10 * SECS);
        }
    }
}

/// A camera module's padded, full-range planes made into what other viewers take: the I420
/// wire (squeezed to limited range: within 2 of the frame sent, after the way back to BGR)
/// and the web's JPEG (decoded by a third-party decoder).
#[test]
fn padded_full_range_planes_reach_i420_and_jpeg_viewers() {
    use crate::support::fake_rpicam::expected_bgr;
    use crate::support::http;
    let _machine = crate::support::shared();
    let fake = FakeOnPath::new("products");
    let port = free_port();
    let (w, h) = (1456u32, 240u32); // rows of 1536 bytes on a Pi 5
    let mut camera =
        rpicam_camera(&fake, port, &["--size", "1456x240", "--wire", "i420"], &[("FAKE_RPICAM_ISP", "pi5")]);
    let (raw, log) = raw_display(port, 4, "products");
    let data = std::fs::read(&raw).unwrap();
    let _ = std::fs::remove_file(&raw);
    let shown = read_frame_log(&log);
    assert!(shown.iter().all(|f| f.wire == "I420"), "{shown:?}");
    let frame_len = (w * h * 3) as usize;
    for frame in data.chunks_exact(frame_len) {
        let index = stamp_of(frame, w);
        let expected = expected_bgr(w, h, index);
        let worst = frame.iter().zip(&expected).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(worst <= 2, "frame {index} via I420: off by {worst}");
    }
    let snapshot = http::get(port, "/snapshot", "");
    assert_eq!(snapshot.status, 200);
    let (sw, sh, pixels) = http::decode_bgr(&snapshot.body);
    assert_eq!((sw, sh), (w as usize, h as usize));
    let index = stamp_of(&pixels, w);
    let db = http::psnr(&pixels, &expected_bgr(w, h, index));
    assert!(db > 30.0, "the snapshot of frame {index}: {db:.1} dB");
    camera.signal(Signal::SIGTERM);
    camera.wait_exit(10 * SECS);
}
