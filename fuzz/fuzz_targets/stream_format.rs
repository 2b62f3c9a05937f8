//! Any payload: decoding never panics, and what decodes re-encodes to a
//! payload that decodes to the same capture.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = common::envelope::decode(&bytes::Bytes::copy_from_slice(data)) {
        if env.body_ref.is_none() {
            let again = common::envelope::decode(&common::envelope::encode(&env.capture)).unwrap();
            assert_eq!(again.capture, env.capture);
        }
    }
});
