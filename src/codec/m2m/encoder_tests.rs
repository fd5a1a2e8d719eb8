//! The encoder's protocol against the fake bcm2835-codec (`fake.rs`): what a Pi's driver
//! wants that vicodec, the rig's real M2M codec, cannot show.

use super::coded::Coded;
use super::encoder::{EncoderSettings, M2mEncoder};
use super::fake::{FakeBcm2835, Lie};
use super::sys::cid;
use crate::codec::h264::{nal_units, NalType, Planes};
use crate::media::{Layout, PixelFormat};

fn settings(width: u32, height: u32) -> EncoderSettings {
    EncoderSettings { width, height, fps: 30.0, bitrate: 2_304_000, keyframe_interval: 30 }
}

/// A tight I420 picture whose every byte says where it is: luma row r, column c holds
/// (r * 7 + c) mod 251; U and V rows likewise, offset by 100 and 200.
fn picture(w: u32, h: u32) -> Vec<u8> {
    let (w, h) = (w as usize, h as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = vec![0u8; w * h + 2 * cw * ch];
    for r in 0..h {
        for c in 0..w {
            out[r * w + c] = ((r * 7 + c) % 251) as u8;
        }
    }
    for (plane, offset) in [(0usize, 100usize), (1, 200)] {
        let base = w * h + plane * cw * ch;
        for r in 0..ch {
            for c in 0..cw {
                out[base + r * cw + c] = ((r * 7 + c + offset) % 251) as u8;
            }
        }
    }
    out
}

fn start(fake: FakeBcm2835, w: u32, h: u32) -> M2mEncoder {
    M2mEncoder::start(Box::new(fake), "/dev/video11 (bcm2835-codec-encode)", Coded::H264, &settings(w, h))
        .unwrap()
}

fn types(unit: &[u8]) -> Vec<NalType> {
    nal_units(unit).map(|nal| NalType::of(nal[0])).collect()
}

#[test]
fn the_pi_encoder_gets_constrained_baseline_repeated_headers_its_size_rate_and_bitrate() {
    let fake = FakeBcm2835::new(false);
    let seen = fake.seen.clone();
    let _encoder = start(fake, 1280, 720);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.controls.get(&cid::H264_PROFILE),
        Some(&cid::PROFILE_CONSTRAINED_BASELINE),
        "the driver's default is High"
    );
    assert_eq!(
        seen.controls.get(&cid::REPEAT_SEQ_HEADER),
        Some(&1),
        "the driver's default is 0: SPS/PPS once"
    );
    assert_eq!(
        seen.controls.get(&cid::BITRATE),
        Some(&2_300_000),
        "2.304 Mbit/s in the driver's 25 kbit/s steps"
    );
    assert_eq!(
        seen.controls.get(&cid::BITRATE_MODE),
        Some(&cid::BITRATE_MODE_VBR),
        "VBR: its CBR skips pictures"
    );
    assert_eq!(
        seen.controls.get(&cid::H264_LEVEL),
        Some(&9),
        "level 3.1 for 720p30 (the driver's default is 4.0)"
    );
    assert_eq!(seen.controls.get(&cid::GOP_SIZE), Some(&30));
    assert_eq!(seen.coded_size, (1280, 720), "bcm2835 takes the coded size from the CAPTURE format");
    assert_eq!(seen.fps, Some((1000, 30_000)));
    // Every control came before the buffers (the driver applies stored controls when
    // REQBUFS makes its component), and no keyframe was forced in setting up.
    assert!(
        seen.control_log.iter().all(|(id, _, buffers)| *id != cid::FORCE_KEY_FRAME && !buffers),
        "{:?}",
        seen.control_log
    );
}

#[test]
fn pictures_reach_the_driver_in_64_byte_rows_whole_and_never_as_end_of_stream() {
    // 1000 wide: bcm2835 pads YU12 rows to 1024 (its encoder's bytesperline_align is 64).
    let (w, h) = (1000u32, 562u32);
    let fake = FakeBcm2835::new(false);
    let seen = fake.seen.clone();
    let mut encoder = start(fake, w, h);
    let raw = encoder.raw_format();
    assert_eq!((raw.bytesperline, raw.sizeimage), (1024, 1024 * 562 * 3 / 2));
    let source = picture(w, h);
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let mut unit = Vec::new();
    encoder.encode(&Planes::of(&layout, &source).unwrap(), false, 0, &mut unit).unwrap();
    let seen = seen.lock().unwrap();
    let (queued, bytesused) = &seen.pictures[0];
    assert_eq!(*bytesused, raw.sizeimage, "bytesused 0 would be end of stream to the VPU");
    assert_eq!(seen.end_of_stream_buffers, 0);
    let (wu, hu) = (w as usize, h as usize);
    let (cw, ch) = (wu / 2, hu / 2);
    for r in [0, 1, 300, hu - 1] {
        assert_eq!(&queued[r * 1024..r * 1024 + wu], &source[r * wu..(r + 1) * wu], "luma row {r}");
    }
    // U right after 562 rows of 1024, in rows of 512; V after U's 281 rows.
    let (u_at, v_at) = (1024 * hu, 1024 * hu + 512 * ch);
    for r in [0, 140, ch - 1] {
        assert_eq!(&queued[u_at + r * 512..][..cw], &source[wu * hu + r * cw..][..cw], "U row {r}");
        assert_eq!(&queued[v_at + r * 512..][..cw], &source[wu * hu + cw * ch + r * cw..][..cw], "V row {r}");
    }
}

#[test]
fn keyframes_come_from_force_key_frame_with_their_headers_and_the_drivers_flag() {
    let (w, h) = (640u32, 480u32);
    let fake = FakeBcm2835::new(false);
    let seen = fake.seen.clone();
    let mut encoder = start(fake, w, h);
    assert!(encoder.forces_keyframes());
    let source = picture(w, h);
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let planes = Planes::of(&layout, &source).unwrap();
    let mut unit = Vec::new();
    let mut keyframes = Vec::new();
    for n in 0..40u64 {
        let made = encoder.encode(&planes, n == 7, n * 33_333, &mut unit).unwrap();
        if made.keyframe {
            keyframes.push(n);
            assert_eq!(
                types(&unit)[..3],
                [NalType::Sps, NalType::Pps, NalType::Idr],
                "picture {n}: a viewer can join here"
            );
        } else {
            assert_eq!(types(&unit), [NalType::Slice], "picture {n}");
        }
    }
    // The first, the one asked for, and the interval's (30 pictures of the driver's count).
    assert_eq!(keyframes, [0, 7, 30]);
    assert_eq!(encoder.restarts, 0, "a driver with the control is never restarted for a keyframe");
    assert_eq!(seen.lock().unwrap().forced, 1, "picture 7's, after REQBUFS (where the driver heeds it)");
}

#[test]
fn headers_in_a_buffer_of_their_own_go_in_front_of_the_next_picture() {
    let (w, h) = (640u32, 480u32);
    let mut encoder = start(FakeBcm2835::new(true), w, h);
    let source = picture(w, h);
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let planes = Planes::of(&layout, &source).unwrap();
    let mut unit = Vec::new();
    let made = encoder.encode(&planes, false, 0, &mut unit).unwrap();
    assert!(made.keyframe);
    assert_eq!(types(&unit), [NalType::Sps, NalType::Pps, NalType::Idr]);
    encoder.encode(&planes, false, 33_333, &mut unit).unwrap();
    assert_eq!(types(&unit), [NalType::Slice], "the headers are not kept past their picture");
}

#[test]
fn a_drain_ends_at_the_last_buffer_and_a_restart_begins_a_new_stream() {
    let (w, h) = (640u32, 480u32);
    let mut encoder = start(FakeBcm2835::new(false), w, h);
    let source = picture(w, h);
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let planes = Planes::of(&layout, &source).unwrap();
    let mut unit = Vec::new();
    for n in 0..3 {
        encoder.encode(&planes, false, n * 33_333, &mut unit).unwrap();
    }
    assert_eq!(
        encoder.drain(|_, _| {}).unwrap(),
        0,
        "nothing was in flight: the LAST buffer comes back empty"
    );
    encoder.restart().unwrap();
    assert!(encoder.encode(&planes, false, 100_000, &mut unit).is_ok());
    assert_eq!(encoder.restarts, 1);
}

#[test]
fn a_vanished_device_is_a_named_error_at_once_not_a_hang() {
    let (w, h) = (640u32, 480u32);
    let mut fake = FakeBcm2835::new(false);
    fake.vanish_after = Some(2);
    let mut encoder = start(fake, w, h);
    let source = picture(w, h);
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let planes = Planes::of(&layout, &source).unwrap();
    let mut unit = Vec::new();
    for n in 0..2 {
        encoder.encode(&planes, false, n * 33_333, &mut unit).unwrap();
    }
    let started = std::time::Instant::now();
    let error = encoder.encode(&planes, false, 66_666, &mut unit).unwrap_err().to_string();
    assert!(error.starts_with("/dev/video11 (bcm2835-codec-encode): "), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_millis(500), "took {:?}", started.elapsed());
}

#[test]
fn nv12_rows_interleave_the_chroma_at_the_drivers_stride() {
    // bcm2835 aligns NV12 rows to 32: a 100-wide picture goes in 128-byte rows.
    let (w, h) = (100u32, 20u32);
    let raw = super::queue::PlaneFormat {
        fourcc: super::sys::FOURCC_NV12,
        width: w,
        height: h,
        bytesperline: 128,
        sizeimage: 128 * 30,
    };
    let source = picture(w, h);
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let mut buffer = vec![0u8; raw.sizeimage as usize];
    assert!(super::encoder::write_picture(&Planes::of(&layout, &source).unwrap(), &raw, &mut buffer));
    let (cw, ch) = (50usize, 10usize);
    for r in 0..ch {
        for c in 0..cw {
            let (u, v) = (source[2000 + r * cw + c], source[2000 + cw * ch + r * cw + c]);
            assert_eq!(buffer[128 * 20 + r * 128 + 2 * c..][..2], [u, v], "row {r}, column {c}");
        }
    }
    assert_eq!(&buffer[128 * 19..128 * 19 + 100], &source[1900..2000], "the last luma row");
    let small = super::queue::PlaneFormat { height: 10, ..raw };
    assert!(
        !super::encoder::write_picture(&Planes::of(&layout, &source).unwrap(), &small, &mut buffer),
        "a picture taller than the format is refused"
    );
}

#[test]
fn a_source_change_ends_the_encoder_with_a_named_error() {
    let (w, h) = (640u32, 480u32);
    let mut fake = FakeBcm2835::new(false);
    // The event comes with the third picture's coded buffer.
    fake.source_change_after = Some(2);
    let mut encoder = start(fake, w, h);
    let source = picture(w, h);
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let planes = Planes::of(&layout, &source).unwrap();
    let mut unit = Vec::new();
    let results: Vec<String> = (0..6u64)
        .map(|n| {
            encoder
                .encode(&planes, false, n * 33_333, &mut unit)
                .map_or_else(|e| e.to_string(), |_| "ok".into())
        })
        .collect();
    let first_error = results.iter().position(|r| r != "ok").expect("the event ends it");
    assert_eq!(first_error, 2, "{results:?}");
    assert!(results[first_error].contains("changed the stream's format under the encoder"), "{results:?}");
}

#[test]
fn a_bitrate_beyond_the_drivers_range_is_clamped_not_refused() {
    let fake = FakeBcm2835::new(false);
    let seen = fake.seen.clone();
    let wanted = EncoderSettings { bitrate: 40_000_000, ..settings(1920, 1080) };
    let _encoder = M2mEncoder::start(Box::new(fake), "/dev/video11", Coded::H264, &wanted).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.controls.get(&cid::BITRATE), Some(&25_000_000), "bcm2835's most");
    assert_eq!(seen.controls.get(&cid::H264_LEVEL), Some(&11), "level 4.0 at 1080p30");
}

#[test]
fn a_device_that_lies_about_its_buffers_or_rows_gets_an_error_or_is_clamped_never_a_panic() {
    let (w, h) = (640u32, 480u32);
    let source = picture(w, h);
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let planes = Planes::of(&layout, &source).unwrap();
    let outcome = |lie| {
        let mut fake = FakeBcm2835::new(false);
        fake.lie = Some(lie);
        let mut unit = Vec::new();
        M2mEncoder::start(Box::new(fake), "/dev/video11", Coded::H264, &settings(w, h))
            .and_then(|mut encoder| encoder.encode(&planes, false, 0, &mut unit))
            .map(|_| unit.len())
            .map_err(|e| e.to_string())
    };
    let index = outcome(Lie::BufferIndex).unwrap_err();
    assert!(index.contains("gave back buffer 99, which it never had"), "{index}");
    let rows = outcome(Lie::RowStride).unwrap_err();
    assert!(rows.contains("does not take 640x480 pictures"), "{rows}");
    // A size past the buffer is clamped to it.
    let whole = outcome(Lie::BytesUsed).unwrap();
    assert_eq!(whole, 512 << 10, "the buffer's length, not u32::MAX");
    // A start past the end is an empty buffer: no unit, so the wait runs out (2 s) and the
    // caller falls back.
    let empty = outcome(Lie::DataOffset).unwrap_err();
    assert!(empty.contains("returned nothing for 2000 ms"), "{empty}");
    // A layout that does not fit the buffer is refused, not written past.
    let raw = super::queue::PlaneFormat {
        fourcc: super::sys::FOURCC_YU12,
        width: w,
        height: h,
        bytesperline: 640,
        sizeimage: 100,
    };
    let mut small = vec![0u8; 1000];
    assert!(!super::encoder::write_picture(&planes, &raw, &mut small));
}
