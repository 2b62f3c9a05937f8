//! Reading a path back through the logs API: pages, ids, the count check.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::bail;
use uuid::Uuid;

use crate::client;

#[derive(serde::Deserialize)]
pub(crate) struct Page {
    pub(crate) items: Vec<Item>,
    pub(crate) next_cursor: Option<String>,
}

#[derive(serde::Deserialize)]
pub(crate) struct Item {
    pub(crate) id: Uuid,
}

pub(crate) async fn page(
    http: &reqwest::Client,
    api: &str,
    path: &str,
    cursor: Option<&str>,
) -> anyhow::Result<Page> {
    let mut url = format!("{api}/api/paths/{path}/logs?limit=500");
    if let Some(c) = cursor {
        url.push_str("&cursor=");
        url.push_str(c);
    }
    let resp = http.get(&url).send().await?;
    let status = resp.status();
    if !status.is_success() {
        bail!(
            "GET {url}: {status}: {}",
            resp.text().await.unwrap_or_default()
        );
    }
    Ok(resp.json().await?)
}

/// Every id of a path, newest first, through the logs API's pagination.
pub(crate) async fn all_ids(
    http: &reqwest::Client,
    api: &str,
    path: &str,
) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let p = page(http, api, path, cursor.as_deref()).await?;
        ids.extend(p.items.iter().map(|i| i.id));
        match p.next_cursor {
            Some(c) if !p.items.is_empty() => cursor = Some(c),
            _ => return Ok(ids),
        }
    }
}

pub(crate) async fn count(
    api: &str,
    path: &str,
    expect: Option<u64>,
    wait: u64,
) -> anyhow::Result<()> {
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(wait);
    loop {
        let ids = all_ids(&http, api, path).await?;
        let unique = ids.iter().collect::<HashSet<_>>().len();
        let n = ids.len() as u64;
        let done = match expect {
            None => true,
            Some(e) => n >= e || Instant::now() >= deadline,
        };
        if done {
            println!("count={n} unique={unique}");
            if unique as u64 != n {
                bail!("{} ids appear more than once", n - unique as u64);
            }
            if let Some(e) = expect {
                if n != e {
                    bail!("stored {n} captures, expected exactly {e}");
                }
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// --- fixed-rate webhooks ----------------------------------------------------------
