//! Postgres over TLS, as every managed Postgres requires: `sslmode=require`
//! in the database URL (rustls, no OpenSSL), against the machine's server
//! (scripts/services.sh turns its `ssl` on where it is off).

use common::{PathInfo, Store};
use sqlx::Connection as _;

use crate::store::capture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_works_over_tls_with_sslmode_require() {
    let db = testkit::TestDb::new().await;
    let url = format!("{}?sslmode=require", db.url);
    let store = Store::connect(&url)
        .await
        .expect("connect with sslmode=require");
    let path = PathInfo::new(common::PathId::parse("tls_path").unwrap());
    store.create_path(&path).await.unwrap();
    let c = capture("tls_path", b"over tls");
    assert_eq!(
        store
            .insert_batch(std::slice::from_ref(&c))
            .await
            .unwrap()
            .inserted
            .len(),
        1
    );
    let back = store
        .get_capture(&path.path_id, c.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.body, c.body);

    // The same URL really gives an encrypted session.
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(ssl, "sslmode=require gave an unencrypted connection");
}
