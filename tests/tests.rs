//! End-to-end tests: the real `pistream` binary, real sockets on loopback, asserting on
//! what a user sees (exit codes, stderr lines) and on bytes on the wire.

mod util;

mod alloc;
mod bad_input;
mod cli;
mod convert;
mod deploy;
mod e2e;
mod faults;
mod keys;
mod negotiate;
mod protocol_doc;
mod protocol_props;
mod slow_link;
mod throttle;
mod url_source;
mod web;
mod window;
