//! The world the watchdog tests share: moto with the state table and an alert capture, the
//! guide's VPC, and a fake Mist API (wiremock). Each test file adds what only it needs with a
//! local trait on [`MistWorld`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ssr_core::handlers::watchdog::Watchdog;
use ssr_core::metrics::Function;
use ssr_core::{Config, Deps};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{AlertCapture, CapturedAlert, GuideVpc, LaunchedRouter, RouterSpec, TestAws, REG_CODE};

/// The state table's name in these tests.
pub const STATE_TABLE_NAME: &str = "ssr-onboard-state";
/// The Mist organization the fake Mist serves.
pub const MIST_ORG: &str = "9777c1a0-6ef6-11e6-8bbf-02e208b2d34f";

pub struct MistWorld {
    pub aws: TestAws,
    pub capture: AlertCapture,
    pub vpc: GuideVpc,
    pub mist: MockServer,
}

impl MistWorld {
    /// A fresh emulator with the state table, the alert capture and the guide's VPC, and a fake
    /// Mist that answers nothing yet.
    pub async fn start() -> MistWorld {
        let aws = TestAws::start().await;
        aws.create_state_table(STATE_TABLE_NAME).await;
        let capture = aws.alert_capture().await;
        let vpc = aws.guide_vpc().await;
        let mist = MockServer::start().await;
        MistWorld {
            aws,
            capture,
            vpc,
            mist,
        }
    }

    /// `function`'s deps with the state table, the alert topic and (with `mist_token`) the fake
    /// Mist's URL, organization and that token; then `extra` (an empty value removes a variable).
    pub fn deps_with(
        &self,
        function: Function,
        mist_token: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Deps {
        let mut vars: HashMap<String, String> = HashMap::from([
            ("STATE_TABLE".to_string(), STATE_TABLE_NAME.to_string()),
            (
                "ALERT_TOPIC_ARN".to_string(),
                self.capture.topic_arn.clone(),
            ),
        ]);
        if let Some(token) = mist_token {
            vars.insert("MIST_API_URL".into(), self.mist.uri());
            vars.insert("MIST_ORG_ID".into(), MIST_ORG.into());
            vars.insert("MIST_API_TOKEN".into(), token.into());
        }
        for (k, v) in extra {
            if v.is_empty() {
                vars.remove(*k);
            } else {
                vars.insert(k.to_string(), v.to_string());
            }
        }
        let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
        self.aws.deps(function, config)
    }

    /// The watchdog's deps and a watchdog (one "cold start"): [`MistWorld::deps_with`].
    pub fn watchdog_with(
        &self,
        mist_token: Option<&str>,
        extra: &[(&str, &str)],
    ) -> (Deps, Watchdog) {
        let deps = self.deps_with(Function::OnboardingWatchdog, mist_token, extra);
        let w = Watchdog::new(&deps.config, deps.secrets_client());
        (deps, w)
    }

    /// A router launched as the guide says, and its launch time as EC2 reports it.
    pub async fn launch(&self, name: &str) -> (LaunchedRouter, DateTime<Utc>) {
        let r = self
            .aws
            .launch_router(&self.vpc, &RouterSpec::guide(name))
            .await;
        let t = self.launch_time(&r.instance_id).await;
        (r, t)
    }

    /// When EC2 says instance `id` was launched.
    pub async fn launch_time(&self, id: &str) -> DateTime<Utc> {
        let out = self
            .aws
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .expect("DescribeInstances");
        let t = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find_map(|i| i.launch_time())
            .expect("launch time");
        DateTime::from_timestamp(t.secs(), 0).expect("time")
    }

    /// Mist's inventory and gateway stats: `(name, connected, version)` per gateway (MACs by
    /// position; stats only for the connected ones, as Mist reports them).
    pub async fn mist_shows(&self, gateways: &[(&str, bool, Option<&str>)]) {
        self.mist.reset().await;
        let mut inventory = Vec::new();
        let mut stats = Vec::new();
        for (i, (name, connected, version)) in gateways.iter().enumerate() {
            let mac = format!("02000000{i:04x}");
            inventory.push(serde_json::json!({
                "name": name, "mac": mac, "serial": format!("SN-{name}"), "model": "SSR",
                "type": "gateway", "connected": connected, "magic": REG_CODE
            }));
            if *connected {
                stats.push(serde_json::json!({
                    "mac": mac, "name": name, "type": "gateway", "status": "connected",
                    "version": version
                }));
            }
        }
        for (resource, body) in [("inventory", inventory), ("stats/devices", stats)] {
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/orgs/{MIST_ORG}/{resource}")))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&self.mist)
                .await;
        }
    }

    /// How many requests the fake Mist has received.
    pub async fn mist_requests(&self) -> usize {
        self.mist
            .received_requests()
            .await
            .map(|r| r.len())
            .unwrap_or(0)
    }

    /// The alerts published since the last call.
    pub async fn alerts(&self) -> Vec<CapturedAlert> {
        self.capture.drain(&self.aws).await
    }
}
