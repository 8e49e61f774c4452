//! The timeline engine (`ssr-onboard timeline`): one router's entries from the state table, in
//! time order ([`ssr_core::timeline`] has the entries, the document and its text). A Query of
//! the router's list on the table's `lists` index (`list` = `timeline#<instance-id>`), every
//! page: no scan.

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use ssr_core::aws::state::StateStore;
use ssr_core::aws::AwsError;
use ssr_core::timeline::Timeline;

pub use ssr_core::timeline::SCHEMA;

/// Whose timeline, from which table.
#[derive(Debug, Clone)]
pub struct TimelineOptions {
    pub instance_id: String,
    pub table: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("{0} is not an EC2 instance id (i- and 8 or 17 hex digits)")]
    BadInstanceId(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The timeline of `options.instance_id` as of `now` (entries past their expiry left out).
pub async fn run(
    sdk: &SdkConfig,
    options: &TimelineOptions,
    now: DateTime<Utc>,
) -> Result<Timeline, TimelineError> {
    let state = StateStore::from_sdk_config(sdk, Some(options.table.clone()));
    timeline_of(&state, &options.instance_id, now).await
}

/// [`run`] on a given state table.
pub async fn timeline_of(
    state: &StateStore,
    instance_id: &str,
    now: DateTime<Utc>,
) -> Result<Timeline, TimelineError> {
    let id = instance_id.trim();
    if !ssr_core::snapshot::is_instance_id(id) {
        return Err(TimelineError::BadInstanceId(
            id.chars().take(40).collect::<String>(),
        ));
    }
    let entries = state.timeline(id, now).await?;
    Ok(Timeline::new(id, entries))
}

/// The text a person reads: one line per entry, time first.
pub fn render_text(timeline: &Timeline) -> String {
    timeline.render_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn when_the_id_is_not_an_instance_id_then_a_typed_error_and_no_call() {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        let state = StateStore::new(aws_sdk_dynamodb::Client::from_conf(conf), Some("t".into()));
        let err = timeline_of(&state, "i-nothex; drop", Utc::now())
            .await
            .unwrap_err();
        assert!(matches!(err, TimelineError::BadInstanceId(_)), "{err}");
    }
}
