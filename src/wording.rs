//! How a count is written in messages and reports.

/// "1 request", "2 requests".
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(super::plural(1, "line"), "1 line");
        assert_eq!(super::plural(0, "line"), "0 lines");
        assert_eq!(super::plural(2, "duplicate"), "2 duplicates");
    }
}
