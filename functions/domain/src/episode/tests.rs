use super::*;
use crate::mist_model::{GatewayStats, InventoryDevice};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

fn episode(id: &str, name: &str, alerted: bool, version: Option<&str>) -> Episode {
    Episode {
        instance_id: id.into(),
        instance_type: Some("c5.xlarge".into()),
        key_name: None,
        launch_time: t0(),
        tags: BTreeMap::from([("Name".to_string(), name.to_string())]),
        interfaces: vec![],
        started_at: t0(),
        watch: Some(WatchItem {
            onboarded_tag_at_start: false,
            mist_phase: None,
            router_name: None,
            ssr_version: version.map(String::from),
            onboarding_note: None,
            first_seen_at: t0(),
        }),
        alerted,
        notified: false,
        account: Some("444455556666".into()),
        region: Some("eu-west-1".into()),
        onboarded_before: None,
    }
}

fn device(name: &str, mac: &str, connected: bool) -> InventoryDevice {
    InventoryDevice {
        name: Some(name.into()),
        mac: Some(mac.into()),
        serial: None,
        model: None,
        device_type: Some("gateway".into()),
        connected: Some(connected),
        site_id: None,
    }
}

fn rules(adopt: AdoptExisting) -> SweepRules {
    SweepRules {
        check: VersionCheck::WhenReported,
        deadline: Duration::minutes(15),
        adopt,
        unverified: UnverifiedOnboarding::Notice,
    }
}

fn stats(mac: &str, version: &str) -> GatewayStats {
    GatewayStats {
        mac: Some(mac.into()),
        version: Some(version.into()),
        ..Default::default()
    }
}

#[test]
fn when_a_sweep_runs_past_the_deadline_then_unonboarded_routers_page_once_and_onboarded_ones_finish(
) {
    let inv = InventoryIndex::new(
        vec![
            device("good", "0a0000000001", true),
            device("old", "0a0000000002", true),
        ],
        vec![
            stats("0a0000000001", "6.3.0-107.r1"),
            stats("0a0000000002", "6.2.5-1.r2"),
        ],
    );
    let episodes = vec![
        episode("i-good", "good", true, Some("6.3.0")),
        episode("i-old", "old", false, Some("6.3.0")),
        episode("i-absent", "absent", true, Some("6.3.0")),
    ];
    let now = t0() + Duration::minutes(16);
    let plan = plan_sweep(
        &episodes,
        &MistView::Inventory(&inv),
        &rules(AdoptExisting::Summary),
        now,
    );
    let decisions: Vec<(&str, Decision, &str)> = plan
        .episodes
        .iter()
        .map(|p| {
            (
                episodes[p.episode].instance_id.as_str(),
                p.decision,
                p.phase.code(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        vec![
            ("i-good", Decision::Finish, "onboarded"),
            ("i-old", Decision::Overdue, "version-mismatch"),
            ("i-absent", Decision::StillOverdue, "not-in-inventory"),
        ]
    );
    let overdue: Vec<&str> = plan
        .overdue
        .iter()
        .map(|o| o.instance_id.as_str())
        .collect();
    assert_eq!(overdue, vec!["i-absent", "i-old"], "sorted, both overdue");
    assert_eq!(plan.actions().count(), 2, "one page and one finish");
}

#[test]
fn when_mist_is_unavailable_then_overdue_routers_still_page_with_the_reason() {
    let episodes = vec![episode("i-1", "r", false, Some("6.3.0"))];
    let plan = plan_sweep(
        &episodes,
        &MistView::Unavailable("Mist API answered 500".into()),
        &rules(AdoptExisting::Summary),
        t0() + Duration::minutes(20),
    );
    assert_eq!(plan.episodes[0].decision, Decision::Overdue);
    assert!(plan.episodes[0].phase.describe().contains("500"));
}

#[test]
fn when_an_old_router_is_first_seen_onboarded_after_its_deadline_then_its_duration_is_not_measured()
{
    let mut e = episode("i-1", "r", false, None);
    let now = t0() + Duration::hours(3);
    if let Some(w) = e.watch.as_mut() {
        w.first_seen_at = now;
    }
    let tag = Phase::Onboarded {
        by: OnboardedBy::Tag,
    };
    let (record, measured) = e.finished(&tag, now, Duration::minutes(15));
    assert!(!measured);
    assert_eq!(record.onboarded_by.as_deref(), Some("tag"));
    e.alerted = true;
    assert!(
        e.finished(&tag, now, Duration::minutes(15)).1,
        "alerted episodes are measured"
    );
}

/// An episode the watchdog first saw (read its config) at `first_seen`.
fn seen_at(id: &str, first_seen: DateTime<Utc>) -> Episode {
    let mut e = episode(id, id, false, Some("6.3.0"));
    if let Some(w) = e.watch.as_mut() {
        w.first_seen_at = first_seen;
    }
    e
}

#[test]
fn when_routers_were_running_before_the_watchdog_then_they_are_adopted_and_listed_once() {
    let now = t0() + Duration::hours(5);
    let episodes = vec![
        seen_at("i-adopted-now", now),
        seen_at("i-adopted-earlier", now - Duration::hours(1)),
        seen_at("i-new", t0() + Duration::minutes(1)),
    ];
    let inv = InventoryIndex::new(vec![], vec![]);
    let plan = plan_sweep(
        &episodes,
        &MistView::Inventory(&inv),
        &rules(AdoptExisting::Summary),
        now,
    );
    let decisions: Vec<Decision> = plan.episodes.iter().map(|p| p.decision).collect();
    assert_eq!(
        decisions,
        [Decision::Adopted, Decision::Adopted, Decision::Overdue],
        "adopted routers never page; a router seen before its deadline still does"
    );
    assert_eq!(
        plan.adopted_now,
        [0],
        "only the router adopted in this sweep"
    );
    let overdue: Vec<&str> = plan
        .overdue
        .iter()
        .map(|o| o.instance_id.as_str())
        .collect();
    assert_eq!(overdue, ["i-new"]);

    let silent = plan_sweep(
        &episodes,
        &MistView::Inventory(&inv),
        &rules(AdoptExisting::Silent),
        now,
    );
    assert!(silent.adopted_now.is_empty());
    assert_eq!(silent.episodes[0].decision, Decision::Adopted);

    let page = plan_sweep(
        &episodes,
        &MistView::Inventory(&inv),
        &rules(AdoptExisting::Page),
        now,
    );
    let decisions: Vec<Decision> = page.episodes.iter().map(|p| p.decision).collect();
    assert_eq!(
        decisions,
        [Decision::Overdue; 3],
        "ADOPT_EXISTING=page: as before"
    );
}

#[test]
fn when_no_mist_settings_then_a_first_sweep_hours_after_launch_pages_nobody() {
    let now = t0() + Duration::hours(5);
    // Launched 20 minutes ago, seen a minute after launch.
    let mut young = seen_at("i-new", now - Duration::minutes(19));
    young.started_at = now - Duration::minutes(20);
    let episodes = vec![seen_at("i-old", now), young];
    let plan = plan_sweep(
        &episodes,
        &MistView::NotConfigured("MIST_ORG_ID is not set".into()),
        &rules(AdoptExisting::Summary),
        now,
    );
    let decisions: Vec<Decision> = plan.episodes.iter().map(|p| p.decision).collect();
    assert_eq!(decisions, [Decision::Adopted, Decision::Unverified]);
    assert!(plan.overdue.is_empty(), "nothing is known to be overdue");
}

#[test]
fn when_a_router_is_snoozed_then_it_waits_until_the_time_and_then_pages_once() {
    let mut e = episode("i-1", "r", false, Some("6.3.0"));
    e.tags.insert(
        "SSR-ONBOARD-SNOOZE-UNTIL".into(),
        (t0() + Duration::hours(2)).to_rfc3339(),
    );
    let inv = InventoryIndex::new(vec![], vec![]);
    let plan_at = |now| {
        plan_sweep(
            std::slice::from_ref(&e),
            &MistView::Inventory(&inv),
            &rules(AdoptExisting::Summary),
            now,
        )
    };
    let snoozed = plan_at(t0() + Duration::minutes(30));
    assert_eq!(snoozed.episodes[0].decision, Decision::Snoozed);
    assert_eq!(
        snoozed.overdue.len(),
        1,
        "still listed as overdue, not paged"
    );
    assert_eq!(snoozed.actions().count(), 0);
    let after = plan_at(t0() + Duration::hours(2));
    assert_eq!(after.episodes[0].decision, Decision::Overdue);
}

#[test]
fn when_the_onboarded_tag_was_there_when_the_episode_began_then_it_does_not_close_it() {
    let mut e = episode("i-1", "r", false, Some("6.3.0"));
    e.tags.insert("SSR-ONBOARDED".into(), "true".into());
    assert!(e.onboarded_tag(), "added during the episode: closes it");
    if let Some(w) = e.watch.as_mut() {
        w.onboarded_tag_at_start = true;
    }
    assert!(e.onboarded_tag_set(), "left from an earlier episode");
    assert!(!e.onboarded_tag(), "a stale tag does not mute the router");
    e.watch = None;
    assert!(!e.onboarded_tag(), "not read yet: not counted");
}

/// A second episode of `id` (after a stop/start) starting at `start`, its first onboarded
/// through Mist at `t0() + 10 min`.
fn second_episode(id: &str, start: DateTime<Utc>) -> Episode {
    let mut e = episode(id, id, false, Some("6.3.0"));
    e.started_at = start;
    if let Some(w) = e.watch.as_mut() {
        w.first_seen_at = start;
    }
    e.onboarded_before = Some(records::OnboardedBefore {
        onboarded_at: t0() + Duration::minutes(10),
        episode_started_at: t0(),
    });
    e
}

#[test]
fn when_a_router_onboarded_before_then_its_next_episode_needs_only_a_reconnect_not_the_version() {
    let start = t0() + Duration::days(3);
    let inv = InventoryIndex::new(
        vec![
            device("again", "0a0000000011", true),
            device("first", "0a0000000012", true),
        ],
        // Both report a version below the configured 6.3.0.
        vec![
            stats("0a0000000011", "6.2.5-1.r2"),
            stats("0a0000000012", "6.2.5-1.r2"),
        ],
    );
    let again = second_episode("again", start);
    let mut first = again.clone();
    first.instance_id = "first".into();
    first.tags.insert("Name".into(), "first".into());
    first.onboarded_before = None;
    let plan = plan_sweep(
        &[again.clone(), first],
        &MistView::Inventory(&inv),
        &rules(AdoptExisting::Summary),
        start + Duration::minutes(5),
    );
    let got: Vec<(Decision, &str)> = plan
        .episodes
        .iter()
        .map(|p| (p.decision, p.phase.code()))
        .collect();
    assert_eq!(
        got,
        [
            (Decision::Finish, "onboarded"),
            (Decision::Wait, "version-mismatch"),
        ],
        "onboarded before: connected is enough; a first install still needs its version"
    );
    assert_eq!(
        again.onboarding_rule().to_string(),
        format!(
            "reconnect only, no version check (onboarded before on {})",
            t0().format("%Y-%m-%d")
        )
    );
}

#[test]
fn when_a_router_onboarded_before_is_not_connected_past_its_deadline_then_it_still_pages() {
    let start = t0() + Duration::days(3);
    let inv = InventoryIndex::new(vec![device("again", "0a0000000011", false)], vec![]);
    let plan = plan_sweep(
        &[second_episode("again", start)],
        &MistView::Inventory(&inv),
        &rules(AdoptExisting::Summary),
        start + Duration::minutes(16),
    );
    assert_eq!(plan.episodes[0].decision, Decision::Overdue);
    assert_eq!(plan.episodes[0].phase.code(), "not-connected");
}

#[test]
fn when_the_onboarded_memory_is_the_episodes_own_then_the_version_is_still_checked() {
    let mut e = episode("i-1", "r", false, Some("6.3.0"));
    e.onboarded_before = Some(records::OnboardedBefore {
        onboarded_at: t0() + Duration::minutes(9),
        episode_started_at: t0(),
    });
    assert_eq!(
        e.reconnect_only(),
        None,
        "its own onboarding, not an earlier one"
    );
    assert_eq!(e.version_floor(), Some("6.3.0"));
    assert_eq!(
        e.onboarding_rule().to_string(),
        "first install — connected to Mist with SSR 6.3.0 or later"
    );
}

#[test]
fn when_an_episode_ends_by_mist_then_it_proves_onboarded_and_by_tag_or_ack_it_does_not() {
    let e = episode("i-1", "r", false, Some("6.3.0"));
    let now = t0() + Duration::minutes(9);
    let mist = Phase::Onboarded {
        by: OnboardedBy::Mist {
            device: DeviceSummary {
                name: None,
                mac: None,
                serial: None,
                version: Some("6.3.0".into()),
                site_id: None,
                matched_by: MatchedBy::Name("r".into()),
            },
            version: VersionStatus::Matched,
        },
    };
    let tag = Phase::Onboarded {
        by: OnboardedBy::Tag,
    };
    let (by_mist, _) = e.finished(&mist, now, Duration::minutes(15));
    let (by_tag, _) = e.finished(&tag, now, Duration::minutes(15));
    assert!(by_mist.proves_onboarded());
    assert!(!by_tag.proves_onboarded());
    let acknowledged = EpisodeRecord {
        onboarded_by: Some(records::ONBOARDED_BY_ACK.into()),
        ..by_mist
    };
    assert!(!acknowledged.proves_onboarded());
}

// The accessors and the inventory index the core's watchdog reads (cargo-mutants over episode/
// found them tested only from the core).

#[test]
fn when_an_episode_is_read_then_its_key_names_and_expiry_come_from_its_instance_tags_and_start() {
    let mut e = episode("i-0a", "tag-name", false, None);
    e.tags
        .insert(crate::select::STACK_NAME_TAG.into(), "stack-name".into());
    assert_eq!(e.key(), format!("i-0a#{}", t0().timestamp()));
    assert_eq!(e.stack_name(), Some("stack-name"));
    assert_eq!(e.name_tag(), Some("tag-name"));
    assert_eq!(e.expires_at(), t0() + Duration::days(RETENTION_DAYS));
    // No onboarding config name: the Name tag labels it.
    assert_eq!((e.label(), e.mist_name()), ("tag-name", Some("tag-name")));
    // The onboarding config's name wins over the tags.
    if let Some(w) = e.watch.as_mut() {
        w.router_name = Some("config-name".into());
    }
    assert_eq!(
        (e.label(), e.mist_name()),
        ("config-name", Some("config-name"))
    );
    // A blank Name tag is no name; without any name the instance id labels it.
    let mut bare = episode("i-0b", "  ", false, None);
    assert_eq!(bare.name_tag(), None);
    assert_eq!(bare.stack_name(), None);
    bare.tags.clear();
    assert_eq!((bare.label(), bare.mist_name()), ("i-0b", None));
}

#[test]
fn when_an_episode_first_seen_within_its_deadline_finishes_then_its_duration_is_measured() {
    let deadline = Duration::minutes(15);
    let now = t0() + Duration::minutes(20);
    let tag = Phase::Onboarded {
        by: OnboardedBy::Tag,
    };
    let mut e = episode("i-0c", "r", false, None);
    if let Some(w) = e.watch.as_mut() {
        w.first_seen_at = t0() + Duration::minutes(10);
    }
    let (record, measured) = e.finished(&tag, now, deadline);
    assert!(measured, "first seen 10 minutes after launch, within 15");
    assert_eq!(record.duration_seconds, 20 * 60);
    if let Some(w) = e.watch.as_mut() {
        w.first_seen_at = t0() + Duration::minutes(16);
    }
    assert!(
        !e.finished(&tag, now, deadline).1,
        "first seen past its deadline"
    );
}

#[test]
fn when_an_inventory_is_indexed_then_it_counts_its_devices_and_their_stats() {
    let empty = InventoryIndex::new(vec![], vec![]);
    assert!(empty.is_empty());
    assert_eq!((empty.len(), empty.stats_len()), (0, 0));
    let inv = InventoryIndex::new(
        vec![
            device("a", "0a0000000001", true),
            device("b", "0a0000000002", true),
            device("c", "0a0000000003", false),
        ],
        vec![
            stats("0a0000000001", "6.3.0"),
            stats("0a0000000002", "6.3.0"),
        ],
    );
    assert!(!inv.is_empty());
    assert_eq!((inv.len(), inv.stats_len()), (3, 2));
}

#[test]
fn when_several_devices_share_a_name_then_the_most_advanced_one_is_matched() {
    let name = |inv: &InventoryIndex, want: Option<&str>| {
        inv.find(Some("dup"), &[], want)
            .and_then(|(d, _)| d.mac.clone())
            .unwrap_or_default()
    };
    // Best first: a constant ranking would pick the last one.
    let inv = InventoryIndex::new(
        vec![
            device("dup", "0a00000000a4", true),
            device("dup", "0a00000000a3", true),
            device("dup", "0a00000000a2", true),
            device("dup", "0a00000000a1", false),
        ],
        vec![
            stats("0a00000000a4", "6.3.0-1.r1"),
            stats("0a00000000a3", "6.2.5-1.r2"),
        ],
    );
    // Connected with the wanted version > with stats > connected > not connected.
    assert_eq!(name(&inv, Some("6.3.0")), "0a00000000a4");
    let below = InventoryIndex::new(
        vec![
            device("dup", "0a00000000b3", true),
            device("dup", "0a00000000b2", true),
            device("dup", "0a00000000b1", false),
        ],
        vec![stats("0a00000000b3", "6.2.5-1.r2")],
    );
    assert_eq!(
        name(&below, Some("6.3.0")),
        "0a00000000b3",
        "stats beat none"
    );
    let no_stats = InventoryIndex::new(
        vec![
            device("dup", "0a00000000c2", true),
            device("dup", "0a00000000c1", false),
        ],
        vec![],
    );
    assert_eq!(
        name(&no_stats, Some("6.3.0")),
        "0a00000000c2",
        "connected beats not"
    );
    assert_eq!(name(&no_stats, None), "0a00000000c2");
    // No version wanted: stats still rank first (the stats-less one comes last here, where a
    // tie would pick it).
    let unversioned = InventoryIndex::new(
        vec![
            device("dup", "0a00000000f2", true),
            device("dup", "0a00000000f1", true),
        ],
        vec![stats("0a00000000f2", "6.3.0-1.r1")],
    );
    assert_eq!(name(&unversioned, None), "0a00000000f2");
}

#[test]
fn when_a_named_device_has_another_routers_mac_then_the_name_match_is_not_trusted() {
    // Two inventory entries with one MAC: the MAC match of the second router finds the first
    // entry; the first router's name finds the second. It is still the other router's device.
    let inv = InventoryIndex::new(
        vec![
            device("other", "0a00000000d1", true),
            device("mine", "0a00000000d1", true),
        ],
        vec![],
    );
    let trusted = inv.names_trusted(&[
        (Some("mine"), vec![], None),
        (None, vec!["0a:00:00:00:00:d1".to_string()], None),
    ]);
    assert_eq!(trusted, [false, true]);
}

#[test]
fn when_a_device_is_described_then_its_name_mac_serial_and_how_it_matched_are_named() {
    let device = DeviceSummary {
        name: Some("branch-1".into()),
        mac: Some("0a00000000e1".into()),
        serial: Some("SN-1".into()),
        version: None,
        site_id: None,
        matched_by: MatchedBy::Mac("0a00000000e1".into()),
    };
    let text = Phase::NotConnected { device }.describe();
    assert!(
        text.contains(" (as \"branch-1\", MAC 0a00000000e1, serial SN-1, matched by MAC)"),
        "{text}"
    );
}

#[test]
fn when_a_router_past_its_deadline_has_no_config_read_yet_then_it_is_deferred_not_paged() {
    // Its onboarding config is read this sweep: the next one knows whether it is adopted.
    let mut unread = episode("i-unread", "unread", false, Some("6.3.0"));
    unread.watch = None;
    let inv = InventoryIndex::new(vec![], vec![]);
    let now = t0() + Duration::hours(5);
    let plan = plan_sweep(
        std::slice::from_ref(&unread),
        &MistView::Inventory(&inv),
        &rules(AdoptExisting::Summary),
        now,
    );
    assert_eq!(plan.episodes[0].decision, Decision::Defer);
    let page = plan_sweep(
        &[unread],
        &MistView::Inventory(&inv),
        &rules(AdoptExisting::Page),
        now,
    );
    assert_eq!(page.episodes[0].decision, Decision::Overdue);
}
