//! The Mist fixtures (tests/fixtures/mist/) speak only the Mist API's own vocabulary: every
//! field of every fixture object is one `schema.json` (extracted from mistsys/mist_openapi)
//! defines for that object, and every field the client models read is one too. A fixture (or a
//! model) with an invented field — like the `version` the inventory never had — fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ssr_core::mist::{GatewayStats, InventoryDevice};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/mist")
}

fn read(name: &str) -> serde_json::Value {
    let p = dir().join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn schema() -> BTreeMap<String, BTreeSet<String>> {
    let s = read("schema.json");
    let objects = s["objects"].as_object().expect("schema.json has `objects`");
    objects
        .iter()
        .map(|(k, v)| {
            let props = v
                .as_array()
                .expect("a list of property names")
                .iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect();
            (k.clone(), props)
        })
        .collect()
}

/// Keys of `value` (an object) that `object` does not define, as "file: key".
fn undefined(
    schema: &BTreeMap<String, BTreeSet<String>>,
    object: &str,
    value: &serde_json::Value,
    where_: &str,
) -> Vec<String> {
    let defined = schema
        .get(object)
        .unwrap_or_else(|| panic!("schema.json has no object {object}"));
    let map = value
        .as_object()
        .unwrap_or_else(|| panic!("{where_}: not an object"));
    map.keys()
        .filter(|k| !defined.contains(*k))
        .map(|k| format!("{where_}: `{k}` is not a property of {object}"))
        .collect()
}

/// Every fixture file and the schema object of its items.
fn fixture_objects() -> Vec<(String, &'static str, serde_json::Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir()).expect("fixture dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        let object = match name.as_str() {
            "schema.json" => continue,
            n if n.starts_with("inventory-") => "inventory",
            n if n.starts_with("stats-") => "stats_gateway",
            n if n.starts_with("webhook-device-events") => "webhook_device_events",
            n if n.ends_with(".json") => panic!("{n}: no schema object known for this fixture"),
            _ => continue,
        };
        out.push((name.clone(), object, read(&name)));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_mist_fixture_field_is_defined_by_the_spec_for_its_object() {
    let schema = schema();
    let fixtures = fixture_objects();
    assert!(fixtures.len() >= 5, "fixtures found: {}", fixtures.len());
    let mut problems = Vec::new();
    for (name, object, value) in &fixtures {
        match *object {
            "webhook_device_events" => {
                problems.extend(undefined(&schema, object, value, name));
                for (i, ev) in value["events"]
                    .as_array()
                    .expect("events")
                    .iter()
                    .enumerate()
                {
                    problems.extend(undefined(
                        &schema,
                        "webhook_device_event",
                        ev,
                        &format!("{name} events[{i}]"),
                    ));
                }
            }
            _ => {
                for (i, item) in value.as_array().expect("a list").iter().enumerate() {
                    problems.extend(undefined(&schema, object, item, &format!("{name}[{i}]")));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn when_a_fixture_carries_an_invented_field_then_the_check_reports_it() {
    let schema = schema();
    let mut item = read("inventory-gateways-page1.json")[0].clone();
    item["version"] = "6.3.0".into();
    assert_eq!(
        undefined(&schema, "inventory", &item, "x"),
        vec!["x: `version` is not a property of inventory".to_string()]
    );
}

#[test]
fn the_client_models_read_only_fields_the_spec_defines() {
    let schema = schema();
    let inv = serde_json::to_value(InventoryDevice::default()).expect("json");
    let stats = serde_json::to_value(GatewayStats::default()).expect("json");
    let mut problems = undefined(&schema, "inventory", &inv, "InventoryDevice");
    problems.extend(undefined(&schema, "stats_gateway", &stats, "GatewayStats"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_fixtures_parse_into_the_client_models() {
    for name in [
        "inventory-gateways-page1.json",
        "inventory-gateways-page2.json",
    ] {
        let v: Vec<InventoryDevice> = serde_json::from_value(read(name)).expect(name);
        assert!(!v.is_empty());
    }
    let s: Vec<GatewayStats> = serde_json::from_value(read("stats-gateways.json")).expect("stats");
    assert!(s.iter().all(|s| s.version.is_some()));
}
