//! How logged model names are matched to catalog ids.

/// Case-folded, trimmed name: the form every catalog name is indexed under.
pub fn normalize_name(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// The forms a logged name is tried in, most specific first: as logged; without a route prefix
/// ("models/", "google/", "openrouter/anthropic/"); without a trailing release date
/// ("-20250929", "-2025-04-23"); without "-latest".
pub fn candidates(logged: &str) -> Vec<String> {
    let full = normalize_name(logged);
    let mut out = vec![full.clone()];
    let bare = full.rsplit('/').next().unwrap_or(&full).to_string();
    push(&mut out, bare.clone());
    for base in [full, bare] {
        let undated = strip_date(&base);
        push(&mut out, undated.clone());
        if let Some(s) = undated.strip_suffix("-latest") {
            push(&mut out, s.to_string());
        }
    }
    out
}

fn push(out: &mut Vec<String>, s: String) {
    if !s.is_empty() && !out.contains(&s) {
        out.push(s);
    }
}

fn strip_date(name: &str) -> String {
    let b = name.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    // -YYYYMMDD
    if b.len() > 9 && b[b.len() - 9] == b'-' && digits(&b[b.len() - 8..]) {
        return name[..name.len() - 9].to_string();
    }
    // -YYYY-MM-DD
    if b.len() > 11
        && b[b.len() - 11] == b'-'
        && digits(&b[b.len() - 10..b.len() - 6])
        && b[b.len() - 6] == b'-'
        && digits(&b[b.len() - 5..b.len() - 3])
        && b[b.len() - 3] == b'-'
        && digits(&b[b.len() - 2..])
    {
        return name[..name.len() - 11].to_string();
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_order() {
        assert_eq!(
            candidates("Models/Claude-Sonnet-4-5-20250929"),
            vec![
                "models/claude-sonnet-4-5-20250929",
                "claude-sonnet-4-5-20250929",
                "models/claude-sonnet-4-5",
                "claude-sonnet-4-5"
            ]
        );
        assert_eq!(candidates("gpt-image-1-2025-04-23")[1], "gpt-image-1");
        assert_eq!(
            candidates("gpt-5.1-chat-latest").last().map(String::as_str),
            Some("gpt-5.1-chat")
        );
    }
}
