//! Any payload: decoding never panics, and what decodes re-encodes to a
//! payload that decodes to the same capture.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((capture, body_ref)) = common::envelope::decode(&bytes::Bytes::copy_from_slice(data)) {
        if body_ref.is_none() {
            let (again, _) = common::envelope::decode(&common::envelope::encode(&capture)).unwrap();
            assert_eq!(again, capture);
        }
    }
});
