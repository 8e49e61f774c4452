//! Logging: JSON lines in Lambda (one object per event, with the spans it happened in, so every
//! line of an invocation carries the runtime's `requestId` and ours: `instance_id`, `event_id`),
//! readable text on a terminal for the CLI. `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`) filters both.
//!
//! Whatever level is asked for, the SDK, HTTP and runtime crates are capped at `info`: at debug
//! and trace they print raw requests and responses (base64 user data that carries the Mist
//! registration code, the custom resource's pre-signed URL). Our own crates follow the level.

use tracing_subscriber::EnvFilter;

/// Target prefixes capped at [`CAP`] (a directive's target matches by prefix).
pub const CAPPED_TARGETS: &[&str] = &[
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_runtime",
    "aws_credential_types",
    "aws_sigv4",
    "hyper",
    "h2",
    "rustls",
    "reqwest",
    "tower",
    "lambda_runtime",
];
/// The most verbose level the capped crates may log at.
pub const CAP: &str = "info";

fn capped(target: &str) -> bool {
    CAPPED_TARGETS.iter().any(|p| target.starts_with(p))
}

/// `spec` (a `RUST_LOG` value) without directives for the capped crates, plus the caps.
pub fn filter_spec(spec: &str) -> String {
    let mut kept: Vec<String> = spec
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|d| {
            // `target=level`, `target[span]=level` or a bare level (applies to all).
            let target = d.split(['=', '[']).next().unwrap_or("");
            let is_bare_level = !d.contains('=') && !d.contains('[');
            is_bare_level || !capped(target)
        })
        .map(String::from)
        .collect();
    kept.extend(CAPPED_TARGETS.iter().map(|t| format!("{t}={CAP}")));
    kept.join(",")
}

fn filter(default: &str) -> EnvFilter {
    let asked = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .or_else(|| std::env::var(EnvFilter::DEFAULT_ENV).ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default.to_string());
    EnvFilter::try_new(filter_spec(&asked)).unwrap_or_else(|_| EnvFilter::new(filter_spec(default)))
}

/// JSON to stdout, which Lambda ships to CloudWatch Logs.
pub fn init_lambda() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter("info"))
        .with_current_span(true)
        .with_span_list(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_trace_is_asked_then_sdk_http_and_runtime_crates_stay_capped() {
        let spec =
            filter_spec("trace,aws_smithy_runtime=trace,hyper_util::client=debug,ssr_core=trace");
        assert!(spec.starts_with("trace,ssr_core=trace,"), "{spec}");
        assert!(!spec.contains("aws_smithy_runtime=trace"));
        assert!(!spec.contains("hyper_util::client=debug"));
        for t in CAPPED_TARGETS {
            assert!(
                spec.contains(&format!("{t}={CAP}")),
                "{t} not capped: {spec}"
            );
        }
        assert!(EnvFilter::try_new(&spec).is_ok());
    }
}
