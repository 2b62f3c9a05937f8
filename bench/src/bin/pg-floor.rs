//! Postgres floor: one COPY of N rows shaped like the split shape's captures
//! (1 KiB JSON body, the headers a load generator sends, one path) into a
//! scratch table created `LIKE captures INCLUDING ALL` (same columns, primary
//! key and indexes) in the same database and server. The table is dropped at
//! the end. Prints one line: `pg-floor rows=N secs=S rows_per_sec=R`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Parser;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection as _};
use std::fmt::Write as _;

#[derive(Parser)]
struct Args {
    /// A database that already holds the captures table (migrated).
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 200_000)]
    rows: u64,
    #[arg(long, default_value = "bench_copy_floor")]
    table: String,
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        write!(s, "{b:02x}").expect("write to string");
    }
    s
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.table
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "table must be a plain identifier"
    );
    let mut conn = PgConnection::connect(&args.database_url)
        .await
        .with_context(|| format!("connecting to {}", args.database_url))?;
    let table = &args.table;
    // Safe: `table` is checked above to be a plain identifier.
    sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
        .execute(&mut conn)
        .await?;
    sqlx::query(AssertSqlSafe(format!(
        "CREATE TABLE {table} (LIKE captures INCLUDING ALL)"
    )))
    .execute(&mut conn)
    .await
    .context("creating the scratch table (is the database migrated?)")?;

    // One row's constant columns, in COPY text format (tab separated; the
    // bytea's backslash doubled for COPY).
    let body_hex = hex(&bench::payload());
    let headers = r#"[["host", "127.0.0.1:8080"], ["content-type", "application/json"], ["user-agent", "oha/1.0"], ["accept", "*/*"], ["content-length", "1024"]]"#;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let base_ms = now.as_millis() as u64;

    let start = Instant::now();
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY {table} (id, path_id, method, subpath, query_string, headers, body, ip, \
             user_agent, content_type, body_size, received_at, position) FROM STDIN"
        ))
        .await?;
    let mut chunk = String::with_capacity(4 << 20);
    for i in 0..args.rows {
        // UUIDv7-shaped, increasing: 48-bit ms, version 7, variant, counter.
        let ms = base_ms + i / 1000;
        let id = format!("{:08x}-{:04x}-7000-8000-{:012x}", ms >> 16, ms & 0xffff, i);
        writeln!(
            chunk,
            "{id}\tbench-floor\tPOST\t\t\t{headers}\t\\\\x{body_hex}\t127.0.0.1\toha/1.0\tapplication/json\t1024\t2026-01-01 00:00:00+00\t{position}",
            position = i + 1
        )
        .expect("write to string");
        if chunk.len() >= (4 << 20) - 4096 {
            copy.send(chunk.as_bytes()).await?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        copy.send(chunk.as_bytes()).await?;
    }
    let copied = copy.finish().await?;
    let secs = start.elapsed().as_secs_f64();
    sqlx::query(AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&mut conn)
        .await?;
    anyhow::ensure!(copied == args.rows, "copied {copied} of {}", args.rows);
    println!(
        "pg-floor rows={} secs={secs:.3} rows_per_sec={:.0}",
        args.rows,
        args.rows as f64 / secs
    );
    Ok(())
}
