//! Everything a handler needs, passed by reference, so tests swap in `aws-smithy-mocks` clients
//! or the emulated AWS without global state.
//!
//! Each function builds only the clients it calls: EC2, SNS and DynamoDB (every function's
//! path) are built with the dependencies; CloudFormation (stack-watch) and Secrets Manager (the
//! watchdog's Mist token) on first use.

pub mod fanout;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::aws::accounts::{AccountNames, Organizations};
use crate::aws::cloudformation::CloudFormation;
use crate::aws::ec2::Ec2;
use crate::aws::sns::Alerts;
use crate::aws::state::StateStore;
use crate::config::Config;

pub use fanout::{across, member_account_ids, CoveredScopes, ScopeFailure};

/// SDK clients given explicitly (tests, the sandbox); `None` ones are built on first use from the
/// SDK configuration, if there is one.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// A client built from `sdk` the first time it is asked for.
#[derive(Clone, Debug)]
struct ClientCell<T> {
    sdk: Option<SdkConfig>,
    cell: OnceLock<T>,
}

impl<T> ClientCell<T> {
    fn ready(v: T) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(v);
        ClientCell { sdk: None, cell }
    }

    /// Neither given nor derivable: built from an empty configuration on first use, so a call
    /// through it fails with an AWS error (no region, no credentials) rather than a panic.
    fn unset() -> Self {
        ClientCell {
            sdk: None,
            cell: OnceLock::new(),
        }
    }

    fn from_sdk(sdk: &SdkConfig) -> Self {
        ClientCell {
            sdk: Some(sdk.clone()),
            cell: OnceLock::new(),
        }
    }

    fn get(&self, build: impl FnOnce(&SdkConfig) -> T) -> &T {
        self.cell.get_or_init(|| match &self.sdk {
            Some(sdk) => build(sdk),
            // `ready` sets the cell, so only `unset` gets here.
            None => build(&SdkConfig::builder().build()),
        })
    }
}

/// Attempts per AWS call unless `AWS_MAX_ATTEMPTS` says otherwise (1..=10).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The SDK's retry behaviour, chosen rather than inherited: standard mode (throttling and
/// transient errors are retried with full-jitter exponential backoff, and the client-side retry
/// token bucket stops retry storms when EC2 throttles a burst), 5 attempts, the first retry
/// after about 100 ms and none later than 5 s after the previous one. A burst of instance events
/// (hundreds of launches) is then absorbed by backoff, not failed; the invocation deadline still
/// bounds the whole. `AWS_MAX_ATTEMPTS` (the SDK's own variable) overrides the attempts.
pub fn sdk_retry_config(max_attempts: Option<&str>) -> RetryConfig {
    let attempts = max_attempts
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| (1..=10).contains(n))
        .unwrap_or(DEFAULT_MAX_ATTEMPTS);
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(5))
}

/// The (account, region) an event must be handled in, when it is not this deployment's own:
/// `None` means "here". Without a configured hub account every account is "here" (a
/// single-account deployment handles its own events only).
pub fn member_scope(
    own_account: Option<&str>,
    own_region: Option<&str>,
    event_account: Option<&str>,
    event_region: Option<&str>,
) -> Option<(String, String)> {
    let own_account = own_account?;
    let account = event_account.filter(|a| *a != own_account);
    let region = event_region.filter(|r| Some(*r) != own_region);
    if account.is_none() && region.is_none() {
        return None;
    }
    let region = event_region.or(own_region)?;
    Some((
        account.unwrap_or(own_account).to_string(),
        region.to_string(),
    ))
}

/// The member role's ARN in `account` (the partition follows the region).
pub fn member_role_arn(role_name: &str, account: &str, region: &str) -> String {
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// The standard AWS chain (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, role credentials)
/// with this project's retries and timeouts: every Lambda and the CLI load the SDK through it.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    let max_attempts = std::env::var("AWS_MAX_ATTEMPTS").ok();
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(sdk_retry_config(max_attempts.as_deref()))
        .timeout_config(sdk_timeout_config())
}

/// Timeouts: 3 s to connect, 10 s per attempt (EC2 and DynamoDB answer in milliseconds; a stuck
/// connection is retried instead of eating the invocation).
pub fn sdk_timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .build()
}

#[derive(Clone, Debug)]
pub struct Deps {
    pub config: Config,
    pub ec2: Ec2,
    pub alerts: Alerts,
    pub state: StateStore,
    /// The region the clients talk to (alert context, console links).
    pub region: Option<String>,
    /// The account these clients act in, when known (`HUB_ACCOUNT_ID`, or the member's).
    pub account: Option<String>,
    cloudformation: ClientCell<CloudFormation>,
    secrets: ClientCell<aws_sdk_secretsmanager::Client>,
    /// AWS Organizations (`MEMBER_ACCOUNTS=org`, member accounts' names), built on first use.
    organizations: ClientCell<Organizations>,
    /// Member accounts' names for alert subjects, per warm container (shared by every scope).
    account_names: AccountNames,
    /// The SDK configuration the clients came from (`None` for explicit clients): member
    /// accounts' clients are derived from it.
    sdk: Option<SdkConfig>,
    /// Dependencies per (account, region) other than this one's, built on first use and kept
    /// for the life of the process (a warm Lambda assumes each member role once; the SDK's
    /// identity cache refreshes the credentials before they expire).
    scopes: Arc<Mutex<HashMap<(String, String), Deps>>>,
}

/// An event names an account or region these dependencies cannot act in.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("the event is for account {account}, region {region}, but these clients were given explicitly (no SDK configuration to assume {role} from)")]
    NoSdkConfig {
        account: String,
        region: String,
        role: String,
    },
}

impl Deps {
    /// Dependencies over the given clients.
    pub fn new(config: Config, clients: Clients, region: Option<String>) -> Self {
        Deps {
            ec2: Ec2::new(clients.ec2),
            alerts: Alerts::new(clients.sns, config.alert_topic_arn.clone())
                .with_chat(config.chat_topic_arn.clone()),
            state: StateStore::new(clients.dynamodb, config.state_table.clone()),
            cloudformation: ClientCell::ready(CloudFormation::new(clients.cloudformation)),
            secrets: ClientCell::ready(clients.secrets),
            organizations: ClientCell::unset(),
            account_names: AccountNames::default(),
            account: config.hub_account_id.clone(),
            sdk: None,
            scopes: Arc::default(),
            config,
            region,
        }
    }

    /// Dependencies over `sdk`: the clients every function calls now, the others on first use.
    pub fn from_sdk_config(config: Config, sdk: &SdkConfig) -> Self {
        Deps {
            ec2: Ec2::new(aws_sdk_ec2::Client::new(sdk)),
            alerts: Alerts::new(
                aws_sdk_sns::Client::new(sdk),
                config.alert_topic_arn.clone(),
            )
            .with_chat(config.chat_topic_arn.clone())
            .with_bus(
                aws_sdk_eventbridge::Client::new(sdk),
                config.alert_event_bus.clone(),
            ),
            state: StateStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                config.state_table.clone(),
            ),
            cloudformation: ClientCell::from_sdk(sdk),
            secrets: ClientCell::from_sdk(sdk),
            organizations: ClientCell::from_sdk(sdk),
            account_names: AccountNames::default(),
            region: sdk.region().map(|r| r.to_string()),
            account: config.hub_account_id.clone(),
            sdk: Some(sdk.clone()),
            scopes: Arc::default(),
            config,
        }
    }

    /// The dependencies that act in `account` and `region` (an event's own): these, when the
    /// event is for this account (or no hub account is configured) and this region; else EC2
    /// and CloudFormation clients in that region with the member role's credentials
    /// (`arn:<partition>:iam::<account>:role/<MEMBER_ROLE_NAME>`), assumed from this function's
    /// own. Alerts and the state table stay the hub's. Built once per account and region.
    pub async fn scoped(
        &self,
        account: Option<&str>,
        region: Option<&str>,
    ) -> Result<Deps, ScopeError> {
        let Some(scope) = member_scope(
            self.account.as_deref(),
            self.region.as_deref(),
            account,
            region,
        ) else {
            return Ok(self.clone());
        };
        let role = member_role_arn(&self.config.member_role_name, &scope.0, &scope.1);
        let Some(sdk) = &self.sdk else {
            return Err(ScopeError::NoSdkConfig {
                account: scope.0,
                region: scope.1,
                role,
            });
        };
        if let Some(d) = self.lock_scopes().get(&scope) {
            return Ok(d.clone());
        }
        let region = aws_config::Region::new(scope.1.clone());
        // `aws_config::load` always sets a time source; an SdkConfig built by hand may not, and
        // the AssumeRole provider requires one.
        let sdk = &match sdk.time_source() {
            Some(_) => sdk.clone(),
            None => sdk
                .to_builder()
                .time_source(aws_smithy_async::time::SystemTimeSource::new())
                .build(),
        };
        let member_sdk = if Some(scope.0.as_str()) == self.account.as_deref() {
            // Same account, other region: our own credentials.
            sdk.to_builder().region(region).build()
        } else {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name("ssr-onboard")
                .region(region.clone())
                .configure(sdk)
                .build()
                .await;
            sdk.to_builder()
                .region(region)
                .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                    provider,
                ))
                .build()
        };
        let d = Deps {
            ec2: Ec2::new(aws_sdk_ec2::Client::new(&member_sdk)),
            alerts: self.alerts.clone(),
            state: self.state.clone(),
            region: Some(scope.1.clone()),
            account: Some(scope.0.clone()),
            cloudformation: ClientCell::from_sdk(&member_sdk),
            secrets: self.secrets.clone(),
            organizations: self.organizations.clone(),
            account_names: self.account_names.clone(),
            sdk: Some(member_sdk),
            scopes: self.scopes.clone(),
            config: self.config.clone(),
        };
        tracing::info!(account = %scope.0, region = %scope.1, "acting in a member account");
        Ok(self.lock_scopes().entry(scope).or_insert(d).clone())
    }

    fn lock_scopes(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Deps>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.scopes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The standard AWS chain: `AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, role credentials.
    /// Retries and timeouts are set deliberately ([`sdk_retry_config`], [`sdk_timeout_config`]).
    pub async fn from_env(config: Config) -> Self {
        let sdk = sdk_loader().load().await;
        Self::from_sdk_config(config, &sdk)
    }

    /// The CloudFormation adapter (built on first use).
    pub fn cloudformation(&self) -> &CloudFormation {
        self.cloudformation
            .get(|sdk| CloudFormation::new(aws_sdk_cloudformation::Client::new(sdk)))
    }

    /// These dependencies act in an organization member account, not the deployment's own.
    pub fn is_member(&self) -> bool {
        self.config.hub_account_id.is_some() && self.account != self.config.hub_account_id
    }

    /// The AWS Organizations adapter (built on first use).
    pub fn organizations(&self) -> &Organizations {
        self.organizations
            .get(|sdk| Organizations::new(aws_sdk_organizations::Client::new(sdk)))
    }

    /// `ctx` with its account's Organizations name, when it is about a member account
    /// (`ctx.member`): called just before an alert about that account is rendered, so nothing
    /// is looked up where nothing alerts; once per account per warm container
    /// ([`AccountNames`]); the 12 digits alone when the name cannot be read.
    pub async fn named(&self, ctx: &crate::render::EventContext) -> crate::render::EventContext {
        match ctx.account.as_deref() {
            Some(account) if ctx.member && ctx.account_name.is_none() => {
                let name = self.account_names.name(self.organizations(), account).await;
                ctx.clone().named(name)
            }
            _ => ctx.clone(),
        }
    }

    /// These dependencies with an explicit Organizations client (tests).
    pub fn with_organizations(mut self, client: aws_sdk_organizations::Client) -> Self {
        self.organizations = ClientCell::ready(Organizations::new(client));
        self
    }

    /// The Secrets Manager client (built on first use).
    pub fn secrets_client(&self) -> aws_sdk_secretsmanager::Client {
        self.secrets
            .get(aws_sdk_secretsmanager::Client::new)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use aws_config::retry::RetryMode;

    use super::*;

    #[test]
    fn when_the_event_is_for_the_hub_or_no_hub_is_configured_then_it_is_handled_here() {
        let hub = Some("111122223333");
        let here = Some("eu-west-1");
        assert_eq!(member_scope(hub, here, hub, here), None);
        assert_eq!(member_scope(hub, here, None, None), None);
        assert_eq!(
            member_scope(None, here, Some("444455556666"), Some("us-east-1")),
            None
        );
    }

    #[test]
    fn when_the_event_is_for_a_member_account_or_region_then_that_scope() {
        let hub = Some("111122223333");
        let here = Some("eu-west-1");
        assert_eq!(
            member_scope(hub, here, Some("444455556666"), here),
            Some(("444455556666".into(), "eu-west-1".into()))
        );
        assert_eq!(
            member_scope(hub, here, hub, Some("us-east-1")),
            Some(("111122223333".into(), "us-east-1".into()))
        );
        assert_eq!(
            member_scope(hub, here, Some("444455556666"), None),
            Some(("444455556666".into(), "eu-west-1".into()))
        );
    }

    #[tokio::test]
    async fn when_an_alert_is_about_a_member_account_then_its_name_is_looked_up_once_and_never_for_the_hub(
    ) {
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let described = mock!(aws_sdk_organizations::Client::describe_account)
            .match_requests(|r| r.account_id() == Some("444455556666"))
            .then_output(|| {
                aws_sdk_organizations::operation::describe_account::DescribeAccountOutput::builder()
                    .account(
                        aws_sdk_organizations::types::Account::builder()
                            .id("444455556666")
                            .name("Branch Prod")
                            .build(),
                    )
                    .build()
            });
        let config = Config::from_vars(|k| (k == "HUB_ACCOUNT_ID").then(|| "111122223333".into()))
            .unwrap_or_else(|e| panic!("{e}"));
        let clients = Clients {
            ec2: mock_client!(aws_sdk_ec2, []),
            sns: mock_client!(aws_sdk_sns, []),
            dynamodb: mock_client!(aws_sdk_dynamodb, []),
            cloudformation: mock_client!(aws_sdk_cloudformation, []),
            secrets: mock_client!(aws_sdk_secretsmanager, []),
        };
        let deps = Deps::new(config, clients, Some("eu-west-1".into())).with_organizations(
            mock_client!(aws_sdk_organizations, RuleMode::MatchAny, [&described]),
        );
        let hub = crate::render::EventContext {
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        assert_eq!(deps.named(&hub).await.account_name, None);
        assert_eq!(
            described.num_calls(),
            0,
            "no lookup for the hub's own account"
        );
        let member = hub.at(Some("444455556666"), None, true);
        for _ in 0..2 {
            assert_eq!(
                deps.named(&member).await.account_name.as_deref(),
                Some("Branch Prod")
            );
        }
        assert_eq!(described.num_calls(), 1, "cached for the warm container");
    }

    #[test]
    fn when_the_region_is_china_or_govcloud_then_the_role_arn_has_that_partition() {
        assert_eq!(
            member_role_arn("ssr-onboard-member", "444455556666", "eu-west-1"),
            "arn:aws:iam::444455556666:role/ssr-onboard-member"
        );
        assert!(member_role_arn("r", "444455556666", "cn-north-1").starts_with("arn:aws-cn:"));
        assert!(
            member_role_arn("r", "444455556666", "us-gov-west-1").starts_with("arn:aws-us-gov:")
        );
    }

    #[test]
    fn when_no_override_then_standard_mode_with_five_bounded_attempts() {
        let r = sdk_retry_config(None);
        assert_eq!(r.mode(), RetryMode::Standard);
        assert_eq!(r.max_attempts(), DEFAULT_MAX_ATTEMPTS);
        assert_eq!(r.initial_backoff(), Duration::from_millis(100));
        assert_eq!(r.max_backoff(), Duration::from_secs(5));
    }

    #[test]
    fn when_aws_max_attempts_is_valid_then_it_wins_and_when_not_then_the_default() {
        assert_eq!(sdk_retry_config(Some("3")).max_attempts(), 3);
        assert_eq!(
            sdk_retry_config(Some("0")).max_attempts(),
            DEFAULT_MAX_ATTEMPTS
        );
        assert_eq!(
            sdk_retry_config(Some("many")).max_attempts(),
            DEFAULT_MAX_ATTEMPTS
        );
        assert_eq!(
            sdk_retry_config(Some("50")).max_attempts(),
            DEFAULT_MAX_ATTEMPTS
        );
    }

    #[test]
    fn when_built_then_connect_and_attempt_timeouts_are_set() {
        let t = sdk_timeout_config();
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(10)));
    }
}
