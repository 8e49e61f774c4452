//! Pure rules: [`RouterSnapshot`] in, [`Finding`]s out. One file per concern; every rule takes
//! its remediation from the vendor guide. [`evaluate`] runs them all.

mod controls;
mod ena;
mod interfaces;
pub mod network;
mod not_checked;
mod onboarding;
mod profile;
mod sizing;
mod srcdst;

use chrono::{DateTime, Utc};

pub use sizing::instance_type_below_guide;

use crate::findings::Finding;
use crate::instance_state::InstanceState;
use crate::snapshot::RouterSnapshot;

/// What the rules may plan, decided by the handler from config and instance state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy {
    /// Plan source/destination-check fixes (pending/running instances).
    pub fix_source_dest_check: bool,
    /// Plan the ENA fix (stopped instance and `ENA_FIX_WHEN_STOPPED=true`).
    pub fix_ena: bool,
    /// The instance is stopped: an auto-assigned public IP is expected to be absent.
    pub stopped: bool,
    /// The minimum root volume size (GB).
    pub min_root_volume_gb: i32,
    /// "Now", passed in so the rules stay pure; `None` disables time-based holds.
    pub now: Option<DateTime<Utc>>,
    /// `PUBLIC_IP_GRACE_MINUTES`: how long after launch a missing WAN public IP is held back.
    pub public_ip_grace: chrono::Duration,
}

impl Policy {
    pub fn for_state(state: &str, ena_fix_when_stopped: bool, min_root_volume_gb: i32) -> Self {
        let state = InstanceState::parse(state);
        let stopped = state.is_some_and(InstanceState::is_stopped);
        Policy {
            fix_source_dest_check: state.is_some_and(InstanceState::is_starting_or_running),
            fix_ena: stopped && ena_fix_when_stopped,
            stopped,
            min_root_volume_gb,
            now: None,
            public_ip_grace: chrono::Duration::zero(),
        }
    }

    /// Holds `WAN_NO_PUBLIC_IP` back for `grace` after the instance's launch, judged at `now`.
    pub fn with_public_ip_grace(mut self, now: DateTime<Utc>, grace: chrono::Duration) -> Self {
        self.now = Some(now);
        self.public_ip_grace = grace;
        self
    }

    /// Was the instance launched less than `public_ip_grace` before `now`?
    pub fn within_public_ip_grace(&self, launch_time: Option<DateTime<Utc>>) -> bool {
        match (self.now, launch_time) {
            (Some(now), Some(launched)) => now < launched + self.public_ip_grace,
            _ => false,
        }
    }
}

/// Every rule, in the order a person would fix things.
pub fn evaluate(s: &RouterSnapshot, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(srcdst::check(s, policy));
    out.extend(ena::check(s, policy));
    out.extend(interfaces::check(s));
    out.extend(profile::check(s));
    out.extend(sizing::check(s, policy));
    out.extend(onboarding::check(s));
    out.extend(network::check(s, policy));
    out.extend(not_checked::check(s));
    out.extend(controls::check(s));
    out
}

#[cfg(test)]
pub(crate) fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::fixture::good_router;

    #[test]
    fn when_router_is_launched_like_the_guide_then_no_findings() {
        let p = Policy::for_state("running", false, 128);
        assert!(evaluate(&good_router(), &p).is_empty());
    }

    #[test]
    fn when_stopped_then_only_ena_fix_is_planned() {
        let p = Policy::for_state("stopped", true, 128);
        assert!(!p.fix_source_dest_check && p.fix_ena && p.stopped);
        let p = Policy::for_state("running", true, 128);
        assert!(p.fix_source_dest_check && !p.fix_ena);
    }
}
