//! Keyset cursors for the logs endpoint. A cursor is the id of the last item
//! of the previous page: UUIDv7 ids are time-ordered, so "older than the
//! cursor" is `id < cursor`, served by the `(path_id, id)` index.

use uuid::Uuid;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cursor is not one this service issued")]
pub struct InvalidCursor;

pub fn encode(last_id: Uuid) -> String {
    last_id.simple().to_string()
}

pub fn decode(raw: &str) -> Result<Uuid, InvalidCursor> {
    // Only the form `encode` issues (32 hex digits) is accepted, so a cursor
    // stays opaque and can change form behind a version later.
    if raw.len() != 32 {
        return Err(InvalidCursor);
    }
    Uuid::try_parse(raw).map_err(|_| InvalidCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let id = Uuid::now_v7();
        assert_eq!(decode(&encode(id)), Ok(id));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "x", "not-a-cursor", &"g".repeat(32), "'; drop table--"] {
            assert_eq!(decode(bad), Err(InvalidCursor), "{bad}");
        }
    }
}
