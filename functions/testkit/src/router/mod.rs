//! One guide-shaped router as real EC2 describes it, as `aws-smithy-mocks` rules.
//!
//! [`MockRouter::guide`] is a router launched as the SSR AWS guide says (c5.xlarge, 128 GB root
//! volume, a WAN interface at device index 0 with a public IP and a LAN interface at index 1, both
//! tagged `SSR-ROLE`, source/destination check off, ENA on, the router tag). Change fields for
//! broken variants, then [`MockRouter::rules`] gives one rule per EC2 operation, kept by name so
//! tests count calls. The rules share state: ModifyNetworkInterfaceAttribute changes what
//! DescribeNetworkInterfaces answers and ModifyInstanceAttribute what DescribeInstanceAttribute
//! `enaSupport` answers, so read-backs see the write (as on real EC2).
//!
//! ```
//! use aws_sdk_ec2::types::InstanceStateName;
//! use ssr_testkit::{MockRouter, MockUserData};
//!
//! let mut router = MockRouter::guide("i-0abc1234567890def", "SSR_1_Router");
//! router.state = InstanceStateName::Stopped;
//! router.ena_support = None;
//! router.interfaces[1].source_dest_check = Some(true);
//! router.user_data = MockUserData::Denied;
//! let rules = router.rules();
//! assert_eq!(rules.all().len(), 8);
//! // let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
//! ```
//!
//! Submodules: `shape` (the router and what EC2's describe calls return for it), `rules` (the
//! `aws-smithy-mocks` rules and the state the writes change).

mod rules;
mod shape;
#[cfg(test)]
mod tests;

pub use rules::RouterRules;
pub use shape::{MockEni, MockRouter, MockUserData};

/// Tag key of an interface's role (`WAN` / `LAN`), as the SSR AWS guide names it.
pub const ROLE_TAG_KEY: &str = "SSR-ROLE";
/// Tag key marking an instance as a router (the product's default).
pub const ROUTER_TAG_KEY: &str = "SSR-ROUTER";

/// The guide's "Cloud-init Onboarding" user data (plain text): the onboarding JSON written to
/// `/etc/128T-hardware-bootstrapper/onboarding-config.json`. Written out here independently of
/// the product's parser so the tests check it against the guide, not against itself.
pub fn guide_user_data(name: &str, ssr_version: &str, registration_code: &str) -> String {
    format!(
        "#cloud-config\nwrite_files:\n  - path: /etc/128T-hardware-bootstrapper/onboarding-config.json\n    content: |\n      {{ \"name\": \"{name}\", \"ssr-version\": \"{ssr_version}\", \"registration-code\": \"{registration_code}\", \"mode\": \"mist-managed\", \"cloud-provider\": \"aws\"}}\n"
    )
}
