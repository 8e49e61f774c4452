use super::*;

const CODE: &str = "REGCODE-s3cr3t-0000";

fn unreadable_reason(s: &OnboardingStatus) -> &str {
    match s {
        OnboardingStatus::Unreadable { reason } => reason,
        other => panic!("expected unreadable, got {other:?}"),
    }
}

#[test]
fn when_cloud_config_is_a_yaml_alias_bomb_then_refused_in_well_under_a_second() {
    let mut text = String::from("#cloud-config\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let (prev, name) = (w[0], w[1]);
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    text.push_str(&format!(
        "write_files:\n  - path: {ONBOARDING_PATH}\n    content: '{{}}'\n"
    ));
    let started = std::time::Instant::now();
    let s = inspect(Some(&text));
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
    assert!(unreadable_reason(&s).contains("alias bomb"), "{s:?}");
}

#[test]
fn when_cloud_config_nests_too_deep_then_refused() {
    let text = format!("#cloud-config\nx: {}{}\n", "[".repeat(200), "]".repeat(200));
    assert!(unreadable_reason(&inspect(Some(&text))).contains("deeper"));
}

#[test]
fn when_aliases_are_few_and_small_then_the_config_still_parses() {
    let text = format!(
        "#cloud-config\ndefaults: &d {{ owner: root }}\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    meta: *d\n    content: |\n      {{\"name\": \"r1\", \"ssr-version\": \"6.3.0\", \"registration-code\": \"{CODE}\", \"mode\": \"mist-managed\", \"cloud-provider\": \"aws\"}}\n"
    );
    assert!(problems(&inspect(Some(&text))).is_empty());
}

#[test]
fn when_user_data_is_over_16_kb_then_refused_without_parsing() {
    let mut text = guide_user_data("r1", "6.3.0", CODE);
    text.push('#');
    text.push_str(&" ".repeat(MAX_USER_DATA_BYTES));
    let s = inspect_bytes(Some(text.as_bytes()));
    assert!(unreadable_reason(&s).contains("16384 bytes"), "{s:?}");
    let at_limit = format!(
        "{:<width$}",
        guide_user_data("r1", "6.3.0", CODE),
        width = MAX_USER_DATA_BYTES
    );
    assert!(problems(&inspect_bytes(Some(at_limit.as_bytes()))).is_empty());
}

fn problems(s: &OnboardingStatus) -> Vec<String> {
    match s {
        OnboardingStatus::Parsed { problems, .. } => problems.clone(),
        other => panic!("expected parsed, got {other:?}"),
    }
}

#[test]
fn when_user_data_is_the_guides_example_then_config_is_valid() {
    let s = inspect(Some(&guide_user_data("SSR_1_Router", "6.3.0", CODE)));
    assert!(problems(&s).is_empty(), "{s:?}");
    let c = s.config().unwrap();
    assert_eq!(c.name.as_deref(), Some("SSR_1_Router"));
    assert_eq!(c.ssr_version.as_deref(), Some("6.3.0"));
    assert!(c.registration_code_present);
}

#[test]
fn when_no_user_data_then_missing() {
    assert!(matches!(inspect(None), OnboardingStatus::Missing { .. }));
    assert!(matches!(
        inspect(Some("  \n")),
        OnboardingStatus::Missing { .. }
    ));
}

#[test]
fn when_cloud_config_writes_other_files_then_missing() {
    let ud = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: hi\n";
    assert!(matches!(
        inspect(Some(ud)),
        OnboardingStatus::Missing { .. }
    ));
}

#[test]
fn when_user_data_is_a_shell_script_then_unreadable() {
    match inspect(Some("#!/bin/bash\necho hi")) {
        OnboardingStatus::Unreadable { reason } => assert!(reason.contains("shell script")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn when_json_is_broken_then_unreadable_and_reason_has_no_content() {
    let ud = format!(
        "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {{ \"registration-code\": \"{CODE}\", \n"
    );
    let s = inspect(Some(&ud));
    assert!(matches!(s, OnboardingStatus::Unreadable { .. }), "{s:?}");
    assert!(!format!("{s:?}").contains(CODE));
}

#[test]
fn when_mode_and_provider_wrong_then_each_is_a_problem() {
    let ud = format!(
        "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {{\"name\":\"r\",\"ssr-version\":\"6.3.0\",\"registration-code\":\"{CODE}\",\"mode\":\"conductor-managed\",\"cloud-provider\":\"azure\"}}\n"
    );
    let s = inspect(Some(&ud));
    let p = problems(&s);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].contains("mist-managed") && p[1].contains("\"aws\""));
    let dump = format!("{s:?}{}", serde_json::to_string(&s).unwrap());
    assert!(!dump.contains(CODE));
}

#[test]
fn when_registration_code_missing_then_problem_named() {
    let ud = format!(
        "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {{\"name\":\"r\",\"ssr-version\":\"6.3.0\",\"mode\":\"mist-managed\",\"cloud-provider\":\"aws\"}}\n"
    );
    assert_eq!(
        problems(&inspect(Some(&ud))),
        vec!["\"registration-code\" is missing or empty"]
    );
}

#[test]
fn when_content_is_base64_encoded_then_it_is_decoded() {
    let json = format!("{{\"name\":\"r\",\"ssr-version\":\"6.3.0\",\"registration-code\":\"{CODE}\",\"mode\":\"mist-managed\",\"cloud-provider\":\"aws\"}}");
    let b64 = base64::engine::general_purpose::STANDARD.encode(json);
    let ud = format!(
        "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    encoding: b64\n    content: {b64}\n"
    );
    assert!(problems(&inspect(Some(&ud))).is_empty());
}

#[test]
fn when_yaml_is_invalid_then_unreadable_with_position() {
    let s = inspect(Some("#cloud-config\nwrite_files: [\n  - path: x\n"));
    match s {
        OnboardingStatus::Unreadable { reason } => assert!(reason.contains("line"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
