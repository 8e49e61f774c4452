//! The CLI in an operator's account: a `credential_process` profile in the AWS config file (as
//! credential helpers and SSO wrappers set up) gives the credentials the CLI signs with, through
//! the CLI's own loader, as the AWS CLI would.

use std::process::Command;

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_ssr-onboard");
const SECRET: &str = "SecretFromCredentialProcessDoNotPrint";

#[tokio::test]
async fn when_a_profile_uses_credential_process_then_the_cli_signs_with_its_credentials() {
    // DynamoDB's answer for a missing table: not retried, so one request.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_string(
                    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
                ),
        )
        .mount(&server)
        .await;
    let dir = std::env::temp_dir().join(format!("ssr-onboard-credproc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "[profile ops]\nregion = eu-west-1\ncredential_process = printf '{{\"Version\":1,\"AccessKeyId\":\"AKIDEXAMPLE\",\"SecretAccessKey\":\"{SECRET}\"}}'\n"
        ),
    )
    .expect("config file");
    let out = Command::new(BIN)
        .args(["report", "--table", "ssr-onboard-state", "--profile", "ops"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("AWS_CONFIG_FILE", &config)
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-credentials-file"),
        )
        .env("AWS_ENDPOINT_URL", server.uri())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the ssr-onboard binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let requests = server.received_requests().await.unwrap_or_default();
    let auth: Vec<String> = requests
        .iter()
        .filter_map(|r| r.headers.get("authorization"))
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    assert!(
        !auth.is_empty(),
        "no signed request reached the endpoint; stderr:\n{stderr}"
    );
    for a in &auth {
        assert!(
            a.contains("Credential=AKIDEXAMPLE/") && a.contains("/eu-west-1/dynamodb/aws4_request"),
            "signed with other credentials or region: {a}"
        );
    }
    assert_eq!(out.status.code(), Some(1), "the table is missing: {stderr}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    let _ = std::fs::remove_dir_all(&dir);
}
