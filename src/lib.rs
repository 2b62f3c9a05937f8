//! The `callback-listener` binary: one executable, several roles
//! (standalone, ingest, query), chosen by subcommand.

pub mod cli;
pub mod config;
pub mod roles;
pub mod serve;

use config::{Cli, Command};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub async fn main(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Standalone(cli.standalone));
    let shutdown = CancellationToken::new();
    match command {
        Command::Standalone(args) => {
            let mut telemetry = common::telemetry::init(
                args.common.log_format.into(),
                "callback-listener-standalone",
            );
            let listener = bind(args.listen).await?;
            serve::on_signal(shutdown.clone());
            let result = roles::standalone(args, listener, shutdown).await;
            telemetry.shutdown();
            result
        }
        Command::Ingest(args) => {
            let mut telemetry =
                common::telemetry::init(args.common.log_format.into(), "callback-listener-ingest");
            let listener = bind(args.listen).await?;
            serve::on_signal(shutdown.clone());
            let result = roles::ingest(args, listener, shutdown).await;
            telemetry.shutdown();
            result
        }
        Command::Query(args) => {
            let mut telemetry =
                common::telemetry::init(args.common.log_format.into(), "callback-listener-query");
            let listener = bind(args.listen).await?;
            serve::on_signal(shutdown.clone());
            let result = roles::query(args, listener, shutdown).await;
            telemetry.shutdown();
            result
        }
        Command::Migrate(args) => {
            let _telemetry = common::telemetry::init(Default::default(), "callback-listener");
            common::Store::migrate(&args.database_url).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Replay(args) => cli::replay::main(args).await,
        Command::Forward(args) => cli::forward::main(args).await,
        Command::Healthcheck { url } => {
            let status = reqwest::get(&url).await?.status();
            anyhow::ensure!(status.is_success(), "{url} answered {status}");
            Ok(())
        }
    }
}

async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    Ok(listener)
}
