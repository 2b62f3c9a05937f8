//! Any string: cursor decoding never panics; what decodes re-encodes to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(id) = common::cursor::decode(s) {
        assert_eq!(common::cursor::decode(&common::cursor::encode(id)), Ok(id));
    }
});
