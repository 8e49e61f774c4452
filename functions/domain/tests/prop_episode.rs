//! Property tests of the onboarding watchdog's model (`episode::plan_sweep` / `decide`) and of
//! the Mist matching rule (`episode::matching`):
//! - over any sequence of sweeps (time moving on or standing still, as a retried invocation
//!   does; Mist absent, down, or showing the router in any phase; the onboarding config read
//!   late; the `SSR-ONBOARDED` tag set by hand; a snooze), one episode is paged at most once,
//!   gets at most one unverified notice, is never paged before its deadline, when adopted, or
//!   once onboarded, and nothing happens to it after it finished;
//! - a Mist device matches at most one router: in the webhook's rule (`router_of_device`) and
//!   across the episodes of one sweep.
//!
//! Bounded: 256 cases per property, sequences of up to 24 sweeps. Failing cases are kept in
//! `proptest-regressions/prop_episode.txt` and replayed first on every run.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use ssr_domain::config::{AdoptExisting, UnverifiedOnboarding, VersionCheck, ONBOARDED_TAG_KEY};
use ssr_domain::episode::matching::{device_matches, router_of_device, MatchedBy, RouterMatch};
use ssr_domain::episode::records::WatchItem;
use ssr_domain::episode::{plan_sweep, Decision, Episode, InventoryIndex, MistView, SweepRules};
use ssr_domain::mist_model::{normalize_mac, GatewayStats, InventoryDevice};
use ssr_domain::select::SNOOZE_TAG_KEY;
use ssr_domain::snapshot::Interface;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/prop_episode.txt",
        ))),
        ..ProptestConfig::default()
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

const DEADLINE_MINUTES: i64 = 15;

fn interface(mac: &str) -> Interface {
    Interface {
        eni_id: format!("eni-{}", mac.replace(':', "")),
        device_index: Some(0),
        subnet_id: None,
        private_ip: None,
        public_ip: None,
        mac_address: Some(mac.into()),
        source_dest_check: Some(false),
        tags: BTreeMap::new(),
    }
}

fn episode(id: &str, name: &str, macs: &[&str], started_at: DateTime<Utc>) -> Episode {
    Episode {
        instance_id: id.into(),
        instance_type: Some("c5.xlarge".into()),
        key_name: None,
        launch_time: started_at,
        tags: BTreeMap::from([("Name".to_string(), name.to_string())]),
        interfaces: macs.iter().map(|m| interface(m)).collect(),
        started_at,
        watch: None,
        alerted: false,
        notified: false,
        account: None,
        region: None,
        onboarded_before: None,
    }
}

/// What Mist shows of the one router in a sweep.
#[derive(Clone, Debug)]
enum MistShows {
    NotConfigured,
    Unavailable,
    Absent,
    /// In the inventory; connected or not; with a stats entry reporting this version (or none).
    Device {
        connected: bool,
        stats: Option<Option<&'static str>>,
        by_mac: bool,
    },
}

fn mist_shows() -> impl Strategy<Value = MistShows> {
    prop_oneof![
        1 => Just(MistShows::NotConfigured),
        1 => Just(MistShows::Unavailable),
        2 => Just(MistShows::Absent),
        6 => (
            any::<bool>(),
            prop::option::of(prop::option::of(prop::sample::select(vec![
                "6.2.5", "6.3.0", "6.3.0-107.r1", "7.0",
            ]))),
            any::<bool>(),
        )
            .prop_map(|(connected, stats, by_mac)| MistShows::Device { connected, stats, by_mac }),
    ]
}

/// One sweep: how far time moved since the last one (0: a retried invocation), what Mist shows,
/// whether the onboarding config was read by now, whether the instance carries the tag.
#[derive(Clone, Debug)]
struct Sweep {
    minutes: i64,
    mist: MistShows,
    config_read: bool,
    tagged: bool,
}

fn sweep() -> impl Strategy<Value = Sweep> {
    (
        prop_oneof![1 => Just(0i64), 4 => 1i64..8, 1 => 8i64..40],
        mist_shows(),
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(minutes, mist, config_read, tagged)| Sweep {
            minutes,
            mist,
            config_read,
            tagged,
        })
}

fn rules() -> impl Strategy<Value = SweepRules> {
    (
        prop::sample::select(vec![
            VersionCheck::WhenReported,
            VersionCheck::Required,
            VersionCheck::Off,
        ]),
        prop::sample::select(vec![
            AdoptExisting::Summary,
            AdoptExisting::Page,
            AdoptExisting::Silent,
        ]),
        prop::sample::select(vec![
            UnverifiedOnboarding::Notice,
            UnverifiedOnboarding::Page,
        ]),
    )
        .prop_map(|(check, adopt, unverified)| SweepRules {
            check,
            deadline: Duration::minutes(DEADLINE_MINUTES),
            adopt,
            unverified,
        })
}

const MAC: &str = "0a:00:00:00:00:01";

fn connected(name: &str, mac: &str) -> InventoryDevice {
    InventoryDevice {
        name: Some(name.into()),
        mac: Some(mac.into()),
        connected: Some(true),
        device_type: Some("gateway".into()),
        ..Default::default()
    }
}

fn overdue_sweep(eps: &[Episode], devices: Vec<InventoryDevice>) -> Vec<(String, Decision)> {
    let inv = InventoryIndex::new(devices, vec![]);
    let rules = SweepRules {
        check: VersionCheck::WhenReported,
        deadline: Duration::minutes(DEADLINE_MINUTES),
        adopt: AdoptExisting::Page,
        unverified: UnverifiedOnboarding::Notice,
    };
    let now = t0() + Duration::minutes(30);
    plan_sweep(eps, &MistView::Inventory(&inv), &rules, now)
        .episodes
        .iter()
        .map(|p| (p.phase.code().to_string(), p.decision))
        .collect()
}

fn read(mut e: Episode) -> Episode {
    e.watch = Some(WatchItem {
        router_name: e.name_tag().map(String::from),
        ssr_version: None,
        onboarding_note: None,
        first_seen_at: t0(),
        onboarded_tag_at_start: false,
        mist_phase: None,
    });
    e
}

/// Found by the sweep matching property: two open episodes whose routers carry one name (a
/// copied onboarding config) both matched the one connected Mist device of that name, so the
/// router that never reached Mist was finished as onboarded and never paged.
#[test]
fn when_two_open_episodes_share_a_name_then_neither_takes_the_named_device_and_both_page() {
    let eps = [
        read(episode("i-00000000000000001", "edge", &[], t0())),
        read(episode("i-00000000000000002", "edge", &[], t0())),
    ];
    let got = overdue_sweep(&eps, vec![connected("edge", "0a00000000ff")]);
    assert_eq!(
        got,
        vec![
            ("not-in-inventory".to_string(), Decision::Overdue),
            ("not-in-inventory".to_string(), Decision::Overdue),
        ]
    );
}

/// The same bug by MAC: a device whose MAC is one router's interface is that router, and not
/// also another router of the same name.
#[test]
fn when_a_device_has_one_routers_mac_then_another_router_of_its_name_does_not_take_it() {
    let eps = [
        read(episode(
            "i-00000000000000001",
            "edge",
            &["0a:00:00:00:00:01"],
            t0(),
        )),
        read(episode("i-00000000000000002", "edge", &[], t0())),
    ];
    let got = overdue_sweep(&eps, vec![connected("edge", "0a0000000001")]);
    assert_eq!(
        got,
        vec![
            ("onboarded".to_string(), Decision::Finish),
            ("not-in-inventory".to_string(), Decision::Overdue),
        ]
    );
    // One router of that name: the name match stands.
    let got = overdue_sweep(&eps[1..], vec![connected("edge", "0a00000000ff")]);
    assert_eq!(got, vec![("onboarded".to_string(), Decision::Finish)]);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn when_sweeps_run_in_any_sequence_then_an_episode_pages_at_most_once_and_never_after_onboarding(
        rules in rules(),
        sweeps in prop::collection::vec(sweep(), 1..24),
        wanted in prop::option::of(prop::sample::select(vec!["6.3.0", "7.0"])),
        first_sweep_late in prop::option::of(0i64..60),
        snooze_minutes in prop::option::of(0i64..60),
        tag_left_from_before in any::<bool>(),
    ) {
        let mut e = episode("i-0123456789abcdef0", "edge-1", &[MAC], t0());
        if let Some(m) = snooze_minutes {
            let until = t0() + Duration::minutes(m);
            e.tags.insert(SNOOZE_TAG_KEY.into(), until.to_rfc3339());
        }
        if tag_left_from_before {
            e.tags.insert(ONBOARDED_TAG_KEY.into(), "true".into());
        }
        let mut now = t0() + Duration::minutes(first_sweep_late.unwrap_or(0));
        let (mut pages, mut notices, mut finished) = (0, 0, false);
        for s in &sweeps {
            now += Duration::minutes(s.minutes);
            if s.tagged {
                e.tags.insert(ONBOARDED_TAG_KEY.into(), "true".into());
            }
            // The handler writes the watch item the first time it reads the config.
            if e.watch.is_none() && s.config_read {
                e.watch = Some(WatchItem {
                    router_name: Some("edge-1".into()),
                    ssr_version: wanted.map(String::from),
                    onboarding_note: None,
                    first_seen_at: now,
                    onboarded_tag_at_start: e.onboarded_tag_set(),
                    mist_phase: None,
                });
            }
            let (devices, stats) = match &s.mist {
                MistShows::Device { connected, stats, by_mac } => {
                    let device = InventoryDevice {
                        name: Some(if *by_mac { "someone-else".into() } else { "EDGE-1 ".into() }),
                        mac: Some(if *by_mac { "0a0000000001".into() } else { "0a00000000ff".into() }),
                        connected: Some(*connected),
                        device_type: Some("gateway".into()),
                        ..Default::default()
                    };
                    let st: Vec<GatewayStats> = stats
                        .map(|v| GatewayStats {
                            mac: device.mac.clone(),
                            version: v.map(String::from),
                            ..Default::default()
                        })
                        .into_iter()
                        .collect();
                    (vec![device], st)
                }
                _ => (vec![], vec![]),
            };
            let inv = InventoryIndex::new(devices, stats);
            let view = match &s.mist {
                MistShows::NotConfigured => MistView::NotConfigured("MIST_ORG_ID is not set".into()),
                MistShows::Unavailable => MistView::Unavailable("Mist API answered 503".into()),
                _ => MistView::Inventory(&inv),
            };
            let plan = plan_sweep(std::slice::from_ref(&e), &view, &rules, now);
            prop_assert_eq!(plan.episodes.len(), 1);
            let p = &plan.episodes[0];
            prop_assert!(!finished, "a finished episode is not open, so never swept again");
            if p.phase.is_onboarded() {
                prop_assert!(
                    matches!(p.decision, Decision::Finish | Decision::Defer),
                    "onboarded, yet {:?}", p.decision
                );
            }
            match p.decision {
                Decision::Overdue => {
                    pages += 1;
                    prop_assert!(now - e.started_at >= rules.deadline, "paged before the deadline");
                    prop_assert!(!e.alerted, "paged again");
                    let adopted = rules.adopt != AdoptExisting::Page && e.adopted(rules.deadline);
                    prop_assert!(!adopted, "an adopted router was paged");
                    e.alerted = true;
                }
                Decision::Unverified => {
                    notices += 1;
                    prop_assert!(!e.notified);
                    e.notified = true;
                }
                Decision::Finish => finished = true,
                _ => {}
            }
            prop_assert!(pages <= 1 && notices <= 1, "pages {} notices {}", pages, notices);
            if finished {
                break;
            }
        }
    }

    #[test]
    fn when_the_webhook_matches_a_device_then_it_is_at_most_one_router_and_that_router_matches(
        routers in prop::collection::vec(
            (
                prop::option::of(prop::sample::select(vec!["edge", "Edge ", "core", ""])),
                prop::collection::vec(prop::sample::select(vec![
                    "0a:00:00:00:00:01", "0A-00-00-00-00-02", "0a0000000003", "bad",
                ]), 0..3),
            ),
            0..6,
        ),
        device_name in prop::option::of(prop::sample::select(vec!["edge", "EDGE", "core", "x", " "])),
        device_mac in prop::option::of(prop::sample::select(vec![
            "0a0000000001", "0a:00:00:00:00:02", "0a0000000009", "zz",
        ])),
    ) {
        let list: Vec<(Option<&str>, Vec<String>)> = routers
            .iter()
            .map(|(n, m)| (*n, m.iter().map(|s| s.to_string()).collect()))
            .collect();
        let matched = router_of_device(device_name, device_mac, list.clone());
        let by_mac: Vec<usize> = list
            .iter()
            .enumerate()
            .filter(|(_, (n, m))| matches!(device_matches(*n, m, device_name, device_mac), Some(MatchedBy::Mac(_))))
            .map(|(i, _)| i)
            .collect();
        let by_name: Vec<usize> = list
            .iter()
            .enumerate()
            .filter(|(_, (n, m))| matches!(device_matches(*n, m, device_name, device_mac), Some(MatchedBy::Name(_))))
            .map(|(i, _)| i)
            .collect();
        match matched {
            RouterMatch::One(i, MatchedBy::Mac(_)) => prop_assert!(by_mac.contains(&i)),
            RouterMatch::One(i, MatchedBy::Name(_)) => {
                prop_assert!(by_mac.is_empty());
                prop_assert_eq!(by_name, vec![i]);
            }
            RouterMatch::NoMatch => prop_assert!(by_mac.is_empty() && by_name.is_empty()),
            RouterMatch::SeveralByName => prop_assert!(by_mac.is_empty() && by_name.len() > 1),
        }
    }

    #[test]
    fn when_a_sweep_matches_devices_to_episodes_then_each_device_is_at_most_one_router(
        episodes in prop::collection::vec(
            (
                prop::sample::select(vec!["edge", "EDGE", "core", "branch"]),
                // Its own interface MAC (EC2's are unique), or none known.
                any::<bool>(),
            ),
            1..5,
        ),
        devices in prop::collection::vec(
            (
                prop::sample::select(vec!["edge", "core", "other"]),
                prop::sample::select(vec!["0a0000000001", "0a0000000002", "0a0000000003", "0a0000000004", "0a00000000ff"]),
                any::<bool>(),
            ),
            0..4,
        ),
    ) {
        let now = t0() + Duration::minutes(30);
        let eps: Vec<Episode> = episodes
            .iter()
            .enumerate()
            .map(|(i, (name, has_mac))| {
                let mac = format!("0a:00:00:00:00:{:02x}", i + 1);
                let macs: Vec<&str> = if *has_mac { vec![&mac] } else { vec![] };
                let mut e = episode(&format!("i-{i:017x}"), name, &macs, t0());
                e.watch = Some(WatchItem {
                    router_name: Some((*name).into()),
                    ssr_version: None,
                    onboarding_note: None,
                    first_seen_at: t0(),
                    onboarded_tag_at_start: false,
                    mist_phase: None,
                });
                e
            })
            .collect();
        let inv = InventoryIndex::new(
            devices
                .iter()
                .enumerate()
                .map(|(i, (name, mac, connected))| InventoryDevice {
                    name: Some((*name).into()),
                    mac: Some((*mac).into()),
                    serial: Some(format!("SN{i}")),
                    connected: Some(*connected),
                    device_type: Some("gateway".into()),
                    ..Default::default()
                })
                .collect(),
            vec![],
        );
        let rules = SweepRules {
            check: VersionCheck::WhenReported,
            deadline: Duration::minutes(DEADLINE_MINUTES),
            adopt: AdoptExisting::Page,
            unverified: UnverifiedOnboarding::Notice,
        };
        let plan = plan_sweep(&eps, &MistView::Inventory(&inv), &rules, now);
        let mut claimed: HashMap<String, Vec<usize>> = HashMap::new();
        for p in &plan.episodes {
            if let Some(serial) = matched_serial(&p.phase) {
                claimed.entry(serial).or_default().push(p.episode);
            }
        }
        for (serial, by) in &claimed {
            prop_assert!(by.len() <= 1, "device {} matched episodes {:?}", serial, by);
        }
        // A device whose MAC is a router's interface is that router's, never another's by name.
        for p in &plan.episodes {
            if let Some(mac) = matched_mac(&p.phase) {
                for (j, other) in eps.iter().enumerate() {
                    if j != p.episode && other.macs().iter().any(|m| normalize_mac(m).as_deref() == Some(mac.as_str())) {
                        prop_assert!(
                            eps[p.episode].macs().iter().any(|m| normalize_mac(m).as_deref() == Some(mac.as_str())),
                            "episode {} took episode {}'s device (MAC {}) by name", p.episode, j, mac
                        );
                    }
                }
            }
        }
    }
}

/// The serial of the device a phase is about, if any.
fn matched_serial(phase: &ssr_domain::episode::Phase) -> Option<String> {
    device_of(phase).and_then(|d| d.serial.clone())
}

fn matched_mac(phase: &ssr_domain::episode::Phase) -> Option<String> {
    device_of(phase).and_then(|d| d.mac.as_deref().and_then(normalize_mac))
}

fn device_of(phase: &ssr_domain::episode::Phase) -> Option<&ssr_domain::episode::DeviceSummary> {
    use ssr_domain::episode::{OnboardedBy, Phase};
    match phase {
        Phase::NotConnected { device }
        | Phase::ConnectedNoStats { device, .. }
        | Phase::VersionMismatch { device, .. }
        | Phase::Onboarded {
            by: OnboardedBy::Mist { device, .. },
        } => Some(device),
        Phase::NotInInventory | Phase::Onboarded { .. } | Phase::Unknown { .. } => None,
    }
}
