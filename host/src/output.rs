//! What every face prints the same way: lines for people (`say!`), indented JSON documents and "time, rate"
//! summaries. Output is for whoever reads stdout: when that reader goes away (`spaces ls | head -1`), the command
//! ends quietly, as ripgrep does, instead of panicking over a broken pipe.

use crate::error::{Failure, Outcome};
use indicatif::HumanBytes;
use std::time::Duration;

/// `println!` for what a command prints on stdout, through [`line`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Writes one line to stdout. A reader that has gone away ends the process with success (nobody is left to
/// tell); any other failure to write says so on stderr and exits 1.
pub(crate) fn line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("spaces: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Has stdout's reader gone away (a pipe whose other end is closed)? Asked after a failed write of a stream
/// to stdout, to tell `spaces get KEY - | head -c 10` (nothing wrong) from a failure worth reporting.
pub(crate) fn reader_gone() -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(&stdout, PollFlags::OUT)];
    let zero = rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 };
    poll(&mut fds, Some(&zero)).is_ok() && fds[0].revents().contains(PollFlags::ERR)
}

/// Prints `value` as indented JSON on stdout (the `--json` form of a command).
pub(crate) fn print_json(value: &impl serde::Serialize) -> Outcome<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::caused("writing JSON", e))?;
    say!("{text}");
    Ok(())
}

/// "1.23 s, 45.6 MiB/s".
pub(crate) fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-6);
    format!("{secs:.2} s, {}/s", HumanBytes((bytes as f64 / secs) as u64))
}
