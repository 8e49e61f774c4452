//! Logging: JSON lines in Lambda (one object per event, structured fields), readable text on a
//! terminal for the CLI. `RUST_LOG` filters both.

use tracing_subscriber::EnvFilter;

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// JSON to stdout, which Lambda ships to CloudWatch Logs.
pub fn init_lambda() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter("info"))
        .with_current_span(false)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .try_init();
}

/// Human-readable to stderr (stdout carries the command's result).
pub fn init_cli(default_level: &str, ansi: bool) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default_level))
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .compact()
        .try_init();
}
