//! AWS filter wildcards: `*` matches any run of characters (also none), `?` exactly one.
//! Matching is case-sensitive, as EC2 and SSM filters are.

/// Whether `value` matches `pattern`: IAM's glob (`iam::Pattern`, where the matching lives,
/// backtracking so that a hostile pattern costs O(pattern × value)), without case folding.
pub fn matches_wildcard(pattern: &str, value: &str) -> bool {
    crate::iam::Pattern::glob(pattern).matches(value, false)
}

#[cfg(test)]
mod tests {
    use super::matches_wildcard;

    #[test]
    fn literal_patterns_match_exactly() {
        assert!(matches_wildcard("dev", "dev"));
        assert!(!matches_wildcard("dev", "Dev"));
        assert!(!matches_wildcard("dev", "devx"));
        assert!(matches_wildcard("", ""));
        assert!(!matches_wildcard("", "a"));
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(matches_wildcard("web-*", "web-1"));
        assert!(matches_wildcard("web-*", "web-"));
        assert!(matches_wildcard("*-1", "api-1"));
        assert!(matches_wildcard("h?st-*1", "host-00001"));
        assert!(!matches_wildcard("h?st", "hst"));
        assert!(matches_wildcard("*", ""));
        assert!(matches_wildcard("a*b*c", "aXXbYYc"));
        assert!(!matches_wildcard("a*b*c", "aXXbYY"));
        assert!(matches_wildcard("서울-*", "서울-1"));
    }

    #[test]
    fn hostile_patterns_finish_quickly() {
        let value = "a".repeat(5_000);
        assert!(matches_wildcard(&"*a".repeat(200), &value));
        assert!(!matches_wildcard(&format!("{}b", "*a".repeat(200)), &value));
    }
}
