//! Capture-mode negotiation on format lists recorded from real cameras
//! (tests/fixtures/v4l2/, in `v4l2-ctl --list-formats-ext` form).

use pistream::media::PixelFormat;
use pistream::source::v4l2::mode::{choose, parse_v4l2_ctl, FpsOffer, NegotiationError, Request, SizeOffer};

fn fixture(name: &str) -> Vec<pistream::source::v4l2::mode::FormatOffer> {
    let path = format!("{}/tests/fixtures/v4l2/{name}", env!("CARGO_MANIFEST_DIR"));
    parse_v4l2_ctl(&std::fs::read_to_string(&path).unwrap())
}

fn request(width: u32, height: u32, fps: f64) -> Request {
    Request { width, height, fps, forced: None }
}

#[test]
fn the_parser_reads_formats_sizes_and_rates() {
    let webcam = fixture("uvc-webcam.txt");
    assert_eq!(webcam.len(), 2);
    assert_eq!(&webcam[0].fourcc, b"YUYV");
    assert_eq!(webcam[0].sizes.len(), 6);
    assert_eq!(
        webcam[0].sizes[0],
        SizeOffer::Discrete {
            width: 640,
            height: 480,
            fps: FpsOffer::Discrete(vec![30.0, 24.0, 20.0, 15.0, 10.0, 7.5, 5.0])
        }
    );
    let pi = fixture("pi-bcm2835-v4l2.txt");
    assert_eq!(pi.len(), 14);
    assert!(matches!(
        pi[0].sizes[0],
        SizeOffer::Stepwise { min: (32, 32), max: (3280, 2464), step: (2, 2), .. }
    ));
}

#[test]
fn a_uvc_webcam_gives_yuyv_at_640x480_and_mjpeg_where_yuyv_is_too_slow() {
    let webcam = fixture("uvc-webcam.txt");
    let vga = choose("/dev/video0", &webcam, &request(640, 480, 30.0)).unwrap();
    assert_eq!((vga.format, vga.width, vga.height, vga.fps), (PixelFormat::Yuyv, 640, 480, Some(30.0)));
    let hd = choose("/dev/video0", &webcam, &request(1280, 720, 30.0)).unwrap();
    assert_eq!((hd.format, hd.width, hd.height, hd.fps), (PixelFormat::Mjpeg, 1280, 720, Some(30.0)));
    // At 10 fps, YUYV reaches the rate and costs less to convert than MJPEG.
    let slow = choose("/dev/video0", &webcam, &request(1280, 720, 10.0)).unwrap();
    assert_eq!((slow.format, slow.fps), (PixelFormat::Yuyv, Some(10.0)));
    // A size it lacks: the nearest larger, scaled down.
    let odd = choose("/dev/video0", &webcam, &request(700, 500, 30.0)).unwrap();
    assert_eq!((odd.width, odd.height), (800, 600));
    assert!(odd.reason.contains("scaled"), "{}", odd.reason);
}

#[test]
fn the_legacy_pi_camera_driver_gives_bgr_at_exactly_the_requested_size() {
    let pi = fixture("pi-bcm2835-v4l2.txt");
    let choice = choose("/dev/video0", &pi, &request(1280, 720, 30.0)).unwrap();
    assert_eq!((choice.format, choice.width, choice.height), (PixelFormat::Bgr24, 1280, 720));
    assert!(choice.reason.contains("no conversion needed"));
    // Stepwise sizes round up to the step.
    let odd = choose("/dev/video0", &pi, &request(641, 481, 30.0)).unwrap();
    assert_eq!((odd.width, odd.height), (642, 482));
    let forced = Request { forced: Some(PixelFormat::I420), ..request(640, 480, 30.0) };
    assert_eq!(choose("/dev/video0", &pi, &forced).unwrap().format, PixelFormat::I420);
}

#[test]
fn a_pi_camera_on_unicam_is_refused_with_the_rpicam_and_libcamerify_fixes() {
    let unicam = fixture("pi-unicam.txt");
    let err = choose("/dev/video0", &unicam, &request(640, 480, 30.0)).unwrap_err();
    assert!(matches!(err, NegotiationError::OnlyBayer { .. }));
    let text = err.to_string();
    assert!(text.contains("--source rpicam") && text.contains("libcamerify pistream camera"), "{text}");
    assert!(text.contains("pRAA, RG10, RGGB"), "{text}");
}

#[test]
fn an_mjpeg_only_capture_stick_is_scaled_down_from_its_smallest_larger_size() {
    let stick = fixture("usb-capture-mjpeg-only.txt");
    let choice = choose("/dev/video2", &stick, &request(640, 480, 30.0)).unwrap();
    assert_eq!(
        (choice.format, choice.width, choice.height, choice.fps),
        (PixelFormat::Mjpeg, 800, 600, Some(60.0))
    );
    let exact = choose("/dev/video2", &stick, &request(1920, 1080, 25.0)).unwrap();
    assert_eq!((exact.width, exact.height, exact.fps), (1920, 1080, Some(25.0)));
    let forced = Request { forced: Some(PixelFormat::Yuyv), ..request(640, 480, 30.0) };
    let err = choose("/dev/video2", &stick, &forced).unwrap_err().to_string();
    assert!(err.contains("does not offer --format YUYV") && err.contains("MJPG"), "{err}");
}

#[test]
fn a_slightly_slower_exact_size_beats_a_faster_mode_of_another_aspect_ratio() {
    // vivid's default input: 640x480 tops out at 25 fps, 640x360 reaches 30 (found by the VM rig).
    let offers = parse_v4l2_ctl(
        "\t[0]: 'YUYV' (YUYV 4:2:2)\n\t\tSize: Discrete 640x360\n\t\t\tInterval: Discrete 0.033s (30.000 fps)\n\
         \t\tSize: Discrete 640x480\n\t\t\tInterval: Discrete 0.040s (25.000 fps)\n",
    );
    let choice = choose("/dev/video0", &offers, &request(640, 480, 30.0)).unwrap();
    assert_eq!((choice.width, choice.height, choice.fps), (640, 480, Some(25.0)));
}
