use super::Policy;
use crate::findings::{Action, Finding, FindingCode};
use crate::snapshot::{EnaStatus, RouterSnapshot};

/// ENA (guide: "Enable enhanced network with ENA"). EnaSupport can only change while the
/// instance is stopped; a running router is never stopped for it.
pub(super) fn check(s: &RouterSnapshot, policy: &Policy) -> Vec<Finding> {
    let id = &s.instance_id;
    let command = format!("aws ec2 modify-instance-attribute --instance-id {id} --ena-support");
    match s.ena {
        // IAM denied the read: the NOT_CHECKED rule reports it.
        EnaStatus::Enabled | EnaStatus::NotChecked => vec![],
        EnaStatus::Unknown => vec![Finding::new(
            FindingCode::EnaUnknown,
            id,
            "EC2 did not report whether ENA (enhanced networking) is enabled.",
            format!("Check with: aws ec2 describe-instances --instance-ids {id} --query 'Reservations[].Instances[].EnaSupport'"),
        )],
        EnaStatus::Disabled => {
            let remediation = if policy.stopped {
                format!("{command}   (the instance is stopped; start it afterwards)")
            } else {
                format!(
                    "Plan a maintenance window: aws ec2 stop-instances --instance-ids {id}; aws ec2 wait instance-stopped --instance-ids {id}; {command}; aws ec2 start-instances --instance-ids {id}"
                )
            };
            let f = Finding::new(
                FindingCode::EnaDisabled,
                id,
                format!(
                    "ENA enhanced networking is off{}.",
                    if policy.stopped { "" } else { "; it can only be enabled while the instance is stopped, so ssr-onboard will not change it on a running router" }
                ),
                remediation,
            );
            if policy.fix_ena {
                vec![f.with_fix(Action::EnableEna { instance_id: id.clone() })]
            } else {
                vec![f]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::fixture::good_router;

    #[test]
    fn ena_table() {
        let cases = [
            (EnaStatus::Enabled, "running", true, None, None),
            (
                EnaStatus::Disabled,
                "running",
                true,
                Some("ENA_DISABLED"),
                Some(false),
            ),
            (
                EnaStatus::Disabled,
                "stopped",
                true,
                Some("ENA_DISABLED"),
                Some(true),
            ),
            (
                EnaStatus::Disabled,
                "stopped",
                false,
                Some("ENA_DISABLED"),
                Some(false),
            ),
            (
                EnaStatus::Unknown,
                "running",
                true,
                Some("ENA_UNKNOWN"),
                Some(false),
            ),
        ];
        for (ena, state, fix_when_stopped, code, has_fix) in cases {
            let mut s = good_router();
            s.ena = ena;
            let f = check(&s, &Policy::for_state(state, fix_when_stopped, 128));
            assert_eq!(f.first().map(|f| f.code.as_str()), code, "{ena:?} {state}");
            assert_eq!(
                f.first().map(|f| f.fix.is_some()),
                has_fix,
                "{ena:?} {state}"
            );
        }
    }

    #[test]
    fn when_running_with_ena_off_then_remediation_has_exact_command_and_stop_start() {
        let mut s = good_router();
        s.ena = EnaStatus::Disabled;
        let f = &check(&s, &Policy::for_state("running", true, 128))[0];
        assert!(f.remediation.contains(
            "aws ec2 modify-instance-attribute --instance-id i-0123456789abcdef0 --ena-support"
        ));
        assert!(
            f.remediation.contains("stop-instances") && f.remediation.contains("start-instances")
        );
    }
}
