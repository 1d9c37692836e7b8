//! The command line: parsing (clap) and dispatch, one file per command group — `objects` (put, get, ls, …, with
//! `batch` and `transfer` beneath it, and `uploads`, `versioning`, `cors` and `lifecycle` beside it), `copy` (cp,
//! mv), `sync`, `buckets`, `cdn`, `keys`, `encryption` (its flags and `keygen`), and `completions` — plus the faces that serve (`serve`, `mcp`, `edge`), which
//! live beside the CLI and are only started from here. What a command prints is for people on stdout,
//! diagnostics go to stderr, and exit codes say what happened.

mod batch;
mod buckets;
mod cdn;
mod copy;
mod cors;
pub(crate) mod encryption;
mod keys;
mod lifecycle;
mod objects;
mod progress;
mod sync;
mod transfer;
mod uploads;
mod versioning;

use crate::config::Connection;
use crate::error::{Failure, Outcome};
use crate::runtime::interrupt::Interrupt;
use crate::runtime::Runtime;
use clap::{Parser, Subcommand};

/// Files of `put -r`/`get -r` in flight when --concurrency is not given; also the requests in flight a batch
/// shares among its files' parts.
const DEFAULT_CONCURRENCY: u32 = 4;

const AFTER_HELP: &str = "\
Configuration comes from flags or the environment: SPACES_ENDPOINT, SPACES_REGION, SPACES_BUCKET,
SPACES_PATH_STYLE=1, and credentials from SPACES_ACCESS_KEY_ID / SPACES_SECRET_ACCESS_KEY (or the AWS_*
equivalents, or a .env file in the working directory).

Exit codes: 0 success, 1 failure, 2 usage or invalid argument, 3 not found, 4 access denied or bad
credentials, 5 encrypted and not opened by the identity or passphrase given, 130 interrupted (Ctrl-C).";

/// `spaces`: the whole command line.
#[derive(Parser, Debug)]
#[command(
    name = "spaces",
    version,
    about = "DigitalOcean Spaces (and any S3-compatible store) from the command line",
    after_help = AFTER_HELP
)]
pub(crate) struct Cli {
    #[command(flatten)]
    conn: Connection,
    /// Print the Prometheus metrics of this run to stderr when done
    #[arg(long, global = true)]
    print_metrics: bool,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Is this `spaces serve` (whose audit lines are part of its normal output)?
    pub(crate) fn serving(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Object(objects::ObjectCommand),
    #[command(flatten)]
    Bucket(buckets::BucketCommand),
    /// Copy SRC to DST server-side, metadata and content type kept; either may be spaces://BUCKET/KEY (or
    /// s3://BUCKET/KEY) for another bucket at the same endpoint
    Cp { src: String, dst: String },
    /// Move SRC to DST: server-side copy, then delete. SRC ending in / moves every object under that prefix;
    /// either side may be spaces://BUCKET/KEY for another bucket
    Mv { src: String, dst: String },
    /// Make DST like SRC, moving only what changed: a local directory to spaces://BUCKET/PREFIX, back, or
    /// between prefixes (server-side)
    Sync(sync::SyncArgs),
    /// Manage DigitalOcean CDN endpoints (list, show, create, update, rm) and purge cached files; needs
    /// DIGITALOCEAN_TOKEN
    Cdn {
        #[command(subcommand)]
        action: cdn::Action,
        /// Print JSON instead of a table
        #[arg(long, global = true)]
        json: bool,
    },
    /// Manage Spaces access keys (list, show, create with grants, rename, rm, rotate); needs DIGITALOCEAN_TOKEN
    Keys {
        #[command(subcommand)]
        action: keys::Action,
        /// Print JSON instead of a table
        #[arg(long, global = true)]
        json: bool,
    },
    /// Run the storage service: a JSON API under /v1 (bearer token), /healthz, /readyz, /metrics and
    /// /openapi.json. With no endpoint configured it stores into an embedded S3 store under --data-dir
    /// (bucket "spaces" unless --bucket says otherwise).
    Serve(crate::serve::ServeArgs),
    /// Serve the Model Context Protocol on stdin/stdout, for AI assistants: tools to list, read, write and
    /// delete objects, make URLs, purge the CDN and manage access keys, and objects as spaces://BUCKET/KEY
    /// resources. Register it with an MCP client as the command `spaces mcp --bucket NAME`.
    Mcp(crate::mcp::McpArgs),
    /// Serve a wasi:http/proxy component over HTTP as an edge platform would: by default the edge build of spaces
    /// (the object routes of `serve`, configured from this command's settings and SPACES_TOKEN), or any proxy
    /// component given with --component
    Edge(crate::edge::EdgeArgs),
    /// Make a new age identity for `put --encrypt-to` / `get --identity`: the identity goes to FILE (created
    /// readable by you alone) or stdout, its recipient (age1…, the public key to encrypt to) to stderr
    Keygen {
        /// Write the identity to this new file instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Print a completion script for SHELL on stdout, e.g. `spaces completions bash >
    /// ~/.local/share/bash-completion/completions/spaces`
    Completions { shell: clap_complete::Shell },
}

/// Runs the parsed command.
pub(crate) async fn run(cli: &Cli) -> Outcome<()> {
    let conn = &cli.conn;
    match &cli.command {
        Command::Completions { shell } => {
            // Generated into memory: clap_complete panics on a failed write, and a reader such as `head` may close
            // the pipe early, which is no failure of ours.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut <Cli as clap::CommandFactory>::command(), "spaces", &mut script);
            match std::io::Write::write_all(&mut std::io::stdout(), &script) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::caused("writing to stdout", e)),
                _ => Ok(()),
            }
        }
        Command::Keygen { output } => {
            let runtime = conn.runtime(1, None)?;
            let pair = crate::runtime::session::generate_identity(&runtime).await?;
            encryption::keygen(pair, output.as_deref())
        }
        Command::Serve(args) => crate::serve::run(conn, args).await,
        Command::Mcp(args) => crate::mcp::run(conn, args).await,
        Command::Edge(args) => crate::edge::run(conn, args).await,
        Command::Cdn { action, json } => {
            let runtime = conn.runtime(2, None)?;
            let result = cdn::run(&runtime, conn, action, *json).await;
            with_metrics(cli, &runtime, result)
        }
        Command::Keys { action, json } => {
            let runtime = conn.runtime(2, None)?;
            let result = keys::run(&runtime, conn, action, *json).await;
            with_metrics(cli, &runtime, result)
        }
        Command::Sync(args) => {
            let runtime = conn.runtime(sync::SyncArgs::instances(conn) + 1, None)?;
            let result = sync::run(&runtime, conn, args).await;
            with_metrics(cli, &runtime, result)
        }
        Command::Mv { src, dst } => {
            let runtime = conn.runtime(3, None)?;
            let result = copy::mv(&runtime, conn, src, dst).await;
            with_metrics(cli, &runtime, result)
        }
        Command::Cp { src, dst } => {
            let runtime = conn.runtime(2, None)?;
            let result = copy::cp(&runtime, conn, src, dst).await;
            with_metrics(cli, &runtime, result)
        }
        Command::Bucket(command) => {
            let runtime = conn.runtime(2, None)?;
            let result = buckets::run(&runtime, conn, command).await;
            with_metrics(cli, &runtime, result)
        }
        Command::Object(command) => {
            let runtime = conn.runtime(command.workers(conn) + 1, None)?;
            let result = objects::run(&runtime, conn, command).await;
            with_metrics(cli, &runtime, result)
        }
    }
}

/// The bucket and key an argument names: `spaces://BUCKET/KEY` (or `s3://BUCKET/KEY`), or a bare key in the
/// configured bucket. Every command that takes an object or a prefix reads its argument here.
fn locate(arg: &str, conn: &Connection) -> Outcome<(String, String)> {
    match object_keys::location(arg) {
        Some(found) => found.map_err(Failure::usage),
        None => {
            let bucket = conn.bucket.clone().ok_or_else(|| {
                Failure::usage(format!(
                    "no bucket for {arg:?}: pass --bucket NAME, set SPACES_BUCKET, or write spaces://BUCKET/{arg}"
                ))
            })?;
            Ok((bucket, arg.to_string()))
        }
    }
}

/// A JSON file the user wrote (`cors set --file`, `lifecycle set --file`) read as `T`; `shape` says what it should
/// look like when it does not parse.
fn read_json_file<T: serde::de::DeserializeOwned>(path: &std::path::Path, shape: &str) -> Outcome<T> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| Failure::usage(format!("cannot read {shown}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Failure::usage(format!("{shown} is not {shape}: {e}")))
}

/// With --print-metrics, the run's metrics go to stderr whatever the outcome.
fn with_metrics(cli: &Cli, runtime: &Runtime, result: Outcome<()>) -> Outcome<()> {
    if cli.print_metrics {
        eprint!("{}", runtime.shared().metrics.render());
    }
    result
}

/// Runs a transfer. The first Ctrl-C interrupts it through the component, which fails it its own way (aborting
/// a multipart upload, so nothing is left behind); a second Ctrl-C gives up at once.
async fn interruptible<T>(
    interrupts: &[Interrupt],
    transfer: impl std::future::Future<Output = Outcome<T>>,
) -> Outcome<T> {
    tokio::pin!(transfer);
    tokio::select! {
        r = &mut transfer => return r,
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("spaces: interrupted; cancelling the transfer (Ctrl-C again to quit at once)");
    for i in interrupts {
        i.trigger();
    }
    tokio::select! {
        r = &mut transfer => r.map_err(|e| {
            tracing::debug!(error = %e, "transfer ended after the interrupt");
            Failure::Interrupted
        }),
        _ = tokio::signal::ctrl_c() => Err(Failure::Interrupted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn version_ids_that_begin_with_a_hyphen_are_values_not_flags() {
        for command in ["rm", "get"] {
            let cli = Cli::try_parse_from(["spaces", command, "k", "--version-id", "-4tIVni21gq6NR0Mb1saDl2yyDHxSUn"]);
            assert!(cli.is_ok(), "{command}: {:?}", cli.err());
        }
    }
}
