//! Drift: the EC2 API calls that change what the guard checks, as CloudTrail reports them.
//!
//! EC2 emits no state-change event for a tag or attribute change. With a CloudTrail trail in the
//! account, EventBridge delivers every management call as an "AWS API Call via CloudTrail" event
//! (`source` `aws.ec2`): `detail` is the CloudTrail record — `eventSource`, `eventName`,
//! `requestParameters` (the call's request, in CloudTrail's lowerCamel shape), `userIdentity`,
//! and `errorCode` only when the call failed. [`parse_call`] turns such a `detail` into the
//! resources it touched ([`ApiCall`]) or a typed error, never a panic.
//!
//! The request shapes read here, per call (CloudTrail records of EC2 calls; the EC2 API
//! Reference names the members):
//! - `CreateTags` / `DeleteTags`: `requestParameters.resourcesSet.items[].resourceId`
//! - `ModifyNetworkInterfaceAttribute`: `requestParameters.networkInterfaceId`
//! - `ModifyInstanceAttribute`: `requestParameters.instanceId`
//! - `ModifyVolume`: `requestParameters.ModifyVolumeRequest.VolumeId` (this call's record
//!   nests its request, with upper-case member names)
//! - `AssociateAddress`: `requestParameters.instanceId` and/or `networkInterfaceId`
//! - `AttachNetworkInterface`: `requestParameters.instanceId` and `networkInterfaceId`
//!
//! Pure: the ENI and volume ids are resolved to their instances by the handler (one batched
//! describe each).

use std::collections::BTreeSet;

use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;

/// The EventBridge `detail-type` of a CloudTrail-recorded API call.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";
/// `detail.eventSource` of EC2's calls.
pub const EC2_EVENT_SOURCE: &str = "ec2.amazonaws.com";

/// The calls that can change what the guard checks (the rule pattern lists exactly these).
pub const DRIFT_EVENT_NAMES: [&str; 7] = [
    "AssociateAddress",
    "AttachNetworkInterface",
    "CreateTags",
    "DeleteTags",
    "ModifyInstanceAttribute",
    "ModifyNetworkInterfaceAttribute",
    "ModifyVolume",
];

/// Instances one call re-checks at most (a `CreateTags` may name up to 1,000 resources); the
/// rest are left to their next event or the sweep re-check.
pub const MAX_INSTANCES_PER_CALL: usize = 20;
/// ENI or volume ids one call resolves at most (one filter of a describe call).
pub const MAX_RESOLVED_IDS: usize = 200;
/// The debounce window: a burst of calls on one router runs the guard once per window.
pub const DEBOUNCE_SECONDS: i64 = 60;
/// The sweep re-checks the routers with an open findings incident every this many minutes.
pub const RECHECK_EVERY_MINUTES: u32 = 5;
/// `drift#<instance-id>#<window>`: the debounce claim of one router and window.
pub const DRIFT_PREFIX: &str = "drift#";

/// The role session name ssr-onboard's functions use in a member account (the member role is
/// assumed with it).
pub const OWN_SESSION_NAME: &str = "ssr-onboard";
/// The IAM path of the hub stack's function roles (`/ssr-onboard/<stack>/`).
pub const OWN_ROLE_PATH: &str = ":role/ssr-onboard/";

/// One EC2 call, as far as the guard cares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiCall {
    /// `detail.eventName`, one of [`DRIFT_EVENT_NAMES`].
    pub event_name: String,
    /// `detail.userIdentity.arn`: who made the call (absent for some AWS service calls).
    pub principal: Option<String>,
    /// `detail.userIdentity.sessionContext.sessionIssuer.arn`: the role behind a session.
    pub issuer: Option<String>,
    /// `detail.errorCode`: the call failed (nothing changed).
    pub error_code: Option<String>,
    pub resources: Resources,
}

/// The resources a call named, by kind; other kinds (security groups, subnets, …) are dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub instances: BTreeSet<String>,
    pub enis: BTreeSet<String>,
    pub volumes: BTreeSet<String>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty() && self.enis.is_empty() && self.volumes.is_empty()
    }

    /// Files `id` under its kind; `false` when it is none of them (or not a well-formed id).
    fn add(&mut self, id: &str) -> bool {
        let set = if is_id(id, "i-") {
            &mut self.instances
        } else if is_id(id, "eni-") {
            &mut self.enis
        } else if is_id(id, "vol-") {
            &mut self.volumes
        } else {
            return false;
        };
        set.insert(id.to_string());
        true
    }
}

/// Why a `detail` is not a call the guard acts on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriftError {
    #[error("detail.eventSource is {0:?}, expected \"{EC2_EVENT_SOURCE}\"")]
    NotEc2(String),
    #[error("detail.eventName {0:?} is not a call that changes what the guard checks")]
    UnknownCall(String),
    #[error("detail.{field}: {why}")]
    Malformed { field: &'static str, why: String },
}

fn malformed(field: &'static str, why: impl Into<String>) -> DriftError {
    DriftError::Malformed {
        field,
        why: why.into(),
    }
}

/// `prefix` followed by 8 or 17 lower-case hex digits (EC2's short and long id forms).
pub fn is_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A string at `path` under `v`, if there is one.
fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// A text shortened for an error message (the event is not ours: never echo it whole).
fn shown(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The id at `requestParameters.<path>`, which must be a well-formed `prefix` id.
fn required_id(
    params: &Value,
    path: &[&str],
    prefix: &str,
    field: &'static str,
    resources: &mut Resources,
) -> Result<(), DriftError> {
    match str_at(params, path) {
        Some(id) if is_id(id, prefix) && resources.add(id) => Ok(()),
        Some(id) => Err(malformed(
            field,
            format!("{:?} is not a {prefix}… id", shown(id)),
        )),
        None => Err(malformed(field, "missing or not a string")),
    }
}

/// An optional id at `requestParameters.<key>`: added when well-formed, else ignored.
fn optional_id(params: &Value, key: &str, resources: &mut Resources) {
    if let Some(id) = str_at(params, &[key]) {
        resources.add(id);
    }
}

/// The CloudTrail `detail` of an EventBridge "AWS API Call via CloudTrail" event → the call.
pub fn parse_call(detail: &Value) -> Result<ApiCall, DriftError> {
    if !detail.is_object() {
        return Err(malformed("", "the detail is not an object"));
    }
    let source = str_at(detail, &["eventSource"]).unwrap_or_default();
    if source != EC2_EVENT_SOURCE {
        return Err(DriftError::NotEc2(shown(source)));
    }
    let name = str_at(detail, &["eventName"]).unwrap_or_default();
    if !DRIFT_EVENT_NAMES.contains(&name) {
        return Err(DriftError::UnknownCall(shown(name)));
    }
    let error_code = match detail.get("errorCode") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().map(shown).unwrap_or_else(|| v.to_string())),
    };
    let mut call = ApiCall {
        event_name: name.to_string(),
        principal: str_at(detail, &["userIdentity", "arn"]).map(String::from),
        issuer: str_at(
            detail,
            &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
        )
        .map(String::from),
        error_code,
        resources: Resources::default(),
    };
    let params = detail.get("requestParameters").unwrap_or(&Value::Null);
    if !params.is_object() {
        // A failed call may be recorded without its request; it changed nothing anyway.
        if call.error_code.is_some() {
            return Ok(call);
        }
        return Err(malformed("requestParameters", "missing or not an object"));
    }
    let r = &mut call.resources;
    match name {
        "CreateTags" | "DeleteTags" => {
            let items = params
                .get("resourcesSet")
                .and_then(|s| s.get("items"))
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    malformed(
                        "requestParameters.resourcesSet.items",
                        "missing or not a list",
                    )
                })?;
            for item in items {
                if let Some(id) = item.get("resourceId").and_then(Value::as_str) {
                    r.add(id);
                }
            }
        }
        "ModifyNetworkInterfaceAttribute" => required_id(
            params,
            &["networkInterfaceId"],
            "eni-",
            "requestParameters.networkInterfaceId",
            r,
        )?,
        "ModifyInstanceAttribute" => required_id(
            params,
            &["instanceId"],
            "i-",
            "requestParameters.instanceId",
            r,
        )?,
        "ModifyVolume" => required_id(
            params,
            &["ModifyVolumeRequest", "VolumeId"],
            "vol-",
            "requestParameters.ModifyVolumeRequest.VolumeId",
            r,
        )?,
        // AssociateAddress names an instance, an interface, or (EC2-Classic) neither;
        // AttachNetworkInterface names both.
        _ => {
            optional_id(params, "instanceId", r);
            optional_id(params, "networkInterfaceId", r);
        }
    }
    Ok(call)
}

impl ApiCall {
    /// "CloudTrail: ModifyNetworkInterfaceAttribute by arn:aws:sts::…": the guard run's trigger.
    pub fn trigger(&self) -> String {
        format!(
            "CloudTrail: {} by {}",
            self.event_name,
            self.principal.as_deref().unwrap_or("an unknown principal")
        )
    }

    /// The call was made by ssr-onboard itself (its fixes): the hub stack's function roles
    /// (path `/ssr-onboard/<stack>/`, as CloudTrail names the session's issuer) or the member
    /// role `member_role_name` assumed with session name [`OWN_SESSION_NAME`].
    pub fn is_own(&self, member_role_name: &str) -> bool {
        if self
            .issuer
            .as_deref()
            .is_some_and(|arn| arn.contains(OWN_ROLE_PATH))
        {
            return true;
        }
        let Some(principal) = self.principal.as_deref() else {
            return false;
        };
        // arn:<partition>:sts::<account>:assumed-role/<role>/<session>
        let Some((_, session_part)) = principal.split_once(":assumed-role/") else {
            return false;
        };
        !member_role_name.is_empty()
            && session_part == format!("{member_role_name}/{OWN_SESSION_NAME}")
    }
}

/// The debounce window an event at `at` falls in.
pub fn debounce_window(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(DEBOUNCE_SECONDS)
}

/// The debounce claim's key for `instance_id` in `window`.
pub fn debounce_key(instance_id: &str, window: i64) -> String {
    format!("{DRIFT_PREFIX}{instance_id}#{window}")
}

/// When the window ends (the claim may expire then; its TTL is set a little later).
pub fn window_end(window: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(window.saturating_add(1).saturating_mul(DEBOUNCE_SECONDS), 0)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether the sweep at `now` re-checks the routers with an open findings incident: when the
/// minute is a multiple of [`RECHECK_EVERY_MINUTES`].
pub fn recheck_due(now: DateTime<Utc>) -> bool {
    now.minute() % RECHECK_EVERY_MINUTES == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detail(name: &str, params: Value) -> Value {
        json!({
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice",
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/Admin", "userName": "Admin"}}
            },
            "eventSource": "ec2.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "requestParameters": params,
            "responseElements": {"_return": true}
        })
    }

    #[test]
    fn when_create_tags_names_several_kinds_then_instances_enis_and_volumes_are_kept() {
        let d = detail(
            "CreateTags",
            json!({"resourcesSet": {"items": [
                {"resourceId": "i-0123456789abcdef0"},
                {"resourceId": "eni-0123456789abcdef0"},
                {"resourceId": "vol-01234567"},
                {"resourceId": "sg-0123456789abcdef0"},
                {"resourceId": "i-NOTHEX"}
            ]}, "tagSet": {"items": [{"key": "SSR-ROLE", "value": "LAN"}]}}),
        );
        let c = parse_call(&d).unwrap();
        assert_eq!(
            c.resources.instances,
            BTreeSet::from(["i-0123456789abcdef0".to_string()])
        );
        assert_eq!(
            c.resources.enis,
            BTreeSet::from(["eni-0123456789abcdef0".to_string()])
        );
        assert_eq!(
            c.resources.volumes,
            BTreeSet::from(["vol-01234567".to_string()])
        );
        assert_eq!(c.error_code, None);
    }

    #[test]
    fn when_modify_volume_then_the_nested_request_volume_is_read() {
        let d = detail(
            "ModifyVolume",
            json!({"ModifyVolumeRequest": {"VolumeId": "vol-0123456789abcdef0", "Size": 20}}),
        );
        let c = parse_call(&d).unwrap();
        assert_eq!(
            c.resources.volumes,
            BTreeSet::from(["vol-0123456789abcdef0".to_string()])
        );
    }

    #[test]
    fn when_a_required_id_is_missing_or_malformed_then_a_typed_error() {
        let missing = detail(
            "ModifyInstanceAttribute",
            json!({"sourceDestCheck": {"value": true}}),
        );
        assert!(matches!(
            parse_call(&missing),
            Err(DriftError::Malformed {
                field: "requestParameters.instanceId",
                ..
            })
        ));
        let bad = detail(
            "ModifyNetworkInterfaceAttribute",
            json!({"networkInterfaceId": "i-0123456789abcdef0"}),
        );
        assert!(matches!(
            parse_call(&bad),
            Err(DriftError::Malformed { .. })
        ));
        assert_eq!(
            parse_call(&detail("RunInstances", json!({}))),
            Err(DriftError::UnknownCall("RunInstances".into()))
        );
        assert!(matches!(
            parse_call(&json!([1])),
            Err(DriftError::Malformed { .. })
        ));
    }

    #[test]
    fn when_the_call_failed_then_its_error_code_is_kept() {
        let mut d = detail(
            "ModifyNetworkInterfaceAttribute",
            json!({"networkInterfaceId": "eni-0123456789abcdef0"}),
        );
        d["errorCode"] = json!("Client.UnauthorizedOperation");
        assert_eq!(
            parse_call(&d).unwrap().error_code.as_deref(),
            Some("Client.UnauthorizedOperation")
        );
    }

    #[test]
    fn when_the_caller_is_ssr_onboard_then_the_call_is_its_own() {
        let mut c = ApiCall {
            principal: Some(
                "arn:aws:sts::111122223333:assumed-role/ssr-onboard-member/ssr-onboard".into(),
            ),
            ..ApiCall::default()
        };
        assert!(c.is_own("ssr-onboard-member"));
        assert!(!c.is_own("other-role"));
        c.principal =
            Some("arn:aws:sts::111122223333:assumed-role/ssr-onboard-member/alice".into());
        assert!(!c.is_own("ssr-onboard-member"));
        c.issuer = Some(
            "arn:aws:iam::111122223333:role/ssr-onboard/hub/hub-InstanceGuardRole-AB12".into(),
        );
        assert!(c.is_own("ssr-onboard-member"));
        let person = ApiCall {
            event_name: "ModifyNetworkInterfaceAttribute".into(),
            principal: Some("arn:aws:iam::111122223333:user/alice".into()),
            ..ApiCall::default()
        };
        assert!(!person.is_own("ssr-onboard-member"));
        assert_eq!(
            person.trigger(),
            "CloudTrail: ModifyNetworkInterfaceAttribute by arn:aws:iam::111122223333:user/alice"
        );
    }

    #[test]
    fn when_events_fall_in_one_minute_then_they_share_a_debounce_window() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let w = debounce_window(t("2026-12-07T00:10:05Z"));
        assert_eq!(w, debounce_window(t("2026-12-07T00:10:59Z")));
        assert_ne!(w, debounce_window(t("2026-12-07T00:11:00Z")));
        assert_eq!(window_end(w), t("2026-12-07T00:11:00Z"));
        assert_eq!(
            debounce_key("i-0123456789abcdef0", w),
            format!("drift#i-0123456789abcdef0#{w}")
        );
    }

    #[test]
    fn when_the_minute_is_a_multiple_of_five_then_the_recheck_is_due() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(recheck_due(t("2026-12-07T00:00:00Z")));
        assert!(recheck_due(t("2026-12-07T00:55:59Z")));
        assert!(!recheck_due(t("2026-12-07T00:01:00Z")));
        assert!(!recheck_due(t("2026-12-07T00:59:00Z")));
    }
}
