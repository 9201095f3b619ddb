//! Splitting a NonInteractiveCommands command line into words the way the real agent does:
//! it calls github.com/google/shlex `Split` and execs the first word with the rest as
//! arguments, no shell in between (protocol.md §6.2.1, quirk 28; agent:
//! agent/session/shell/shell_unix.go, func StartCommandExecutor).
//!
//! google/shlex's rules, as implemented here: blanks (space, tab, CR, LF) separate words;
//! `'…'` is literal; `"…"` is literal except that a backslash takes the next character as
//! it is (any character, unlike POSIX sh); a backslash outside quotes does the same; `#` at
//! the start of a word begins a comment up to the next LF; quotes join with their word
//! (`a'b c'` is one word, `''` an empty one). No `$`, globs, `;`, `|` or redirections.

/// Why a command line cannot be split; the agent fails the session with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// A backslash at the very end.
    TrailingEscape,
    /// A `'` or `"` that never closes.
    UnclosedQuote,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TrailingEscape => "EOF found after escape character",
            Self::UnclosedQuote => "EOF found when expecting closing quote",
        })
    }
}

enum State {
    Between,
    Word,
    Single,
    Double,
    Comment,
}

pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        state = match state {
            State::Between | State::Word => {
                let in_word = matches!(state, State::Word);
                match c {
                    ' ' | '\t' | '\r' | '\n' if in_word => {
                        words.push(std::mem::take(&mut word));
                        State::Between
                    }
                    ' ' | '\t' | '\r' | '\n' => State::Between,
                    '#' if !in_word => State::Comment,
                    '\'' => State::Single,
                    '"' => State::Double,
                    '\\' => {
                        word.push(chars.next().ok_or(SplitError::TrailingEscape)?);
                        State::Word
                    }
                    other => {
                        word.push(other);
                        State::Word
                    }
                }
            }
            State::Single if c == '\'' => State::Word,
            State::Double if c == '"' => State::Word,
            State::Double if c == '\\' => {
                word.push(chars.next().ok_or(SplitError::UnclosedQuote)?);
                State::Double
            }
            State::Single | State::Double => {
                word.push(c);
                state
            }
            State::Comment if c == '\n' => State::Between,
            State::Comment => State::Comment,
        };
    }
    match state {
        State::Word => words.push(word),
        State::Single | State::Double => return Err(SplitError::UnclosedQuote),
        State::Between | State::Comment => {}
    }
    Ok(words)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quotes_escapes_and_comments_follow_google_shlex() {
        assert_eq!(
            split("sh -c 'echo out; exit 3'").unwrap(),
            ["sh", "-c", "echo out; exit 3"]
        );
        assert_eq!(split(r#"a"b c"d e"#).unwrap(), ["ab cd", "e"]);
        assert_eq!(split(r#""\$x \q" a\ b"#).unwrap(), ["$x q", "a b"]);
        assert_eq!(split("'' x").unwrap(), ["", "x"]);
        assert_eq!(split("ls # no\n-l a#b").unwrap(), ["ls", "-l", "a#b"]);
        assert_eq!(
            split("echo a; echo b").unwrap(),
            ["echo", "a;", "echo", "b"]
        );
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split("x\\"), Err(SplitError::TrailingEscape));
        assert_eq!(split("'x"), Err(SplitError::UnclosedQuote));
        assert_eq!(split("\"x\\"), Err(SplitError::UnclosedQuote));
    }
}
