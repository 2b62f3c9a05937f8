use clap::Parser;

// Every webhook allocates a few dozen small buffers (request head, capture,
// envelope, response) across threads: glibc malloc was ~19% of ingest's CPU
// in the profile. jemalloc gave split ingest +60% req/s; mimalloc gave the
// same speed but 35% more peak memory with 10,000 live feeds
// (docs/BENCHMARKS.md).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = callback_listener::config::Cli::parse();
    callback_listener::main(cli).await
}
