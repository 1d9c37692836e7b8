//! Progress on the terminal: an indicatif bar with bytes, rate and ETA when stderr is a terminal, nothing at all
//! when it is piped or redirected. The component's progress events feed it through [`Meter::sink`].

use crate::runtime::ProgressFn;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub(super) struct Meter {
    bar: ProgressBar,
}

impl Meter {
    /// A bar for `total` bytes (a spinner with a byte count while the total is unknown), labelled `label`.
    pub(super) fn new(total: Option<u64>, label: &str) -> Meter {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        let meter = Meter { bar: ProgressBar::with_draw_target(None, target) };
        meter.bar.set_style(
            ProgressStyle::with_template("{msg} {spinner} {bytes} {binary_bytes_per_sec}").expect("static template"),
        );
        meter.bar.set_message(label.to_string());
        meter.bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(t) = total {
            meter.set_total(t);
        }
        meter
    }

    /// The total became known: show a bar with ETA.
    pub(super) fn set_total(&self, total: u64) {
        self.bar.set_length(total);
        self.bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
                .expect("static template")
                .progress_chars("=> "),
        );
    }

    /// `n` more bytes are planned (a sync learns its total as it goes).
    pub(super) fn grow(&self, n: u64) {
        self.bar.inc_length(n);
    }

    /// A new label, e.g. files done of files planned.
    pub(super) fn relabel(&self, label: String) {
        self.bar.set_message(label);
    }

    pub(super) fn sink(&self) -> ProgressFn {
        let bar = self.bar.clone();
        Arc::new(move |n| bar.inc(n))
    }

    /// Removes the bar, leaving the terminal to the summary line.
    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
