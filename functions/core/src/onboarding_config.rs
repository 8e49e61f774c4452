//! The guide's cloud-init onboarding: user data that is `#cloud-config` writing
//! `/etc/128T-hardware-bootstrapper/onboarding-config.json`. Parsing keeps the registration code
//! out of every value it returns: only whether it is present.

use base64::Engine;
use serde::Serialize;
use yaml_rust2::{Yaml, YamlLoader};

pub const ONBOARDING_PATH: &str = "/etc/128T-hardware-bootstrapper/onboarding-config.json";

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
mod tests {
    use super::*;

    const CODE: &str = "REGCODE-s3cr3t-0000";

    fn problems(s: &OnboardingStatus) -> Vec<String> {
        match s {
            OnboardingStatus::Parsed { problems, .. } => problems.clone(),
            other => panic!("expected parsed, got {other:?}"),
        }
    }

    #[test]
    fn when_user_data_is_the_guides_example_then_config_is_valid() {
        let s = inspect(Some(&guide_user_data("SSR_1_Router", "6.3.0", CODE)));
        assert!(problems(&s).is_empty(), "{s:?}");
        let c = s.config().unwrap();
        assert_eq!(c.name.as_deref(), Some("SSR_1_Router"));
        assert_eq!(c.ssr_version.as_deref(), Some("6.3.0"));
        assert!(c.registration_code_present);
    }

    #[test]
    fn when_no_user_data_then_missing() {
        assert!(matches!(inspect(None), OnboardingStatus::Missing { .. }));
        assert!(matches!(
            inspect(Some("  \n")),
            OnboardingStatus::Missing { .. }
        ));
    }

    #[test]
    fn when_cloud_config_writes_other_files_then_missing() {
        let ud = "#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: hi\n";
        assert!(matches!(
            inspect(Some(ud)),
            OnboardingStatus::Missing { .. }
        ));
    }

    #[test]
    fn when_user_data_is_a_shell_script_then_unreadable() {
        match inspect(Some("#!/bin/bash\necho hi")) {
            OnboardingStatus::Unreadable { reason } => assert!(reason.contains("shell script")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn when_json_is_broken_then_unreadable_and_reason_has_no_content() {
        let ud = format!(
            "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {{ \"registration-code\": \"{CODE}\", \n"
        );
        let s = inspect(Some(&ud));
        assert!(matches!(s, OnboardingStatus::Unreadable { .. }), "{s:?}");
        assert!(!format!("{s:?}").contains(CODE));
    }

    #[test]
    fn when_mode_and_provider_wrong_then_each_is_a_problem() {
        let ud = format!(
            "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {{\"name\":\"r\",\"ssr-version\":\"6.3.0\",\"registration-code\":\"{CODE}\",\"mode\":\"conductor-managed\",\"cloud-provider\":\"azure\"}}\n"
        );
        let s = inspect(Some(&ud));
        let p = problems(&s);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("mist-managed") && p[1].contains("\"aws\""));
        let dump = format!("{s:?}{}", serde_json::to_string(&s).unwrap());
        assert!(!dump.contains(CODE));
    }

    #[test]
    fn when_registration_code_missing_then_problem_named() {
        let ud = format!(
            "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: |\n      {{\"name\":\"r\",\"ssr-version\":\"6.3.0\",\"mode\":\"mist-managed\",\"cloud-provider\":\"aws\"}}\n"
        );
        assert_eq!(
            problems(&inspect(Some(&ud))),
            vec!["\"registration-code\" is missing or empty"]
        );
    }

    #[test]
    fn when_content_is_base64_encoded_then_it_is_decoded() {
        let json = format!("{{\"name\":\"r\",\"ssr-version\":\"6.3.0\",\"registration-code\":\"{CODE}\",\"mode\":\"mist-managed\",\"cloud-provider\":\"aws\"}}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let ud = format!(
            "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    encoding: b64\n    content: {b64}\n"
        );
        assert!(problems(&inspect(Some(&ud))).is_empty());
    }

    #[test]
    fn when_yaml_is_invalid_then_unreadable_with_position() {
        let s = inspect(Some("#cloud-config\nwrite_files: [\n  - path: x\n"));
        match s {
            OnboardingStatus::Unreadable { reason } => assert!(reason.contains("line"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
