//! IAM wildcards: `*` matches any run of characters (also none), `?` exactly one. A pattern
//! is a list of tokens rather than a string so that a policy variable's value (and the
//! escapes `${*}`, `${?}`, `${$}`) stays literal even when it contains `*` or `?`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Char(char),
    /// `*`
    Any,
    /// `?`
    One,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pattern(pub Vec<Token>);

impl Pattern {
    /// `*` and `?` in `text` are wildcards.
    pub fn glob(text: &str) -> Self {
        let mut pattern = Self::default();
        pattern.push_glob(text);
        pattern
    }

    pub fn push_glob(&mut self, text: &str) {
        self.0.extend(text.chars().map(|c| match c {
            '*' => Token::Any,
            '?' => Token::One,
            c => Token::Char(c),
        }));
    }

    pub fn push_literal(&mut self, text: &str) {
        self.0.extend(text.chars().map(Token::Char));
    }

    /// Whether the pattern is exactly `*` (matches everything).
    pub fn is_any(&self) -> bool {
        self.0 == [Token::Any]
    }

    /// Whether `value` matches. Iterative with one backtrack point, so a hostile pattern
    /// like `*a*a*a*b` costs O(pattern × value), never exponential time.
    pub fn matches(&self, value: &str, fold_case: bool) -> bool {
        let pattern = &self.0;
        let value: Vec<char> = value.chars().collect();
        let same =
            |a: char, b: char| a == b || (fold_case && a.to_lowercase().eq(b.to_lowercase()));
        let (mut p, mut v) = (0, 0);
        let mut backtrack: Option<(usize, usize)> = None;
        while v < value.len() {
            match pattern.get(p) {
                Some(Token::Any) => {
                    backtrack = Some((p, v));
                    p += 1;
                }
                Some(Token::One) => {
                    p += 1;
                    v += 1;
                }
                Some(Token::Char(c)) if same(*c, value[v]) => {
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
        pattern[p..].iter().all(|t| *t == Token::Any)
    }

    /// The pattern split at `:` the way ARNs are compared: at most six segments, the last
    /// keeping any further colons (`arn:aws:logs:r:a:log-group:x:*`).
    pub fn arn_segments(&self) -> Vec<Pattern> {
        let mut segments = vec![Pattern::default()];
        for token in &self.0 {
            match token {
                Token::Char(':') if segments.len() < 6 => segments.push(Pattern::default()),
                t => {
                    if let Some(last) = segments.last_mut() {
                        last.0.push(*t);
                    }
                }
            }
        }
        segments
    }

    /// ARN comparison (the `Resource` element, `ArnLike`, `ArnEquals`): case-sensitive,
    /// each of the six colon-separated segments on its own, so a wildcard never spans a
    /// colon. A lone `*` matches everything.
    pub fn matches_arn(&self, arn: &str) -> bool {
        if self.is_any() {
            return true;
        }
        let patterns = self.arn_segments();
        let values: Vec<&str> = arn.splitn(6, ':').collect();
        patterns.len() == values.len()
            && patterns
                .iter()
                .zip(values)
                .all(|(pattern, value)| pattern.matches(value, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_with_and_without_case() {
        let p = Pattern::glob("ssm:Start*");
        assert!(p.matches("ssm:StartSession", false));
        assert!(!p.matches("SSM:startsession", false));
        assert!(p.matches("SSM:startsession", true));
        assert!(Pattern::glob("a?c").matches("abc", false));
        assert!(!Pattern::glob("a?c").matches("ac", false));
        assert!(Pattern::glob("*").matches("", false));
        assert!(!Pattern::glob("*a*a*a*b").matches(&"a".repeat(5000), false));
    }

    #[test]
    fn literal_tokens_do_not_wildcard() {
        let mut p = Pattern::default();
        p.push_literal("a*");
        assert!(p.matches("a*", false));
        assert!(!p.matches("ab", false));
    }

    #[test]
    fn arn_wildcards_stay_in_their_segment() {
        let p = Pattern::glob("arn:aws:ec2:*:123456789012:instance/*");
        assert!(p.matches_arn("arn:aws:ec2:us-east-1:123456789012:instance/i-1"));
        assert!(!p.matches_arn("arn:aws:ec2:us-east-1:210987654321:instance/i-1"));
        // `*` in the region segment cannot swallow the account.
        assert!(
            !Pattern::glob("arn:aws:ec2:*:instance/*")
                .matches_arn("arn:aws:ec2:us-east-1:123456789012:instance/i-1")
        );
        assert!(
            Pattern::glob("arn:aws:logs:*:*:log-group:x:*")
                .matches_arn("arn:aws:logs:us-east-1:1:log-group:x:log-stream:y")
        );
        assert!(Pattern::glob("*").matches_arn("anything"));
    }
}

#[cfg(test)]
mod props {
    use super::Pattern;
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
        fn globs_agree_with_the_recursive_definition(pattern in "[ab*?]{0,8}", value in "[ab]{0,10}") {
            let p: Vec<char> = pattern.chars().collect();
            let v: Vec<char> = value.chars().collect();
            prop_assert_eq!(Pattern::glob(&pattern).matches(&value, false), reference(&p, &v));
        }
    }
}
