//! The database pool's figures: connections idle and in use, its limit
//! (read at each scrape) and how long the writer waits for a connection.

use std::sync::Weak;
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

/// A connection, with the wait recorded in
/// `cl_store_pool_acquire_duration_seconds`.
pub(super) async fn acquire<DB: Database>(pool: &Pool<DB>) -> sqlx::Result<PoolConnection<DB>> {
    let start = Instant::now();
    let conn = pool.acquire().await?;
    metrics::histogram!("cl_store_pool_acquire_duration_seconds")
        .record(start.elapsed().as_secs_f64());
    Ok(conn)
}

/// Reports the pool's gauges at each scrape, for as long as `owner` (the
/// store holding the pool) lives.
pub(super) fn report<DB: Database, T: Send + Sync + 'static>(
    owner: Weak<T>,
    pool: impl Fn(&T) -> &Pool<DB> + Send + Sync + 'static,
) {
    crate::metrics::on_scrape(move || {
        let Some(owner) = owner.upgrade() else {
            return false;
        };
        let pool = pool(&owner);
        let (size, idle) = (pool.size() as usize, pool.num_idle());
        metrics::gauge!("cl_store_pool_connections", "state" => "idle").set(idle as f64);
        metrics::gauge!("cl_store_pool_connections", "state" => "in_use")
            .set(size.saturating_sub(idle) as f64);
        metrics::gauge!("cl_store_pool_max_connections")
            .set(f64::from(pool.options().get_max_connections()));
        true
    });
}
