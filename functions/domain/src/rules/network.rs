use super::Policy;
use crate::findings::{Finding, FindingCode};
use crate::snapshot::{Interface, RouterSnapshot};

/// Reachability of the Mist cloud (guide: "Configuring a Default Route to an Internet Gateway";
/// the template gives the public interface "a unique and static public IP address").
pub(super) fn check(s: &RouterSnapshot, policy: &Policy) -> Vec<Finding> {
    let Some(wan) = s.wan_interface() else {
        return vec![];
    };
    let mut out = Vec::new();
    if let Some(route) = &s.wan_route {
        let via_igw = route
            .default_route_target
            .as_deref()
            .is_some_and(|t| t.starts_with("igw-"));
        if !via_igw {
            let rtb = route
                .route_table_id
                .as_deref()
                .unwrap_or("<route-table-id>");
            out.push(Finding::new(
                FindingCode::WanNoInternetRoute,
                &route.subnet_id,
                format!(
                    "WAN subnet {} has no active 0.0.0.0/0 route to an internet gateway{} (route table {rtb}); the router cannot reach Mist.",
                    route.subnet_id,
                    route
                        .default_route_target
                        .as_deref()
                        .map(|t| format!(" (default route goes to {t})"))
                        .unwrap_or_default()
                ),
                format!(
                    "aws ec2 create-route --route-table-id {rtb} --destination-cidr-block 0.0.0.0/0 --gateway-id <igw-id>   (attach an internet gateway to the VPC first)"
                ),
            ));
        }
    }
    // A stopped instance loses an auto-assigned public IP; only an Elastic IP stays. Right after
    // launch the address may not be associated yet: held back for the grace period (the stack's
    // completion event looks again; the watchdog's overdue page re-checks it, long after).
    if !policy.stopped && !policy.within_public_ip_grace(s.launch_time) {
        out.extend(wan_public_ip(wan));
    }
    out
}

/// `WAN_NO_PUBLIC_IP` when the WAN interface has no public IP: the one rule, used by the guard
/// (after the grace period) and by the watchdog's overdue page (the late re-check: the grace is
/// long over by the deadline).
pub fn wan_public_ip(wan: &Interface) -> Option<Finding> {
    wan.public_ip.is_none().then(|| {
        Finding::new(
            FindingCode::WanNoPublicIp,
            &wan.eni_id,
            format!("WAN interface {} has no public IP address; the router cannot reach Mist through the internet gateway.", wan.eni_id),
            format!(
                "aws ec2 allocate-address --domain vpc, then aws ec2 associate-address --allocation-id <eipalloc-id> --network-interface-id {}",
                wan.eni_id
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::codes;
    use crate::snapshot::fixture::good_router;

    /// (name, default route target, WAN has public IP, policy, expected codes)
    type Case<'a> = (&'a str, Option<&'a str>, bool, &'a Policy, Vec<&'a str>);

    #[test]
    fn network_table() {
        let running = Policy::for_state("running", false, 128);
        let stopped = Policy::for_state("stopped", false, 128);
        let cases: Vec<Case> = vec![
            ("igw + ip", Some("igw-1"), true, &running, vec![]),
            (
                "nat route",
                Some("nat-1"),
                true,
                &running,
                vec!["WAN_NO_INTERNET_ROUTE"],
            ),
            (
                "no route",
                None,
                true,
                &running,
                vec!["WAN_NO_INTERNET_ROUTE"],
            ),
            (
                "no public ip",
                Some("igw-1"),
                false,
                &running,
                vec!["WAN_NO_PUBLIC_IP"],
            ),
            ("stopped, no ip", Some("igw-1"), false, &stopped, vec![]),
        ];
        for (name, target, ip, p, want) in cases {
            let mut s = good_router();
            s.wan_route.as_mut().unwrap().default_route_target = target.map(String::from);
            if !ip {
                s.interfaces[0].public_ip = None;
            }
            assert_eq!(codes(&check(&s, p)), want, "{name}");
        }
    }

    #[test]
    fn when_no_public_ip_within_grace_after_launch_then_held_back_and_reported_after() {
        let launched = chrono::DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut s = good_router();
        s.launch_time = Some(launched);
        s.interfaces[0].public_ip = None;
        let grace = chrono::Duration::minutes(10);
        let at = |m: i64| {
            Policy::for_state("running", false, 128)
                .with_public_ip_grace(launched + chrono::Duration::minutes(m), grace)
        };
        assert!(codes(&check(&s, &at(2))).is_empty(), "2 min after launch");
        assert!(codes(&check(&s, &at(9))).is_empty(), "9 min after launch");
        assert_eq!(codes(&check(&s, &at(10))), ["WAN_NO_PUBLIC_IP"]);
        s.launch_time = None;
        assert_eq!(
            codes(&check(&s, &at(2))),
            ["WAN_NO_PUBLIC_IP"],
            "unknown launch time: no grace"
        );
    }
}
