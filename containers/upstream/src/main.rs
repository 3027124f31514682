//! Upstream iroh as an irohconf peer: the subcommands, flags, JSON lines and exit codes of
//! docs/peer-contract.md, on the iroh version this build is pinned to (see ../build.rs).
//!
//! Network-silent by construction: iroh is built without default features (no port mapper), every
//! endpoint uses the `Minimal` preset (no relays, no address lookup) and binds only the address it
//! is given.

mod duration;
mod echo;
mod endpoint;
mod output;
mod ticket;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::output::{Failure, print_json};

/// Version strings of the crates compiled in, read from this build's Cargo.lock.
pub const IROH_VERSION: &str = env!("IROHCONF_IROH_VERSION");

#[derive(Parser)]
#[command(
    name = "iroh-upstream",
    about = "upstream iroh as an irohconf peer (docs/peer-contract.md)",
    version = concat!("iroh ", env!("IROHCONF_IROH_VERSION"))
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve echo until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Dial an endpoint and echo random payloads.
    Dial(DialArgs),
    /// Decode and encode endpoint tickets.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Endpoint keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print the versions of iroh compiled in.
    Version,
    /// Do nothing until SIGINT or SIGTERM (a container to `docker exec` dials into).
    Idle,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Local address of the one UDP socket.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// ALPN to serve echo on (repeatable). Default: echo/0 and iroh-example/echo/0.
    #[arg(long = "alpn")]
    pub alpns: Vec<String>,
    /// Secret key, 64 hex characters. Default: a new random key.
    #[arg(long)]
    pub secret: Option<String>,
    /// Write TLS secrets to FILE (SSLKEYLOGFILE format).
    #[arg(long)]
    pub keylog: Option<PathBuf>,
}

#[derive(Args)]
pub struct DialArgs {
    /// Endpoint ticket of the remote (or give --id and --addr).
    pub ticket: Option<String>,
    /// Remote endpoint id, 64 hex or 52 base32 characters.
    #[arg(long, conflicts_with = "ticket")]
    pub id: Option<String>,
    /// Remote address IP:PORT (repeatable).
    #[arg(long = "addr", conflicts_with = "ticket")]
    pub addrs: Vec<SocketAddr>,
    /// ALPN to dial.
    #[arg(long, default_value = "echo/0")]
    pub alpn: String,
    /// Payload bytes per echo (13: the length of the echo example's "Hello, world!").
    #[arg(long, default_value_t = 13)]
    pub size: usize,
    /// Number of echoes.
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    /// Echoes in flight at a time, each on its own stream (1: one after another).
    #[arg(long, default_value_t = 1)]
    pub streams: usize,
    /// Connections one after another, each with its own handshake and echoes.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Open connections one after another until this much time has passed (instead of
    /// --connections; 0: off). Go duration syntax.
    #[arg(long, default_value = "0", value_parser = duration::parse_go_duration)]
    pub duration: Duration,
    /// Bound on the whole dial (Go duration syntax: 10s, 1m30s, 500ms).
    #[arg(long, default_value = "10s", value_parser = duration::parse_go_duration)]
    pub timeout: Duration,
    /// Keep the connection idle this long after the handshake, before the first echo.
    #[arg(long, default_value = "0", value_parser = duration::parse_go_duration)]
    pub idle: Duration,
    /// Local address of the one UDP socket.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Secret key, 64 hex characters. Default: a new random key.
    #[arg(long)]
    pub secret: Option<String>,
    /// Write TLS secrets to FILE (SSLKEYLOGFILE format).
    #[arg(long)]
    pub keylog: Option<PathBuf>,
    /// server_name to send: "none" or "iroh-invalid". iroh sends what its version sends;
    /// asking for the other is unsupported (exit 127).
    #[arg(long)]
    pub sni: Option<String>,
    /// Key exchange groups to offer. Only iroh's own list is supported.
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Misbehaviour of the Go peer (plain X.509 TLS); upstream iroh cannot: exit 127.
    #[arg(long)]
    pub plain_x509: bool,
    /// Misbehaviour of the Go peer (no client key); upstream iroh cannot: exit 127.
    #[arg(long)]
    pub no_client_key: bool,
}

#[derive(Subcommand)]
enum TicketCommand {
    /// Print the endpoint id and addresses in TICKET ("-": one ticket per line of stdin).
    Decode { ticket: std::ffi::OsString },
    /// Build a ticket from its parts.
    Encode(ticket::EncodeArgs),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generate a new secret key.
    Generate,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // clap uses 0 for --help/--version and 2 for bad usage, as the contract does.
            return ExitCode::from(err.exit_code() as u8);
        }
    };
    init_tracing();

    let result = match cli.command {
        Command::Version => Ok(print_json(&output::versions())),
        Command::Key(KeyCommand::Generate) => Ok(print_json(&endpoint::generate_key())),
        Command::Ticket(TicketCommand::Decode { ticket }) => ticket::decode(&ticket),
        Command::Ticket(TicketCommand::Encode(args)) => ticket::encode(&args),
        Command::Serve(args) => {
            // iroh reads the key log path from SSLKEYLOGFILE; set it before any thread exists.
            set_keylog_env(args.keylog.as_ref());
            runtime().block_on(echo::serve(args))
        }
        Command::Dial(args) => {
            set_keylog_env(args.keylog.as_ref());
            runtime().block_on(echo::dial(args))
        }
        Command::Idle => runtime().block_on(async {
            let shutdown = endpoint::ShutdownSignal::install()?;
            print_json(&serde_json::json!({"event": "idle", "version": output::version_label()}));
            shutdown.wait().await;
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn set_keylog_env(path: Option<&PathBuf>) {
    if let Some(path) = path {
        // SAFETY: called from main before the runtime or any other thread is started.
        unsafe { std::env::set_var("SSLKEYLOGFILE", path) };
    }
}

/// Diagnostics go to stderr; RUST_LOG selects them (default: warnings only).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Failed(format!("{err:#}"))
    }
}
