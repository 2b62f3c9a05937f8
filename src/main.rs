use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = callback_listener::config::Cli::parse();
    callback_listener::main(cli).await
}
