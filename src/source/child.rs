//! A camera program run as a child process (`rpicam-vid`): started with its stdout as a
//! pipe of frames, its stderr read line by line on a thread of its own and handed to the
//! source's handler, stopped with SIGTERM and, a second later, SIGKILL, and always waited
//! for (no zombies).
//!
//! It never outlives pistream: the child asks the kernel for SIGKILL when the thread that
//! started it ends (`PR_SET_PDEATHSIG`), which covers pistream being killed with SIGKILL.
//! Sources start their child from the thread that opens them and restart it from the
//! capture thread; both live as long as the source (the capture thread drops it before it
//! ends), so the signal only comes when the source is gone anyway.

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long a child has after SIGTERM before it gets SIGKILL.
pub(crate) const TERMINATE_GRACE: Duration = Duration::from_secs(1);
/// Longest stderr line kept whole (longer ones are cut, so a child cannot make us hold an
/// unbounded line).
const MAX_LINE: usize = 4096;

/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnError {
    /// The program is not on `PATH` (or not executable).
    #[error("{program} is not installed (not found on PATH)")]
    NotFound { program: String },
    #[error("cannot start {program}: {source}")]
    Failed { program: String, source: io::Error },
}

/// A running child whose stdout pistream reads; stopped and reaped when dropped.
pub(crate) struct ChildProcess {
    program: String,
    child: Child,
    stdout: ChildStdout,
    stderr_thread: Option<JoinHandle<()>>,
}

/// Whether `program` can be run: a path that exists, or a name found on `PATH`.
pub(crate) fn find_program(program: &str) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        let path = std::path::PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| {
        use std::os::unix::fs::PermissionsExt;
        candidate.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

impl ChildProcess {
    /// Starts `program` with `args`, stdin from /dev/null, stdout a pipe read by the source
    /// and stderr handed to `on_line` one line at a time (lossy UTF-8, at most 4 KiB, without
    /// the line end) on a thread named after the program.
    pub(crate) fn spawn<I, S>(
        program: &str,
        args: I,
        mut on_line: impl FnMut(&str) + Send + 'static,
    ) -> Result<ChildProcess, SpawnError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let parent = std::process::id() as libc::pid_t;
        let die_with_parent = move || {
            // SAFETY: a plain system call with integer arguments.
            if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before the line above: then nobody will send the
            // signal, so leave now.
            // pistream's threads block the signals it waits for; the program must not inherit
            // that, or SIGTERM would stay pending instead of ending it.
            // SAFETY: an empty set on the stack, then sigprocmask with valid pointers.
            unsafe {
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            }
            // SAFETY: getppid cannot fail or touch memory.
            if unsafe { libc::getppid() } != parent {
                // SAFETY: ends the forked child at once, touching nothing of the parent's.
                unsafe { libc::_exit(1) };
            }
            Ok(())
        };
        // SAFETY: the closure runs in the child between fork and exec and calls only
        // async-signal-safe functions (prctl, sigemptyset, sigprocmask, getppid, _exit); it
        // allocates nothing.
        unsafe { command.pre_exec(die_with_parent) };
        let mut child = command.spawn().map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => SpawnError::NotFound { program: program.to_string() },
            _ => SpawnError::Failed { program: program.to_string(), source },
        })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            unreachable!("both were asked for as pipes");
        };
        let name: String = program.rsplit('/').next().unwrap_or(program).chars().take(15).collect();
        let stderr_thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut line = Vec::with_capacity(256);
                loop {
                    line.clear();
                    match (&mut reader).take(MAX_LINE as u64).read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let text = String::from_utf8_lossy(&line);
                    on_line(text.trim_end_matches(['\n', '\r']));
                    if line.len() == MAX_LINE && line.last() != Some(&b'\n') {
                        // The rest of an overlong line: dropped.
                        let mut rest = Vec::new();
                        let _ = reader.read_until(b'\n', &mut rest);
                    }
                }
            })
            .map_err(|source| SpawnError::Failed { program: program.to_string(), source })?;
        Ok(ChildProcess { program: program.to_string(), child, stdout, stderr_thread: Some(stderr_thread) })
    }

    /// The pipe's raw descriptor (for `poll` and `readv`).
    pub(crate) fn stdout_raw(&self) -> std::os::fd::RawFd {
        self.stdout.as_raw_fd()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the child ended, if it has.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the child: SIGTERM, then SIGKILL after [`TERMINATE_GRACE`] if it is still
    /// there, and reaps it. Returns how it ended.
    pub(crate) fn stop(mut self) -> Option<ExitStatus> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> Option<ExitStatus> {
        let pid = Pid::from_raw(self.child.id() as i32);
        if let Some(status) = self.exited() {
            self.join_stderr();
            return Some(status);
        }
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + TERMINATE_GRACE;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                self.join_stderr();
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        log::debug!("{} ignored SIGTERM for {:.0?}: killing it", self.program, TERMINATE_GRACE);
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        self.join_stderr();
        status
    }

    /// Waits (briefly) for the stderr thread, which ends when the child's stderr closes; a
    /// grandchild that kept it open would keep it running, so it is left alone after 200 ms.
    fn join_stderr(&mut self) {
        let Some(thread) = self.stderr_thread.take() else { return };
        let deadline = Instant::now() + Duration::from_millis(200);
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if self.stderr_thread.is_some() || self.child.try_wait().ok().flatten().is_none() {
            self.stop_now();
        }
    }
}
