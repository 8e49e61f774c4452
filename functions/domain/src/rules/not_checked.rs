use crate::findings::{Finding, FindingCode};
use crate::snapshot::RouterSnapshot;

/// Reads the IAM policy denied: each becomes a warning naming the permission, never a failed
/// event (the facts it would have given are simply not judged).
pub(super) fn check(s: &RouterSnapshot) -> Vec<Finding> {
    s.not_checked
        .iter()
        .map(|n| {
            Finding::new(
                FindingCode::NotChecked,
                &n.resource,
                format!("IAM denied ec2:{}: {} was not checked", n.action, n.what),
                format!(
                    "Grant ec2:{} to ssr-onboard's role (for {}), then re-run: ssr-onboard audit",
                    n.action, n.resource
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::fixture::good_router;
    use crate::snapshot::NotChecked;

    #[test]
    fn when_a_read_was_denied_then_one_warning_names_the_permission() {
        let mut s = good_router();
        s.not_checked.push(NotChecked {
            action: "DescribeVolumes".into(),
            resource: "vol-1".into(),
            what: "the root volume size".into(),
        });
        let f = check(&s);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, FindingCode::NotChecked);
        assert_eq!(f[0].resource, "vol-1");
        assert_eq!(
            f[0].message,
            "IAM denied ec2:DescribeVolumes: the root volume size was not checked"
        );
        assert!(f[0].remediation.contains("Grant ec2:DescribeVolumes"));
    }
}
