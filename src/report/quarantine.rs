//! quarantine.jsonl: every rejected line with file, line, byte offset, reason and the raw text.
//! Secrets in the raw text (api keys) are masked to their last four characters.

use super::{ReportInput, Writer};
use std::io::{self, Write};
use std::path::Path;

pub struct QuarantineJsonl;

impl Writer for QuarantineJsonl {
    fn files(&self) -> &'static [&'static str] {
        &["quarantine.jsonl"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        if input.quarantine.is_empty() {
            return Ok(());
        }
        let mut w = io::BufWriter::new(std::fs::File::create(dir.join("quarantine.jsonl"))?);
        for q in input.quarantine {
            let mut q = q.clone();
            q.raw = redact(&q.raw);
            serde_json::to_writer(&mut w, &q).map_err(io::Error::other)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    }
}

const KEY_FIELDS: [&str; 3] = ["\"api_key\"", "\"apiKey\"", "\"authorization\""];
const KEY_PREFIXES: [&str; 5] = ["sk-", "sk_", "AIza", "Bearer ", "key-"];

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Masks the values of api-key fields and anything shaped like a provider key.
pub fn redact(raw: &str) -> String {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for field in KEY_FIELDS {
        let mut from = 0;
        while let Some(i) = raw[from..].find(field) {
            let after = from + i + field.len();
            let rest = &raw[after..];
            let colon = rest.len() - rest.trim_start().len();
            if rest[colon..].starts_with(':') {
                let v = &rest[colon + 1..];
                let lead = v.len() - v.trim_start().len();
                if v[lead..].starts_with('"') {
                    let start = after + colon + 1 + lead + 1;
                    if let Some(len) = raw[start..].find('"') {
                        spans.push((start, start + len));
                    }
                }
            }
            from = after;
        }
    }
    for prefix in KEY_PREFIXES {
        let mut from = 0;
        while let Some(i) = raw[from..].find(prefix) {
            let start = from + i;
            let body = &raw[start + prefix.len()..];
            let len = body.find(|c: char| !is_key_char(c)).unwrap_or(body.len());
            if len >= 8 {
                spans.push((start, start + prefix.len() + len));
            }
            from = start + prefix.len();
        }
    }
    spans.sort();
    let mut out = String::with_capacity(raw.len());
    let mut pos = 0;
    for (s, e) in spans {
        if s < pos {
            continue;
        }
        out.push_str(&raw[pos..s]);
        let secret = &raw[s..e];
        let tail: String = secret
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if secret.chars().count() > 4 {
            out.push_str("...");
        }
        out.push_str(&tail);
        pos = e;
    }
    out.push_str(&raw[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_keys_in_fields_and_free_text() {
        assert_eq!(
            redact(r#"{"api_key":"team-alpha-credentials","x":1}"#),
            r#"{"api_key":"...ials","x":1}"#
        );
        assert_eq!(
            redact(r#"{"api_key" : "sk-live-abcdef123456"}"#),
            r#"{"api_key" : "...3456"}"#
        );
        assert_eq!(
            redact("auth Bearer abcdefghijklmnop end"),
            "auth ...mnop end"
        );
        assert_eq!(
            redact("key AIzaSyA1234567890abcdef in url"),
            "key ...cdef in url"
        );
        assert_eq!(redact("sk-short"), "sk-short");
        assert_eq!(redact("no secrets here"), "no secrets here");
    }

    proptest! {
        #[test]
        fn never_panics_and_never_leaks_a_whole_key(prefix in ".{0,20}", key in "[a-zA-Z0-9]{12,30}", suffix in ".{0,20}") {
            let raw = format!("{prefix}\"api_key\":\"sk-{key}\"{suffix}");
            let out = redact(&raw);
            let whole = format!("sk-{key}");
            prop_assert!(!out.contains(&whole));
        }
    }
}
