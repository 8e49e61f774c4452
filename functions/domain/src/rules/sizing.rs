use super::Policy;
use crate::findings::{Finding, FindingCode};
use crate::snapshot::RouterSnapshot;

/// Sizes below `xlarge` have fewer than 4 vCPUs: smaller than the guide's c5.xlarge.
const SMALL_SIZES: [&str; 5] = ["nano", "micro", "small", "medium", "large"];

/// The guide recommends "c5.xlarge, or larger". The rule: the size must be `xlarge` or bigger
/// (`2xlarge`, …, `metal`), and the family must not be burstable (`t2`, `t3`, `t3a`, `t4g`), whose
/// CPU credits run out under forwarding load.
pub fn instance_type_below_guide(instance_type: &str) -> Option<String> {
    let (family, size) = instance_type.split_once('.')?;
    if SMALL_SIZES.contains(&size) {
        return Some(format!(
            "{instance_type} has fewer than the 4 vCPUs of c5.xlarge"
        ));
    }
    if is_burstable_family(family) {
        return Some(format!(
            "{instance_type} is a burstable type; its CPU credits run out under forwarding load"
        ));
    }
    None
}

/// `t` followed by a generation digit (`t2`, `t3`, `t3a`, `t4g`): burstable. `trn1`/`trn2`
/// (Trainium) start with `t` but are not.
fn is_burstable_family(family: &str) -> bool {
    let mut chars = family.chars();
    chars.next() == Some('t') && chars.next().is_some_and(|c| c.is_ascii_digit())
}

/// Instance size and the 128 GB root volume (guide: "ensure the size is 128 GB").
pub(super) fn check(s: &RouterSnapshot, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(t) = s.instance_type.as_deref() {
        if let Some(why) = instance_type_below_guide(t) {
            out.push(Finding::new(
                FindingCode::InstanceTypeTooSmall,
                &s.instance_id,
                format!("Instance type {why}; Juniper recommends c5.xlarge or larger."),
                format!(
                    "Resize in a maintenance window (stop, then): aws ec2 modify-instance-attribute --instance-id {} --instance-type \"{{\\\"Value\\\": \\\"c5.xlarge\\\"}}\"",
                    s.instance_id
                ),
            ));
        }
    }
    if let Some(v) = &s.root_volume {
        if let Some(size) = v.size_gb.filter(|g| *g < policy.min_root_volume_gb) {
            let vol = v.volume_id.as_deref().unwrap_or(&v.device_name);
            out.push(Finding::new(
                FindingCode::RootVolumeTooSmall,
                vol,
                format!(
                    "Root volume {vol} is {size} GB; the guide requires {} GB for the SSR software and its upgrades.",
                    policy.min_root_volume_gb
                ),
                format!(
                    "aws ec2 modify-volume --volume-id {vol} --size {}   then grow the partition and file system on the router",
                    policy.min_root_volume_gb
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::codes;
    use crate::snapshot::fixture::good_router;

    #[test]
    fn instance_type_table() {
        for (t, small) in [
            ("c5.xlarge", false),
            ("c5.2xlarge", false),
            ("c5n.metal", false),
            ("m5.xlarge", false),
            ("c5.large", true),
            ("t3.micro", true),
            ("t3.xlarge", true),
            ("c6i.medium", true),
            ("t2.xlarge", true),
            ("t3a.2xlarge", true),
            ("t4g.xlarge", true),
            ("trn1.2xlarge", false),
            ("trn1n.32xlarge", false),
            ("trn2.48xlarge", false),
        ] {
            assert_eq!(instance_type_below_guide(t).is_some(), small, "{t}");
        }
    }

    #[test]
    fn when_disk_is_small_then_finding_names_volume_and_size() {
        let mut s = good_router();
        s.root_volume.as_mut().unwrap().size_gb = Some(8);
        s.instance_type = Some("t3.medium".into());
        let f = check(&s, &Policy::for_state("running", false, 128));
        assert_eq!(
            codes(&f),
            ["INSTANCE_TYPE_TOO_SMALL", "ROOT_VOLUME_TOO_SMALL"]
        );
        assert_eq!(f[1].resource, "vol-1");
        assert!(f[1].message.contains("8 GB") && f[1].remediation.contains("--size 128"));
    }
}
