//! The guide's cloud-init onboarding: user data that is `#cloud-config` writing
//! `/etc/128T-hardware-bootstrapper/onboarding-config.json`. Parsing keeps the registration code
//! out of every value it returns: only whether it is present.

use base64::Engine;
use serde::Serialize;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::{Yaml, YamlLoader};

pub const ONBOARDING_PATH: &str = "/etc/128T-hardware-bootstrapper/onboarding-config.json";

/// EC2's limit on user data (decoded): anything longer is refused without parsing.
pub const MAX_USER_DATA_BYTES: usize = 16384;
/// YAML nodes the cloud-config may expand to, aliases counted at their full size: the guide's
/// user data has a few dozen; an alias bomb ("billion laughs") has billions.
const MAX_EXPANDED_NODES: u64 = 10_000;
/// Nesting depth of sequences and mappings.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OnboardingConfig {
    pub name: Option<String>,
    pub ssr_version: Option<String>,
    pub mode: Option<String>,
    pub cloud_provider: Option<String>,
    pub registration_code_present: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OnboardingStatus {
    /// No user data, or user data that writes no onboarding file.
    Missing { reason: String },
    /// User data that cannot be read as the guide's cloud-config (reason says why; no content).
    Unreadable { reason: String },
    /// ssr-onboard may not read the user data (IAM denied DescribeInstanceAttribute).
    NotChecked { reason: String },
    /// The onboarding file was found; `problems` lists what is wrong with it (empty = valid).
    Parsed {
        config: OnboardingConfig,
        problems: Vec<String>,
    },
}

impl OnboardingStatus {
    pub fn config(&self) -> Option<&OnboardingConfig> {
        match self {
            OnboardingStatus::Parsed { config, .. } => Some(config),
            _ => None,
        }
    }
}

/// Inspects raw (base64-decoded) user data bytes.
pub fn inspect_bytes(user_data: Option<&[u8]>) -> OnboardingStatus {
    match user_data {
        None => inspect(None),
        Some(bytes) if bytes.len() > MAX_USER_DATA_BYTES => too_long(bytes.len()),
        Some([0x1f, 0x8b, ..]) => OnboardingStatus::Unreadable {
            reason: "user data is gzip-compressed; this check reads plain #cloud-config only"
                .into(),
        },
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => inspect(Some(text)),
            Err(_) => OnboardingStatus::Unreadable {
                reason: "user data is not UTF-8 text".into(),
            },
        },
    }
}

/// Inspects decoded user data (`None`: the instance has none).
pub fn inspect(user_data: Option<&str>) -> OnboardingStatus {
    let Some(text) = user_data.filter(|t| !t.trim().is_empty()) else {
        return OnboardingStatus::Missing {
            reason: "the instance has no user data".into(),
        };
    };
    if text.len() > MAX_USER_DATA_BYTES {
        return too_long(text.len());
    }
    let first = text.lines().next().unwrap_or_default().trim();
    if first != "#cloud-config" {
        let kind =
            if first.starts_with("Content-Type: multipart") || first.starts_with("MIME-Version") {
                "MIME multi-part user data"
            } else if first.starts_with("#!") {
                "a shell script"
            } else {
                "not #cloud-config"
            };
        return OnboardingStatus::Unreadable {
            reason: format!(
                "user data is {kind}; the guide's onboarding uses a #cloud-config write_files entry"
            ),
        };
    }
    if let Err(reason) = check_expansion(text) {
        return OnboardingStatus::Unreadable { reason };
    }
    let docs = match YamlLoader::load_from_str(text) {
        Ok(d) => d,
        Err(e) => {
            return OnboardingStatus::Unreadable {
                reason: format!(
                    "cloud-config is not valid YAML (line {}, column {})",
                    e.marker().line(),
                    e.marker().col() + 1
                ),
            }
        }
    };
    let Some(entry) = docs
        .first()
        .and_then(|doc| find_write_file(doc, ONBOARDING_PATH))
    else {
        return OnboardingStatus::Missing {
            reason: format!("cloud-config has no write_files entry for {ONBOARDING_PATH}"),
        };
    };
    let content = match file_content(entry) {
        Ok(c) => c,
        Err(reason) => return OnboardingStatus::Unreadable { reason },
    };
    parse_onboarding_json(&content)
}

fn too_long(len: usize) -> OnboardingStatus {
    OnboardingStatus::Unreadable {
        reason: format!(
            "user data is {len} bytes, over EC2's limit of {MAX_USER_DATA_BYTES} bytes; not parsed"
        ),
    }
}

/// Walks the YAML events once (no tree is built) and refuses a document whose aliases would
/// expand it past [`MAX_EXPANDED_NODES`] or that nests deeper than [`MAX_DEPTH`]: the loader
/// copies every alias's node, so an alias bomb would otherwise take minutes and gigabytes.
/// Syntax errors are left to the loader, which reports them with their position.
fn check_expansion(text: &str) -> Result<(), String> {
    let refuse = |why: &str| {
        Err(format!(
            "cloud-config {why}; refused without expanding it (YAML alias bomb?)"
        ))
    };
    let mut parser = Parser::new_from_str(text);
    // Size (in expanded nodes) of each anchored node, by anchor id.
    let mut anchored: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
    // Open sequences/mappings: (anchor id, expanded nodes so far).
    let mut open: Vec<(usize, u64)> = Vec::new();
    let mut total: u64 = 0;
    loop {
        let Ok((event, _)) = parser.next_token() else {
            return Ok(());
        };
        let node = match event {
            Event::StreamEnd => return Ok(()),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if open.len() >= MAX_DEPTH {
                    return refuse(&format!("nests deeper than {MAX_DEPTH} levels"));
                }
                open.push((anchor, 1));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some((anchor, size)) => {
                    if anchor > 0 {
                        anchored.insert(anchor, size);
                    }
                    size
                }
                None => continue,
            },
            Event::Scalar(_, _, anchor, _) => {
                if anchor > 0 {
                    anchored.insert(anchor, 1);
                }
                1
            }
            Event::Alias(anchor) => anchored.get(&anchor).copied().unwrap_or(1),
            _ => continue,
        };
        let sum = match open.last_mut() {
            Some((_, size)) => size,
            None => &mut total,
        };
        *sum = sum.saturating_add(node);
        if *sum > MAX_EXPANDED_NODES {
            return refuse(&format!(
                "expands to more than {MAX_EXPANDED_NODES} YAML nodes"
            ));
        }
    }
}

fn find_write_file<'a>(doc: &'a Yaml, path: &str) -> Option<&'a Yaml> {
    doc["write_files"]
        .as_vec()?
        .iter()
        .find(|f| f["path"].as_str().map(str::trim) == Some(path))
}

fn file_content(entry: &Yaml) -> Result<String, String> {
    let raw = entry["content"].as_str().ok_or_else(|| {
        format!("the write_files entry for {ONBOARDING_PATH} has no text content")
    })?;
    match entry["encoding"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("text/plain") => Ok(raw.to_string()),
        Some("b64" | "base64") => base64::engine::general_purpose::STANDARD
            .decode(raw.split_whitespace().collect::<String>())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| "the onboarding file content is not valid base64 text".to_string()),
        Some(other) => Err(format!(
            "the onboarding file uses encoding `{other}`, which this check does not read"
        )),
    }
}

fn parse_onboarding_json(content: &str) -> OnboardingStatus {
    let value: serde_json::Value = match serde_json::from_str(content) {
        Ok(v) => v,
        Err(e) => {
            // serde_json errors carry a position only, never the input.
            return OnboardingStatus::Unreadable {
                reason: format!(
                    "{ONBOARDING_PATH} is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            };
        }
    };
    let Some(obj) = value.as_object() else {
        return OnboardingStatus::Unreadable {
            reason: format!("{ONBOARDING_PATH} is not a JSON object"),
        };
    };
    let text = |k: &str| {
        obj.get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let config = OnboardingConfig {
        name: text("name").map(String::from),
        ssr_version: text("ssr-version").map(String::from),
        mode: text("mode").map(String::from),
        cloud_provider: text("cloud-provider").map(String::from),
        registration_code_present: text("registration-code").is_some(),
    };
    let mut problems = Vec::new();
    for (key, present) in [
        ("name", config.name.is_some()),
        ("registration-code", config.registration_code_present),
        ("ssr-version", config.ssr_version.is_some()),
    ] {
        if !present {
            problems.push(format!("\"{key}\" is missing or empty"));
        }
    }
    match config.mode.as_deref() {
        Some("mist-managed") => {}
        Some(other) => problems.push(format!(
            "\"mode\" is \"{other}\"; expected \"mist-managed\""
        )),
        None => problems.push("\"mode\" is missing; expected \"mist-managed\"".into()),
    }
    match config.cloud_provider.as_deref() {
        Some("aws") => {}
        Some(other) => problems.push(format!(
            "\"cloud-provider\" is \"{other}\"; expected \"aws\""
        )),
        None => problems.push("\"cloud-provider\" is missing; expected \"aws\"".into()),
    }
    OnboardingStatus::Parsed { config, problems }
}

/// The guide's user data for a router (used by the demo and tests).
pub fn guide_user_data(name: &str, ssr_version: &str, registration_code: &str) -> String {
    let json = serde_json::json!({
        "name": name,
        "ssr-version": ssr_version,
        "registration-code": registration_code,
        "mode": "mist-managed",
        "cloud-provider": "aws",
    });
    format!(
        "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {json}\n"
    )
}

#[cfg(test)]
mod tests;
