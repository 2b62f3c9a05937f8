//! Any raw query string: decoding into ordered pairs never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let _ = common::capture::parse_query(s);
});
