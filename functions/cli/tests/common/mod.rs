//! Running the built CLI against an emulator in the integration tests.

use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_ssr-onboard");

/// Runs the CLI against `endpoint` with dummy credentials and nothing else from the environment
/// that could change the outcome.
pub fn cli(endpoint: &str, args: &[&str]) -> Output {
    cli_env(endpoint, args, &[])
}

/// [`cli`] with more environment variables (e.g. a service's own endpoint).
pub fn cli_env(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("the ssr-onboard binary runs")
}
