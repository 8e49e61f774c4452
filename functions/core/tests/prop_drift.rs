//! Any JSON given to the drift parser (a CloudTrail "AWS API Call via CloudTrail" detail) is a
//! typed call or a typed error, never a panic; well-formed requests keep exactly their ids.

use proptest::prelude::*;
use serde_json::{json, Value};
use ssr_core::drift::{parse_call, DriftError, DRIFT_EVENT_NAMES};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9:/._-]{0,24}".prop_map(Value::from),
        prop_oneof![
            Just("i-0123456789abcdef0"),
            Just("eni-0123abcd"),
            Just("vol-0123456789abcdef0"),
            Just("ec2.amazonaws.com"),
            Just("CreateTags"),
            Just("ModifyVolume"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("eventSource".to_string()),
                    Just("eventName".to_string()),
                    Just("errorCode".to_string()),
                    Just("requestParameters".to_string()),
                    Just("resourcesSet".to_string()),
                    Just("items".to_string()),
                    Just("resourceId".to_string()),
                    Just("instanceId".to_string()),
                    Just("networkInterfaceId".to_string()),
                    Just("ModifyVolumeRequest".to_string()),
                    Just("VolumeId".to_string()),
                    Just("userIdentity".to_string()),
                    Just("arn".to_string()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn when_any_json_is_parsed_as_a_drift_call_then_it_never_panics(v in any_json()) {
        let _ = parse_call(&v);
    }

    #[test]
    fn when_an_ec2_detail_carries_any_request_then_it_is_typed(
        name in prop::sample::select(DRIFT_EVENT_NAMES.to_vec()),
        params in any_json(),
    ) {
        let detail = json!({
            "eventSource": "ec2.amazonaws.com",
            "eventName": name,
            "requestParameters": params,
        });
        match parse_call(&detail) {
            Ok(call) => prop_assert_eq!(call.event_name, name),
            Err(e) => {
                let malformed = matches!(e, DriftError::Malformed { .. });
                prop_assert!(malformed, "{}", e);
            }
        }
    }

    #[test]
    fn when_create_tags_names_instances_then_exactly_those_are_kept(
        ids in prop::collection::btree_set("[0-9a-f]{17}", 0..10)
    ) {
        let items: Vec<Value> = ids.iter().map(|h| json!({"resourceId": format!("i-{h}")})).collect();
        let detail = json!({
            "eventSource": "ec2.amazonaws.com",
            "eventName": "CreateTags",
            "requestParameters": {"resourcesSet": {"items": items}, "tagSet": {"items": []}},
        });
        let call = parse_call(&detail).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want: std::collections::BTreeSet<String> = ids.iter().map(|h| format!("i-{h}")).collect();
        prop_assert_eq!(call.resources.instances, want);
    }
}
