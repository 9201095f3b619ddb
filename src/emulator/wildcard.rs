//! AWS filter wildcards: `*` matches any run of characters (also none), `?` exactly one.
//! Matching is case-sensitive, as EC2 and SSM filters are.

/// Whether `value` matches `pattern`. Iterative with one backtrack point, so a hostile
/// pattern like `*a*a*a*b` costs O(pattern × value), never exponential time.
pub fn matches_wildcard(pattern: &str, value: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    let (mut p, mut v) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, v));
                p += 1;
            }
            Some(&c) if c == '?' || c == value[v] => {
                p += 1;
                v += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    v = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
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

#[cfg(test)]
mod props {
    use super::matches_wildcard;
    use proptest::prelude::*;

    /// The obvious recursive definition, exponential but fine for short inputs.
    fn reference(pattern: &[char], value: &[char]) -> bool {
        match (pattern.first(), value.first()) {
            (None, None) => true,
            (Some('*'), _) => {
                reference(&pattern[1..], value)
                    || (!value.is_empty() && reference(pattern, &value[1..]))
            }
            (Some('?'), Some(_)) => reference(&pattern[1..], &value[1..]),
            (Some(p), Some(v)) if p == v => reference(&pattern[1..], &value[1..]),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_recursive_definition(pattern in "[ab*?]{0,8}", value in "[ab]{0,10}") {
            let p: Vec<char> = pattern.chars().collect();
            let v: Vec<char> = value.chars().collect();
            prop_assert_eq!(matches_wildcard(&pattern, &value), reference(&p, &v));
        }
    }
}
