//! When an invocation must be done. Lambda gives every invocation a deadline; the CLI and most
//! tests have none ([`Deadline::NONE`]). Every wait (read-back polling, retries, the webhook's
//! Mist reads, the custom resource's answer) is bounded by one of these.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deadline(When);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum When {
    #[default]
    Unbounded,
    Past,
    At(Instant),
}

impl Deadline {
    /// No deadline: waits are bounded only by their own attempts.
    pub const NONE: Deadline = Deadline(When::Unbounded);
    /// A deadline already past: no wait is allowed.
    pub const PAST: Deadline = Deadline(When::Past);

    pub fn at(instant: Instant) -> Self {
        Deadline(When::At(instant))
    }

    /// `d` from now.
    pub fn after(d: Duration) -> Self {
        Instant::now()
            .checked_add(d)
            .map_or(Deadline::NONE, Deadline::at)
    }

    /// A wall-clock deadline (the Lambda context's, as `SystemTime`).
    pub fn from_system_time(t: SystemTime) -> Self {
        Self::after(
            t.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }

    /// The Lambda context's deadline, epoch milliseconds.
    pub fn from_epoch_millis(ms: u64) -> Self {
        Self::from_system_time(UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// The instant, when there is a deadline (a past one is now).
    pub fn instant(self) -> Option<Instant> {
        match self.0 {
            When::Unbounded => None,
            When::Past => Some(Instant::now()),
            When::At(i) => Some(i),
        }
    }

    /// Time left (zero when past); `None` without a deadline.
    pub fn remaining(self) -> Option<Duration> {
        self.instant()
            .map(|i| i.saturating_duration_since(Instant::now()))
    }

    /// Time left, or `unbounded` without a deadline.
    pub fn remaining_or(self, unbounded: Duration) -> Duration {
        self.remaining().unwrap_or(unbounded)
    }

    /// The same deadline `margin` earlier (never before now): time kept for what must still
    /// happen after the waits (the alert, the answer).
    pub fn less(self, margin: Duration) -> Deadline {
        match self.remaining() {
            None => Deadline::NONE,
            Some(left) => Deadline::after(left.saturating_sub(margin)),
        }
    }

    /// May a wait of `wait` start now and end before the deadline?
    pub fn allows(self, wait: Duration) -> bool {
        self.remaining().is_none_or(|left| wait < left)
    }
}

impl From<SystemTime> for Deadline {
    fn from(t: SystemTime) -> Self {
        Deadline::from_system_time(t)
    }
}

impl From<Instant> for Deadline {
    fn from(i: Instant) -> Self {
        Deadline::at(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn when_there_is_no_deadline_then_every_wait_is_allowed() {
        assert!(Deadline::NONE.allows(Duration::from_secs(3600)));
        assert_eq!(Deadline::NONE.remaining(), None);
        assert_eq!(Deadline::NONE.less(S), Deadline::NONE);
    }

    #[test]
    fn when_the_deadline_is_past_then_no_wait_is_allowed() {
        assert!(!Deadline::PAST.allows(Duration::from_millis(1)));
        assert_eq!(Deadline::PAST.remaining(), Some(Duration::ZERO));
        assert!(!Deadline::from_epoch_millis(0).allows(Duration::from_millis(1)));
    }

    #[test]
    fn when_a_margin_is_kept_then_the_deadline_moves_earlier_but_not_before_now() {
        let d = Deadline::after(30 * S);
        let kept = d.less(2 * S).remaining().unwrap_or_default();
        assert!(kept <= 28 * S && kept > 27 * S, "{kept:?}");
        assert!(!Deadline::after(S)
            .less(2 * S)
            .allows(Duration::from_millis(1)));
    }

    #[test]
    fn when_a_wall_clock_deadline_is_given_then_the_time_left_is_the_same() {
        let d = Deadline::from_system_time(SystemTime::now() + 10 * S);
        let left = d.remaining().unwrap_or_default();
        assert!(left <= 10 * S && left > 9 * S, "{left:?}");
        assert!(d.allows(5 * S) && !d.allows(11 * S));
    }
}
