//! The alert for a failed router stack.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{kind_attr, short, string_attr, subject, Alert, AlertKind, EventContext};
use crate::stack::{StackEventInfo, StackInfo};

/// Failed resources listed in a stack alert.
const MAX_ROOT_CAUSES: usize = 3;

/// `%XX` for the characters of a stack ARN that are not URL-safe in a console fragment.
fn url_encode(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ':' => "%3A".to_string(),
            '/' => "%2F".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "?".into())
}

/// The alert for a failed router stack: subject `SSR stack <name> <STATUS>: <first failed
/// resource>`, the root cause (first failed resources, oldest first), the parameters with secret
/// values hidden. `stack` holds no secret value (the adapter redacts them).
pub fn stack_alert(
    ctx: &EventContext,
    stack: &StackInfo,
    status: &str,
    status_reason: Option<&str>,
    failed: &[&StackEventInfo],
) -> Alert {
    let first = failed.first();
    let subject = subject(&format!(
        "SSR stack {} {status}: {}",
        short(&stack.stack_name, 40),
        match first {
            Some(e) => format!("{} ({})", e.logical_resource_id, e.resource_type),
            None => "see stack events".to_string(),
        }
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The CloudFormation stack {} of a Session Smart Router is {status}.",
        stack.stack_name
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "Stack");
    let _ = writeln!(b, "  Name:      {}", stack.stack_name);
    let _ = writeln!(b, "  Id:        {}", stack.stack_id);
    let _ = writeln!(b, "  Status:    {status}");
    if let Some(r) = status_reason {
        let _ = writeln!(b, "  Reason:    {r}");
    }
    let _ = writeln!(
        b,
        "  Account:   {}   Region: {}",
        ctx.account.as_deref().unwrap_or("?"),
        ctx.region.as_deref().unwrap_or("?")
    );
    let _ = writeln!(b);
    if failed.is_empty() {
        let _ = writeln!(
            b,
            "No failed resource event was found in the stack's events for this operation; the \
             status reason above is all CloudFormation reported."
        );
    } else {
        let _ = writeln!(b, "Root cause (failed resources, oldest first):");
        for (k, e) in failed.iter().take(MAX_ROOT_CAUSES).enumerate() {
            let _ = writeln!(
                b,
                "  {}. {} ({}) {} at {}",
                k + 1,
                e.logical_resource_id,
                e.resource_type,
                e.status,
                fmt_time(e.timestamp)
            );
            let _ = writeln!(
                b,
                "     {}",
                e.reason.as_deref().unwrap_or("(no reason given)")
            );
        }
        if failed.len() > MAX_ROOT_CAUSES {
            let _ = writeln!(
                b,
                "  ... and {} more failed resource(s)",
                failed.len() - MAX_ROOT_CAUSES
            );
        }
    }
    if !stack.parameters.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(b, "Parameters (NoEcho and secret-looking values hidden):");
        for p in &stack.parameters {
            let _ = writeln!(
                b,
                "  {} = {}",
                p.key,
                p.value.as_deref().unwrap_or("(hidden)")
            );
        }
    }
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "What to do: read the failed resource's reason above, fix the template or the \
         parameters (instance type available in the zone, AMI subscription, subnet and \
         security group limits), then delete the stack if it rolled back and create it again."
    );
    let mut next_steps = vec![
        match first {
            Some(e) => format!(
                "Read why {} ({}) failed: {}",
                e.logical_resource_id,
                e.resource_type,
                e.reason.as_deref().unwrap_or("(no reason given)")
            ),
            None => "Read the stack's status reason and events".to_string(),
        },
        "Fix the template or the parameters (instance type available in the zone, AMI \
         subscription, subnet and security group limits)"
            .to_string(),
        "Delete the stack if it rolled back, then create it again".to_string(),
    ];
    if let Some(region) = &ctx.region {
        let link = format!(
            "https://{region}.console.aws.amazon.com/cloudformation/home?region={region}#/stacks/events?stackId={}",
            url_encode(&stack.stack_id)
        );
        let _ = writeln!(b);
        let _ = writeln!(b, "Console: {link}");
        next_steps.push(format!("Console: {link}"));
    }
    let attributes = std::collections::BTreeMap::from([
        kind_attr(AlertKind::StackFailed),
        ("severity".to_string(), string_attr("error")),
        ("stack_name".to_string(), string_attr(&stack.stack_name)),
        ("status".to_string(), string_attr(status)),
    ]);
    Alert {
        subject,
        body: b,
        attributes,
        thread_id: format!("ssr-onboard/stack/{}", stack.stack_id),
        related_resources: vec![stack.stack_id.clone()],
        next_steps,
    }
    .in_context(ctx)
}
