//! `v4l2-writer pad`: the frame half of the VM rig's stand-in `rpicam-vid` (tests/vm/rpicam-vid).
//! It runs a program that writes tight I420 frames to its stdout (GStreamer's `libcamerasrc`
//! pipeline), and writes each frame to its own stdout with every row padded as a Raspberry
//! Pi's ISP pads it (luma rows to `--align` bytes, chroma rows to half that), one write per
//! frame, as rpicam-vid's `fwrite` does. The program dies with it (PR_SET_PDEATHSIG).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Runs `program`, padding its `width` x `height` frames to `align`-byte rows.
pub fn run(width: usize, height: usize, align: usize, program: &[String]) -> Result<(), String> {
    let (name, args) = program.split_first().ok_or("pad needs a program after --")?;
    let mut command = Command::new(name);
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped());
    // SAFETY: runs in the child before exec; prctl and sigprocmask are async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            let mut none: nix::libc::sigset_t = std::mem::zeroed();
            nix::libc::sigemptyset(&mut none);
            nix::libc::sigprocmask(nix::libc::SIG_SETMASK, &none, std::ptr::null_mut());
            nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL as nix::libc::c_ulong);
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| format!("cannot run {name}: {e}"))?;
    let mut frames = child.stdout.take().expect("piped");
    let stride = width.next_multiple_of(align);
    let mut tight = vec![0u8; width * height * 3 / 2];
    let mut padded = vec![0u8; stride * height * 3 / 2];
    let mut out = std::io::stdout().lock();
    let mut count = 0u64;
    loop {
        if frames.read_exact(&mut tight).is_err() {
            break;
        }
        let mut from = 0;
        let mut to = 0;
        for (rows, row, pitch) in [
            (height, width, stride),
            (height / 2, width / 2, stride / 2),
            (height / 2, width / 2, stride / 2),
        ] {
            for _ in 0..rows {
                padded[to..to + row].copy_from_slice(&tight[from..from + row]);
                from += row;
                to += pitch;
            }
        }
        if out.write_all(&padded).and_then(|()| out.flush()).is_err() {
            break;
        }
        count += 1;
        if count == 1 {
            eprintln!("v4l2-writer: pad: first frame ({width}x{height}, rows of {stride} bytes)");
        }
    }
    let _ = child.kill();
    let status = child.wait().map_err(|e| e.to_string())?;
    eprintln!("v4l2-writer: pad: {count} frames; {name} ended ({status})");
    Ok(())
}
