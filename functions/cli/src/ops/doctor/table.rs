//! The state table: it exists, its key is `pk` (String), and TTL deletes items by `expires_at`
//! (without TTL the claims and episodes pile up; the conditions still hold, the cost grows).

use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType, TimeToLiveStatus};
use ssr_core::aws::AwsError;
use ssr_core::check::Check;
use ssr_core::Config;

use super::{Checks, DoctorClients};

/// The key attribute and the TTL attribute the functions write.
const KEY: &str = "pk";
const TTL: &str = "expires_at";

pub(super) async fn table_checks(clients: &DoctorClients, config: &Config, checks: &mut Checks) {
    let Some(table) = config.state_table.as_deref() else {
        checks.push(Check::skipped(
            "state-table.exists",
            "no state table configured (STATE_TABLE unset): run doctor with --stack NAME",
        ));
        return;
    };
    let described = match clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
    {
        Ok(out) => out.table,
        Err(e) => {
            let e = AwsError::from_sdk("DescribeTable", e);
            if e.code == "ResourceNotFoundException" {
                checks.push(Check::problem(
                    "state-table.exists",
                    format!("table {table} does not exist: the watchdog cannot page once, the guard cannot de-duplicate"),
                    "deploy the stack again (sam deploy), or point STATE_TABLE at the stack's StateTableName output",
                ));
            } else {
                checks.not_checked("state-table.exists", &e);
            }
            return;
        }
    };
    let Some(described) = described else {
        checks.push(Check::problem(
            "state-table.exists",
            format!("DescribeTable answered no table for {table}"),
            "deploy the stack again (sam deploy)",
        ));
        return;
    };
    checks.push(Check::ok(
        "state-table.exists",
        format!(
            "{table} ({})",
            described
                .table_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "status unknown".into())
        ),
    ));
    let keys: Vec<(String, bool)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                *k.key_type() == KeyType::Hash,
            )
        })
        .collect();
    let pk_is_string = described
        .attribute_definitions()
        .iter()
        .any(|a| a.attribute_name() == KEY && *a.attribute_type() == ScalarAttributeType::S);
    if keys == [(KEY.to_string(), true)] && pk_is_string {
        checks.push(Check::ok(
            "state-table.key-schema",
            "partition key pk (String), no sort key",
        ));
    } else {
        checks.push(Check::problem(
            "state-table.key-schema",
            format!(
                "key schema is [{}]; the functions need partition key pk (String) and no sort key",
                keys.iter()
                    .map(|(n, hash)| format!("{n} {}", if *hash { "HASH" } else { "RANGE" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "use the stack's own table (its StateTableName output); a table's key cannot be changed",
        ));
    }
    match clients
        .dynamodb
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
    {
        Ok(out) => {
            let ttl = out.time_to_live_description();
            let status = ttl.and_then(|t| t.time_to_live_status());
            let attribute = ttl.and_then(|t| t.attribute_name());
            let on = matches!(
                status,
                Some(TimeToLiveStatus::Enabled) | Some(TimeToLiveStatus::Enabling)
            );
            if on && attribute == Some(TTL) {
                checks.push(Check::ok("state-table.ttl", "TTL enabled on expires_at"));
            } else {
                checks.push(Check::problem(
                    "state-table.ttl",
                    format!(
                        "TTL is {} (attribute {}): expired claims and episodes are never deleted",
                        status.map(|s| s.as_str()).unwrap_or("DISABLED"),
                        attribute.unwrap_or("none")
                    ),
                    format!("aws dynamodb update-time-to-live --table-name {table} --time-to-live-specification Enabled=true,AttributeName={TTL}"),
                ));
            }
        }
        Err(e) => checks.not_checked(
            "state-table.ttl",
            &AwsError::from_sdk("DescribeTimeToLive", e),
        ),
    }
}
