//! The `pistream` command: parse the command line, build a `Config`, run, and map the
//! outcome to one line and an exit code (0 ok, 1 runtime error, 2 usage error, 3 internal
//! error: a thread panicked).

use std::process::ExitCode;

use argh::FromArgs;
use pistream::app::config::Config;
use pistream::app::error::AppError;
use pistream::app::{self, Finish};
use pistream::cli::Args;
use pistream::runtime::logging::Verbosity;
use pistream::runtime::Shutdown;

#[global_allocator]
static ALLOCATOR: pistream::runtime::alloc_count::CountingAllocator =
    pistream::runtime::alloc_count::CountingAllocator;

fn main() -> ExitCode {
    let code = run();
    pistream::runtime::alloc_count::report_if_asked();
    code
}

fn run() -> ExitCode {
    // Installed first, so that messages about the command line itself are printed; the
    // level the command asks for (-q, -v) is set once the arguments are parsed.
    pistream::runtime::logging::init(Verbosity::Normal);
    let argv: Vec<String> = std::env::args().collect();
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let args = match Args::from_args(&words[..1], &words[1..]) {
        Ok(args) => args,
        Err(early) => {
            // --help (status Ok) or a parse error, already worded by argh.
            return if early.status.is_ok() {
                println!("{}", early.output);
                ExitCode::SUCCESS
            } else {
                eprintln!("{}", early.output.trim_end());
                eprintln!("Run 'pistream --help' for usage.");
                ExitCode::from(2)
            };
        }
    };
    match args.verbosity() {
        Ok(verbosity) => pistream::runtime::logging::init(verbosity),
        Err(message) => return fail(&AppError::Usage(message)),
    }
    let config = match args.into_config() {
        Ok(config) => config,
        Err(message) => return fail(&AppError::Usage(message)),
    };
    match config {
        Config::Version => {
            println!("{}", app::version_line());
            return ExitCode::SUCCESS;
        }
        Config::Selftest => {
            let passed = pistream::commands::selftest::report(&pistream::commands::selftest::run());
            return if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
        Config::Keygen { path } => {
            return match pistream::commands::keygen::generate(&path) {
                Ok(()) => {
                    println!("wrote a new key to {} (mode 0600): copy it to the other end and use --key-file {} on both", path.display(), path.display());
                    ExitCode::SUCCESS
                }
                Err(message) => fail(&AppError::Usage(message)),
            };
        }
        Config::Encoders { check, geometry, frames } => {
            let passed = pistream::commands::encoders::run(check, geometry, frames);
            return if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
        Config::Devices { geometry, fps } => {
            print!("{}", pistream::commands::devices::report(geometry, fps));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let shutdown = Shutdown::new();
    if let Err(e) = pistream::runtime::signal::install(shutdown.clone()) {
        return fail(&AppError::Signal(e));
    }
    match app::run(config, shutdown) {
        Ok(Finish::PeerEnded(why)) => {
            log::info!("peer ended the stream ({why})");
            ExitCode::SUCCESS
        }
        Ok(Finish::Stopped(why)) => {
            log::info!("done ({why})");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &AppError) -> ExitCode {
    log::error!("{e}");
    ExitCode::from(e.exit_code() as u8)
}
