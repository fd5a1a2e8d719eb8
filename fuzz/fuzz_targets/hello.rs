//! `Hello::decode` on arbitrary bodies: never panics, and whatever it accepts re-encodes
//! to the same bytes and has a valid geometry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pistream::output::pistream::protocol::Hello;

fuzz_target!(|data: &[u8]| {
    if let Ok(hello) = Hello::decode(data) {
        assert_eq!(&hello.encode()[..], data);
        if let Some(g) = hello.geometry {
            assert!(g.is_valid());
        }
    }
});
