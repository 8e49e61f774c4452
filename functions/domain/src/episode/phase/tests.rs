use chrono::Duration;

use super::*;

fn dev(name: &str, mac: &str, connected: bool) -> InventoryDevice {
    InventoryDevice {
        name: Some(name.into()),
        mac: Some(mac.into()),
        serial: Some("SN1".into()),
        model: Some("SSR".into()),
        device_type: Some("gateway".into()),
        connected: Some(connected),
        site_id: None,
    }
}

fn st(mac: &str, version: Option<&str>) -> GatewayStats {
    GatewayStats {
        mac: Some(mac.into()),
        name: None,
        version: version.map(String::from),
        status: Some("connected".into()),
    }
}

/// Four connected gateways and one offline; stats for three of them.
fn index() -> InventoryIndex {
    InventoryIndex::new(
        vec![
            dev("r-connected", "0a0000000001", true),
            dev("r-old", "0a0000000002", true),
            dev("r-offline", "0a0000000003", false),
            dev("r-noversion", "0a0000000004", true),
            dev("r-nostats", "0a0000000005", true),
        ],
        vec![
            st("0A:00:00:00:00:01", Some("6.3.0-107.r1")),
            st("0a0000000002", Some("6.2.5-1.r2")),
            st("0a0000000004", None),
        ],
    )
}

#[test]
fn version_rule_table() {
    let cases = [
        ("6.3.0", Some("6.3.0-107.r1"), true),
        ("6.3.0", Some("6.3.0"), true),
        ("6.3.0", Some("6.3.0.12"), true),
        ("v6.3.0", Some("6.3.0-107.r1"), true),
        ("6.3.0-107.r1", Some("6.3.0-107.r1"), true),
        ("6.3", Some("6.3.4-2.r2"), true),
        // The configured version is a floor: Mist upgraded the router past it.
        ("6.3.0", Some("6.3.01"), true),
        ("6.3.0", Some("6.3.1-5.r1"), true),
        ("6.3.0", Some("7.0"), true),
        ("6.3", Some("6.3.0"), true),
        ("6.3.0", Some("6.2.5-1.r2"), false),
        ("6.3.0", Some("5.9.9"), false),
        ("6.3.0", None, false),
        // A side without a build matches any build of its release.
        ("6.3.0-107.r1", Some("6.3.0"), true),
        // Builds compare numerically when both sides have one.
        ("6.3.0-107.r1", Some("6.3.0-99.r1"), false),
        ("6.3.0-99.r1", Some("6.3.0-107.r1"), true),
        // Not numbers: the prefix rule.
        ("6.3.0", Some("garbage"), false),
        ("lab-build", Some("lab-build-2"), true),
    ];
    for (want, have, ok) in cases {
        assert_eq!(version_reaches(want, have), ok, "{want} vs {have:?}");
    }
}

#[test]
#[allow(clippy::type_complexity)]
fn phase_table() {
    let inv = index();
    let view = MistView::Inventory(&inv);
    let p = |name: &str, macs: &[&str], want: Option<&str>, check: VersionCheck| {
        let macs: Vec<String> = macs.iter().map(|m| m.to_string()).collect();
        phase_of(&view, false, Some(name), &macs, want, check)
    };
    use VersionCheck::*;
    let cases: [(&str, &[&str], Option<&str>, VersionCheck, &str, bool); 16] = [
        (
            "R-Connected",
            &[],
            Some("6.3.0"),
            WhenReported,
            "onboarded",
            true,
        ),
        (
            "nobody",
            &["0a:00:00:00:00:01"],
            Some("6.3.0"),
            Required,
            "onboarded",
            true,
        ),
        (
            "r-old",
            &[],
            Some("6.3.0"),
            WhenReported,
            "version-mismatch",
            false,
        ),
        (
            "r-old",
            &[],
            Some("6.3.0"),
            Required,
            "version-mismatch",
            false,
        ),
        ("r-old", &[], Some("6.3.0"), Off, "onboarded", true),
        ("r-offline", &[], Some("6.3.0"), Off, "not-connected", false),
        // Stats entry without a version.
        (
            "r-noversion",
            &[],
            Some("6.3.0"),
            WhenReported,
            "onboarded",
            true,
        ),
        (
            "r-noversion",
            &[],
            Some("6.3.0"),
            Required,
            "version-mismatch",
            false,
        ),
        ("r-noversion", &[], None, Required, "onboarded", true),
        // Connected, no stats entry at all.
        (
            "r-nostats",
            &[],
            Some("6.3.0"),
            WhenReported,
            "connected-no-stats",
            true,
        ),
        (
            "r-nostats",
            &[],
            Some("6.3.0"),
            Required,
            "connected-no-stats",
            false,
        ),
        ("r-nostats", &[], Some("6.3.0"), Off, "onboarded", true),
        ("r-nostats", &[], None, Required, "onboarded", true),
        (
            "absent",
            &["0a:ff:00:00:00:01"],
            Some("6.3.0"),
            WhenReported,
            "not-in-inventory",
            false,
        ),
        // MAC wins over a name that points elsewhere.
        (
            "r-connected",
            &["0a:00:00:00:00:03"],
            Some("6.3.0"),
            WhenReported,
            "not-connected",
            false,
        ),
        (
            "r-connected",
            &[],
            Some("6.4"),
            WhenReported,
            "version-mismatch",
            false,
        ),
    ];
    for (name, macs, want, check, code, onboarded) in cases {
        let ph = p(name, macs, want, check);
        assert_eq!(
            (ph.code(), ph.is_onboarded()),
            (code, onboarded),
            "{name} {macs:?} {want:?} {check:?}: {ph:?}"
        );
    }
    let nr = p("r-noversion", &[], Some("6.3.0"), WhenReported);
    assert_eq!(nr.note(), Some("version not reported"));
    assert!(
        nr.describe().contains("version not reported"),
        "{}",
        nr.describe()
    );
    let ns = p("r-nostats", &[], Some("6.3.0"), WhenReported);
    assert_eq!(ns.note(), Some("version not reported"));
    assert!(
        ns.describe().contains("no device stats"),
        "{}",
        ns.describe()
    );
    let ok = p("r-connected", &[], Some("6.3.0"), WhenReported);
    assert_eq!(ok.note(), None);
    assert!(ok.describe().contains("6.3.0-107.r1"), "{}", ok.describe());
    match p("r-old", &[], Some("6.3.0"), WhenReported) {
        Phase::VersionMismatch { have, .. } => assert_eq!(have.as_deref(), Some("6.2.5-1.r2")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn when_name_is_duplicated_then_most_advanced_device_counts() {
    let inv = InventoryIndex::new(
        vec![
            dev("edge", "0a0000000010", false),
            dev("edge", "0a0000000011", true),
        ],
        vec![st("0a0000000011", Some("6.3.0-1.r1"))],
    );
    let ph = phase_of(
        &MistView::Inventory(&inv),
        false,
        Some("edge"),
        &[],
        Some("6.3.0"),
        VersionCheck::WhenReported,
    );
    assert!(ph.is_onboarded(), "{ph:?}");
}

#[test]
fn when_tag_or_mist_missing_then_phase_says_so() {
    let nc = MistView::NotConfigured("MIST_ORG_ID is not set".into());
    let wr = VersionCheck::WhenReported;
    assert!(phase_of(&nc, true, None, &[], None, wr).is_onboarded());
    let ph = phase_of(&nc, false, Some("r"), &[], None, wr);
    assert_eq!(ph.code(), "unknown");
    assert!(
        ph.describe().contains("Mist not configured"),
        "{}",
        ph.describe()
    );
    let un = MistView::Unavailable("Mist API answered 401 Unauthorized".into());
    assert!(phase_of(&un, false, None, &[], None, wr)
        .describe()
        .contains("401 Unauthorized"));
}

#[test]
fn decision_table() {
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let dl = Duration::minutes(15);
    let nii = Phase::NotInInventory;
    let mist_ok = Phase::Onboarded {
        by: OnboardedBy::Mist {
            version: VersionStatus::Matched,
            device: DeviceSummary {
                name: None,
                mac: None,
                serial: None,
                version: None,
                site_id: None,
                matched_by: MatchedBy::Name("r".into()),
            },
        },
    };
    let at = |m: i64| t0 + Duration::minutes(m);
    // Mist configured, no adoption: the rules as they were before adoption existed.
    let old = |now: DateTime<Utc>,
               started_at: DateTime<Utc>,
               deadline: Duration,
               phase: &Phase,
               version_known: bool,
               alerted: bool| {
        decide(
            now,
            &rules(deadline),
            phase,
            &EpisodeFacts {
                started_at,
                version_known,
                alerted,
                mist_configured: true,
                ..Default::default()
            },
        )
    };
    assert_eq!(old(at(14), t0, dl, &nii, true, false), Decision::Wait);
    assert_eq!(old(at(15), t0, dl, &nii, true, false), Decision::Overdue);
    assert_eq!(
        old(at(16), t0, dl, &nii, true, true),
        Decision::StillOverdue
    );
    assert_eq!(old(at(16), t0, dl, &mist_ok, true, true), Decision::Finish);
    assert_eq!(old(at(3), t0, dl, &mist_ok, false, false), Decision::Defer);
    let tag = Phase::Onboarded {
        by: OnboardedBy::Tag,
    };
    assert_eq!(old(at(3), t0, dl, &tag, false, false), Decision::Finish);
    let device = match &mist_ok {
        Phase::Onboarded {
            by: OnboardedBy::Mist { device, .. },
        } => device.clone(),
        _ => unreachable!(),
    };
    let no_stats = |counts_as_onboarded| Phase::ConnectedNoStats {
        device: device.clone(),
        counts_as_onboarded,
    };
    assert_eq!(
        old(at(16), t0, dl, &no_stats(true), true, true),
        Decision::Finish
    );
    assert_eq!(
        old(at(3), t0, dl, &no_stats(true), false, false),
        Decision::Defer
    );
    assert_eq!(
        old(at(16), t0, dl, &no_stats(false), true, false),
        Decision::Overdue
    );
}

fn rules(deadline: Duration) -> crate::episode::SweepRules {
    crate::episode::SweepRules {
        check: VersionCheck::WhenReported,
        deadline,
        adopt: crate::config::AdoptExisting::Summary,
        unverified: crate::config::UnverifiedOnboarding::Notice,
    }
}

#[test]
fn when_a_router_is_adopted_then_it_is_never_paged_and_onboarding_still_finishes_it() {
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let r = rules(Duration::minutes(15));
    let facts = EpisodeFacts {
        started_at: t0,
        version_known: true,
        adopted: true,
        mist_configured: true,
        ..Default::default()
    };
    let days_later = t0 + Duration::days(3);
    assert_eq!(
        decide(days_later, &r, &Phase::NotInInventory, &facts),
        Decision::Adopted
    );
    let tag = Phase::Onboarded {
        by: OnboardedBy::Tag,
    };
    assert_eq!(decide(days_later, &r, &tag, &facts), Decision::Finish);
    // Past its deadline with its config not read yet: wait for the read, never page now.
    let awaiting = EpisodeFacts {
        adopted: false,
        version_known: false,
        awaiting_adoption: true,
        ..facts
    };
    assert_eq!(
        decide(days_later, &r, &Phase::NotInInventory, &awaiting),
        Decision::Defer
    );
}

#[test]
fn when_mist_is_not_configured_then_the_deadline_sends_one_notice_or_pages_as_configured() {
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let unknown = Phase::Unknown {
        reason: "Mist not configured (MIST_ORG_ID is not set)".into(),
    };
    let facts = EpisodeFacts {
        started_at: t0,
        version_known: true,
        mist_configured: false,
        ..Default::default()
    };
    let r = rules(Duration::minutes(15));
    let at = |m: i64| t0 + Duration::minutes(m);
    assert_eq!(decide(at(14), &r, &unknown, &facts), Decision::Wait);
    assert_eq!(decide(at(15), &r, &unknown, &facts), Decision::Unverified);
    let notified = EpisodeFacts {
        notified: true,
        ..facts
    };
    assert_eq!(
        decide(at(60), &r, &unknown, &notified),
        Decision::StillUnverified
    );
    let page = crate::episode::SweepRules {
        unverified: crate::config::UnverifiedOnboarding::Page,
        ..r
    };
    assert_eq!(decide(at(15), &page, &unknown, &facts), Decision::Overdue);
    // Mist configured but failing still pages, saying its status is unknown.
    let failing = EpisodeFacts {
        mist_configured: true,
        ..facts
    };
    assert_eq!(decide(at(15), &r, &unknown, &failing), Decision::Overdue);
}
