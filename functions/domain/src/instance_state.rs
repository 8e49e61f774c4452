//! An EC2 instance's state, and every rule ssr-onboard has about states: which the guard checks
//! (and the instance-guard EventBridge rule delivers), which it leaves alone, when the
//! source/destination fix and the ENA fix may be written, and what counts as not terminated.

use serde::Serialize;

/// EC2's `instance-state-name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl InstanceState {
    pub const ALL: [InstanceState; 6] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::ShuttingDown,
        InstanceState::Terminated,
        InstanceState::Stopping,
        InstanceState::Stopped,
    ];

    /// The states the guard checks, in the order the EventBridge rule lists them.
    pub const GUARDED: [InstanceState; 3] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::Stopped,
    ];

    /// The states of an instance that is not (being) terminated: what the sweeps and the
    /// stack-watch read (`instance-state-name` filter values).
    pub const NOT_TERMINATED: [InstanceState; 4] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::Stopping,
        InstanceState::Stopped,
    ];

    pub fn parse(s: &str) -> Option<InstanceState> {
        InstanceState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }

    /// Checked (and fixed) by the guard: pending, running, stopped.
    pub fn is_guarded(self) -> bool {
        InstanceState::GUARDED.contains(&self)
    }

    /// Leaving service (shutting-down, terminated, stopping): an event in this state is a no-op.
    pub fn is_leaving(self) -> bool {
        matches!(
            self,
            InstanceState::ShuttingDown | InstanceState::Terminated | InstanceState::Stopping
        )
    }

    /// Booting or up (pending, running): source/destination check may be switched off now, and
    /// a new instance may not be visible to DescribeInstances yet (worth a retry).
    pub fn is_starting_or_running(self) -> bool {
        matches!(self, InstanceState::Pending | InstanceState::Running)
    }

    /// Stopped: ENA may be changed (only then), and a missing auto-assigned public IP is normal.
    pub fn is_stopped(self) -> bool {
        self == InstanceState::Stopped
    }

    /// Not (being) terminated.
    pub fn is_not_terminated(self) -> bool {
        InstanceState::NOT_TERMINATED.contains(&self)
    }

    /// The names of `states`, as EC2 writes them.
    pub fn names(states: &[InstanceState]) -> Vec<&'static str> {
        states.iter().map(|s| s.as_str()).collect()
    }
}

/// The state named `s` is checked by the guard (an unknown name is not).
pub fn is_guarded(s: &str) -> bool {
    InstanceState::parse(s).is_some_and(InstanceState::is_guarded)
}

impl std::fmt::Display for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_state_is_named_then_it_parses_back_and_unknown_names_do_not() {
        for s in InstanceState::ALL {
            assert_eq!(InstanceState::parse(s.as_str()), Some(s));
        }
        assert_eq!(InstanceState::parse("rebooting"), None);
        assert!(!is_guarded("rebooting"));
    }

    #[test]
    fn when_the_guard_asks_then_pending_running_and_stopped_are_guarded_and_nothing_else() {
        let guarded: Vec<_> = InstanceState::ALL
            .into_iter()
            .filter(|s| s.is_guarded())
            .collect();
        assert_eq!(guarded, InstanceState::GUARDED);
        assert!(is_guarded("stopped") && !is_guarded("stopping"));
    }

    #[test]
    fn when_an_instance_is_leaving_then_it_is_neither_guarded_nor_fixable() {
        for s in InstanceState::ALL {
            if s.is_leaving() {
                assert!(
                    !s.is_guarded() && !s.is_starting_or_running() && !s.is_stopped(),
                    "{s}"
                );
            }
        }
        assert!(InstanceState::Stopping.is_not_terminated());
        assert!(!InstanceState::ShuttingDown.is_not_terminated());
        assert!(!InstanceState::Terminated.is_not_terminated());
    }

    #[test]
    fn when_fixes_are_judged_then_srcdst_needs_pending_or_running_and_ena_needs_stopped() {
        let srcdst: Vec<_> = InstanceState::ALL
            .into_iter()
            .filter(|s| s.is_starting_or_running())
            .collect();
        assert_eq!(srcdst, [InstanceState::Pending, InstanceState::Running]);
        let ena: Vec<_> = InstanceState::ALL
            .into_iter()
            .filter(|s| s.is_stopped())
            .collect();
        assert_eq!(ena, [InstanceState::Stopped]);
    }
}
