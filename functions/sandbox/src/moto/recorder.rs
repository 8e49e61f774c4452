//! The moto recorder's download, read back as [`RecordedRequest`]s (method, path, signing
//! service and operation of every request a server received while recording).

use base64::Engine as _;

use super::EmulatorError;

/// One request the emulator received while recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// URL path, e.g. `/`.
    pub path: String,
    /// Raw query string (without `?`), empty when there is none.
    pub query: String,
    /// Request body as text (base64 bodies decoded; not UTF-8 → lossy).
    pub body: String,
    /// Signing service from the `Authorization` credential scope, e.g. `ec2`, `sns`, `dynamodb`.
    pub service: Option<String>,
    /// The operation: the AWS Query `Action=` parameter (body or query) or the operation part of
    /// the JSON protocol's `X-Amz-Target` header (`DynamoDB_20120810.PutItem` → `PutItem`).
    pub action: Option<String>,
}

impl RecordedRequest {
    /// Parses one line of moto's recording
    /// (`{"headers": {...}, "method": "...", "url": "...", "body": "...", "body_encoded": bool}`).
    #[cfg(test)]
    pub(super) fn parse(line: &str) -> Result<RecordedRequest, String> {
        let entry: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        Self::from_entry(&entry)
    }

    /// One entry of the recording (a JSON object).
    fn from_entry(entry: &serde_json::Value) -> Result<RecordedRequest, String> {
        let method = entry
            .get("method")
            .and_then(|m| m.as_str())
            .ok_or("no method")?
            .to_string();
        let url = entry.get("url").and_then(|u| u.as_str()).ok_or("no url")?;
        let body_raw = entry.get("body").and_then(|b| b.as_str()).unwrap_or("");
        let body = if entry
            .get("body_encoded")
            .and_then(|b| b.as_bool())
            .unwrap_or(false)
        {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body_raw)
                .map_err(|e| format!("body is not base64: {e}"))?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            body_raw.to_string()
        };
        let header = |name: &str| -> Option<&str> {
            entry
                .get("headers")
                .and_then(|h| h.as_object())
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_str())
                })
        };

        // url is absolute (`http://host:port/path?query`); keep path and query.
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path_and_query = after_scheme
            .find('/')
            .map_or("/", |slash| &after_scheme[slash..]);
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));

        let service = header("Authorization").and_then(credential_scope_service);
        let action = header("X-Amz-Target")
            .and_then(|t| t.rsplit('.').next())
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .or_else(|| form_param(&body, "Action"))
            .or_else(|| form_param(query, "Action"));

        Ok(RecordedRequest {
            method,
            path: path.to_string(),
            query: query.to_string(),
            body,
            service,
            action,
        })
    }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ec2/aws4_request, ...` → `ec2`.
fn credential_scope_service(authorization: &str) -> Option<String> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    // AKID / date / region / service / aws4_request
    (parts.len() >= 5).then(|| parts[parts.len() - 2].to_string())
}

/// Value of `name` in an `application/x-www-form-urlencoded` string.
pub(super) fn form_param(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The recorder's download: one JSON object per line, except that moto appends each entry and
/// its newline in two writes, so requests served concurrently can put two entries on one line.
/// Each line is therefore read as a stream of objects.
pub(super) fn parse_recording(text: &str) -> Result<Vec<RecordedRequest>, EmulatorError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let err = |detail: String| EmulatorError::Recording {
            line: i + 1,
            detail,
        };
        for entry in serde_json::Deserializer::from_str(line).into_iter::<serde_json::Value>() {
            let entry = entry.map_err(|e| err(e.to_string()))?;
            out.push(RecordedRequest::from_entry(&entry).map_err(err)?);
        }
    }
    Ok(out)
}
