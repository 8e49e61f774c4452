use super::*;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};

#[test]
fn when_secret_is_raw_or_json_then_token_extracted() {
    let tok = |s: &str| {
        mist_token_from_secret(&SecretString::from(s.to_string()))
            .map(|t| t.expose_secret().to_string())
    };
    assert_eq!(tok("  abc123 \n").as_deref(), Some("abc123"));
    assert_eq!(tok(r#"{"token": "abc123"}"#).as_deref(), Some("abc123"));
    assert_eq!(tok(r#"{"other": "abc123"}"#), None);
    assert_eq!(tok(r#"{"token": "#), None);
    assert_eq!(tok(""), None);
}

#[test]
fn when_the_webhook_secret_is_raw_or_a_key_value_secret_then_the_value_or_its_secret_key_is_used() {
    let secret = |s: &str| {
        webhook_secret_from_secret(&SecretString::from(s.to_string()))
            .map(|t| t.expose_secret().to_string())
    };
    assert_eq!(secret(" 9f86d081884c \n").as_deref(), Some("9f86d081884c"));
    // The console's key/value editor.
    assert_eq!(
        secret(r#"{"secret":"9f86d081884c"}"#).as_deref(),
        Some("9f86d081884c")
    );
    assert_eq!(
        secret(r#"{"secret": " 9f86d081884c ", "note": "rotated 2025-12"}"#).as_deref(),
        Some("9f86d081884c")
    );
    // Not an object: a raw secret, whole.
    assert_eq!(secret(r#"{not json"#).as_deref(), Some("{not json"));
    assert_eq!(secret(r#""quoted""#).as_deref(), Some("\"quoted\""));
    for unusable in [r#"{"token": "9f86d081884c"}"#, r#"{"secret": ""}"#, "  "] {
        assert_eq!(secret(unusable), None, "{unusable}");
    }
}

const WEBHOOK_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-webhook-XyZ123";

#[tokio::test]
async fn when_a_secret_is_read_again_on_suspicion_then_at_most_once_per_interval() {
    let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"secret": "old"}"#)
                .build()
        })
        .output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"secret": "new"}"#)
                .build()
        })
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&rule]);
    let s = CachedSecret::stored(WEBHOOK_SECRET, WEBHOOK_ARN.into(), Secrets::new(client));
    let minute = Duration::from_secs(60);
    assert_eq!(s.get().await.unwrap().expose_secret(), "old");
    let fresh = s.reread_if_due(minute).await.unwrap();
    assert_eq!(fresh.as_ref().map(|v| v.expose_secret()), Some("new"));
    assert_eq!(s.get().await.unwrap().expose_secret(), "new", "kept");
    for _ in 0..5 {
        assert!(s.reread_if_due(minute).await.unwrap().is_none());
    }
    assert_eq!(
        rule.num_calls(),
        2,
        "one read, one read again in the minute"
    );
    assert!(s.reread_if_due(Duration::ZERO).await.unwrap().is_some());
    assert_eq!(rule.num_calls(), 3);
    let given = CachedSecret::given(WEBHOOK_SECRET, SecretString::from("s".to_string()));
    assert!(given.reread_if_due(Duration::ZERO).await.unwrap().is_none());
}

#[tokio::test]
async fn when_reading_again_fails_then_the_held_value_stays() {
    let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .sequence()
        .output(|| GetSecretValueOutput::builder().secret_string("old").build())
        .http_response(|| {
            ssr_testkit::errors::AwsErrorShape::new(
                400,
                "AccessDeniedException",
                "User is not authorized to perform: secretsmanager:GetSecretValue",
            )
            .json_response()
        })
        .build();
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&rule]);
    let s = CachedSecret::stored(WEBHOOK_SECRET, WEBHOOK_ARN.into(), Secrets::new(client));
    assert_eq!(s.get().await.unwrap().expose_secret(), "old");
    let err = s.reread_if_due(Duration::ZERO).await.unwrap_err();
    assert!(err.contains("AccessDeniedException"), "{err}");
    assert_eq!(s.get().await.unwrap().expose_secret(), "old");
}

#[tokio::test]
async fn when_secret_read_then_value_returned_as_secret() {
    let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
        GetSecretValueOutput::builder()
            .secret_string("tok-1")
            .build()
    });
    let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
    let s = Secrets::new(client)
        .secret_string("arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-AbCdEf")
        .await
        .unwrap();
    assert_eq!(s.expose_secret(), "tok-1");
    assert!(!format!("{s:?}").contains("tok-1"));
}

fn stored_token(rules: &[&aws_smithy_mocks::Rule]) -> CachedSecret {
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, rules);
    CachedSecret::stored(
        MIST_TOKEN,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-AbCdEf".into(),
        Secrets::new(client),
    )
}

#[tokio::test]
async fn when_a_stored_secret_is_read_twice_then_secrets_manager_is_called_once() {
    let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"token": "tok-1"}"#)
                .build()
        })
        .repeatedly()
        .build();
    let s = stored_token(&[&rule]);
    assert_eq!(s.get().await.unwrap().expose_secret(), "tok-1");
    assert_eq!(s.get().await.unwrap().expose_secret(), "tok-1");
    assert_eq!(rule.num_calls(), 1);
    assert!(!format!("{s:?}").contains("tok-1"));
}

#[tokio::test]
async fn when_a_stored_secret_is_refused_then_it_is_read_again_and_the_hint_names_it() {
    let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .sequence()
        .output(|| {
            GetSecretValueOutput::builder()
                .secret_string("tok-1")
                .build()
        })
        .repeatedly()
        .build();
    let s = stored_token(&[&rule]);
    s.get().await.unwrap();
    assert_eq!(
        s.refused().await,
        ": check the token in arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-AbCdEf"
    );
    s.get().await.unwrap();
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn when_a_secret_is_given_or_unusable_then_the_errors_name_where_and_never_the_value() {
    let given = CachedSecret::given(WEBHOOK_SECRET, SecretString::from(" s3cret ".to_string()));
    assert_eq!(given.get().await.unwrap().expose_secret(), " s3cret ");
    assert_eq!(given.origin(), "MIST_WEBHOOK_SECRET");
    assert_eq!(given.refused().await, ": check MIST_WEBHOOK_SECRET");
    let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
        GetSecretValueOutput::builder()
            .secret_string(r#"{"other": "tok-SECRET"}"#)
            .build()
    });
    let err = stored_token(&[&rule]).get().await.unwrap_err();
    assert!(err.contains("holds neither a token nor JSON"), "{err}");
    assert!(!err.contains("tok-SECRET"), "{err}");
}
