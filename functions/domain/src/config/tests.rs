use super::*;
use std::collections::HashMap;

fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(|k| map.get(k).cloned())
}

#[test]
fn when_nothing_is_set_then_guide_defaults_apply() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.router_tag_key, "SSR-ROUTER");
    assert!(c.router_stacks.is_empty());
    assert!(!c.dry_run && !c.ena_fix_when_stopped);
    assert_eq!(c.onboarding_deadline, chrono::Duration::minutes(15));
    assert_eq!(c.min_root_volume_gb, 128);
    assert_eq!(c.alert_dedup, chrono::Duration::hours(24));
    assert_eq!(c.mist.api_url, "https://api.mist.com");
    assert_eq!(
        c.readback_backoff,
        [500, 1000, 2000, 4000].map(Duration::from_millis)
    );
    assert_eq!(c.public_ip_grace, chrono::Duration::minutes(10));
    assert_eq!(c.hub_account_id, None);
    assert_eq!(c.member_role_name, "ssr-onboard-member");
}

#[test]
fn when_hub_account_and_member_role_are_set_then_they_are_validated() {
    let c = cfg(&[
        ("HUB_ACCOUNT_ID", "111122223333"),
        ("MEMBER_ROLE_NAME", "ops.ssr-member"),
    ])
    .unwrap();
    assert_eq!(c.hub_account_id.as_deref(), Some("111122223333"));
    assert_eq!(c.member_role_name, "ops.ssr-member");
    for (var, bad) in [
        ("HUB_ACCOUNT_ID", "1111-2222-3333"),
        ("HUB_ACCOUNT_ID", "11112222333"),
        ("MEMBER_ROLE_NAME", "role/with/slash"),
    ] {
        let err = cfg(&[(var, bad)]).unwrap_err().to_string();
        assert!(err.starts_with(var), "{err}");
    }
}

#[test]
fn when_member_accounts_and_regions_are_set_then_they_are_parsed_and_bad_ones_named() {
    const HUB: (&str, &str) = ("HUB_ACCOUNT_ID", "111122223333");
    let c = cfg(&[
        HUB,
        (
            "MEMBER_ACCOUNTS",
            " 444455556666, 777788889999 ,444455556666",
        ),
        ("MEMBER_REGIONS", "eu-west-1,us-gov-west-1, eu-west-1"),
    ])
    .unwrap();
    assert_eq!(
        c.member_accounts,
        MemberAccounts::List(vec!["444455556666".into(), "777788889999".into()])
    );
    assert_eq!(c.member_regions, ["eu-west-1", "us-gov-west-1"]);
    assert_eq!(
        cfg(&[HUB, ("MEMBER_ACCOUNTS", "ORG")])
            .unwrap()
            .member_accounts,
        MemberAccounts::Organization
    );
    assert_eq!(cfg(&[]).unwrap().member_accounts, MemberAccounts::None);
    assert!(cfg(&[]).unwrap().member_regions.is_empty());
    for (var, bad) in [
        ("MEMBER_ACCOUNTS", "4444-5555-6666"),
        ("MEMBER_ACCOUNTS", "all"),
        ("MEMBER_REGIONS", "EU-WEST-1"),
        ("MEMBER_REGIONS", "eu-west"),
        ("MEMBER_REGIONS", "https://ec2.eu-west-1.amazonaws.com"),
    ] {
        let err = cfg(&[HUB, (var, bad)]).unwrap_err().to_string();
        assert!(err.starts_with(var), "{err}");
    }
}

#[test]
fn when_member_accounts_exclude_is_set_then_ids_are_parsed_and_a_bad_one_is_named() {
    let c = cfg(&[
        ("HUB_ACCOUNT_ID", "111122223333"),
        ("MEMBER_ACCOUNTS", "org"),
        (
            "MEMBER_ACCOUNTS_EXCLUDE",
            " 222233334444,555566667777, 222233334444 ",
        ),
    ])
    .unwrap();
    assert_eq!(c.member_accounts_exclude, ["222233334444", "555566667777"]);
    assert!(cfg(&[]).unwrap().member_accounts_exclude.is_empty());
    for bad in ["org", "2222-3333-4444", "222233334444,audit"] {
        let err = cfg(&[("MEMBER_ACCOUNTS_EXCLUDE", bad)])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("MEMBER_ACCOUNTS_EXCLUDE:"), "{err}");
        assert!(err.contains("12-digit"), "{err}");
    }
}

#[test]
fn when_an_organization_sweep_is_asked_without_the_hub_account_then_config_error() {
    for var in ["MEMBER_ACCOUNTS", "MEMBER_REGIONS"] {
        let value = if var == "MEMBER_ACCOUNTS" {
            "444455556666"
        } else {
            "eu-west-1"
        };
        let err = cfg(&[(var, value)]).unwrap_err().to_string();
        assert!(err.starts_with(var), "{err}");
        assert!(err.contains("HUB_ACCOUNT_ID"), "{err}");
    }
}

#[test]
fn when_readback_backoff_is_not_numbers_then_config_error_names_it() {
    let e = cfg(&[("READBACK_BACKOFF_MS", "1,fast")]).unwrap_err();
    assert!(e.to_string().starts_with("READBACK_BACKOFF_MS:"), "{e}");
    let c = cfg(&[("READBACK_BACKOFF_MS", "1, 2")]).unwrap();
    assert_eq!(c.readback_backoff, [1, 2].map(Duration::from_millis));
}

#[test]
fn when_router_stacks_given_then_globs_match_stack_names() {
    let c = cfg(&[("ROUTER_STACKS", "SSR-*, edge-router ,")]).unwrap();
    assert!(c.stack_matches("SSR-1-Router").is_some());
    assert!(c.stack_matches("edge-router").is_some());
    assert!(c.stack_matches("web-app").is_none());
}

#[test]
fn when_boolean_is_garbage_then_error_names_the_variable() {
    let err = cfg(&[("DRY_RUN", "maybe")]).unwrap_err().to_string();
    assert!(err.starts_with("DRY_RUN:"), "{err}");
}

#[test]
fn when_deadline_out_of_range_then_error() {
    assert!(cfg(&[("ONBOARDING_DEADLINE_MINUTES", "0")]).is_err());
    assert!(cfg(&[("ONBOARDING_DEADLINE_MINUTES", "x")]).is_err());
    assert_eq!(
        cfg(&[("ONBOARDING_DEADLINE_MINUTES", "20")])
            .unwrap()
            .onboarding_deadline,
        chrono::Duration::minutes(20)
    );
}

#[test]
fn when_mist_token_set_then_debug_output_does_not_show_it() {
    let c = cfg(&[("MIST_API_TOKEN", "tok-very-secret-123")]).unwrap();
    assert!(!format!("{c:?}").contains("tok-very-secret-123"));
}

#[test]
fn when_version_check_is_set_then_parsed_and_garbage_names_the_variable() {
    assert_eq!(
        cfg(&[]).unwrap().mist.version_check,
        VersionCheck::WhenReported
    );
    for (v, want) in [
        ("when-reported", VersionCheck::WhenReported),
        ("Required", VersionCheck::Required),
        ("off", VersionCheck::Off),
    ] {
        assert_eq!(
            cfg(&[("MIST_VERSION_CHECK", v)])
                .unwrap()
                .mist
                .version_check,
            want
        );
    }
    let err = cfg(&[("MIST_VERSION_CHECK", "strict")])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("MIST_VERSION_CHECK:"), "{err}");
}

#[test]
fn when_retry_delay_computed_then_it_doubles() {
    let p = RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(100),
    };
    assert_eq!(p.delay(1), Duration::from_millis(100));
    assert_eq!(p.delay(3), Duration::from_millis(400));
}

#[test]
fn when_adoption_and_unverified_onboarding_are_set_then_parsed_and_garbage_names_the_variable() {
    let default = cfg(&[]).expect("defaults");
    assert_eq!(default.watchdog.adopt_existing, AdoptExisting::Summary);
    assert_eq!(
        default.watchdog.unverified_onboarding,
        UnverifiedOnboarding::Notice
    );
    let set = cfg(&[
        ("ADOPT_EXISTING", "Page"),
        ("UNVERIFIED_ONBOARDING", "page"),
    ])
    .expect("set");
    assert_eq!(set.watchdog.adopt_existing, AdoptExisting::Page);
    assert_eq!(
        set.watchdog.unverified_onboarding,
        UnverifiedOnboarding::Page
    );
    assert_eq!(
        cfg(&[("ADOPT_EXISTING", "silent")])
            .map(|c| c.watchdog.adopt_existing)
            .ok(),
        Some(AdoptExisting::Silent)
    );
    for (var, bad) in [
        ("ADOPT_EXISTING", "quiet"),
        ("UNVERIFIED_ONBOARDING", "never"),
    ] {
        let err = cfg(&[(var, bad)]).expect_err("garbage");
        assert!(err.to_string().contains(var), "{err}");
    }
}

#[test]
fn when_enabled_is_unset_then_on_and_false_turns_it_off_and_garbage_names_the_variable() {
    assert!(cfg(&[]).expect("defaults").enabled);
    assert!(!cfg(&[("ENABLED", "false")]).expect("off").enabled);
    assert!(cfg(&[("ENABLED", "true")]).expect("on").enabled);
    let err = cfg(&[("ENABLED", "maybe")]).expect_err("garbage");
    assert!(err.to_string().contains("ENABLED"), "{err}");
}
