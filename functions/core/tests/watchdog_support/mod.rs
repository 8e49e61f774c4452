//! Shared fakes for the watchdog contract tests: one router as real EC2 describes it, DynamoDB
//! and SNS mocks recording what is published, a Secrets Manager secret holding the Mist token.
#![allow(dead_code)]

use crate::call_check;

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ssr_core::deps::{Clients, Deps};
use ssr_core::handlers::watchdog::Watchdog;
use ssr_core::metrics::Function;
use ssr_core::onboarding_config::guide_user_data;
use ssr_core::Config;
use ssr_testkit::{errors, MockEni, MockRouter, MockUserData, RouterRules};

pub const ID: &str = "i-0abc1234567890def";
pub const REG_CODE: &str = "REG-CODE-do-not-leak-7f3a9c";
pub const TOKEN: &str = "mist-token-do-not-leak-91b2";
pub const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-token-AbCdEf";
/// The fixture's `time` (2021-11-11T21:45:00Z) minus 16 minutes.
pub const LAUNCH_EPOCH: i64 = 1_636_667_100 - 16 * 60;

/// The scheduled-event fixture, as EventBridge sends it.
pub fn event() -> serde_json::Value {
    ssr_testkit::fixture("scheduled-event")
}

/// The configuration of `pairs`. These contract tests exercise the page path on a router the
/// mocks show for the first time 16 minutes after its launch: with adoption on, the watchdog
/// would adopt it (first seen past its deadline) and, without Mist settings, send a notice. So
/// unless a test sets them, `ADOPT_EXISTING` and `UNVERIFIED_ONBOARDING` are `page` here (the
/// behaviour before those settings existed); adoption and notices have their own tests.
pub fn config(pairs: &[(&str, &str)]) -> Config {
    let mut all: Vec<(&str, &str)> = pairs.to_vec();
    for (k, v) in [
        ("ADOPT_EXISTING", "page"),
        ("UNVERIFIED_ONBOARDING", "page"),
    ] {
        if !pairs.iter().any(|(name, _)| *name == k) {
            all.push((k, v));
        }
    }
    Config::from_vars(ssr_testkit::vars(&all)).expect("valid config")
}

/// One running router, 16 minutes old, as the watchdog sees it: launch time, key pair, the
/// router tag, and only its WAN interface (MAC `0a:00:00:00:00:01`, the one Mist knows).
pub fn router(user_data_denied: bool) -> MockRouter {
    let mut r = MockRouter::guide(ID, "SSR_1_Router");
    r.instance_type = None;
    r.ena_support = None;
    r.vpc_id = None;
    r.root_device = None;
    r.iam_instance_profile_arn = None;
    r.launch_time = Some(LAUNCH_EPOCH);
    r.key_name = Some("ops".into());
    r.interfaces = vec![MockEni {
        mac: "0a:00:00:00:00:01".into(),
        subnet_id: None,
        source_dest_check: None,
        ..MockEni::guide("eni-wan", 0, Some("WAN"))
    }];
    r.user_data = if user_data_denied {
        MockUserData::Denied
    } else {
        MockUserData::Text(guide_user_data("SSR_1_Router", "6.3.0", REG_CODE))
    };
    r
}

pub fn ec2_rules(user_data_denied: bool) -> RouterRules {
    router(user_data_denied).rules()
}

/// Publishes are recorded (subject, message) and answered by `publish_rule`.
pub struct Fakes {
    pub published: Arc<Mutex<Vec<(String, String)>>>,
    pub deletes: Rule,
    /// UpdateItem: the outbox's confirm, or a lease given back.
    pub updates: Rule,
    pub secret_reads: Rule,
}

/// Is this UpdateItem on an episode's `watch#…` item?
fn is_watch_update(r: &aws_sdk_dynamodb::operation::update_item::UpdateItemInput) -> bool {
    r.key()
        .and_then(|k| k.get("pk"))
        .and_then(|v| v.as_s().ok())
        .is_some_and(|pk| pk.starts_with("watch#"))
}

pub fn deps(cfg: Config, user_data_denied: bool, publish_fails: bool) -> (Deps, Watchdog, Fakes) {
    deps_for(
        Function::OnboardingWatchdog,
        cfg,
        user_data_denied,
        publish_fails,
    )
}

/// [`deps`] for `function` (the watchdog, or mist-webhook, which reuses its fakes): every
/// client is checked against that function's row of `ssr_core::aws::permissions`.
pub fn deps_for(
    function: Function,
    cfg: Config,
    user_data_denied: bool,
    publish_fails: bool,
) -> (Deps, Watchdog, Fakes) {
    deps_with(function, cfg, user_data_denied, publish_fails, false)
}

/// [`deps_for`], where every conditional PutItem loses as DynamoDB answers the loser of a
/// race (`ConditionalCheckFailedException`): another sweep claimed first. moto's conditional
/// writes are not atomic across its threads, so this is tested here, not on the emulator.
pub fn deps_claims_held(cfg: Config) -> (Deps, Watchdog, Fakes) {
    deps_with(Function::OnboardingWatchdog, cfg, false, false, true)
}

fn deps_with(
    function: Function,
    cfg: Config,
    user_data_denied: bool,
    publish_fails: bool,
    claims_held: bool,
) -> (Deps, Watchdog, Fakes) {
    let ec2_rules = ec2_rules(user_data_denied);
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, ec2_rules.all());
    let published = Arc::new(Mutex::new(Vec::new()));
    let rec = published.clone();
    let publish = if publish_fails {
        mock!(aws_sdk_sns::Client::publish)
            .match_requests(move |r| {
                if let Ok(mut p) = rec.lock() {
                    p.push((
                        r.subject().unwrap_or_default().to_string(),
                        r.message().unwrap_or_default().to_string(),
                    ));
                }
                true
            })
            .then_http_response(|| errors::sns_authorization_error().query_response())
    } else {
        mock!(aws_sdk_sns::Client::publish)
            .match_requests(move |r| {
                if let Ok(mut p) = rec.lock() {
                    p.push((
                        r.subject().unwrap_or_default().to_string(),
                        r.message().unwrap_or_default().to_string(),
                    ));
                }
                true
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build())
    };
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]);
    let batch_get = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .then_output(|| BatchGetItemOutput::builder().build());
    // Only conditional writes can lose; the rest (the overdue list) succeed.
    let lost = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(move |r| claims_held && r.condition_expression().is_some())
        .then_error(|| {
            aws_sdk_dynamodb::operation::put_item::PutItemError::generic(
                aws_sdk_dynamodb::error::ErrorMetadata::builder()
                    .code("ConditionalCheckFailedException")
                    .message("The conditional request failed")
                    .build(),
            )
        });
    let put =
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
    let deletes = mock!(aws_sdk_dynamodb::Client::delete_item)
        .then_output(|| DeleteItemOutput::builder().build());
    // The claim's pre-read: nothing claimed yet.
    let reads = mock!(aws_sdk_dynamodb::Client::get_item)
        .then_output(|| aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build());
    let updates = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| !is_watch_update(r))
        .then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        });
    // An episode's Mist phase remembered on its watch item (its timeline's phase changes).
    let phase_updates = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(is_watch_update)
        .then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        });
    // The sweep's outbox step: nothing pending.
    let outbox = mock!(aws_sdk_dynamodb::Client::query)
        .then_output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build());
    let dynamodb = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [
            &batch_get,
            &lost,
            &put,
            &deletes,
            &reads,
            &updates,
            &phase_updates,
            &outbox
        ]
    );
    let secret_reads = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
        GetSecretValueOutput::builder()
            .secret_string(format!("{{\"token\": \"{TOKEN}\"}}"))
            .build()
    });
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&secret_reads]);
    let check = call_check::check(function);
    let secrets = check.secrets(secrets);
    let clients = Clients {
        ec2: check.ec2(ec2),
        sns: check.sns(sns),
        dynamodb: check.dynamodb(dynamodb),
        cloudformation: check.cloudformation(mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            Vec::<&Rule>::new()
        )),
        secrets: secrets.clone(),
    };
    let d = Deps::new(cfg, clients, Some("us-east-1".into()));
    let w = Watchdog::new(&d.config, secrets);
    (
        d,
        w,
        Fakes {
            published,
            deletes,
            updates,
            secret_reads,
        },
    )
}

pub const ORG: &str = "9777c1a0-6ef6-11e6-8bbf-02e208b2d34f";

pub fn base_config(mist_url: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:alerts".into(),
        ),
        ("STATE_TABLE", "ssr-state".into()),
        ("MIST_API_URL", mist_url.to_string()),
        ("MIST_ORG_ID", ORG.into()),
        ("MIST_TOKEN_SECRET_ARN", SECRET_ARN.into()),
    ]
}

pub fn cfg(pairs: &[(&'static str, String)]) -> Config {
    let v: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    config(&v)
}
