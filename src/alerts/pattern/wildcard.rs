//! `wildcard` operands: `*` stands for any run of characters (none included), `\*` for a
//! star and `\\` for a backslash. Two stars in a row are refused, as EventBridge refuses them
//! ("Consecutive wildcard characters at pos N"); positions count as event-ruler's
//! `WildcardParser` counts them, in bytes of the operand with its opening quote.

/// A parsed wildcard operand: the literal runs between the stars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    /// `pieces[0]` must start the value, the last piece must end it, the ones between appear
    /// in order. One piece and no star: the value must equal it.
    pieces: Vec<String>,
}

impl Wildcard {
    pub fn parse(text: &str) -> Result<Wildcard, String> {
        let bytes = text.as_bytes();
        let mut pieces = vec![String::new()];
        let mut at = 0;
        while at < text.len() {
            match bytes[at] {
                b'*' => {
                    if bytes.get(at + 1) == Some(&b'*') {
                        return Err(format!("Consecutive wildcard characters at pos {}", at + 1));
                    }
                    pieces.push(String::new());
                    at += 1;
                }
                b'\\' => match bytes.get(at + 1) {
                    Some(&next @ (b'*' | b'\\')) => {
                        if let Some(piece) = pieces.last_mut() {
                            piece.push(char::from(next));
                        }
                        at += 2;
                    }
                    _ => return Err(format!("Invalid escape character at pos {}", at + 1)),
                },
                _ => {
                    let Some(c) = text[at..].chars().next() else {
                        break;
                    };
                    if let Some(piece) = pieces.last_mut() {
                        piece.push(c);
                    }
                    at += c.len_utf8();
                }
            }
        }
        Ok(Wildcard { pieces })
    }

    /// The pattern as event-ruler's byte machine holds it: the value's UTF-8 bytes between
    /// the quotes of its JSON string (`None` for a star), escapes resolved.
    pub fn tokens(&self) -> Vec<Option<u8>> {
        let mut tokens = vec![Some(b'"')];
        for (at, piece) in self.pieces.iter().enumerate() {
            if at > 0 {
                tokens.push(None);
            }
            tokens.extend(piece.bytes().map(Some));
        }
        tokens.push(Some(b'"'));
        tokens
    }

    pub fn matches(&self, value: &str) -> bool {
        let [first, middle @ .., last] = self.pieces.as_slice() else {
            // One piece: no star at all.
            return self.pieces.first().is_some_and(|only| only == value);
        };
        let Some(mut rest) = value.strip_prefix(first.as_str()) else {
            return false;
        };
        for piece in middle {
            match rest.find(piece.as_str()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last.as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Wildcard;

    /// `*` as any run, by its definition.
    fn reference(pattern: &[char], value: &[char]) -> bool {
        match (pattern.first(), value.first()) {
            (None, None) => true,
            (Some('*'), _) => {
                reference(&pattern[1..], value)
                    || (!value.is_empty() && reference(pattern, &value[1..]))
            }
            (Some(p), Some(v)) if p == v => reference(&pattern[1..], &value[1..]),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_definition(pattern in "[ab*]{0,8}", value in "[ab]{0,10}") {
            match Wildcard::parse(&pattern) {
                Ok(wildcard) => {
                    let p: Vec<char> = pattern.chars().collect();
                    let v: Vec<char> = value.chars().collect();
                    prop_assert_eq!(wildcard.matches(&value), reference(&p, &v));
                }
                Err(reason) => prop_assert!(pattern.contains("**"), "{reason}"),
            }
        }
    }
}
