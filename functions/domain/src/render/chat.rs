//! An alert as an AWS Chatbot (Amazon Q Developer in chat applications) custom notification:
//! the JSON message a chat channel shows as a card, published to the separate chat topic
//! (`CHAT_TOPIC_ARN`). Chatbot drops a malformed message silently, so the shape is fixed here
//! and tested: `version` "1.0", `source` "custom", `content` {`textType` "client-markdown",
//! `title`, `description`, `nextSteps`}, `metadata` {`threadId`, `summary`, `eventType`,
//! `relatedResources`, `additionalContext`}.
//!
//! Built only from the [`Alert`], which is never given a secret.

use serde::Serialize;

use super::{Alert, AlertKind};

/// The description's length limit: chat cards are short; the e-mail alert has the full text.
pub const MAX_DESCRIPTION: usize = 3000;
/// At most this many next steps (chat shows them as a list).
pub const MAX_NEXT_STEPS: usize = 8;
const FENCE: &str = "```";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatNotification {
    pub version: &'static str,
    pub source: &'static str,
    pub content: Content,
    pub metadata: Metadata,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub text_type: &'static str,
    pub title: String,
    pub description: String,
    pub next_steps: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub thread_id: String,
    pub summary: String,
    pub event_type: String,
    pub related_resources: Vec<String>,
    pub additional_context: serde_json::Map<String, serde_json::Value>,
}

/// The chat notification for `alert`.
pub fn chat_notification(alert: &Alert) -> ChatNotification {
    let additional_context = alert
        .attributes
        .iter()
        .filter(|(k, _)| k.as_str() != "kind")
        .map(|(k, (_, v))| (k.clone(), serde_json::Value::from(v.as_str())))
        .collect();
    ChatNotification {
        version: "1.0",
        source: "custom",
        content: Content {
            text_type: "client-markdown",
            title: alert.subject.clone(),
            description: description(&alert.body),
            next_steps: alert
                .next_steps
                .iter()
                .take(MAX_NEXT_STEPS)
                .cloned()
                .collect(),
        },
        metadata: Metadata {
            thread_id: alert.thread_id.clone(),
            summary: alert.subject.clone(),
            event_type: alert
                .kind()
                .map_or("ssr-onboard", AlertKind::as_str)
                .to_string(),
            related_resources: alert.related_resources.clone(),
            additional_context,
        },
    }
}

/// The SNS message for the chat topic.
pub fn chat_message(alert: &Alert) -> String {
    serde_json::to_string(&chat_notification(alert)).unwrap_or_default()
}

/// The body's first paragraph as text, the rest preformatted (it is laid out in columns), cut to
/// [`MAX_DESCRIPTION`] at a line end.
fn description(body: &str) -> String {
    let body = body.replace(FENCE, "'''");
    let body = body.trim();
    let (head, rest) = match body.split_once("\n\n") {
        Some((h, r)) => (h.trim(), r.trim_matches('\n')),
        None => (body, ""),
    };
    if rest.is_empty() {
        return cut(head, MAX_DESCRIPTION);
    }
    const MORE: &str = "\n(cut: the e-mail alert has the full text)";
    let frame = head.len() + 2 + FENCE.len() * 2 + 2;
    let room = MAX_DESCRIPTION.saturating_sub(frame);
    let block = if rest.len() <= room {
        rest.to_string()
    } else {
        format!("{}{MORE}", cut(rest, room.saturating_sub(MORE.len())))
    };
    cut(
        &format!("{head}\n\n{FENCE}\n{block}\n{FENCE}"),
        MAX_DESCRIPTION,
    )
}

/// At most `max` bytes of `text`, ending at a line end when there is one (else a char boundary).
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    match head.rfind('\n') {
        Some(nl) if nl > 0 => head[..nl].to_string(),
        _ => head.to_string(),
    }
}

#[cfg(test)]
mod tests;
