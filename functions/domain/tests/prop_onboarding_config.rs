//! Property tests of the onboarding-config parser (`onboarding_config::inspect_bytes`): arbitrary
//! bytes, arbitrary text after `#cloud-config`, and generated cloud-config documents (anchors,
//! aliases, nesting, encodings, broken JSON) never panic, finish in bounded time, and never
//! carry the registration code into what they return (`Debug`, the JSON the outcome is logged
//! as, or a reason's text).
//!
//! Bounded: 256 cases per property; each parse must take under a second. Failing cases are kept
//! in `proptest-regressions/prop_onboarding_config.txt` and replayed first on every run.

use std::time::{Duration, Instant};

use base64::Engine as _;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use ssr_domain::onboarding_config::{
    inspect, inspect_bytes, OnboardingStatus, MAX_USER_DATA_BYTES, ONBOARDING_PATH,
};

/// A registration code nothing else in the generated documents can spell.
const CODE: &str = "REGCODE-zq9x7w-SECRET";

/// Each parse of at most 16 KiB must be done in this time (it takes about a millisecond).
const BOUND: Duration = Duration::from_secs(1);

fn config(file: &'static str) -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..ProptestConfig::default()
    }
}

/// Parses `bytes` and checks the promises: bounded time, no registration code anywhere.
fn check(bytes: &[u8]) -> Result<OnboardingStatus, TestCaseError> {
    let started = Instant::now();
    let status = inspect_bytes(Some(bytes));
    let took = started.elapsed();
    prop_assert!(took < BOUND, "parse took {:?}", took);
    let debug = format!("{status:?}");
    let json = serde_json::to_string(&status).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(!debug.contains(CODE), "registration code in {}", debug);
    prop_assert!(!json.contains(CODE), "registration code in {}", json);
    Ok(status)
}

/// A JSON value of the onboarding file's keys, the registration code always the one secret.
fn onboarding_json() -> impl Strategy<Value = String> {
    let text = prop::option::of(prop_oneof![
        Just(String::new()),
        Just("  ".to_string()),
        "[a-zA-Z0-9_ .-]{1,20}",
        Just("mist-managed".to_string()),
        Just("aws".to_string()),
    ]);
    (
        text.clone(),
        text.clone(),
        text.clone(),
        text,
        prop::sample::select(vec!["string", "number", "absent", "null", "array"]),
        any::<bool>(),
    )
        .prop_map(|(name, version, mode, cloud, code_as, extra)| {
            let mut obj = serde_json::Map::new();
            for (k, v) in [
                ("name", name),
                ("ssr-version", version),
                ("mode", mode),
                ("cloud-provider", cloud),
            ] {
                if let Some(v) = v {
                    obj.insert(k.into(), v.into());
                }
            }
            let code = match code_as {
                "string" => Some(serde_json::Value::from(CODE)),
                "number" => Some(serde_json::Value::from(42)),
                "null" => Some(serde_json::Value::Null),
                "array" => Some(serde_json::json!([CODE])),
                _ => None,
            };
            if let Some(c) = code {
                obj.insert("registration-code".into(), c);
            }
            if extra {
                obj.insert("conductor-hosts".into(), serde_json::json!(["10.0.0.1"]));
            }
            serde_json::Value::Object(obj).to_string()
        })
}

/// The onboarding file's content as the cloud-config carries it: plain (maybe truncated, so the
/// JSON is broken somewhere, perhaps inside the code), base64, or an encoding nobody reads.
fn content() -> impl Strategy<Value = (String, Option<&'static str>)> {
    (
        onboarding_json(),
        prop::sample::select(vec!["plain", "cut", "b64", "b64-broken", "gzip"]),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(json, how, at)| match how {
            "cut" => {
                let mut cut = at.index(json.len().max(1));
                while !json.is_char_boundary(cut) {
                    cut -= 1;
                }
                (json[..cut].to_string(), None)
            }
            "b64" => (
                base64::engine::general_purpose::STANDARD.encode(json.as_bytes()),
                Some("b64"),
            ),
            "b64-broken" => (
                format!(
                    "{}!",
                    base64::engine::general_purpose::STANDARD.encode(json.as_bytes())
                ),
                Some("base64"),
            ),
            "gzip" => (json, Some("gz+b64")),
            _ => (json, None),
        })
}

/// A cloud-config document: the guide's write_files entry (or a near miss), with anchors,
/// aliases, nesting and noise around it.
fn cloud_config() -> impl Strategy<Value = String> {
    (
        content(),
        prop::sample::select(vec![
            ONBOARDING_PATH.to_string(),
            format!(" {ONBOARDING_PATH} "),
            "/etc/other.json".to_string(),
        ]),
        prop::sample::select(vec!["literal", "single", "double"]),
        0usize..6,
        0usize..80,
        any::<bool>(),
    )
        .prop_map(|((content, encoding), path, style, aliases, depth, tab)| {
            let mut doc = String::from("#cloud-config\n");
            // Anchors and aliases, each level referring to the one before it.
            if aliases > 0 {
                doc.push_str("a0: &a0 [x, y, z]\n");
                for i in 1..aliases {
                    doc.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}]\n", p = i - 1));
                }
            }
            doc.push_str(&format!(
                "deep: {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            ));
            doc.push_str("write_files:\n");
            doc.push_str(&format!("  - path: {path}\n"));
            if let Some(e) = encoding {
                doc.push_str(&format!("    encoding: {e}\n"));
            }
            let quoted = match style {
                "single" => format!("'{}'", content.replace('\'', "''")),
                "double" => serde_json::Value::from(content.clone()).to_string(),
                _ => format!("|\n      {content}"),
            };
            doc.push_str(&format!("    content: {quoted}\n"));
            if tab {
                // A tab where YAML forbids one: a syntax error after the secret.
                doc.push_str("\t bad: [\n");
            }
            doc
        })
}

#[test]
fn when_the_generated_guide_document_is_parsed_then_it_reads_as_the_guide_router() {
    // The generator's plain shape is the guide's: one sanity check that it is not all noise.
    let json = serde_json::json!({
        "name": "r1", "ssr-version": "6.3.0", "registration-code": CODE,
        "mode": "mist-managed", "cloud-provider": "aws",
    });
    let doc = format!(
        "#cloud-config\ndeep: []\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {json}\n"
    );
    match inspect(Some(&doc)) {
        OnboardingStatus::Parsed { config, problems } => {
            assert!(problems.is_empty(), "{problems:?}");
            assert!(config.registration_code_present);
        }
        other => panic!("expected parsed, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(config("proptest-regressions/prop_onboarding_config.txt"))]

    #[test]
    fn when_user_data_is_any_bytes_then_a_status_in_bounded_time(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        check(&bytes)?;
    }

    #[test]
    fn when_user_data_is_any_text_after_cloud_config_then_a_status_in_bounded_time(
        body in "(\\PC|[\\[\\]{}&*!|>:,'\"#%@` \\t\\n-]){0,600}",
    ) {
        check(format!("#cloud-config\n{body}").as_bytes())?;
        check(format!("#cloud-config\n{body}\n{CODE}").as_bytes())?;
    }

    #[test]
    fn when_user_data_is_a_generated_cloud_config_then_the_code_never_appears_in_the_status(
        doc in cloud_config(),
    ) {
        let status = check(doc.as_bytes())?;
        // Whatever the verdict, a parsed config only says whether a code is there.
        if let OnboardingStatus::Parsed { config, .. } = &status {
            let json = serde_json::to_string(config).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(!json.contains(CODE));
        }
    }

    #[test]
    fn when_user_data_is_near_or_over_the_limit_then_a_status_in_bounded_time(
        pad in (MAX_USER_DATA_BYTES - 64)..(MAX_USER_DATA_BYTES + 64),
        filler in prop::sample::select(vec!["[", "a: &a [*a]\n", "- ", " ", "x: {"]),
    ) {
        let mut doc = String::from("#cloud-config\n");
        while doc.len() < pad {
            doc.push_str(filler);
        }
        doc.truncate(pad);
        check(doc.as_bytes())?;
    }
}
