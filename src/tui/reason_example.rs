//! An example reason that matches `[shell] reason_pattern`, for the reason prompt: a person
//! reads `OPS-123` faster than `^[A-Z]+-[0-9]+` (issue 16). Built from the simple patterns
//! ticket ids are written in (literals, classes, `\d \w \s`, `.`, `? * + {n} {n,m}`,
//! anchors) and checked against the pattern itself; anything richer (groups, alternation)
//! gives no example, and `reason_example` in the config can name one.

/// An example matching `pattern`, or `None` when the pattern is beyond this sketch.
pub fn example(pattern: &regex_lite::Regex) -> Option<String> {
    let text = build(pattern.as_str())?;
    pattern.is_match(&text).then_some(text)
}

/// One position of the pattern: a fixed character, or a range whose repeats count up
/// through it (`[A-Z]+` gives `ABC`, `\d+` gives `123`).
#[derive(Clone, Copy)]
enum Piece {
    Literal(char),
    Range(char, char),
}

impl Piece {
    fn nth(self, i: usize) -> char {
        match self {
            Self::Literal(c) => c,
            Self::Range(low, high) => {
                // Numbers read better from 1.
                let low = if low == '0' && high >= '3' { '1' } else { low };
                let span = (u32::from(high).saturating_sub(u32::from(low)) + 1) as usize;
                let offset = u32::try_from(i % span.max(1)).unwrap_or(0);
                char::from_u32(u32::from(low) + offset).unwrap_or(low)
            }
        }
    }
}

fn build(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut at = 0;
    while at < chars.len() {
        let (piece, next) = match chars[at] {
            '^' | '$' => {
                at += 1;
                continue;
            }
            '\\' => (escape(*chars.get(at + 1)?)?, at + 2),
            '[' => class(&chars, at)?,
            '.' => (Piece::Literal('x'), at + 1),
            '(' | ')' | '|' | '*' | '+' | '?' | '{' | '}' => return None,
            literal => (Piece::Literal(literal), at + 1),
        };
        let (count, after) = quantifier(&chars, next)?;
        out.extend((0..count).map(|i| piece.nth(i)));
        at = after;
    }
    // A pattern that only anchors or repeats nothing gives no useful example.
    (!out.trim().is_empty()).then_some(out)
}

/// What an escape stands for.
fn escape(ch: char) -> Option<Piece> {
    Some(match ch {
        'd' => Piece::Range('0', '9'),
        'w' => Piece::Range('a', 'z'),
        's' => Piece::Literal(' '),
        c if c.is_ascii_punctuation() => Piece::Literal(c),
        _ => return None,
    })
}

/// `[A-Z]`, `[0-9a-f]`, `[-_.]`: the class's first range or character; negated classes give
/// none.
fn class(chars: &[char], open: usize) -> Option<(Piece, usize)> {
    let close = open + 1 + chars[open + 1..].iter().position(|c| *c == ']')?;
    let inside = &chars[open + 1..close];
    let piece = match inside {
        [] | ['^', ..] => return None,
        ['\\', c, ..] => escape(*c)?,
        [low, '-', high, ..] if low < high => Piece::Range(*low, *high),
        [c, ..] => Piece::Literal(*c),
    };
    Some((piece, close + 1))
}

/// How many times the piece before `at` repeats: `+` three times (ticket numbers are rarely
/// one digit), `*` and `?` once, `{n}` and `{n,m}` n times.
fn quantifier(chars: &[char], at: usize) -> Option<(usize, usize)> {
    match chars.get(at) {
        Some('+') => Some((3, at + 1)),
        Some('*' | '?') => Some((1, at + 1)),
        Some('{') => {
            let close = at + chars[at..].iter().position(|c| *c == '}')?;
            let inside: String = chars[at + 1..close].iter().collect();
            let low = inside.split(',').next()?.trim().parse::<usize>().ok()?;
            Some((low.clamp(1, 20), close + 1))
        }
        _ => Some((1, at)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn of(pattern: &str) -> Option<String> {
        example(&regex_lite::Regex::new(pattern).unwrap())
    }

    #[test]
    fn ticket_patterns_give_an_example_that_matches() {
        assert_eq!(of("^[A-Z]+-[0-9]+").as_deref(), Some("ABC-123"));
        assert_eq!(of(r"^OPS-\d+").as_deref(), Some("OPS-123"));
        assert_eq!(of(r"^INC\d{6}$").as_deref(), Some("INC123456"));
        assert_eq!(of(r"^[a-z]{2,4}-\d+ .+").as_deref(), Some("ab-123 xxx"));
    }

    #[test]
    fn richer_patterns_give_none() {
        assert_eq!(of("^(OPS|INC)-[0-9]+"), None);
        assert_eq!(of("[^x]+"), None);
        assert_eq!(of("^$"), None);
    }
}
