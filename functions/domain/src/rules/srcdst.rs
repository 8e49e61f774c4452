use super::Policy;
use crate::findings::{Action, Finding, FindingCode};
use crate::snapshot::RouterSnapshot;

/// Source/destination check must be off on every attached ENI (guide: "Source / Destination
/// Check"). Fixed per ENI: the instance-level attribute is rejected on multi-ENI instances.
pub(super) fn check(s: &RouterSnapshot, policy: &Policy) -> Vec<Finding> {
    s.interfaces
        .iter()
        .filter(|i| i.source_dest_check != Some(false))
        .map(|i| {
            let f = Finding::new(
                FindingCode::SrcDstCheckEnabled,
                &i.eni_id,
                format!(
                    "Source/destination check is {} on {} (device {}): the router cannot forward traffic it is not the source or destination of.",
                    if i.source_dest_check.is_some() { "on" } else { "not reported (assumed on)" },
                    i.eni_id,
                    i.device_index.map_or("?".into(), |d| d.to_string())
                ),
                format!(
                    "aws ec2 modify-network-interface-attribute --network-interface-id {} --no-source-dest-check",
                    i.eni_id
                ),
            );
            if policy.fix_source_dest_check {
                f.with_fix(Action::DisableSourceDestCheck { eni_id: i.eni_id.clone() })
            } else {
                f
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::fixture::good_router;

    #[test]
    fn when_both_enis_have_check_on_then_one_fix_per_eni() {
        let mut s = good_router();
        for i in &mut s.interfaces {
            i.source_dest_check = Some(true);
        }
        let f = check(&s, &Policy::for_state("running", false, 128));
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].fix,
            Some(Action::DisableSourceDestCheck {
                eni_id: "eni-wan".into()
            })
        );
        assert_eq!(
            f[1].fix,
            Some(Action::DisableSourceDestCheck {
                eni_id: "eni-lan".into()
            })
        );
        assert!(f[0].remediation.contains("--no-source-dest-check"));
    }

    #[test]
    fn when_stopped_then_finding_without_fix() {
        let mut s = good_router();
        s.interfaces[1].source_dest_check = Some(true);
        let f = check(&s, &Policy::for_state("stopped", true, 128));
        assert_eq!(f.len(), 1);
        assert!(f[0].fix.is_none());
    }
}
