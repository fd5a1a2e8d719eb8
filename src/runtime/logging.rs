//! The one logging facility: the `log` crate's macros, printed by this small logger to
//! stderr as `pistream: MESSAGE` (info), `pistream: warning: ...`, `pistream: error: ...`
//! and `pistream: debug: ...`. `-q` keeps warnings and errors, `-v` adds debug lines.
//!
//! Writing a line locks stderr and formats straight into it: no allocation, so logging
//! from a hot path cannot break the no-allocation rule (none does per frame anyway).

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger;

static LOGGER: StderrLogger = StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Libraries (str0m's ICE and DTLS) speak below warnings only with -v.
        let ours = metadata.target().starts_with("pistream");
        metadata.level() <= log::max_level()
            && (ours || metadata.level() <= Level::Warn || log::max_level() >= LevelFilter::Debug)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let tag = match record.level() {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            Level::Info => "",
            Level::Debug => "debug: ",
            Level::Trace => "trace: ",
        };
        // A closed stderr is no reason to stop streaming.
        let _ = writeln!(std::io::stderr().lock(), "pistream: {tag}{}", record.args());
    }

    fn flush(&self) {}
}

/// How much to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Warnings and errors only (`-q`).
    Quiet,
    /// What happens, once a second stats and a summary (the default).
    #[default]
    Normal,
    /// Also debug lines (`-v`).
    Verbose,
}

/// Installs the logger (once per process; later calls only change the level).
pub fn init(verbosity: Verbosity) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(match verbosity {
        Verbosity::Quiet => LevelFilter::Warn,
        Verbosity::Normal => LevelFilter::Info,
        Verbosity::Verbose => LevelFilter::Debug,
    });
}
