//! Policy variables (IAM policy elements: Variables and tags): `${aws:username}`,
//! `${aws:PrincipalTag/team}`, `${key, 'default'}`, and the escapes `${*}`, `${?}`, `${$}`
//! for a literal `*`, `?`, `$`. Only in policies of Version 2012-10-17; in older ones (or
//! without a Version) `${…}` is plain text, as AWS treats it.

use super::context::Context;
use super::pattern::Pattern;

/// One piece of a text that may hold variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text outside `${…}`: `*` and `?` in it are wildcards where the element allows them.
    Text(String),
    /// `${*}`, `${?}`, `${$}`: a literal character.
    Escape(char),
    /// `${key}` or `${key, 'default'}`.
    Variable {
        key: String,
        default: Option<String>,
    },
}

/// A text with its variables found at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub source: String,
    pub pieces: Vec<Piece>,
}

impl Template {
    /// Splits `text` at its variables. With `variables` false (Version 2008-10-17) the whole
    /// text is one piece. A `${` without a closing `}` is an error (the message says why).
    pub fn parse(text: &str, variables: bool) -> Result<Self, String> {
        let source = text.to_owned();
        if !variables {
            return Ok(Self {
                source,
                pieces: vec![Piece::Text(text.to_owned())],
            });
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                format!("`{text}`: a policy variable `${{` is not closed by `}}`")
            })?;
            pieces.push(Self::variable(&after[..end], text)?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Self { source, pieces })
    }

    fn variable(inner: &str, text: &str) -> Result<Piece, String> {
        match inner.trim() {
            "*" => return Ok(Piece::Escape('*')),
            "?" => return Ok(Piece::Escape('?')),
            "$" => return Ok(Piece::Escape('$')),
            _ => {}
        }
        let (key, default) = match inner.split_once(',') {
            Some((key, default)) => {
                let default = default.trim();
                let quoted = default
                    .strip_prefix('\'')
                    .and_then(|d| d.strip_suffix('\''))
                    .ok_or_else(|| {
                        format!("`{text}`: a variable's default value goes in single quotes: ${{key, 'default'}}")
                    })?;
                (key.trim(), Some(quoted.to_owned()))
            }
            None => (inner.trim(), None),
        };
        if key.is_empty() || !key.contains(':') {
            return Err(format!(
                "`{text}`: `${{{inner}}}` is not a policy variable (a condition key like aws:username, or ${{*}}, ${{?}}, ${{$}})"
            ));
        }
        Ok(Piece::Variable {
            key: key.to_owned(),
            default,
        })
    }

    pub fn has_variables(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Variable { .. } | Piece::Escape(_)))
    }

    /// The pattern with variables replaced by their (literal) values; `None` when a variable
    /// has no single value and no default: then the element does not match, as in IAM.
    pub fn pattern(&self, context: &Context) -> Option<Pattern> {
        let mut pattern = Pattern::default();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => pattern.push_glob(text),
                Piece::Escape(c) => pattern.push_literal(&c.to_string()),
                Piece::Variable { key, default } => {
                    let value = context.single(key).or(default.as_deref())?;
                    pattern.push_literal(value);
                }
            }
        }
        Some(pattern)
    }

    /// The text with variables replaced, wildcards left as written (for exact comparisons).
    pub fn text(&self, context: &Context) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Escape(c) => out.push(*c),
                Piece::Variable { key, default } => {
                    out.push_str(context.single(key).or(default.as_deref())?);
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_replaced_literally() {
        let context = Context::new().with("aws:username", "al*ce");
        let t = Template::parse("arn:aws:ssm:*:1:session/${aws:username}-*", true).unwrap();
        let p = t.pattern(&context).unwrap();
        assert!(p.matches("arn:aws:ssm:us-east-1:1:session/al*ce-0abc", false));
        // The `*` in the value is literal: it does not match "alice".
        assert!(!p.matches("arn:aws:ssm:us-east-1:1:session/alice-0abc", false));
    }

    #[test]
    fn escapes_and_defaults() {
        let t = Template::parse("a${*}b${?}${$}${aws:PrincipalTag/team, 'none'}", true).unwrap();
        assert_eq!(t.text(&Context::new()).unwrap(), "a*b?$none");
        assert!(
            t.pattern(&Context::new())
                .unwrap()
                .matches("a*b?$none", false)
        );
        assert!(
            !t.pattern(&Context::new())
                .unwrap()
                .matches("aXb?$none", false)
        );
    }

    #[test]
    fn a_missing_variable_matches_nothing() {
        let t = Template::parse("${aws:PrincipalTag/team}", true).unwrap();
        assert_eq!(t.pattern(&Context::new()), None);
    }

    #[test]
    fn old_versions_take_variables_literally_and_bad_ones_are_refused() {
        let t = Template::parse("${aws:username}", false).unwrap();
        assert_eq!(t.text(&Context::new()).unwrap(), "${aws:username}");
        assert!(Template::parse("${aws:username", true).is_err());
        assert!(Template::parse("${nocolon}", true).is_err());
        assert!(Template::parse("${aws:x, default}", true).is_err());
    }
}
