use crate::findings::{Finding, FindingCode};
use crate::snapshot::RouterSnapshot;

/// Instance profile (guide, "Interface Tagging" note): the instance needs an IAM role that can
/// describe network interfaces, or the router cannot read its SSR-ROLE tags. This rule checks that
/// a profile is attached; it does not read the role's policies (that needs IAM read access).
pub(super) fn check(s: &RouterSnapshot) -> Vec<Finding> {
    if s.iam_instance_profile_arn.is_some() {
        return vec![];
    }
    vec![Finding::new(
        FindingCode::NoInstanceProfile,
        &s.instance_id,
        "No IAM instance profile is attached; the router cannot call ec2:DescribeNetworkInterfaces to read its SSR-ROLE interface tags.",
        format!(
            "Attach a profile whose role allows ec2:DescribeNetworkInterfaces: aws ec2 associate-iam-instance-profile --instance-id {} --iam-instance-profile Name=<profile>",
            s.instance_id
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::fixture::good_router;

    #[test]
    fn when_no_profile_then_finding_with_associate_command() {
        let mut s = good_router();
        assert!(check(&s).is_empty());
        s.iam_instance_profile_arn = None;
        let f = check(&s);
        assert_eq!(f[0].code, FindingCode::NoInstanceProfile);
        assert!(f[0].remediation.contains("associate-iam-instance-profile"));
    }
}
