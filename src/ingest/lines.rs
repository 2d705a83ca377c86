//! JSON lines: splitting a block into lines, and each line's outcome by its shape (envelope,
//! batch, Gemini batch, Claude Code); files that are not JSON lines are rejected line by line.

use super::build::{BatchJob, LineCtx};
use super::detect::{Format, Probe};
use super::members::InPlace;
use super::response::{Body, BodyField};
use super::results::{LineOutcome, Outcomes};
use super::wording::{byte_problem, clean_json_error, line_json_error, not_an_object};
use super::{batch, claude_code, envelope, gemini_batch};
use crate::record::SourceRef;
use crate::text::Text;
use rayon::prelude::*;

/// Splits into lines with their 1-based numbers and byte offsets; CR before LF and a UTF-8 BOM
/// at the start of the file are removed. A last line without a newline is still a line.
pub(super) fn split_lines(bytes: &[u8]) -> Vec<(u64, u64, &[u8])> {
    let mut out = Vec::new();
    let mut n = 0u64;
    let body_start = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut pos = body_start;
    let mut start = body_start;
    for nl in memchr::memchr_iter(b'\n', &bytes[body_start..]) {
        let end = body_start + nl;
        n += 1;
        let mut line = &bytes[start..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        out.push((n, start as u64, line));
        start = end + 1;
        pos = start;
    }
    if pos < bytes.len() {
        n += 1;
        let mut line = &bytes[pos..];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        out.push((n, pos as u64, line));
    }
    out
}

/// Like `split_lines` for the middle of a file: no BOM handling.
pub(super) fn split_tail(bytes: &[u8]) -> Vec<(u64, u64, &[u8])> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        // A BOM in the middle of a file is data, not a marker: keep it visible to the parser.
        let mut v = split_lines(&bytes[3..]);
        if let Some(first) = v.first_mut() {
            first.1 = 0;
            first.2 = &bytes[..3 + first.2.len()];
        }
        for x in v.iter_mut().skip(1) {
            x.1 += 3;
        }
        return v;
    }
    split_lines(bytes)
}

pub(super) fn json_lines<'b>(
    file: &Text,
    bytes: &'b [u8],
    forced: Option<Format>,
    project: &Option<String>,
    job: Option<&BatchJob>,
) -> Outcomes<'b> {
    parse_lines(file, split_lines(bytes), 0, 0, forced, project, job)
}

/// Parses split lines in parallel; `base` and `lines_before` place them in their file.
pub(super) fn parse_lines<'b>(
    file: &Text,
    lines: Vec<(u64, u64, &'b [u8])>,
    base: u64,
    lines_before: u64,
    forced: Option<Format>,
    project: &Option<String>,
    job: Option<&BatchJob>,
) -> Outcomes<'b> {
    lines
        .into_par_iter()
        .map(|(line, byte, raw)| {
            let source = SourceRef {
                file: file.clone(),
                line: line + lines_before,
                byte: byte + base,
            };
            let ctx = LineCtx {
                source: &source,
                project: project.as_deref(),
                batch_job: job,
            };
            let o = json_line(raw, &ctx, forced);
            (source, raw, o)
        })
        .collect()
}

fn json_line(raw: &[u8], ctx: &LineCtx<'_>, forced: Option<Format>) -> LineOutcome {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return LineOutcome::Skip;
    }
    // Byte-level damage is looked for only in a line that does not read: JSON has no place for
    // a NUL byte or a byte order mark, so a line with either never reads, and a line that
    // reads is not scanned for them.
    let damaged = || byte_problem(raw).map(LineOutcome::Bad);
    let text = match simdutf8::compat::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            return damaged().unwrap_or_else(|| {
                LineOutcome::Bad(format!(
                    "invalid UTF-8 at byte {} of the line",
                    e.valid_up_to()
                ))
            });
        }
    };
    if !text.trim_start().starts_with('{') {
        // serde would read an array positionally into the probe's fields.
        return damaged().unwrap_or_else(|| LineOutcome::Bad(not_an_object(raw, text)));
    }
    // Bodies (a response, a Claude Code message) are most of a line, so one pass reads them in
    // place. A line that pass does not take (a body that is not an object or has a member of
    // the wrong type, any JSON error) is read again with its bodies raw: the same record, or
    // the error naming the field at fault, as reading it so from the start would give.
    if let Ok(probe) = serde_json::from_str::<Probe<'_, InPlace<Body<'_>>>>(text) {
        let bodies = [
            BodyField::read(&probe.response),
            BodyField::read(&probe.message),
        ];
        return dispatch(&probe, bodies, text, ctx, forced);
    }
    damaged().unwrap_or_else(|| read_raw(raw, text, ctx, forced))
}

/// A line read with every body kept raw, each read by the parser that needs it.
fn read_raw(raw: &[u8], text: &str, ctx: &LineCtx<'_>, forced: Option<Format>) -> LineOutcome {
    let probe: Probe = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => return LineOutcome::Bad(line_json_error(raw, &e)),
    };
    let bodies = [
        BodyField::Raw(probe.response),
        BodyField::Raw(probe.message),
    ];
    dispatch(&probe, bodies, text, ctx, forced)
}

/// A line's outcome from its top-level fields, by its shape; `[response, message]`.
fn dispatch<B>(
    probe: &Probe<'_, B>,
    [response, message]: [BodyField<'_, '_>; 2],
    text: &str,
    ctx: &LineCtx<'_>,
    forced: Option<Format>,
) -> LineOutcome {
    let shape = match (forced, probe.shape()) {
        (Some(f), Some(s)) if f != s => {
            let article = if s == Format::Envelope { "an" } else { "a" };
            return LineOutcome::Bad(format!(
                "{article} {} line in a file read as {} (--format)",
                s.as_str(),
                f.as_str()
            ));
        }
        (_, Some(s)) => s,
        (Some(f), None) => f,
        (None, None) => {
            return LineOutcome::Bad(
                "not a usage line: no request/response, usage, custom_id or message".to_string(),
            );
        }
    };
    let r = match shape {
        Format::Envelope if probe.request.is_some() || probe.response.is_some() => {
            envelope::parse_envelope(probe, response, ctx)
        }
        Format::Envelope => envelope::parse_bare(text, ctx),
        Format::Batch => batch::parse_batch(probe, response, ctx),
        Format::GeminiBatch => match gemini_batch::parse_gemini_batch(probe, response, ctx) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => return LineOutcome::Skip,
            Err(e) => Err(e),
        },
        Format::ClaudeCode => match claude_code::parse_claude_code(probe, message, ctx) {
            Ok(claude_code::Outcome::Record(r)) => Ok(*r),
            Ok(claude_code::Outcome::NotUsage) => return LineOutcome::Skip,
            Err(e) => Err(e),
        },
        Format::Csv => Err("a JSON line in a file read as csv".to_string()),
        Format::OpenaiUsage | Format::AnthropicUsage | Format::LitellmSpend => Err(format!(
            "a JSON line in a file read as {}, a whole-file export",
            shape.as_str()
        )),
    };
    match r {
        Ok(r) => LineOutcome::Record(Box::new(r)),
        Err(e) => LineOutcome::Bad(clean_json_error(&e)),
    }
}

pub(super) fn reject_all<'b>(file: &Text, bytes: &'b [u8], reason: &str) -> Outcomes<'b> {
    reject_lines(file, split_lines(bytes), 0, 0, reason)
}

/// Every line of a file that is not JSON lines: blank ones are skipped, the rest rejected.
pub(super) fn reject_lines<'b>(
    file: &Text,
    lines: Vec<(u64, u64, &'b [u8])>,
    base: u64,
    lines_before: u64,
    reason: &str,
) -> Outcomes<'b> {
    lines
        .into_iter()
        .map(|(line, byte, raw)| (line + lines_before, byte + base, raw))
        .map(|(line, byte, raw)| {
            let o = if raw.iter().all(u8::is_ascii_whitespace) {
                LineOutcome::Skip
            } else {
                LineOutcome::Bad(reason.to_string())
            };
            (
                SourceRef {
                    file: file.clone(),
                    line,
                    byte,
                },
                raw,
                o,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Options, csv_export, parse_bytes};

    /// A Claude Code line whose message is `message`, in a session file of a project.
    fn claude_line(message: &str) -> String {
        format!(
            r#"{{"type":"assistant","sessionId":"s","timestamp":"2026-03-06T08:00:00Z","requestId":"req_1","message":{message}}}"#
        )
    }

    fn one_pass_and_raw(line: &str) -> (LineOutcome, LineOutcome) {
        let source = SourceRef {
            file: Text::from("projects/-home-u-app/s.jsonl"),
            line: 1,
            byte: 0,
        };
        let ctx = LineCtx {
            source: &source,
            project: Some("-home-u-app"),
            batch_job: None,
        };
        (
            json_line(line.as_bytes(), &ctx, None),
            read_raw(line.as_bytes(), line, &ctx, None),
        )
    }

    #[test]
    fn messages_read_in_one_pass_give_what_reading_them_raw_gives() {
        let usage = r#""usage":{"input_tokens":10,"output_tokens":20,"cache_read_input_tokens":5}"#;
        let cases = [
            format!(
                r#"{{"id":"msg_1","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"a\"b"}}],{usage}}}"#
            ),
            r#"{"id":"msg_1","model":"claude-sonnet-4-5","usage":"lots"}"#.to_string(),
            r#"{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":"12"}}"#
                .to_string(),
            r#"{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":-1}}"#.to_string(),
            format!(r#"{{"model":"claude-sonnet-4-5",{usage}}}"#),
            format!(r#"{{"id":"msg_1","id":"msg_2","model":"m",{usage}}}"#),
            r#""a message as text""#.to_string(),
            r#"["msg_1","claude-sonnet-4-5"]"#.to_string(),
            "null".to_string(),
            "{}".to_string(),
        ];
        let mut outcomes = Vec::new();
        for message in &cases {
            let (one, raw) = one_pass_and_raw(&claude_line(message));
            assert_eq!(one, raw, "{message}");
            outcomes.push(match one {
                LineOutcome::Record(r) => format!(
                    "record {} {} {}+{}+{}",
                    r.id.as_deref().unwrap_or("-"),
                    r.api_key.as_deref().unwrap_or("-"),
                    r.tokens.input,
                    r.tokens.output,
                    r.tokens.cache_read
                ),
                LineOutcome::Skip => "skip".to_string(),
                LineOutcome::ProxyCacheHit => "cache hit".to_string(),
                LineOutcome::Billed(_) => "billed".to_string(),
                LineOutcome::Bad(why) => why,
            });
        }
        assert_eq!(
            outcomes,
            [
                "record msg_1:req_1 -home-u-app 10+20+5",
                "field message.usage: a JSON string where an object was expected",
                "record msg_1:req_1 -home-u-app 12+0+0",
                "field message.usage.input_tokens: -1 is negative",
                "field message.id: missing",
                "field message: duplicate field `id`",
                "field message: a JSON string where an object was expected",
                "field message: a JSON array where an object was expected",
                "skip",
                "skip",
            ]
        );
    }

    #[test]
    fn responses_read_in_one_pass_give_what_reading_them_raw_gives() {
        let envelope = |response: &str| {
            format!(
                r#"{{"timestamp":"2026-03-06T08:00:00Z","request":{{"model":"gpt-4o"}},"response":{response}}}"#
            )
        };
        let batch = |response: &str| format!(r#"{{"custom_id":"r1","response":{response}}}"#);
        let body = r#"{"created":1772784000,"model":"gpt-4o","usage":{"prompt_tokens":7,"completion_tokens":9}}"#;
        let lines = [
            envelope(body),
            envelope(r#"{"usage":{"prompt_tokens":[1]}}"#),
            envelope(r#"[1, 2]"#),
            envelope("null"),
            batch(&format!(
                r#"{{"status_code":200,"request_id":"q1","body":{body}}}"#
            )),
            batch(r#"{"status_code":500,"request_id":"q1","body":null}"#),
            batch(r#"{"status_code":200,"body":{"usage":"x"},"usage":"x"}"#),
            batch(r#""text""#),
        ];
        let mut outcomes = Vec::new();
        for line in &lines {
            let (one, raw) = one_pass_and_raw(line);
            assert_eq!(one, raw, "{line}");
            outcomes.push(match one {
                LineOutcome::Record(r) => format!(
                    "record {} {:?} {}+{}",
                    r.id.as_deref().unwrap_or("-"),
                    r.status,
                    r.tokens.input,
                    r.tokens.output
                ),
                LineOutcome::Skip => "skip".to_string(),
                LineOutcome::ProxyCacheHit => "cache hit".to_string(),
                LineOutcome::Billed(_) => "billed".to_string(),
                LineOutcome::Bad(why) => why,
            });
        }
        assert_eq!(
            outcomes,
            [
                "record - Ok 7+9",
                "field response.usage.prompt_tokens: [1] is not a count",
                "field response: a JSON array where an object was expected",
                "field response.usage: missing; a successful text response needs token counts or a cost",
                "record batch:r1:q1 Ok 7+9",
                "field response.body.created: missing",
                "field response.body.usage: a JSON string where an object was expected",
                "field response: a JSON string where an object was expected",
            ]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(600))]
        /// Any body, of any shape, in any kind of line, comes out of the one pass as it would
        /// read raw.
        #[test]
        fn any_body_reads_the_same_in_one_pass(
            body in json_value(3),
            template in proptest::sample::select(vec![
                r#"{"type":"assistant","sessionId":"s","timestamp":"2026-03-06T08:00:00Z","requestId":"q","message":BODY}"#,
                r#"{"type":"user","sessionId":"s","timestamp":"2026-03-06T08:00:00Z","message":BODY}"#,
                r#"{"timestamp":"2026-03-06T08:00:00Z","request":{"model":"gpt-4o"},"response":BODY}"#,
                r#"{"custom_id":"r1","response":BODY}"#,
                r#"{"custom_id":"r1","response":{"status_code":200,"request_id":"q","body":BODY}}"#,
            ]),
        ) {
            let (one, raw) = one_pass_and_raw(&template.replace("BODY", &body));
            proptest::prop_assert_eq!(one, raw);
        }
    }

    /// JSON text whose objects use the field names a message body is read by.
    fn json_value(depth: u32) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            (-3i64..100_000).prop_map(|n| n.to_string()),
            Just("1.5".to_string()),
            "[a-z\\\\\"]{0,6}".prop_map(|s| format!("{s:?}")),
        ];
        leaf.prop_recursive(depth, 24, 4, |inner| {
            let key = proptest::sample::select(vec![
                "id",
                "model",
                "usage",
                "input_tokens",
                "output_tokens",
                "content",
                "cache_read_input_tokens",
                "cost",
                "data",
                "candidates",
                "x",
            ]);
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((key, inner), 0..5).prop_map(|kv| {
                    let fields: Vec<String> =
                        kv.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    #[test]
    fn forced_format_mismatch_names_both() {
        let maps = csv_export::builtin_mappings();
        let opts = Options {
            format: Some(Format::Batch),
            csv_mappings: &maps,
            max_line: crate::ingest::MAX_LINE,
            default_day: None,
        };
        let text = br#"{"timestamp":"2026-03-06T08:00:00Z","request":{},"response":{}}
{"type":"assistant","sessionId":"s","message":{}}
"#;
        let (_, _, q) = parse_bytes("f", text, &opts);
        assert_eq!(
            q.into_iter().map(|q| q.reason).collect::<Vec<_>>(),
            [
                "an envelope line in a file read as batch (--format)",
                "a claude-code line in a file read as batch (--format)"
            ]
        );
    }

    #[test]
    fn splits_lines_with_offsets_bom_and_crlf() {
        let got = split_lines(b"\xEF\xBB\xBFab\r\ncd\n\nef");
        assert_eq!(
            got,
            vec![
                (1, 3, &b"ab"[..]),
                (2, 7, &b"cd"[..]),
                (3, 10, &b""[..]),
                (4, 11, &b"ef"[..])
            ]
        );
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"x\n").len(), 1);
    }
}
