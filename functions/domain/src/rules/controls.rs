//! The operator's per-router tags, checked: a snooze tag whose value is not a time is a finding
//! (the router is then not snoozed), never a crash.

use crate::findings::{Finding, FindingCode};
use crate::select::{Snooze, SNOOZE_TAG_KEY};
use crate::snapshot::RouterSnapshot;

pub fn check(s: &RouterSnapshot) -> Vec<Finding> {
    match Snooze::of(&s.tags) {
        Snooze::Invalid(value) => vec![Finding::new(
            FindingCode::SnoozeUntilInvalid,
            s.instance_id.clone(),
            format!("the {SNOOZE_TAG_KEY} tag `{value}` is not an RFC 3339 time: the router is not snoozed"),
            format!(
                "aws ec2 create-tags --resources {} --tags Key={SNOOZE_TAG_KEY},Value=2026-12-31T18:00:00Z",
                s.instance_id
            ),
        )],
        Snooze::None | Snooze::Until(_) => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::codes;
    use crate::snapshot::fixture::good_router;

    #[test]
    fn when_the_snooze_tag_is_not_a_time_then_a_warning_names_the_tag_and_fix() {
        let mut s = good_router();
        assert!(check(&s).is_empty());
        s.tags.insert(SNOOZE_TAG_KEY.into(), "next week".into());
        let f = check(&s);
        assert_eq!(codes(&f), ["SNOOZE_UNTIL_INVALID"]);
        assert!(f[0].message.contains("next week"), "{}", f[0].message);
        s.tags
            .insert(SNOOZE_TAG_KEY.into(), "2026-12-31T18:00:00Z".into());
        assert!(check(&s).is_empty());
    }
}
