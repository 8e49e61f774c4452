//! `mist-webhook`: Mist's org webhook (topic `device-events`) posts to the function's URL (a
//! Lambda Function URL, payload format 2.0). A signed delivery whose events say a router made
//! progress (`GW_CONNECTED`, `GW_CONFIGURED`, `GW_UPGRADED`, `GW_ZTP_FINISHED`) ends its
//! onboarding episode at the event's time, as soon as Mist says so, with the same claims and
//! items the sweep uses (so the sweep stays quiet); `GW_ZTP_FAILED` pages at once (kind
//! `onboarding-failed`) on the episode's overdue claim, so the deadline sweep does not page it
//! again. The sweep stays the safety net for lost deliveries.
//!
//! Answers: 200 with a small JSON summary; 401 without a valid `X-Mist-Signature-v2`; 413 for a
//! body over 1 MB; 400 for a signed body that is not a device-events delivery; 500 when the
//! secret cannot be read or a write failed (Mist may deliver again; nothing is sent twice).
//! Never a panic, and never a secret in the answer or the logs.

use std::collections::HashSet;

use base64::Engine;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;

mod outcome;

use outcome::FunctionUrlRequest;
pub use outcome::{EventOutcome, EventResult, HttpResponse, WebhookSummary};

use super::watchdog::{act, gather, Fleet, Watchdog};
use super::Invocation;
use crate::aws::secrets::Secrets;
use crate::aws::secrets::{CachedSecret, WEBHOOK_SECRET};
use crate::config::{Config, ConfigError, VersionCheck};
use crate::deadline::Deadline;
use crate::deps::CoveredScopes;
use crate::deps::Deps;
use crate::episode::{phase_of, router_of_device, Episode, InventoryIndex, MistView, RouterMatch};
use crate::mist::webhook::{self, DeviceEvent, EventMeaning, MAX_BODY, SIGNATURE_HEADER};
use crate::mist::InventoryDevice;
use crate::mist::MistReader;
use crate::render::EventContext;
use crate::select::Snooze;

/// What every event of one delivery shares: the hub's dependencies, the routers found in every
/// account and region, the alert context and when the Mist reads must be done.
#[derive(Clone, Copy)]
struct DeliveryScope<'a> {
    hub: &'a Deps,
    gathered: Option<&'a Fleet>,
    ctx: &'a EventContext,
    until: Deadline,
}

/// After a signature mismatch the webhook secret is read again (it may have been rotated), at
/// most this often per warm container.
pub const SECRET_REREAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Per cold start: the webhook secret (cached), Mist access shared with the sweep's rules (one
/// stats read per progress event when the version is checked), and the scopes the sweep covers.
pub struct MistWebhook {
    secret: CachedSecret,
    mist: MistReader,
    scopes: CoveredScopes,
}

impl std::fmt::Debug for MistWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistWebhook").finish_non_exhaustive()
    }
}

impl MistWebhook {
    /// The function cannot authenticate deliveries without a secret, nor act once without a
    /// state table.
    pub fn check_config(config: &Config) -> Result<(), ConfigError> {
        if config.mist.webhook_secret_arn.is_none() && config.mist.webhook_secret.is_none() {
            return Err(ConfigError::Invalid {
                var: "MIST_WEBHOOK_SECRET_ARN",
                reason: "the webhook needs its secret (or MIST_WEBHOOK_SECRET for local runs)"
                    .into(),
            });
        }
        Watchdog::check_config(config)
    }

    /// Call [`Self::check_config`] first; without a secret every delivery is refused (401).
    pub fn new(config: &Config, secrets: aws_sdk_secretsmanager::Client) -> Self {
        let secret = match (&config.mist.webhook_secret_arn, &config.mist.webhook_secret) {
            (Some(arn), _) => {
                CachedSecret::stored(WEBHOOK_SECRET, arn.clone(), Secrets::new(secrets.clone()))
            }
            (None, Some(s)) => CachedSecret::given(WEBHOOK_SECRET, s.clone()),
            (None, None) => CachedSecret::given(WEBHOOK_SECRET, SecretString::from(String::new())),
        };
        MistWebhook {
            secret,
            mist: MistReader::new(config, secrets),
            scopes: CoveredScopes::default(),
        }
    }

    /// One Function URL request → the HTTP answer. Never fails: every problem is a status.
    /// The invocation's deadline ([`Deadline::NONE`] from the CLI: [`Invocation::local`])
    /// bounds every Mist read of the delivery together, so a slow Mist never makes the function
    /// time out (Mist would see a 502 and deliver again); what is not confirmed in time is left
    /// to the sweep. Its function ARN names the account the alerts carry (else
    /// `HUB_ACCOUNT_ID`).
    pub async fn handle_request(
        &self,
        deps: &Deps,
        event: serde_json::Value,
        invocation: Invocation,
    ) -> HttpResponse {
        if !deps.config.enabled {
            tracing::info!(
                decision = "disabled",
                "ssr-onboard is disabled: delivery not acted on"
            );
            return HttpResponse::json(
                200,
                &serde_json::json!({"disabled": true, "detail": "ssr-onboard is turned off (Enabled=false)"}),
            );
        }
        let span = tracing::info_span!("mist_webhook", function = "mist-webhook");
        // One Mist budget for the whole delivery, never past the deadline minus a margin.
        let until = Deadline::after(self.mist.budget_before(invocation.deadline));
        let account = invocation
            .account()
            .map(String::from)
            .or_else(|| deps.account.clone());
        self.handle_inner(deps, event, account, until)
            .instrument(span)
            .await
    }

    async fn handle_inner(
        &self,
        deps: &Deps,
        event: serde_json::Value,
        account: Option<String>,
        until: Deadline,
    ) -> HttpResponse {
        let req: FunctionUrlRequest = match serde_json::from_value(event) {
            Ok(r) => r,
            Err(_) => return HttpResponse::error(400, "not a Function URL request"),
        };
        let raw = req.body.unwrap_or_default();
        // Base64 grows 4/3: refuse an oversized body before decoding it.
        if raw.len() > MAX_BODY.saturating_mul(4) / 3 + 4 {
            return HttpResponse::error(413, "body larger than 1 MB");
        }
        let body = if req.is_base64_encoded {
            match base64::engine::general_purpose::STANDARD.decode(raw.as_bytes()) {
                Ok(b) => b,
                Err(_) => return HttpResponse::error(400, "body is not valid base64"),
            }
        } else {
            raw.into_bytes()
        };
        if body.len() > MAX_BODY {
            return HttpResponse::error(413, "body larger than 1 MB");
        }
        let secret = match self.secret.get().await {
            Ok(s) => s,
            Err(why) => {
                tracing::error!(error = %why, "webhook secret unavailable");
                return HttpResponse::error(500, "the webhook secret is unavailable");
            }
        };
        let signature = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(SIGNATURE_HEADER))
            .map(|(_, v)| v.as_str());
        if !self.verified(&secret, &body, signature).await {
            tracing::warn!(
                decision = "refused",
                signature_present = signature.is_some(),
                "webhook delivery without a valid signature"
            );
            return HttpResponse::error(401, "missing or wrong X-Mist-Signature-v2");
        }
        let delivery = match webhook::parse(&body) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "signed webhook body refused");
                return HttpResponse::error(400, &e.to_string());
            }
        };
        let summary = self
            .act_on(deps, account, delivery.topic, delivery.events, until)
            .await;
        let status = if summary.errors.is_empty() { 200 } else { 500 };
        tracing::info!(
            events = summary.events,
            finished = summary
                .results
                .iter()
                .filter(|r| r.outcome == EventOutcome::Finished)
                .count(),
            paged = summary
                .results
                .iter()
                .filter(|r| r.outcome == EventOutcome::Paged)
                .count(),
            errors = summary.errors.len(),
            decision = "delivered",
            "webhook delivery handled"
        );
        HttpResponse::json(status, &summary)
    }

    /// Is `signature` the body's signature with the secret held, or, after a mismatch, with
    /// the secret read again (it may have been rotated; at most once per
    /// [`SECRET_REREAD_INTERVAL`], so a flood of bad signatures costs one GetSecretValue a
    /// minute)?
    async fn verified(&self, held: &SecretString, body: &[u8], signature: Option<&str>) -> bool {
        let check = |s: &SecretString| {
            let key = s.expose_secret().as_bytes();
            !key.is_empty() && webhook::verify(key, body, signature)
        };
        if check(held) {
            return true;
        }
        if signature.is_none() {
            return false;
        }
        match self.secret.reread_if_due(SECRET_REREAD_INTERVAL).await {
            Ok(Some(fresh)) => {
                let ok = check(&fresh);
                tracing::info!(
                    verified = ok,
                    "webhook secret read again after a signature mismatch"
                );
                ok
            }
            Ok(None) => false,
            Err(why) => {
                tracing::warn!(error = %why, "webhook secret not read again; the held one stays");
                false
            }
        }
    }

    async fn act_on(
        &self,
        deps: &Deps,
        account: Option<String>,
        topic: String,
        events: Vec<DeviceEvent>,
        until: Deadline,
    ) -> WebhookSummary {
        let mut summary = WebhookSummary {
            topic,
            events: events.len(),
            ..Default::default()
        };
        let relevant = events.iter().any(|e| {
            e.meaning() != EventMeaning::Other
                && e.device_type.as_deref().is_none_or(|t| t == "gateway")
        });
        // The open episodes of every account and region the sweep covers, as the sweep sees
        // them (one rule, one read path).
        let mut gathered = None;
        if relevant {
            let scopes = match self.scopes.scopes(deps).await {
                Ok(s) => s,
                Err(e) => {
                    summary.errors.push(e.to_string());
                    return summary;
                }
            };
            match gather(deps, &scopes, Utc::now()).await {
                Ok(g) => gathered = Some(g),
                Err(e) => {
                    summary.errors.push(e.to_string());
                    return summary;
                }
            }
        }
        let mut open = gathered
            .as_mut()
            .map(|g| std::mem::take(&mut g.open))
            .unwrap_or_default();
        let ctx = EventContext {
            trigger: "Mist webhook (device-events)".into(),
            region: deps.region.clone(),
            account,
            event_id: None,
            account_name: None,
            member: false,
        };
        let mut finished: HashSet<String> = HashSet::new();
        // Mist batches events in no promised order: the earliest first, so an episode ends at
        // the first event that shows it onboarded.
        let mut ordered: Vec<&DeviceEvent> = events.iter().collect();
        ordered.sort_by_key(|e| e.time());
        let delivery = DeliveryScope {
            hub: deps,
            gathered: gathered.as_ref(),
            ctx: &ctx,
            until,
        };
        for ev in ordered {
            let r = self
                .act_on_event(&delivery, &mut open, &mut finished, ev)
                .await;
            match r {
                Ok(r) => summary.results.push(r),
                Err(e) => {
                    tracing::error!(error = %e, "webhook write failed");
                    summary.errors.push(e);
                }
            }
        }
        summary
    }

    async fn act_on_event(
        &self,
        delivery: &DeliveryScope<'_>,
        open: &mut [Episode],
        finished: &mut HashSet<String>,
        ev: &DeviceEvent,
    ) -> Result<EventResult, String> {
        let DeliveryScope {
            hub,
            gathered,
            ctx,
            until,
        } = *delivery;
        let mut r = EventResult {
            kind: ev.kind.chars().take(40).collect(),
            mac: ev.mac(),
            ..Default::default()
        };
        let ignored = |mut r: EventResult, why: &str| {
            r.outcome = EventOutcome::Ignored;
            r.detail = Some(why.into());
            Ok(r)
        };
        let meaning = ev.meaning();
        if meaning == EventMeaning::Other {
            return ignored(r, "not an onboarding event");
        }
        if ev.device_type.as_deref().is_some_and(|t| t != "gateway") {
            return ignored(r, "not a gateway");
        }
        let Some(at) = ev.time() else {
            return ignored(r, "no usable timestamp");
        };
        // The event's device, matched to an episode by the sweep's rule (MAC, else name).
        let routers = open.iter().map(|e| (e.mist_name(), e.macs()));
        let i = match router_of_device(ev.device_name.as_deref(), r.mac.as_deref(), routers) {
            RouterMatch::One(i, _) => i,
            RouterMatch::NoMatch => {
                return ignored(r, "no open onboarding episode matches this gateway")
            }
            RouterMatch::SeveralByName => {
                return ignored(
                    r,
                    "several open episodes carry this name; left to the sweep",
                )
            }
        };
        let device = InventoryDevice {
            name: ev.device_name.clone(),
            mac: r.mac.clone(),
            device_type: Some("gateway".into()),
            connected: Some(true),
            ..Default::default()
        };
        let e = &mut open[i];
        let deps = gathered.map_or(hub, |g| g.deps_for(hub, e));
        let ctx = &gathered.map_or_else(|| ctx.clone(), |g| g.ctx_for(hub, ctx, e));
        r.instance_id = Some(e.instance_id.clone());
        if at < e.started_at {
            return ignored(r, "the event is older than this onboarding episode");
        }
        if finished.contains(&e.key()) {
            r.outcome = EventOutcome::AlreadyFinished;
            return Ok(r);
        }
        // The event goes to the router's timeline beside what it leads to (keyed by the
        // event's time and type: a re-delivery rewrites the same item; never fails the event).
        let seen = [crate::timeline::Entry::webhook_event(
            at,
            &e.key(),
            &r.kind,
            ev.device_name.as_deref(),
        )];
        let instance_id = e.instance_id.clone();
        let record = deps.state.record_timeline(&instance_id, &seen, Utc::now());
        let acted = async {
            match meaning {
                EventMeaning::ZtpFailed if Snooze::of(&e.tags).holds(at) => ignored(
                    r,
                    "the router is snoozed (SSR-ONBOARD-SNOOZE-UNTIL): no page",
                ),
                EventMeaning::ZtpFailed => {
                    let a =
                        act::ztp_failed(deps, ctx, e, ev.text.as_deref(), ev.reason.as_deref(), at)
                            .await
                            .map_err(|e| e.to_string())?;
                    e.alerted = true;
                    // A re-delivery (or an episode already paged as overdue) holds the claim:
                    // nothing was sent this time, and the summary says so.
                    r.outcome = if a.delivery.already_sent || a.delivery.in_flight {
                        EventOutcome::AlreadyPaged
                    } else {
                        EventOutcome::Paged
                    };
                    r.phase = Some("ztp-failed".into());
                    r.alerts.push(a.delivery);
                    Ok(r)
                }
                _ => {
                    if e.watch.is_none() {
                        e.watch = Some(act::init_watch(deps, e, Utc::now()).await);
                    }
                    let check = self.mist.version_check();
                    let mut stats = Vec::new();
                    // Onboarded before: a reconnect is enough, no version to confirm.
                    if check != VersionCheck::Off && e.version_floor().is_some() {
                        if let Some(mac) = r.mac.as_deref() {
                            match self.mist.stats_of(mac, until).await {
                                Ok(s) => stats.extend(s),
                                Err(why) => {
                                    return ignored(
                                        r,
                                        &format!(
                                            "version not confirmed ({why}); left to the sweep"
                                        ),
                                    )
                                }
                            }
                        }
                    }
                    let index = InventoryIndex::new(vec![device], stats);
                    let phase = phase_of(
                        &MistView::Inventory(&index),
                        e.onboarded_tag(),
                        e.mist_name(),
                        &e.macs(),
                        e.version_floor(),
                        check,
                    );
                    r.phase = Some(phase.code().to_string());
                    r.detail = phase.note().map(String::from);
                    if !phase.is_onboarded() {
                        r.outcome = EventOutcome::NotOnboarded;
                        return Ok(r);
                    }
                    let acts = act::finish(deps, ctx, e, &phase, at)
                        .await
                        .map_err(|e| e.to_string())?;
                    for a in acts {
                        if let act::Effect::Alert(a) = a {
                            r.alerts.push(a.delivery);
                        }
                    }
                    finished.insert(e.key());
                    r.outcome = EventOutcome::Finished;
                    Ok(r)
                }
            }
        };
        let (result, ()) = tokio::join!(acted, record);
        result
    }
}
