//! `spaces`: the native runner for the spaces component. Parses the command line, runs it on a multi-threaded
//! tokio runtime, and turns the outcome into a message on stderr and an exit code.
mod allowlist;
mod batch;
mod bindings;
mod breaker;
mod cdn;
mod cli;
mod config;
mod content_type;
mod credentials;
mod edge;
mod interrupt;
mod keys;
mod mcp;
mod metrics;
mod outbound;
mod progress;
mod runtime;
mod serve;
mod session;
mod streams;
mod transfer;
mod views;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("SPACES_LOG").unwrap_or_else(|_| {
        // The service's audit lines are part of its normal output.
        let serving = matches!(cli.command, cli::Command::Serve(_));
        if serving { "warn,spaces::audit=info" } else { "warn" }.into()
    });
    // rmcp logs whole MCP messages below warn, a new key's secret among them: whatever SPACES_LOG says, not here.
    if let Ok(quiet) = "rmcp=warn".parse() {
        filter = filter.add_directive(quiet);
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
    let code = match rt.block_on(cli::run(&cli)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("spaces: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
