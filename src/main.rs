use clap::Parser;

// Every webhook allocates a few dozen small buffers (request head, capture,
// envelope, response) across two threads; glibc malloc was ~19% of ingest's
// CPU in the profile (docs/BENCHMARKS.md), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = callback_listener::config::Cli::parse();
    callback_listener::main(cli).await
}
