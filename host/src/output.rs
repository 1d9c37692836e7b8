//! What every face prints the same way: indented JSON documents and "time, rate" summaries.

use crate::error::{Failure, Outcome};
use indicatif::HumanBytes;
use std::time::Duration;

/// Prints `value` as indented JSON on stdout (the `--json` form of a command).
pub(crate) fn print_json(value: &impl serde::Serialize) -> Outcome<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::caused("writing JSON", e))?;
    println!("{text}");
    Ok(())
}

/// "1.23 s, 45.6 MiB/s".
pub(crate) fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-6);
    format!("{secs:.2} s, {}/s", HumanBytes((bytes as f64 / secs) as u64))
}
