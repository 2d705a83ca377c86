//! The reasons given for lines set aside: JSON and byte-level damage in words a user can act
//! on, and overlong lines.

/// Why a line longer than `--max-line-size` was set aside.
pub(super) fn overlong(length: u64, max_line: usize) -> String {
    format!(
        "line of {length} bytes, longer than the {} limit: skipped unread past its first 4 KB (--max-line-size raises the limit)",
        size_text(max_line)
    )
}

/// "64 MiB" for a limit given in bytes.
pub(super) fn size_text(bytes: usize) -> String {
    match bytes {
        b if b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b}-byte"),
    }
}

/// Byte-level damage that serde_json would report as a vague "expected value": NUL bytes (a
/// crash left preallocated blocks zeroed) and a byte order mark that is not at the start of the
/// file (two files concatenated).
pub(super) fn byte_problem(raw: &[u8]) -> Option<String> {
    if let Some(at) = memchr::memchr(0, raw) {
        return Some(if raw.iter().all(|b| *b == 0 || b.is_ascii_whitespace()) {
            format!(
                "{} NUL bytes and nothing else (a crashed or preallocated write?)",
                raw.iter().filter(|b| **b == 0).count()
            )
        } else {
            format!("NUL byte at byte {at} of the line")
        });
    }
    if raw.starts_with(b"\xEF\xBB\xBF") {
        return Some(
            "byte order mark (U+FEFF) at the start of a line that is not the first (files concatenated?)"
                .to_string(),
        );
    }
    None
}

/// A line that does not start with `{`: valid JSON of another kind, or not JSON at all.
pub(super) fn not_an_object(raw: &[u8], text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => format!(
            "a JSON {} where an object was expected: JSON lines need one object per line",
            json_kind(&v)
        ),
        Err(e) => with_cr_hint(raw, json_error(&e)),
    }
}

/// The reason for a line serde_json could not read as an object.
pub(super) fn line_json_error(raw: &[u8], e: &serde_json::Error) -> String {
    if e.classify() == serde_json::error::Category::Data {
        // Well-formed JSON the probe refuses (a duplicate key): serde's own words, minus the
        // crate's struct names.
        let msg = clean_json_error(&e.to_string());
        return format!("unusable JSON at column {}: {msg}", e.column());
    }
    with_cr_hint(raw, json_error(e))
}

fn with_cr_hint(raw: &[u8], reason: String) -> String {
    match memchr::memchr(b'\r', raw) {
        Some(cr) => format!("{reason}; a carriage return at byte {cr} suggests CR-only line ends"),
        None => reason,
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// "invalid JSON at column 42: expected value"; serde_json's own "at line 1" is dropped because
/// every input line is parsed on its own.
fn json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    format!("invalid JSON at column {}: {msg}", e.column())
}

/// Drops serde_json's "at line 1 column N" (the column is inside a nested value, not the line)
/// and names JSON kinds instead of this crate's struct names, which mean nothing to a user.
pub(super) fn clean_json_error(msg: &str) -> String {
    let msg = match msg.find(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    match msg.find("expected struct ") {
        Some(i) => format!("{}expected an object", &msg[..i]),
        None => msg.replace("expected a sequence", "expected an array"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::tests::reasons;

    #[test]
    fn byte_damage_is_named() {
        let ok = br#"{"timestamp":"2026-03-06T08:00:00Z","request":{"model":"gpt-4o"},"response":{"usage":{"prompt_tokens":1,"completion_tokens":1}}}"#;
        let mut b = ok.to_vec();
        b.extend_from_slice(b"\n\0\0\0\n\xEF\xBB\xBF");
        b.extend_from_slice(ok);
        b.extend_from_slice(b"\n{\"a\":\"x\0\"}\n");
        // After a whole object, in a line that is not an object, beside invalid UTF-8.
        b.extend_from_slice(ok);
        b.extend_from_slice(b"\0\n[1,\0]\n{\"a\":\"\xFF\0\"}\n");
        assert_eq!(
            reasons(&b),
            vec![
                (
                    2,
                    "3 NUL bytes and nothing else (a crashed or preallocated write?)".to_string()
                ),
                (
                    3,
                    "byte order mark (U+FEFF) at the start of a line that is not the first (files concatenated?)"
                        .to_string()
                ),
                (4, "NUL byte at byte 7 of the line".to_string()),
                (5, format!("NUL byte at byte {} of the line", ok.len())),
                (6, "NUL byte at byte 3 of the line".to_string()),
                (7, "NUL byte at byte 7 of the line".to_string()),
            ]
        );
    }

    #[test]
    fn wrong_json_kinds_are_named() {
        assert_eq!(
            reasons(b"{}\n42\n\"x\": 1,\n2026-03-06,a\n[\"2026-03-06T08:00:00Z\",\"k\",{},{}]\n"),
            vec![
                (
                    1,
                    "not a usage line: no request/response, usage, custom_id or message".to_string()
                ),
                (
                    2,
                    "a JSON number where an object was expected: JSON lines need one object per line"
                        .to_string()
                ),
                (3, "invalid JSON at column 4: trailing characters".to_string()),
                (4, "invalid JSON at column 5: trailing characters".to_string()),
                (
                    5,
                    "a JSON array where an object was expected: JSON lines need one object per line"
                        .to_string()
                ),
            ]
        );
        assert_eq!(
            reasons(b"{\"id\":1,\"id\":2}\n"),
            vec![(
                1,
                "unusable JSON at column 12: duplicate field `id`".to_string()
            )]
        );
        let mut deep = vec![b'['; 100_000];
        deep.extend(vec![b']'; 100_000]);
        assert_eq!(
            reasons(&[b"{}\n".as_slice(), &deep].concat()),
            vec![
                (
                    1,
                    "not a usage line: no request/response, usage, custom_id or message"
                        .to_string()
                ),
                (
                    2,
                    "invalid JSON at column 128: recursion limit exceeded".to_string()
                )
            ]
        );
        assert_eq!(
            reasons(b"{\"a\":1}\r{\"b\":2}\r"),
            vec![(
                1,
                "invalid JSON at column 9: trailing characters; a carriage return at byte 7 suggests CR-only line ends"
                    .to_string()
            )]
        );
        assert_eq!(
            clean_json_error(
                "field response: invalid type: string \"x\", expected struct Usage at line 1 column 9"
            ),
            "field response: invalid type: string \"x\", expected an object"
        );
    }
}
