//! Progress for long steps: a spinner on a terminal, nothing when stderr is piped.

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// Runs `f` under a spinner labelled `msg` (shown only when stderr is a terminal).
pub fn with_spinner<T>(msg: &str, f: impl FnOnce() -> T) -> T {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(100));
    let out = f();
    pb.finish_and_clear();
    out
}
