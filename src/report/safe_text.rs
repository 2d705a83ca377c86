//! Text that came from logs (model names, keys, plans, file names), made safe for each report
//! format: no control characters anywhere, markup escaped for HTML and SVG, and no cell a
//! spreadsheet would run as a formula in CSV.

/// Removes control characters from text that came from logs before it reaches a report.
pub fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Text from logs, made safe for the page.
pub fn text(s: &str) -> String {
    escape(&clean_text(s))
}

/// `=`, `+`, `-`, `@` (and tab/CR) at the start of a text cell make spreadsheets run it as a
/// formula; a leading apostrophe keeps it text. Numbers are written by the writers themselves
/// and never pass through here.
pub fn csv_text(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(text("a\u{1b}[31m<b>"), "a\u{fffd}[31m&lt;b&gt;");
    }

    #[test]
    fn neutralizes_formulas() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_text("-home-dev"), "'-home-dev");
        assert_eq!(csv_text("@sum"), "'@sum");
        assert_eq!(csv_text("gpt-image-1"), "gpt-image-1");
        assert_eq!(clean_text("a\u{1b}[31mb\n"), "a\u{fffd}[31mb\u{fffd}");
    }
}
