//! Signing profiles and verdicts at rest, for both databases. Profiles hold
//! secrets, so they live in `paths.signing` / `paths.forward_signing`, never
//! in the settings the registry carries.

use sqlx::{PgPool, Row, SqlitePool};

use super::StoreError;
use crate::signing::{SigningProfile, Verdict};

/// A profile (secret included) as its column holds it.
pub fn signing_to_json(profile: Option<&SigningProfile>) -> Option<String> {
    profile.map(|p| serde_json::to_string(p).expect("profile serializes"))
}

pub fn signing_from_json(raw: Option<String>) -> Result<Option<SigningProfile>, StoreError> {
    raw.map(|r| serde_json::from_str(&r).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// The `captures.signature` column.
pub fn verdict_from(raw: Option<String>) -> Result<Option<Verdict>, StoreError> {
    raw.map(|r| Verdict::parse(&r).ok_or_else(|| StoreError::Corrupt(format!("verdict {r:?}"))))
        .transpose()
}

fn profiles<R: Row>(rows: &[R]) -> Result<Vec<(String, SigningProfile)>, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("path_id")?;
            let raw: String = r.try_get("signing")?;
            let profile =
                serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok((id, profile))
        })
        .collect()
}

/// Every path's profile, for the standalone store's copy (`sqlite/profiles.rs`).
pub(super) async fn sqlite_all_profiles(
    pool: &SqlitePool,
) -> Result<Vec<(String, SigningProfile)>, StoreError> {
    let rows = sqlx::query("SELECT path_id, signing FROM paths WHERE signing IS NOT NULL")
        .fetch_all(pool)
        .await?;
    profiles(&rows)
}

pub(super) async fn pg_profiles(
    pool: &PgPool,
    ids: &[&str],
) -> Result<Vec<(String, SigningProfile)>, StoreError> {
    let rows = sqlx::query(
        "SELECT path_id, signing FROM paths WHERE signing IS NOT NULL AND path_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    profiles(&rows)
}
