//! The command line as a user meets it: help, version, usage errors and exit codes.

use std::process::Command;

use crate::support::BIN;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn version_names_the_version_and_features() {
    let _machine = crate::support::shared();
    let (code, stdout, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with(&format!("pistream {}", env!("CARGO_PKG_VERSION"))), "{stdout}");
    assert!(stdout.contains("features:"), "{stdout}");
}

#[test]
fn help_teaches_each_command() {
    let _machine = crate::support::shared();
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    for word in ["camera", "display", "call", "demo", "Examples:"] {
        assert!(stdout.contains(word), "{word}: {stdout}");
    }
    let (_, stdout, _) = run(&["display", "--help"]);
    assert!(stdout.contains("--verify") && stdout.contains("raw:PATH"), "{stdout}");
}

#[test]
fn usage_errors_exit_2_with_one_line_naming_the_option() {
    let _machine = crate::support::shared();
    for (args, needle) in [
        (&["camera", "--size", "big"][..], "--size 'big'"),
        (&["display", "--sink", "tv"][..], "unknown sink 'tv'"),
        (&["camera", "--fps", "abc"][..], "--fps"),
        (&["nonsense"][..], "nonsense"),
        (&["display", "-q", "-v"][..], "-q/--quiet and -v/--verbose exclude each other"),
        (&[][..], "no command given"),
    ] {
        let (code, _, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn quiet_prints_only_warnings_and_errors() {
    let _machine = crate::support::shared();
    let demo = ["demo", "--seconds", "1", "--sink", "null", "--stats", "off"];
    let (code, _, stderr) = run(&demo);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("summary:") && stderr.contains("listening on"), "{stderr}");
    let (code, _, stderr) = run(&[&demo[..], &["-q"]].concat());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "-q printed more than warnings and errors");
    // An error still gets its line.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, stderr) = run(&["camera", "--quiet", "--listen", &addr, "--source", "pattern"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains(&format!("cannot listen on {addr}")), "{stderr}");
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let _machine = crate::support::shared();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, stderr) = run(&["camera", "--listen", &addr, "--source", "pattern"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains(&format!("cannot listen on {addr}")), "{stderr}");
}

#[test]
fn a_camera_without_a_device_says_what_it_looked_for_and_what_to_try() {
    let _machine = crate::support::shared();
    // These machines have no /dev/video*; the VM rig covers the real-device path.
    if std::path::Path::new("/dev/video0").exists() {
        return;
    }
    let (code, _, stderr) = run(&["camera"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no camera found: looked for V4L2 capture devices at /dev/video*"), "{stderr}");
    assert!(stderr.contains("--source pattern") && stderr.contains("http://PHONE:8080/video"), "{stderr}");
    let (code, stdout, _) = run(&["devices"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("no V4L2 capture devices"), "{stdout}");
}

#[test]
fn selftest_passes_and_checks_both_record_ciphers_against_published_vectors() {
    let _machine = crate::support::shared();
    let (code, stdout, stderr) = run(&["selftest"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    for line in
        ["ok    AEAD ChaCha20-Poly1305, RFC 8439 2.8.2", "ok    AEAD AES-256-GCM, McGrew-Viega test case 16"]
    {
        assert!(all.contains(line), "{line}: {all}");
    }
    assert!(all.contains(" 0 failed"), "{all}");
}

#[test]
fn the_h264_encoder_choice_on_a_machine_without_a_hardware_one() {
    use crate::support::http;
    use crate::support::process::{free_port, pattern_camera, Proc, SECS};
    let _machine = crate::support::shared();
    // These machines have no V4L2 memory-to-memory codec; the VM rig drives a real one.
    let (code, stdout, _) = run(&["encoders"]);
    assert_eq!(code, Some(0));
    if !stdout.starts_with("no hardware codecs") {
        return;
    }
    let (code, stdout, _) = run(&["encoders", "--check"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("--check found no hardware encoder"), "{stdout}");
    // hardware: a usage error before the camera opens, saying what to do.
    let (code, _, stderr) =
        run(&["camera", "--source", "pattern", "--listen", "127.0.0.1:0", "--h264-encoder", "hardware"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("this machine has no hardware H.264 encoder"), "{stderr}");
    assert!(stderr.contains("Use --h264-encoder software, or auto"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, _, stderr) = run(&["camera", "--h264-encoder", "gpu"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--h264-encoder gpu: give auto (the default), hardware or software"), "{stderr}");
    // auto (the default): software, and the start line and /state say so; an H.264 viewer
    // then gets OpenH264's stream, which /state names (at `--wire auto`'s ceiling on loopback).
    let port = free_port();
    let camera = pattern_camera(port, &[]);
    camera
        .wait_for("H.264 encoder: software (OpenH264): no hardware H.264 encoder on this machine", 10 * SECS);
    let state = String::from_utf8(http::get(port, "/state", "").body).unwrap();
    assert!(
        state.contains(r#""h264_encoder": "software (OpenH264): no hardware H.264 encoder on this machine""#),
        "{state}"
    );
    let mut display = Proc::spawn(
        "display",
        &[
            "display",
            "--connect",
            &format!("127.0.0.1:{port}"),
            "--accept",
            "h264",
            "--sink",
            "null",
            "--frames",
            "20",
        ],
    );
    assert!(display.wait_exit(20 * SECS).success(), "{}", display.output());
    let state = String::from_utf8(http::get(port, "/state", "").body).unwrap();
    assert!(
        state.contains(r#""h264_encoder": "software (OpenH264), 3.7 Mbit/s, a keyframe every 30 frames""#),
        "{state}"
    );
    drop(camera);
    let software = pattern_camera(free_port(), &["--h264-encoder", "software"]);
    software.wait_for("H.264 encoder: software (OpenH264), as --h264-encoder software asks", 10 * SECS);
}
