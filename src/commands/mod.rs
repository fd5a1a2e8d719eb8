//! The commands that do not stream: `pistream devices` (what cameras there are),
//! `pistream selftest` (this machine's build checked against its references) and
//! `pistream keygen` (a new key file; reading one for `--key-file` lives here too).

pub mod devices;
pub mod encoders;
pub mod keygen;
pub mod selftest;
