//! The one backoff helper: every loop that waits and tries again (transient AWS errors, the
//! custom resource's response PUT, an instance not visible yet, the fixes' read-back) draws its
//! waits from [`Waits`] over a [`RetryPolicy`] (or the configured read-back schedule) and a
//! [`Deadline`], and the simple "call until it works" loops use [`retry`].

use std::future::Future;
use std::time::Duration;

use crate::config::RetryPolicy;
use crate::deadline::Deadline;

/// The waits between attempts: a policy's doubling delays (at most `attempts - 1` waits) or a
/// fixed schedule, never a wait that would end at or past the deadline.
#[derive(Clone, Debug)]
pub struct Waits<'a> {
    schedule: Schedule<'a>,
    deadline: Deadline,
    /// Waits handed out so far.
    taken: u32,
}

#[derive(Clone, Debug)]
enum Schedule<'a> {
    Policy(RetryPolicy),
    Listed(&'a [Duration]),
}

impl<'a> Waits<'a> {
    /// `policy.attempts` attempts: base, 2×base, 4×base… between them.
    pub fn policy(policy: RetryPolicy, deadline: Deadline) -> Self {
        Waits {
            schedule: Schedule::Policy(policy),
            deadline,
            taken: 0,
        }
    }

    /// As many attempts as the deadline allows, doubling from `base`.
    pub fn until_deadline(base: Duration, deadline: Deadline) -> Self {
        Self::policy(
            RetryPolicy {
                attempts: u32::MAX,
                base_delay: base,
            },
            deadline,
        )
    }

    /// The waits of a configured schedule, in order.
    pub fn listed(schedule: &'a [Duration], deadline: Deadline) -> Self {
        Waits {
            schedule: Schedule::Listed(schedule),
            deadline,
            taken: 0,
        }
    }

    /// The next wait, or `None` when the attempts are used up or the wait would reach the
    /// deadline (then no further attempt is made).
    pub fn next_wait(&mut self) -> Option<Duration> {
        let wait = match &self.schedule {
            Schedule::Policy(p) if self.taken.saturating_add(1) < p.attempts => {
                p.delay(self.taken + 1)
            }
            Schedule::Policy(_) => return None,
            Schedule::Listed(list) => *list.get(self.taken as usize)?,
        };
        if !self.deadline.allows(wait) {
            return None;
        }
        self.taken += 1;
        Some(wait)
    }

    /// Sleeps the next wait; `false` (without sleeping) when there is none.
    pub async fn wait(&mut self) -> bool {
        match self.next_wait() {
            Some(d) => {
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }

    /// Attempts made so far, counting the one before the first wait.
    pub fn attempt(&self) -> u32 {
        self.taken + 1
    }
}

/// Calls `op` until it succeeds, fails with an error `retryable` rejects, or `waits` runs out;
/// returns the last result. `what` names the operation in the warning logged before each retry.
pub async fn retry<T, E, F, Fut>(
    mut waits: Waits<'_>,
    what: &str,
    retryable: impl Fn(&E) -> bool,
    mut op: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        let attempt = waits.attempt();
        match op(attempt).await {
            Err(e) if retryable(&e) => {
                if !waits.wait().await {
                    return Err(e);
                }
                tracing::warn!(attempt, error = %e, "{what}: transient error; retrying");
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Instant;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            base_delay: MS,
        }
    }

    #[test]
    fn when_a_policy_has_four_attempts_then_three_doubling_waits() {
        let mut w = Waits::policy(policy(4), Deadline::NONE);
        let got: Vec<_> = std::iter::from_fn(|| w.next_wait()).collect();
        assert_eq!(got, [MS, 2 * MS, 4 * MS]);
        assert_eq!(w.attempt(), 4);
    }

    #[test]
    fn when_a_wait_would_reach_the_deadline_then_there_is_none() {
        let deadline = Deadline::at(Instant::now() + Duration::from_millis(150));
        let mut w = Waits::until_deadline(Duration::from_millis(100), deadline);
        assert_eq!(w.next_wait(), Some(Duration::from_millis(100)));
        assert_eq!(w.next_wait(), None, "200 ms would pass the deadline");
        assert_eq!(Waits::policy(policy(9), Deadline::PAST).next_wait(), None);
    }

    #[test]
    fn when_a_schedule_is_listed_then_its_waits_come_in_order_and_end() {
        let list = [3 * MS, MS];
        let mut w = Waits::listed(&list, Deadline::NONE);
        assert_eq!(w.next_wait(), Some(3 * MS));
        assert_eq!(w.next_wait(), Some(MS));
        assert_eq!(w.next_wait(), None);
    }

    #[tokio::test]
    async fn when_an_operation_fails_transiently_then_it_is_tried_again_until_it_works() {
        let calls = Cell::new(0);
        let got: Result<u32, String> = retry(
            Waits::policy(policy(5), Deadline::NONE),
            "op",
            |e: &String| e == "transient",
            |attempt| {
                calls.set(calls.get() + 1);
                async move {
                    if attempt < 3 {
                        Err("transient".to_string())
                    } else {
                        Ok(attempt)
                    }
                }
            },
        )
        .await;
        assert_eq!(got, Ok(3));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn when_an_error_is_not_retryable_or_attempts_run_out_then_the_last_error_returns() {
        let calls = Cell::new(0);
        let fatal: Result<(), String> = retry(
            Waits::policy(policy(5), Deadline::NONE),
            "op",
            |e: &String| e == "transient",
            |_| {
                calls.set(calls.get() + 1);
                async { Err("denied".to_string()) }
            },
        )
        .await;
        assert_eq!(fatal, Err("denied".to_string()));
        assert_eq!(calls.get(), 1);

        calls.set(0);
        let out: Result<(), String> = retry(
            Waits::policy(policy(3), Deadline::NONE),
            "op",
            |_: &String| true,
            |_| {
                calls.set(calls.get() + 1);
                async { Err("transient".to_string()) }
            },
        )
        .await;
        assert_eq!(out, Err("transient".to_string()));
        assert_eq!(calls.get(), 3);
    }
}
