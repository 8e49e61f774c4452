//! The demo's emulated world: the guide's VPC, the alert topic and its mailbox, the state table,
//! the fake Mist API and the handlers' dependencies pointed at them; the three routers launched
//! into it, and read back once the handlers have run.

use std::collections::HashMap;

use ssr_core::handlers::guard::{self, GuardOutcome, Observed};
use ssr_core::snapshot::RouterSnapshot;
use ssr_core::{Config, Deps};
use ssr_sandbox::mist::FakeMist;
use ssr_sandbox::moto::Emulator;
use ssr_sandbox::world::{
    AlertCapture, GuideVpc, LaunchedRouter, RouterSpec, Sandbox, GUIDE_SSR_VERSION,
};

use super::mist::{MIST_ORG, MIST_TOKEN, WEBHOOK_SECRET};
use super::outcome::{RouterDemo, RouterFacts};
use super::{DemoError, Progress, REGION, STATE_TABLE};

/// The emulated AWS and Mist the handlers run against, and their dependencies.
pub(super) struct World {
    pub(super) sandbox: Sandbox,
    pub(super) vpc: GuideVpc,
    /// The alert topic and the SQS queue (the on-call mailbox) subscribed to it.
    pub(super) capture: AlertCapture,
    pub(super) mist: FakeMist,
    pub(super) deps: Deps,
}

/// A router the demo launches, and how.
pub(super) struct Planned {
    pub(super) spec: RouterSpec,
    pub(super) scenario: &'static str,
}

/// A router as launched, with its snapshot before any handler ran.
pub(super) struct Launched {
    pub(super) planned: Planned,
    pub(super) router: LaunchedRouter,
    pub(super) before: RouterSnapshot,
}

fn routers() -> Vec<Planned> {
    let bad_name = "branch-bad";
    vec![
        Planned {
            spec: RouterSpec::guide("branch-good"),
            scenario: "launched as the guide says (source/dest check left at the AWS default: on)",
        },
        Planned {
            spec: RouterSpec {
                lan_tag: None,
                root_volume_gb: 8,
                // The registration code was never pasted into the onboarding JSON.
                user_data: Some(RouterSpec::guide_user_data(bad_name, GUIDE_SSR_VERSION, "")),
                ..RouterSpec::guide(bad_name)
            },
            scenario: "launched with the usual mistakes: source/dest check on, no SSR-ROLE tag on the LAN interface, 8 GB disk, onboarding JSON without the registration code (so it never reaches Mist)",
        },
        Planned {
            spec: RouterSpec::guide("branch-old"),
            scenario: "launched as the guide says, but its image runs an older SSR than the onboarding config asks for (Mist reports 6.2.5)",
        },
    ]
}

/// Step: the guide's VPC, the alert topic, the state table and the fake Mist API, and the
/// handlers' configuration pointing at them.
pub(super) async fn build(emulator: &Emulator, progress: &Progress) -> Result<World, DemoError> {
    progress.step("building the guide's VPC (public subnet + internet gateway, private subnet), the alert topic (SNS → SQS), the state table and a local fake Mist API");
    let sandbox = Sandbox::new(emulator, REGION)?;
    let vpc = sandbox.guide_vpc().await?;
    let capture: AlertCapture = sandbox.alert_capture().await?;
    sandbox.create_state_table(STATE_TABLE).await?;
    let mist = FakeMist::start(MIST_ORG, MIST_TOKEN).await;
    progress.detail(&format!("fake Mist API on {}", mist.uri()));
    let vars = HashMap::from([
        ("ALERT_TOPIC_ARN", capture.topic_arn.clone()),
        ("STATE_TABLE", STATE_TABLE.to_string()),
        ("DESCRIBE_RETRY_ATTEMPTS", "3".to_string()),
        ("DESCRIBE_RETRY_BASE_MS", "100".to_string()),
        ("MIST_API_URL", mist.uri()),
        ("MIST_ORG_ID", MIST_ORG.to_string()),
        ("MIST_API_TOKEN", MIST_TOKEN.to_string()),
        ("MIST_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
    ]);
    let config = Config::from_vars(|k| vars.get(k).cloned())?;
    let deps = Deps::from_sdk_config(config, &emulator.sdk_config(REGION));
    Ok(World {
        sandbox,
        vpc,
        capture,
        mist,
        deps,
    })
}

/// Step: the three routers launched, each observed as the guard sees it before anything runs.
pub(super) async fn launch_routers(
    world: &World,
    progress: &Progress,
) -> Result<Vec<Launched>, DemoError> {
    progress.step("launching three routers: branch-good (as the guide says), branch-bad (the usual mistakes), branch-old (as the guide says, older SSR image)");
    let mut launched = Vec::new();
    for planned in routers() {
        let router = world
            .sandbox
            .launch_router(&world.vpc, &planned.spec)
            .await?;
        progress.detail(&format!("{} = {}", planned.spec.name, router.instance_id));
        let before = observe(&world.deps, &router.instance_id).await?;
        launched.push(Launched {
            planned,
            router,
            before,
        });
    }
    Ok(launched)
}

/// Step: each router read back after the handlers ran, beside its facts before and its
/// instance-guard outcome.
pub(super) async fn read_back(
    deps: &Deps,
    launched: Vec<Launched>,
    guard_outcomes: Vec<GuardOutcome>,
    progress: &Progress,
) -> Result<Vec<RouterDemo>, DemoError> {
    progress.step("reading back what changed");
    let mut routers = Vec::new();
    for (l, guard) in launched.into_iter().zip(guard_outcomes) {
        let after = observe(deps, &l.router.instance_id).await?;
        routers.push(RouterDemo {
            name: l.planned.spec.name.clone(),
            instance_id: l.router.instance_id.clone(),
            scenario: l.planned.scenario.to_string(),
            before: RouterFacts::of(&l.before),
            after: RouterFacts::of(&after),
            guard,
        });
    }
    Ok(routers)
}

async fn observe(deps: &Deps, id: &str) -> Result<RouterSnapshot, DemoError> {
    match guard::observe(deps, id, None).await? {
        Observed::Router { snapshot, .. } => Ok(*snapshot),
        other => Err(DemoError::Event(format!(
            "router {id} is not seen as a router by the guard: {other:?}"
        ))),
    }
}
