//! What `gangway cp` runs on the instance, and how its answers read. Pure: no IO here.
//!
//! One small POSIX `sh` loop ([`SCRIPT`]) runs in every copy session, through AWS's own
//! InteractiveCommands document (`sh -c` on a pty, protocol.md §6.2), and reads one request a
//! line from its stdin: stat a path, list a tree, make a directory, send a byte range, sum a
//! file, receive a file. It needs `sh`, `base64`, `sha256sum`, `dd`, `stat`, `find`, `mv`
//! (coreutils, findutils) and nothing else.
//!
//! Everything that crosses the pty is base64 or a short ASCII line, both ways:
//!
//! - **Output (downloads).** The real agent passes every byte the pty gives it through a UTF-8
//!   scanner before sending it (agent: agent/session/shell/shell.go, func processStdoutData).
//!   That scanner is not binary-safe: a valid U+FFFD (EF BF BD) in the data comes out as its
//!   first byte only, and up to three undecodable bytes at the very end are held back for a
//!   next read that never comes. Random binary data has an EF BF BD about every 16 MiB. Base64
//!   is plain ASCII, which the scanner passes unchanged, and the pty's output processing (LF
//!   to CR LF) only adds line ends that the decoder drops.
//! - **Input (uploads).** Base64 lines of [`UPLOAD_LINE_CHARS`] characters contain no control
//!   character, so no setting of the pty's line discipline changes them: no signal (ISIG), no
//!   flow control (IXON), no CR/LF mapping, no erase or kill, and each line with its LF fits
//!   the canonical-mode line limit of the systems SSM runs shells on (MAX_CANON: 1024 on
//!   macOS, 4095 on Linux; POSIX only promises 255). The lines are as long as that allows
//!   because in canonical mode every read of `base64 -d` returns one line: with 76-character
//!   lines the remote side made a read per 57 bytes, and a local pty bench
//!   (`docs/PERFORMANCE.md`) carried 15-19 MiB/s of them against 24-28 MiB/s of 1000-character
//!   lines on the same machine. So nothing depends
//!   on `stty raw` having taken effect before the first byte, and the end of a file is the
//!   terminal's own end-of-file character (VEOF, Ctrl-D at the start of a line), which ends
//!   `base64 -d` and leaves the loop reading the next request. The only mode the script
//!   changes is echo (off), so uploaded bytes do not come back through the agent's paced
//!   output (§0 item 16).
//!
//! Paths travel base64-encoded too, so a name may hold spaces, quotes or newlines.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Block size of the `dd` reads: download ranges are whole blocks.
pub const BLOCK_BYTES: u64 = 64 * 1024;

/// The remote loop. Answers are lines starting with `:gw:`, which base64 never produces.
pub const SCRIPT: &str = r#"stty -echo 2>/dev/null
for t in base64 sha256sum dd stat mv find; do command -v $t >/dev/null 2>&1 || { echo ":gw:err the instance has no $t (gangway cp needs a POSIX shell and coreutils)"; exit 1; }; done
w() { tr '\n' ' ' | cut -c1-300; }
echo :gw:ready
while IFS=' ' read -r c a b e; do
p=$(printf %s "$a" | base64 -d; echo x); p=${p%x}
case $c in
t) if [ -d "$p" ]; then echo ":gw:t d"
elif [ -f "$p" ]; then if [ -r "$p" ]; then echo ":gw:t f $(stat -L -c '%s %Y' -- "$p")"; else echo ":gw:t u Permission denied"; fi
elif [ -e "$p" ]; then echo ":gw:t o"
else o=$(stat -L -- "$p" 2>&1 | w); echo ":gw:t n ${o##*: }"; fi;;
r) echo :gw:data; dd if="$p" bs=65536 skip="$b" count="$e" 2>/dev/null | base64; echo ":gw:rsum $(dd if="$p" bs=65536 skip="$b" count="$e" 2>/dev/null | sha256sum)";;
h) echo ":gw:sum $({ sha256sum < "$p"; } 2>&1 | w)";;
l) (cd -- "$p" && find . \( -type d -o -type f \) -exec sh -c 'for x; do if [ -d "$x" ]; then k=d; else k=f; fi; echo ":gw:e $k $(printf %s "$x" | base64 | tr -d "\n")"; done' sh {} +); echo :gw:end;;
m) if o=$({ mkdir -p -- "$p"; } 2>&1); then echo :gw:ok; else echo ":gw:err $(echo "$o" | w)"; fi;;
f) s=; [ -f "$p" ] && [ -r "$p" ] && s=$(sha256sum < "$p")
if [ "${s%% *}" = "$b" ]; then echo :gw:same; continue; fi
T=$p.gangway-part
if o=$({ : > "$T"; } 2>&1); then echo :gw:go
if base64 -d > "$T"; then s=$(sha256sum < "$T")
if [ "${s%% *}" = "$b" ]; then chmod "$e" "$T" 2>/dev/null
if o=$({ mv -f -- "$T" "$p"; } 2>&1); then echo :gw:ok; else rm -f -- "$T"; echo ":gw:err $(echo "$o" | w)"; fi
else rm -f -- "$T"; echo :gw:bad; fi
else rm -f -- "$T"; echo ":gw:err the upload did not decode"; fi
else echo ":gw:err $(echo "$o" | w)"; fi;;
q) exit 0;;
*) echo ":gw:err unknown request";;
esac
done
"#;

/// The end-of-file character that ends one upload (VEOF at the start of a line).
pub const END_OF_FILE: u8 = 0x04;

/// Base64 of `bytes` as the scripts read it: one word, no line breaks.
pub fn word(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The request lines. Paths are bytes (a remote name need not be UTF-8).
pub fn stat(path: &[u8]) -> Vec<u8> {
    format!("t {}\n", word(path)).into_bytes()
}

pub fn list(path: &[u8]) -> Vec<u8> {
    format!("l {}\n", word(path)).into_bytes()
}

pub fn mkdir(path: &[u8]) -> Vec<u8> {
    format!("m {}\n", word(path)).into_bytes()
}

pub fn sum(path: &[u8]) -> Vec<u8> {
    format!("h {}\n", word(path)).into_bytes()
}

/// Blocks `first_block .. first_block + blocks` of `path`, each [`BLOCK_BYTES`] long.
pub fn range(path: &[u8], first_block: u64, blocks: u64) -> Vec<u8> {
    format!("r {} {first_block} {blocks}\n", word(path)).into_bytes()
}

/// Receive a file whose SHA-256 is `sha256_hex`, with permission bits `mode`.
pub fn receive(path: &[u8], sha256_hex: &str, mode: u32) -> Vec<u8> {
    format!("f {} {sha256_hex} {:o}\n", word(path), mode & 0o7777).into_bytes()
}

pub const QUIT: &[u8] = b"q\n";

/// File bytes per upload line: 1000 base64 characters, 1001 bytes with the LF, under macOS's
/// MAX_CANON of 1024 (see the module's comment).
pub const UPLOAD_LINE_BYTES: usize = 750;
/// Characters of one full upload line, its LF not counted.
pub const UPLOAD_LINE_CHARS: usize = UPLOAD_LINE_BYTES / 3 * 4;

/// Encodes `bytes` as the upload's input: base64 lines of [`UPLOAD_LINE_CHARS`] characters
/// ([`UPLOAD_LINE_BYTES`] bytes each), the last one shorter.
pub fn encode_lines(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.chunks(UPLOAD_LINE_BYTES) {
        let at = out.len();
        out.resize(at + UPLOAD_LINE_CHARS, 0);
        let written = STANDARD
            .encode_slice(chunk, &mut out[at..])
            .unwrap_or_default();
        out.truncate(at + written);
        out.push(b'\n');
    }
}

/// What a line of the script's output says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ready,
    /// A request failed; the text is the remote tool's message (untrusted).
    Error(String),
    Stat(Stat),
    /// Base64 lines of a range follow, up to [`Reply::RangeSum`].
    Data,
    RangeSum(String),
    /// A whole file's SHA-256, or the reason it could not be read.
    Sum(Result<String, String>),
    /// One entry of a listing: a directory or not, and its path relative to the root.
    Entry {
        directory: bool,
        path: Vec<u8>,
    },
    End,
    Ok,
    Go,
    Same,
    Mismatch,
}

/// A remote path, as `t` found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stat {
    Directory,
    File {
        size: u64,
        mtime: i64,
    },
    Unreadable(String),
    /// Exists but is neither a file nor a directory (a device, a socket, a FIFO).
    Other,
    /// Does not exist, or cannot be reached; the reason as the remote `stat` gave it.
    Missing(String),
}

impl Reply {
    /// `None` for a line that is not an answer: base64 data, or noise from the shell.
    pub fn parse(line: &[u8]) -> Option<Reply> {
        let text = std::str::from_utf8(line.strip_prefix(b":gw:")?).ok()?;
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        let hex = |rest: &str| {
            let first = rest.split_whitespace().next().unwrap_or("");
            (first.len() == 64 && first.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| first.to_ascii_lowercase())
        };
        Some(match word {
            "ready" => Reply::Ready,
            "err" => Reply::Error(rest.trim().to_owned()),
            "data" => Reply::Data,
            "rsum" => Reply::RangeSum(hex(rest)?),
            "sum" => Reply::Sum(hex(rest).ok_or_else(|| {
                let message = rest.trim();
                message.rsplit(": ").next().unwrap_or(message).to_owned()
            })),
            "end" => Reply::End,
            "ok" => Reply::Ok,
            "go" => Reply::Go,
            "same" => Reply::Same,
            "bad" => Reply::Mismatch,
            "e" => {
                let (kind, path) = rest.split_once(' ')?;
                Reply::Entry {
                    directory: kind == "d",
                    path: STANDARD.decode(path.trim()).ok()?,
                }
            }
            "t" => {
                let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                Reply::Stat(match kind {
                    "d" => Stat::Directory,
                    "f" => {
                        let mut fields = rest.split_whitespace();
                        let size = fields.next()?.parse().ok()?;
                        let mtime = fields.next()?.parse().ok()?;
                        Stat::File { size, mtime }
                    }
                    "u" => Stat::Unreadable(rest.trim().to_owned()),
                    "o" => Stat::Other,
                    _ => Stat::Missing(rest.trim().to_owned()),
                })
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_data_does_not() {
        assert_eq!(Reply::parse(b":gw:ready"), Some(Reply::Ready));
        assert_eq!(
            Reply::parse(b":gw:t f 123 1700000000"),
            Some(Reply::Stat(Stat::File {
                size: 123,
                mtime: 1_700_000_000
            }))
        );
        assert_eq!(
            Reply::parse(b":gw:t n No such file or directory"),
            Some(Reply::Stat(Stat::Missing(
                "No such file or directory".into()
            )))
        );
        let sum = "ab".repeat(32);
        assert_eq!(
            Reply::parse(format!(":gw:rsum {sum}  -").as_bytes()),
            Some(Reply::RangeSum(sum.clone()))
        );
        assert_eq!(
            Reply::parse(b":gw:sum sh: 1: cannot open /x: Permission denied"),
            Some(Reply::Sum(Err("Permission denied".into())))
        );
        assert_eq!(
            Reply::parse(format!(":gw:e f {}", word(b"a b\nc")).as_bytes()),
            Some(Reply::Entry {
                directory: false,
                path: b"a b\nc".to_vec()
            })
        );
        assert_eq!(Reply::parse(b"QUJD"), None, "base64 is data");
        assert_eq!(Reply::parse(b":gw:rsum short"), None);
        assert_eq!(Reply::parse(b":gw:t f x y"), None);
    }

    #[test]
    fn upload_lines_are_base64_that_decodes_back() {
        let data: Vec<u8> = (0..=255u8)
            .cycle()
            .take(3 * UPLOAD_LINE_BYTES + 7)
            .collect();
        let mut out = Vec::new();
        encode_lines(&data, &mut out);
        let lines: Vec<&[u8]> = out.split(|b| *b == b'\n').collect();
        // Three full lines, a short one, and nothing after the last LF.
        assert_eq!(lines.len(), 5);
        assert!(
            lines[..3]
                .iter()
                .all(|line| line.len() == UPLOAD_LINE_CHARS)
        );
        assert!(
            lines.iter().all(|line| line.len() < 1024),
            "under MAX_CANON"
        );
        assert!(
            out.iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=\n".contains(b)),
            "no control character reaches the pty"
        );
        let joined: Vec<u8> = out.into_iter().filter(|b| *b != b'\n').collect();
        assert_eq!(STANDARD.decode(joined).unwrap(), data);
    }

    #[test]
    fn requests_are_one_line_of_words() {
        let line = receive(b"/tmp/a b", &"0".repeat(64), 0o100755);
        let text = String::from_utf8(line).unwrap();
        assert!(text.ends_with(" 755\n") && text.matches('\n').count() == 1);
        assert_eq!(
            range(b"/f", 16, 16),
            format!("r {} 16 16\n", word(b"/f")).as_bytes()
        );
    }
}
