//! Property tests of every decoder that sees outside input: the stream
//! format, path ids, query strings and cursors. Round trips hold, and no
//! input makes any of them panic.

use bytes::Bytes;
use chrono::DateTime;
use common::capture::parse_query;
use common::{cursor, envelope, Capture, Header, PathId};
use proptest::prelude::*;
use uuid::Uuid;

fn path_id() -> impl Strategy<Value = PathId> {
    "[A-Za-z0-9_-]{1,64}".prop_map(|s| PathId::parse(&s).unwrap())
}

fn header() -> impl Strategy<Value = Header> {
    (
        "[a-z][a-z0-9-]{0,20}",
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(name, value)| Header {
            name,
            value: Bytes::from(value),
        })
}

fn capture() -> impl Strategy<Value = Capture> {
    (
        any::<u128>(),
        path_id(),
        "[A-Z][A-Z-]{0,15}",
        "(/[^?#\\n]{0,20}){0,3}",
        "[ -~]{0,60}",
        proptest::collection::vec(header(), 0..8),
        proptest::collection::vec(any::<u8>(), 0..2048),
        0i64..4_000_000_000_000_000,
    )
        .prop_map(
            |(id, path_id, method, subpath, query_string, headers, body, micros)| Capture {
                id: Uuid::from_u128(id),
                path_id,
                method,
                subpath,
                query_string,
                headers,
                header_order: common::HeaderOrder::Grouped,
                body: Bytes::from(body),
                ip: "192.0.2.1".into(),
                received_at: DateTime::from_timestamp_micros(micros).unwrap(),
                signature: None,
                response: None,
            },
        )
}

proptest! {
    #[test]
    fn stream_format_round_trips(c in capture()) {
        let (decoded, body_ref) = envelope::decode(&envelope::encode(&c)).unwrap();
        prop_assert_eq!(decoded, c);
        prop_assert!(body_ref.is_none());
    }

    #[test]
    fn stream_decoder_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = envelope::decode(&Bytes::from(raw));
    }

    #[test]
    fn stream_decoder_survives_corrupted_payloads(c in capture(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut raw = envelope::encode(&c).to_vec();
        let i = at.index(raw.len());
        raw[i] = byte;
        let _ = envelope::decode(&Bytes::from(raw));
    }

    #[test]
    fn path_ids_accept_exactly_the_documented_alphabet(s in "\\PC{0,80}") {
        let valid = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        prop_assert_eq!(PathId::parse(&s).is_ok(), valid);
    }

    #[test]
    fn valid_path_ids_round_trip(id in path_id()) {
        prop_assert_eq!(PathId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn query_pairs_round_trip_in_order(pairs in proptest::collection::vec(("\\PC{0,12}", "\\PC{0,12}"), 0..8)) {
        let raw = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        prop_assert_eq!(parse_query(&raw), pairs);
    }

    #[test]
    fn query_parser_never_panics(raw in "\\PC{0,200}") {
        let _ = parse_query(&raw);
    }

    #[test]
    fn cursors_round_trip(id in any::<u128>()) {
        let id = Uuid::from_u128(id);
        prop_assert_eq!(cursor::decode(&cursor::encode(id)), Ok(id));
    }

    #[test]
    fn cursor_decoder_never_panics(raw in "\\PC{0,64}") {
        let _ = cursor::decode(&raw);
    }
}
