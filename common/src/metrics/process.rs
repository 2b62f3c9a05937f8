//! The process's own figures (CPU, memory, descriptors, threads: the
//! client_golang set, by `metrics-process`) and the build it runs.

use std::sync::OnceLock;

static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();

fn collector() -> &'static metrics_process::Collector {
    COLLECTOR.get_or_init(|| {
        let c = metrics_process::Collector::default();
        c.describe();
        c
    })
}

pub(super) fn register(build: super::Build) {
    collector().collect();
    metrics::gauge!(
        "cl_build_info",
        "version" => build.version,
        "git_commit" => build.git_commit,
    )
    .set(1.0);
}

/// Reads /proc now, so a scrape sees current figures.
pub(super) fn collect() {
    collector().collect();
}
