//! The alert for a failed router stack.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{
    console_url, kind_attr, short, string_attr, subject, Alert, AlertKind, AlertSeverity,
    EventContext,
};
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
        ctx.account_label(),
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
    let advice = advice(ctx, stack, status, failed);
    let _ = writeln!(b);
    let _ = writeln!(b, "What to do ({status})");
    for line in &advice.explain {
        let _ = writeln!(b, "  {line}");
    }
    for (k, step) in advice.steps.iter().enumerate() {
        let _ = writeln!(b, "  {}. {}", k + 1, step.text);
        for c in &step.commands {
            let _ = writeln!(b, "       {c}");
        }
    }
    let mut next_steps = vec![match first {
        Some(e) => format!(
            "Read why {} ({}) failed: {}",
            e.logical_resource_id,
            e.resource_type,
            e.reason.as_deref().unwrap_or("(no reason given)")
        ),
        None => "Read the stack's status reason and events".to_string(),
    }];
    next_steps.extend(advice.steps.iter().map(|s| match s.commands.as_slice() {
        [] => s.text.clone(),
        cmds => format!("{} `{}`", s.text, cmds.join("`, then `")),
    }));
    if let Some(region) = ctx.region.as_deref().filter(|r| !r.is_empty()) {
        let link = console_url(
            region,
            "cloudformation",
            &format!("/stacks/events?stackId={}", url_encode(&stack.stack_id)),
        );
        let _ = writeln!(b);
        let _ = writeln!(b, "Console: {link}");
        next_steps.push(format!("Console: {link}"));
    }
    let attributes = std::collections::BTreeMap::from([
        kind_attr(AlertKind::StackFailed),
        AlertSeverity::Error.attr(),
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

/// One step of the advice: what to do, and the commands that do it.
struct Step {
    text: String,
    commands: Vec<String>,
}

impl Step {
    fn say(text: impl Into<String>) -> Step {
        Step {
            text: text.into(),
            commands: Vec::new(),
        }
    }

    fn run(text: impl Into<String>, commands: Vec<String>) -> Step {
        Step {
            text: text.into(),
            commands,
        }
    }
}

/// What the status means and what a person does about it.
struct Advice {
    explain: Vec<String>,
    steps: Vec<Step>,
}

/// The common first step: the cause, from the failed resources above.
const FIX_CAUSE: &str = "Fix the cause named above in the template or the parameters (instance type available in the zone, AMI subscription accepted, subnet and security group limits).";

/// The advice for the stack status the alert reports. Each status's meaning and the command
/// that gets out of it are as the AWS CloudFormation documentation gives them:
/// - `ROLLBACK_COMPLETE` (and `CREATE_FAILED`, `ROLLBACK_IN_PROGRESS` on the way there): a create
///   failed and was rolled back; such a stack can only be deleted, then created again
///   (CloudFormation User Guide, "Stack status codes"; `DeleteStack`).
/// - `UPDATE_ROLLBACK_COMPLETE` (and `UPDATE_FAILED`, `UPDATE_ROLLBACK_IN_PROGRESS` on the way
///   there): the stack is back on its previous, working template; fix and update again, never
///   delete (API Reference `ContinueUpdateRollback`: "return your stack to a working state (the
///   UPDATE_ROLLBACK_COMPLETE state), and then try to update the stack again"). An
///   `UPDATE_FAILED` stack whose rollback was disabled is rolled back with `RollbackStack`
///   ("Rolls back the specified stack to the last known stable state from CREATE_FAILED or
///   UPDATE_FAILED stack statuses").
/// - `UPDATE_ROLLBACK_FAILED`: `ContinueUpdateRollback`, with `ResourcesToSkip` for resources
///   "that CloudFormation can't successfully roll back" (only resources in `UPDATE_FAILED`
///   because the rollback failed).
/// - `ROLLBACK_FAILED`, `DELETE_FAILED`: `DeleteStack` with `RetainResources` ("For stacks in the
///   DELETE_FAILED state, a list of resource logical IDs ... you want to retain"), after a plain
///   delete has left the stack `DELETE_FAILED`.
fn advice(
    ctx: &EventContext,
    stack: &StackInfo,
    status: &str,
    failed: &[&StackEventInfo],
) -> Advice {
    let name = &stack.stack_name;
    let region = ctx
        .region
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or("<region>");
    let run_in = ctx.run_in();
    let cfn = |op: &str, rest: &str| {
        format!("aws cloudformation {op} --stack-name {name}{rest} --region {region}")
    };
    // Resources whose own operation failed: the candidates to skip or retain.
    let ids = |wanted: &[&str]| -> String {
        let mut ids: Vec<&str> = failed
            .iter()
            .filter(|e| wanted.contains(&e.status.as_str()) && e.logical_resource_id != *name)
            .map(|e| e.logical_resource_id.as_str())
            .collect();
        ids.dedup();
        if ids.is_empty() {
            "<LogicalResourceId>".to_string()
        } else {
            ids.join(" ")
        }
    };
    let recreate = vec![
        cfn("delete-stack", ""),
        cfn("wait stack-delete-complete", ""),
    ];
    match status {
        "ROLLBACK_COMPLETE" | "CREATE_FAILED" | "ROLLBACK_IN_PROGRESS" => Advice {
            explain: vec![
                if status == "ROLLBACK_COMPLETE" {
                    "The stack's creation failed and CloudFormation removed what it had created. A stack in ROLLBACK_COMPLETE cannot be updated: it can only be deleted and created again.".to_string()
                } else {
                    "The stack's creation failed; CloudFormation is removing what it had created (ROLLBACK_COMPLETE next). Such a stack cannot be updated: it can only be deleted and created again.".to_string()
                },
            ],
            steps: vec![
                Step::say(FIX_CAUSE),
                Step::run(
                    format!("Delete the failed stack{run_in} (nothing of it is running):"),
                    recreate,
                ),
                Step::say("Create the stack again with the fixed template or parameters."),
            ],
        },
        "UPDATE_ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_IN_PROGRESS" | "UPDATE_FAILED" => {
            let mut explain = vec![if status == "UPDATE_ROLLBACK_COMPLETE" {
                "The update failed and CloudFormation rolled it back: the stack is on its previous, working template and the router keeps running as before. Do not delete the stack.".to_string()
            } else {
                "The update failed; CloudFormation rolls the stack back to its previous, working template (UPDATE_ROLLBACK_COMPLETE next), and the router keeps running as before. Do not delete the stack.".to_string()
            }];
            let mut steps = vec![
                Step::say(FIX_CAUSE),
                Step::run(
                    format!("Update the stack again{run_in} with the fix (console, or the command you deployed it with):"),
                    vec![cfn("update-stack", " --template-body file://<template> --parameters <parameters>")],
                ),
            ];
            if status == "UPDATE_FAILED" {
                explain.push("If it stays UPDATE_FAILED (the update was run with rollback disabled), roll it back to its last working state first.".to_string());
                steps.insert(
                    1,
                    Step::run(
                        format!("Only if the stack stays UPDATE_FAILED{run_in}:"),
                        vec![cfn("rollback-stack", "")],
                    ),
                );
            }
            Advice { explain, steps }
        }
        "UPDATE_ROLLBACK_FAILED" => Advice {
            explain: vec![
                "The update failed and so did its rollback: the stack can neither be updated nor rolled back until the rollback is continued. Do not delete the stack.".to_string(),
            ],
            steps: vec![
                Step::say("Fix what stopped the rollback (the failed resources above; often a resource changed or deleted outside CloudFormation)."),
                Step::run(
                    format!("Continue the rollback{run_in}:"),
                    vec![cfn("continue-update-rollback", "")],
                ),
                Step::run(
                    "If a resource cannot be rolled back, skip it (only resources that are UPDATE_FAILED because the rollback failed; the stack then no longer matches them, so check them by hand):",
                    vec![cfn(
                        "continue-update-rollback",
                        &format!(" --resources-to-skip {}", ids(&["UPDATE_FAILED"])),
                    )],
                ),
                Step::say("Once UPDATE_ROLLBACK_COMPLETE, fix the cause and update the stack again."),
            ],
        },
        "ROLLBACK_FAILED" | "DELETE_FAILED" => {
            let retain = ids(&["DELETE_FAILED"]);
            let mut steps = Vec::new();
            if status == "ROLLBACK_FAILED" {
                steps.push(Step::run(
                    format!("Delete the stack{run_in}:"),
                    vec![cfn("delete-stack", "")],
                ));
            }
            steps.push(Step::run(
                format!(
                    "{}, delete it keeping the resources that cannot be deleted{run_in}:",
                    if status == "ROLLBACK_FAILED" {
                        "If it ends DELETE_FAILED"
                    } else {
                        "The resources above could not be deleted"
                    }
                ),
                vec![cfn("delete-stack", &format!(" --retain-resources {retain}"))],
            ));
            steps.push(Step::say(
                "Remove the retained resources by hand (they are no longer in any stack), then create the stack again if it is still needed.",
            ));
            Advice {
                explain: vec![if status == "ROLLBACK_FAILED" {
                    "The stack's creation failed and so did the removal of what it had created.".to_string()
                } else {
                    "The stack's deletion failed: some of its resources could not be deleted.".to_string()
                }],
                steps,
            }
        }
        _ => Advice {
            explain: vec![format!("The stack reported {status}.")],
            steps: vec![Step::say(FIX_CAUSE), Step::run(
                format!("Look at the stack's events{run_in}:"),
                vec![cfn("describe-stack-events", " --max-items 20")],
            )],
        },
    }
}

#[cfg(test)]
mod tests;
