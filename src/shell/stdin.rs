//! Reading our stdin on a plain thread that can be stopped. `tokio::io::stdin` would leave
//! a blocked read behind when the shell ends, and that read would steal the next key
//! from whoever owns the terminal after us (the TUI, gitui's "pause the input reader").
//! So we poll with a short timeout and check a stop flag between polls.

use std::io::Read;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::local::activity::ActivityClock;
use crate::transport::InputSender;

/// One read of stdin; also the largest input command sent to the transport.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// How long a stop request may wait for the poll to return.
const POLL_INTERVAL_MS: u16 = 50;
/// End of transmission: the pty's end-of-file key, what `sh` on a Linux or macOS target
/// needs to see end of input (issue 5, pipe mode).
const EOT: u8 = 0x04;
const CR: u8 = b'\r';
const LF: u8 = b'\n';
/// What ends PowerShell on a Windows target at the end of piped input: it ignores EOT
/// (issue 11, item 9). The leading CR is an empty line, which closes a `>>` continuation
/// that the input may have left open, so that `exit` is read as a command of its own.
const WINDOWS_END: &[u8] = b"\rexit\r";

/// The operating system of the target, as the listing reports it (SSM PlatformType, or EC2's
/// platform details for an unmanaged instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Linux or macOS: the agent writes input to the pty unchanged (§6.1).
    Unix,
    /// The agent runs PowerShell and turns LF into CR itself (§6.1, §0 item 14).
    Windows,
}

impl Platform {
    /// `Windows` (SSM) and `Windows…` (EC2 details such as `Windows with SQL Server …`) are
    /// Windows; anything else, or nothing, is treated as Unix and kept byte-exact.
    pub fn from_listing(platform: Option<&str>) -> Self {
        match platform {
            Some(name)
                if name
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("windows") =>
            {
                Self::Windows
            }
            _ => Self::Unix,
        }
    }
}

/// What the reader does with stdin's bytes and with its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdinMode {
    /// A terminal in raw mode: bytes unchanged, nothing at EOF (a raw terminal has none).
    Terminal,
    /// Pipe mode to a target of this platform; see [`PipeInput`].
    Pipe(Platform),
}

/// Pipe-mode input for one target. Unix targets get the bytes unchanged (binary-safe) and
/// EOT at the end. Windows targets get every line ending (LF, CR LF, CR) as one CR, the
/// Enter key, and `exit` at the end.
///
/// Why CR on Windows: the Windows agent replaces every LF with CR, but only in a PT 1 payload
/// that holds no CR LF (agent: shell/shell_windows.go, func InputStreamMessageHandler), and
/// the reference plugin replaces a read of exactly one LF with CR (plugin:
/// src/datachannel/streaming.go, func SendInputDataMessage). What PowerShell receives would
/// then depend on how the input falls into reads and messages: a CR LF split between two
/// messages would reach it as CR CR. Sending CR alone, with no LF left in any payload, gives
/// the result the agent aims at whatever the split. At stdin's end the plugin sends nothing
/// and exits, leaving the shell to the idle timeout (plugin: shellsession/
/// shellsession_unix.go, func handleKeyboardInput); gangway ends the shell so that its
/// output is complete and the session closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PipeInput {
    Unix,
    Windows {
        /// The last byte was a CR: an LF right after it belongs to the same line ending.
        after_cr: bool,
        /// Nothing typed since the last line ending.
        at_line_start: bool,
    },
}

impl PipeInput {
    pub(super) fn new(platform: Platform) -> Self {
        match platform {
            Platform::Unix => Self::Unix,
            Platform::Windows => Self::Windows {
                after_cr: false,
                at_line_start: true,
            },
        }
    }

    /// The bytes to send for one read of stdin (empty when a read held only the LF of a
    /// CR LF split across reads).
    pub(super) fn convert(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Self::Windows {
            after_cr,
            at_line_start,
        } = self
        else {
            return chunk.to_vec();
        };
        let mut out = Vec::with_capacity(chunk.len());
        for &byte in chunk {
            match byte {
                LF if *after_cr => {}
                LF | CR => out.push(CR),
                other => out.push(other),
            }
            *after_cr = byte == CR;
            *at_line_start = matches!(byte, LF | CR);
        }
        out
    }

    /// What to send when stdin ends: EOT for Unix; for Windows, a CR to finish a last line
    /// that had no line ending, then [`WINDOWS_END`].
    pub(super) fn end(&self) -> Vec<u8> {
        match self {
            Self::Unix => vec![EOT],
            Self::Windows { at_line_start, .. } => {
                let mut out = Vec::with_capacity(WINDOWS_END.len() + 1);
                if !at_line_start {
                    out.push(CR);
                }
                out.extend_from_slice(WINDOWS_END);
                out
            }
        }
    }
}

/// The reader thread; stopped and joined on drop.
pub struct StdinPump {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StdinPump {
    /// `activity` is touched on every input sent: it counts for the idle timeout (§7.3).
    pub fn spawn(
        input: InputSender,
        mode: StdinMode,
        activity: Arc<ActivityClock>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("gangway-stdin".into())
            .spawn(move || read_loop(&input, mode, &flag, &activity))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for StdinPump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_loop(input: &InputSender, mode: StdinMode, stop: &AtomicBool, activity: &ActivityClock) {
    let mut pipe = match mode {
        StdinMode::Terminal => None,
        StdinMode::Pipe(platform) => Some(PipeInput::new(platform)),
    };
    let stdin = std::io::stdin();
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    while !stop.load(Ordering::Relaxed) {
        match wait_readable(&stdin) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(error) => {
                tracing::warn!(%error, "polling stdin failed");
                return;
            }
        }
        // The buffer is larger than std's internal one, so reads bypass it and poll
        // never misses bytes sitting in a user-space buffer.
        match stdin.lock().read(&mut buffer) {
            Ok(0) => {
                tracing::debug!("stdin reached end of file");
                if let Some(pipe) = &pipe {
                    let _ = input.send_input_blocking(pipe.end());
                }
                return;
            }
            Ok(n) => {
                let bytes = match &mut pipe {
                    Some(pipe) => pipe.convert(&buffer[..n]),
                    None => buffer[..n].to_vec(),
                };
                if bytes.is_empty() {
                    continue;
                }
                if input.send_input_blocking(bytes).is_err() {
                    return;
                }
                activity.touch();
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::warn!(%error, "reading stdin failed");
                return;
            }
        }
    }
}

fn wait_readable(stdin: &std::io::Stdin) -> nix::Result<bool> {
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(POLL_INTERVAL_MS)) {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> PipeInput {
        PipeInput::new(Platform::Windows)
    }

    /// The bytes sent for these reads, then for the end of stdin.
    fn run(pipe: &mut PipeInput, reads: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        let sent = reads.iter().flat_map(|read| pipe.convert(read)).collect();
        (sent, pipe.end())
    }

    #[test]
    fn unix_targets_get_every_byte_unchanged_and_eot() {
        let all: Vec<u8> = (0..=255).collect();
        let mut pipe = PipeInput::new(Platform::Unix);
        let (sent, end) = run(&mut pipe, &[b"\n", b"a\r\nb\n", &all]);
        assert_eq!(sent, [b"\n".as_slice(), b"a\r\nb\n", &all].concat());
        assert_eq!(end, [EOT]);
    }

    #[test]
    fn windows_lone_lf_becomes_cr() {
        let (sent, _) = run(&mut windows(), &[b"dir\nGet-Date\n"]);
        assert_eq!(sent, b"dir\rGet-Date\r");
        // A read of one LF, the case the plugin converts (SendInputDataMessage).
        let (sent, _) = run(&mut windows(), &[b"dir", b"\n"]);
        assert_eq!(sent, b"dir\r");
    }

    #[test]
    fn windows_crlf_and_cr_become_one_cr() {
        let (sent, _) = run(&mut windows(), &[b"a\r\nb\rc\n\nd\r\r\n"]);
        assert_eq!(sent, b"a\rb\rc\r\rd\r\r");
    }

    #[test]
    fn windows_crlf_split_across_reads_is_one_cr() {
        let mut pipe = windows();
        assert_eq!(pipe.convert(b"a\r"), b"a\r");
        assert_eq!(pipe.convert(b"\n"), b"");
        assert_eq!(pipe.convert(b"\nb\r"), b"\rb\r");
        assert_eq!(pipe.convert(b"\nc"), b"c");
    }

    #[test]
    fn windows_other_bytes_pass_unchanged() {
        let others: Vec<u8> = (0..=255).filter(|b| ![CR, LF].contains(b)).collect();
        let (sent, _) = run(&mut windows(), &[&others]);
        assert_eq!(sent, others);
    }

    #[test]
    fn windows_end_is_exit_on_a_line_of_its_own() {
        assert_eq!(run(&mut windows(), &[]).1, b"\rexit\r");
        assert_eq!(run(&mut windows(), &[b"dir\n"]).1, b"\rexit\r");
        assert_eq!(run(&mut windows(), &[b"dir\r\n"]).1, b"\rexit\r");
        // A last line with no line ending is finished first.
        assert_eq!(run(&mut windows(), &[b"dir"]).1, b"\r\rexit\r");
    }

    #[test]
    fn platform_from_the_listing() {
        assert_eq!(Platform::from_listing(Some("Windows")), Platform::Windows);
        assert_eq!(
            Platform::from_listing(Some("Windows with SQL Server Standard")),
            Platform::Windows
        );
        assert_eq!(Platform::from_listing(Some("Linux")), Platform::Unix);
        assert_eq!(Platform::from_listing(Some("MacOS")), Platform::Unix);
        assert_eq!(Platform::from_listing(Some("Linux/UNIX")), Platform::Unix);
        assert_eq!(Platform::from_listing(None), Platform::Unix);
    }
}
