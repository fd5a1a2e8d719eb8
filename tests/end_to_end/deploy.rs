//! Deployment files: the systemd unit, alone and with the key drop-in, passes
//! `systemd-analyze verify`, and install-pi explains itself.

use std::process::Command;

use crate::support::BIN;

/// Runs `systemd-analyze verify` on the unit (ExecStart pointed at the binary under test,
/// since verify checks it exists), with `drop_in` as `pistream.service.d/key.conf` if
/// given; returns what it printed on stderr, after asserting it succeeded.
fn verify_unit(drop_in: Option<&str>) -> String {
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/pistream.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/pistream camera"));
    let dir =
        std::env::temp_dir().join(format!("pistream-unit-{}-{}", std::process::id(), drop_in.is_some()));
    std::fs::create_dir_all(dir.join("pistream.service.d")).unwrap();
    let path = dir.join("pistream.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/pistream", BIN)).unwrap();
    if let Some(drop_in) = drop_in {
        std::fs::write(dir.join("pistream.service.d/key.conf"), drop_in).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze is needed (package systemd; scripts/test installs it)");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "systemd-analyze verify failed:\n{stderr}");
    stderr
}

#[test]
fn the_systemd_unit_verifies() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have("the_systemd_unit_verifies", &["systemd-analyze"]) {
        return;
    }
    let stderr = verify_unit(None);
    assert!(!stderr.contains("pistream"), "warnings about the unit:\n{stderr}");
}

#[test]
fn the_key_drop_in_verifies_with_the_unit() {
    let _machine = crate::support::shared();
    if !crate::support::tools::have("the_key_drop_in_verifies_with_the_unit", &["systemd-analyze"]) {
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let unit = std::fs::read_to_string(format!("{root}/deploy/pistream.service")).unwrap();
    let drop_in = std::fs::read_to_string(format!("{root}/deploy/pistream-key.conf")).unwrap();
    assert!(unit.contains("$PISTREAM_KEY"), "ExecStart passes the key options on");
    assert!(drop_in.contains("LoadCredential=pistream.key:/etc/pistream/pistream.key"));
    assert!(drop_in.contains("PISTREAM_KEY=--key-file %d/pistream.key"));
    let stderr = verify_unit(Some(&drop_in));
    assert!(!stderr.contains("pistream"), "warnings about the unit or its drop-in:\n{stderr}");
}

#[test]
fn install_pi_refuses_a_missing_key_file_and_says_how_to_make_one() {
    let _machine = crate::support::shared();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-pi");
    let out = Command::new(script).args(["--key-file", "/nonexistent/pistream.key", BIN]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pistream keygen /nonexistent/pistream.key"), "{stderr}");
}

#[test]
fn install_pi_explains_itself_and_refuses_unknown_options() {
    let _machine = crate::support::shared();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-pi");
    let help = Command::new(script).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("pistream display --connect raspberrypi.local:5678")
    );
    let bad = Command::new(script).arg("--bogus").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn install_pi_installs_rpicam_apps_when_the_source_is_a_camera_module() {
    let _machine = crate::support::shared();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-pi");
    for (source, wanted) in [("rpicam", true), ("rpicam:1", true), ("/dev/video0", false), ("pattern", false)]
    {
        let out = Command::new(script)
            .args(["--print-packages", "--source", source, BIN])
            .env("PATH", "/usr/bin:/bin") // no rpicam-vid installed
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let packages = String::from_utf8_lossy(&out.stdout);
        assert!(packages.contains("libturbojpeg0"), "{source}: {packages}");
        assert_eq!(packages.split_whitespace().any(|p| p == "rpicam-apps"), wanted, "{source}: {packages}");
    }
}
