//! The asciicast v2 file format of asciinema, the one other players read: a JSON header line,
//! then one JSON array per event, `[time, code, data]`, time in seconds since the start.
//! Codes: `o` output, `i` input, `r` resize (`"COLSxROWS"`), `m` marker. Spec:
//! docs.asciinema.org/manual/asciicast/v2/. Written here because the one crate for it
//! (`asciicast` 0.2) has no resize or marker events and its last release predates Rust 2021.
//!
//! Reading never panics: a bad line is an error naming its line number, and every line is
//! bounded ([`MAX_LINE_BYTES`]).

use std::collections::BTreeMap;
use std::io::{BufRead, Read as _};
use std::time::Duration;

/// The format version this module writes and reads.
pub const VERSION: u32 = 2;

/// The longest line read: a header, or an event. The recorder writes at most
/// `recorder::MAX_EVENT_BYTES` of output per event, which JSON escaping can grow sixfold
/// (`\u001b`); this leaves room for that and for other writers' larger events.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// The first line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    pub version: u32,
    /// Columns and rows of the terminal at the start.
    pub width: u32,
    pub height: u32,
    /// Unix time of the start, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Captured environment: `TERM` and `SHELL` of the recording process, as asciinema does.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Option<String>>,
    /// gangway's own key: which session this is. Players ignore keys they do not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gangway: Option<SessionTag>,
}

/// The session a recording belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionTag {
    pub session_id: String,
    pub target: String,
}

/// What an event is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Output,
    Input,
    Resize,
    Marker,
    /// A code this version does not know (later writers may add some); players skip it.
    Other(String),
}

impl EventKind {
    fn from_code(code: String) -> Self {
        match code.as_str() {
            "o" => Self::Output,
            "i" => Self::Input,
            "r" => Self::Resize,
            "m" => Self::Marker,
            _ => Self::Other(code),
        }
    }

    fn code(&self) -> &str {
        match self {
            Self::Output => "o",
            Self::Input => "i",
            Self::Resize => "r",
            Self::Marker => "m",
            Self::Other(code) => code,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since the start of the recording.
    pub time: f64,
    pub kind: EventKind,
    pub data: String,
}

impl Event {
    /// A resize event's `COLSxROWS`.
    pub fn size(&self) -> Option<(u16, u16)> {
        if self.kind != EventKind::Resize {
            return None;
        }
        let (cols, rows) = self.data.split_once('x')?;
        Some((cols.trim().parse().ok()?, rows.trim().parse().ok()?))
    }
}

/// The header line, with its newline.
pub fn encode_header(header: &Header) -> String {
    // A struct of strings and numbers always serialises.
    let mut line = serde_json::to_string(header).unwrap_or_default();
    line.push('\n');
    line
}

/// One event line, with its newline. The time is written with microseconds, like asciinema.
pub fn encode_event(at: Duration, kind: &EventKind, data: &str) -> String {
    let code = serde_json::Value::from(kind.code());
    let data = serde_json::Value::from(data);
    format!(
        "[{}.{:06}, {code}, {data}]\n",
        at.as_secs(),
        at.subsec_micros()
    )
}

/// What is wrong with a recording, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CastError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("line {line} is longer than {} MiB", MAX_LINE_BYTES >> 20)]
    TooLong { line: usize },
    #[error("the file is empty")]
    Empty,
    #[error("reading failed: {0}")]
    Io(String),
}

pub fn parse_header(line: &str) -> Result<Header, CastError> {
    let header: Header = serde_json::from_str(line).map_err(|e| CastError::Line {
        line: 1,
        message: format!("not an asciicast header: {e}"),
    })?;
    if header.version != VERSION {
        return Err(CastError::Line {
            line: 1,
            message: format!(
                "asciicast version {} (gangway reads version {VERSION})",
                header.version
            ),
        });
    }
    Ok(header)
}

/// One event line; `number` is its line number, for the error.
pub fn parse_event(line: &str, number: usize) -> Result<Event, CastError> {
    let bad = |message: String| CastError::Line {
        line: number,
        message,
    };
    let (time, code, data): (f64, String, String) =
        serde_json::from_str(line).map_err(|e| bad(format!("not an event: {e}")))?;
    if !time.is_finite() || time < 0.0 {
        return Err(bad(format!("time {time} is not a time")));
    }
    Ok(Event {
        time,
        kind: EventKind::from_code(code),
        data,
    })
}

/// A recording read line by line.
pub struct CastReader<R> {
    reader: R,
    line: usize,
    buffer: Vec<u8>,
}

impl<R: BufRead> CastReader<R> {
    /// Reads the header.
    pub fn open(reader: R) -> Result<(Header, Self), CastError> {
        let mut this = Self {
            reader,
            line: 0,
            buffer: Vec::new(),
        };
        let line = this.next_line()?.ok_or(CastError::Empty)?;
        let header = parse_header(&line)?;
        Ok((header, this))
    }

    /// The next event; `None` at the end. Blank lines are skipped.
    pub fn next_event(&mut self) -> Option<Result<Event, CastError>> {
        loop {
            match self.next_line() {
                Ok(Some(line)) if line.trim().is_empty() => continue,
                Ok(Some(line)) => return Some(parse_event(&line, self.line)),
                Ok(None) => return None,
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// The next line without its line ending; `None` at the end.
    fn next_line(&mut self) -> Result<Option<String>, CastError> {
        self.buffer.clear();
        self.line += 1;
        let limit = (MAX_LINE_BYTES + 1) as u64;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)
            .map_err(|e| CastError::Io(e.to_string()))?;
        if read == 0 {
            return Ok(None);
        }
        if self.buffer.len() > MAX_LINE_BYTES {
            return Err(CastError::TooLong { line: self.line });
        }
        let text = String::from_utf8_lossy(&self.buffer);
        Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned()))
    }
}

/// Output bytes as text for `o` events. A character cut between two chunks is carried to the
/// next one instead of becoming two replacement characters; bytes that are not UTF-8 at all
/// become U+FFFD (the format holds strings only, as asciinema does).
#[derive(Debug, Default)]
pub struct Utf8Stream {
    carry: Vec<u8>,
}

impl Utf8Stream {
    pub fn decode(&mut self, bytes: &[u8]) -> String {
        let mut input = std::mem::take(&mut self.carry);
        input.extend_from_slice(bytes);
        let mut out = String::with_capacity(input.len());
        let mut rest = input.as_slice();
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    out.push_str(text);
                    return out;
                }
                Err(error) => {
                    let (valid, after) = rest.split_at(error.valid_up_to());
                    // Checked by from_utf8 just above.
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match error.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            // An incomplete character at the end: wait for the rest.
                            self.carry = after.to_vec();
                            return out;
                        }
                    }
                }
            }
        }
    }

    /// What is left at the end of the stream: an unfinished character, as U+FFFD.
    pub fn finish(&mut self) -> String {
        if std::mem::take(&mut self.carry).is_empty() {
            String::new()
        } else {
            char::REPLACEMENT_CHARACTER.to_string()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            version: VERSION,
            width: 80,
            height: 24,
            timestamp: Some(1_700_000_000),
            duration: None,
            title: Some("web-1 (dev-0123456789abcdef0)".into()),
            env: [("TERM".to_owned(), Some("xterm-256color".to_owned()))].into(),
            gangway: Some(SessionTag {
                session_id: "dev-0123456789abcdef0".into(),
                target: "i-0123456789abcdef0".into(),
            }),
        }
    }

    #[test]
    fn header_and_events_round_trip() {
        let mut file = encode_header(&header());
        file.push_str(&encode_event(
            Duration::from_millis(1500),
            &EventKind::Output,
            "hello\r\n\u{1b}[1mbold\u{1b}[0m \"q\" \\ é",
        ));
        file.push_str(&encode_event(
            Duration::from_micros(2_000_001),
            &EventKind::Resize,
            "100x30",
        ));
        let (read, mut reader) = CastReader::open(file.as_bytes()).unwrap();
        assert_eq!(read, header());
        let first = reader.next_event().unwrap().unwrap();
        assert_eq!(first.time, 1.5);
        assert_eq!(first.kind, EventKind::Output);
        assert_eq!(first.data, "hello\r\n\u{1b}[1mbold\u{1b}[0m \"q\" \\ é");
        let second = reader.next_event().unwrap().unwrap();
        assert_eq!(second.time, 2.000001);
        assert_eq!(second.size(), Some((100, 30)));
        assert!(reader.next_event().is_none());
    }

    #[test]
    fn the_written_form_is_asciinemas() {
        let line = encode_event(
            Duration::from_micros(248_848),
            &EventKind::Output,
            "a\u{1b}",
        );
        assert_eq!(line, "[0.248848, \"o\", \"a\\u001b\"]\n");
        let value: serde_json::Value = serde_json::from_str(&encode_header(&header())).unwrap();
        assert_eq!(value["version"], 2);
        assert_eq!(value["width"], 80);
        assert_eq!(value["env"]["TERM"], "xterm-256color");
    }

    #[test]
    fn headers_of_other_writers_are_read() {
        let asciinema = r##"{"version": 2, "width": 213, "height": 58, "timestamp": 1598889810, "idle_time_limit": 2.5, "env": {"SHELL": "/bin/zsh", "TERM": null}, "theme": {"fg": "#fff"}}"##;
        let header = parse_header(asciinema).unwrap();
        assert_eq!((header.width, header.height), (213, 58));
        assert_eq!(header.gangway, None);
        assert_eq!(header.env["TERM"], None);
    }

    #[test]
    fn bad_input_is_an_error_with_its_line() {
        assert!(matches!(CastReader::open(&b""[..]), Err(CastError::Empty)));
        assert!(parse_header("{\"version\": 1, \"width\": 80, \"height\": 24}").is_err());
        assert!(parse_header("[1, 2]").is_err());
        let file = format!(
            "{}[0.5, \"o\", \"x\"]\n\n[1, \"o\"]\n[-1, \"o\", \"y\"]\n[2, \"z\", \"k\"]\n",
            encode_header(&header())
        );
        let (_, mut reader) = CastReader::open(file.as_bytes()).unwrap();
        assert!(reader.next_event().unwrap().is_ok());
        match reader.next_event().unwrap() {
            Err(CastError::Line { line, .. }) => assert_eq!(line, 4),
            other => panic!("{other:?}"),
        }
        assert!(reader.next_event().unwrap().is_err());
        let unknown = reader.next_event().unwrap().unwrap();
        assert_eq!(unknown.kind, EventKind::Other("z".into()));
    }

    #[test]
    fn an_overlong_line_is_refused_not_buffered() {
        let mut file = encode_header(&header()).into_bytes();
        file.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        let (_, mut reader) = CastReader::open(file.as_slice()).unwrap();
        assert!(matches!(
            reader.next_event().unwrap(),
            Err(CastError::TooLong { line: 2 })
        ));
    }

    #[test]
    fn a_character_cut_between_chunks_survives() {
        let text = "é€😀";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut stream = Utf8Stream::default();
            let mut out = stream.decode(&bytes[..cut]);
            out.push_str(&stream.decode(&bytes[cut..]));
            out.push_str(&stream.finish());
            assert_eq!(out, text, "cut at {cut}");
        }
        let mut stream = Utf8Stream::default();
        assert_eq!(stream.decode(b"a\xffb\xe2\x82"), "a\u{fffd}b");
        assert_eq!(stream.finish(), "\u{fffd}");
    }
}
