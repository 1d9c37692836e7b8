//! `spaces`: the native runner for the spaces component. Parses the command line, runs it on a multi-threaded
//! tokio runtime, and turns the outcome into a message on stderr and an exit code.
//!
//! Layers, each importing only those below it: a shared layer (`error`, `output`, `config`, `credentials`,
//! `views`); capabilities — `runtime` (engine, bindings, sessions, streams, interrupt), `net` (pool, allowlist,
//! breaker, metrics), `digitalocean` (CDN and key sessions, rotate); and the faces on top — `cli`, `serve`,
//! `mcp`, `edge` — none of which imports another.
mod cli;
mod config;
mod credentials;
mod digitalocean;
mod edge;
mod error;
mod journal;
mod mcp;
mod net;
mod output;
mod runtime;
mod serve;
mod views;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("SPACES_LOG").unwrap_or_else(|_| {
        // The service's audit lines are part of its normal output.
        if cli.serving() { "warn,spaces::audit=info" } else { "warn" }.into()
    });
    // rmcp logs whole MCP messages below warn, a new key's secret among them, and s3s (the embedded store) logs
    // each request with its Authorization header, whose signature replays the request: whatever SPACES_LOG says,
    // not here.
    for quiet in ["rmcp=warn", "s3s=info", "s3s_fs=info"] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spaces: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    // The command runs as a task on the runtime's workers: what `block_on` runs is polled on this thread, outside
    // them, so each chunk of a body passing between a connection's task and the command woke another thread (a
    // 1 GiB download: ~40 000 context switches and 0.40-0.52 CPU-s, against ~11 000 and 0.27-0.33 as a task).
    let outcome = rt.block_on(async move { tokio::spawn(async move { cli::run(&cli).await }).await });
    // Nothing cancels the task, so it ended or panicked; a panic goes on as it would have on this thread.
    let code = match outcome.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("spaces: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
