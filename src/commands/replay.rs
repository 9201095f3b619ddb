//! `gangway replay [FILE|SESSION-ID]`: plays a recording back on this terminal, or lists the
//! recordings (`--json` for scripts). The recording's output is the remote program's, written
//! to the terminal as it was recorded (that is the point of a replay); the listing's fields
//! are escaped like any text gangway did not write.
//!
//! Keys while playing: space pauses, `+`/`-` double or halve the speed, ←/→ seek 5 s,
//! `q` (or Esc, Ctrl-C) quits. The terminal is put back on every way out: the end, `q`, a
//! signal, a failed write, a panic (the raw-mode guard's hook).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::exit;
use crate::cli::ReplayArgs;
use crate::local::playback::{Player, SEEK_STEP, Seek, Timeline};
use crate::local::recordings::{self, RecordingInfo};
use crate::shell::ScreenModes;
use crate::shell::terminal::RawModeGuard;
use crate::text::{escape_and_fit, escape_for_terminal};

/// Entry point of `gangway replay`.
pub fn run(args: &ReplayArgs) -> ExitCode {
    let loaded = match super::settings::load_config(args.config.as_deref(), false) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    if let Some(warning) = &loaded.warning {
        eprintln!("gangway: {}", escape_for_terminal(warning));
    }
    let dir = loaded.settings.records.recording.dir;
    match &args.recording {
        None => list(&dir, args.json),
        Some(what) => play(&dir, what),
    }
}

fn list(dir: &Path, json: bool) -> ExitCode {
    let found = match recordings::list(dir) {
        Ok(found) => found,
        Err(error) => {
            eprintln!(
                "gangway: cannot read {}: {error}",
                escape_for_terminal(&dir.display().to_string())
            );
            return ExitCode::from(exit::OTHER);
        }
    };
    let mut out = std::io::stdout().lock();
    let written = if json {
        crate::text::write_json_pretty(&mut out, &found)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else if found.is_empty() {
        eprintln!(
            "gangway: no recordings in {}",
            escape_for_terminal(&dir.display().to_string())
        );
        Ok(())
    } else {
        out.write_all(table(&found).as_bytes())
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(exit::BROKEN_PIPE)
        }
        Err(error) => {
            eprintln!("gangway: {error}");
            ExitCode::from(exit::OTHER)
        }
    }
}

/// One line per recording, every cell escaped; the path last and whole, for copying.
fn table(found: &[RecordingInfo]) -> String {
    let mut text = format!(
        "{:<40} {:<20} {:<20} {:>9} {:>10}  PATH\n",
        "SESSION", "TARGET", "START", "DURATION", "SIZE"
    );
    for info in found {
        text.push_str(&format!(
            "{:<40} {:<20} {:<20} {:>9} {:>10}  {}\n",
            escape_and_fit(&info.session_id, 40),
            escape_and_fit(&info.target, 20),
            escape_and_fit(&info.start, 20),
            format!("{:.0}s", info.duration_secs),
            info.size_bytes,
            escape_for_terminal(&info.path.to_string_lossy()),
        ));
    }
    text
}

fn play(dir: &Path, what: &str) -> ExitCode {
    let path = match recordings::find(dir, what) {
        Ok(path) => path,
        Err(error) => {
            eprintln!("gangway: {}", escape_for_terminal(&error.to_string()));
            return ExitCode::from(exit::USAGE);
        }
    };
    let shown = escape_for_terminal(&path.display().to_string()).into_owned();
    let timeline = match std::fs::File::open(&path)
        .map_err(|e| e.to_string())
        .and_then(|file| Timeline::read(std::io::BufReader::new(file)).map_err(|e| e.to_string()))
    {
        Ok((_, timeline)) => timeline,
        Err(error) => {
            eprintln!(
                "gangway: {shown}: {}",
                escape_for_terminal(&error.to_string())
            );
            return ExitCode::from(exit::OTHER);
        }
    };
    if !std::io::stdout().is_terminal() {
        // Into a pipe or a file: the output at once, no timing, no keys.
        let mut player = Player::new(timeline, Instant::now());
        let all = match player.seek(Instant::now(), f64::MAX) {
            Seek::Forward(all) | Seek::Restart(all) => all,
        };
        let mut out = std::io::stdout().lock();
        return match out.write_all(all.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => ExitCode::from(exit::OK),
            Err(_) => ExitCode::from(exit::BROKEN_PIPE),
        };
    }
    let runtime = match super::command_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    let status = runtime.block_on(play_on_terminal(timeline));
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    ExitCode::from(status)
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Pause,
    Faster,
    Slower,
    Back,
    Forward,
    Quit,
}

/// The controls in one read of a raw terminal. Arrows come as `ESC [ C` or, in application
/// cursor mode, `ESC O C`; a lone Esc quits. Other bytes are ignored.
fn controls(bytes: &[u8]) -> Vec<Control> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b' ' => found.push(Control::Pause),
            b'+' | b'=' => found.push(Control::Faster),
            b'-' | b'_' => found.push(Control::Slower),
            b'q' | b'Q' | 0x03 | 0x04 => found.push(Control::Quit),
            0x1b => match bytes.get(at + 1..at + 3) {
                Some([b'[' | b'O', b'C']) => {
                    found.push(Control::Forward);
                    at += 2;
                }
                Some([b'[' | b'O', b'D']) => {
                    found.push(Control::Back);
                    at += 2;
                }
                Some([b'[' | b'O', _]) => at += 2,
                _ if bytes.len() == at + 1 => found.push(Control::Quit),
                _ => {}
            },
            _ => {}
        }
        at += 1;
    }
    found
}

/// Keys from stdin on a plain thread, stopped on drop (the same polling as the shell's
/// reader, so no blocked read outlives the replay).
struct KeyReader {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KeyReader {
    fn spawn(keys: mpsc::UnboundedSender<Vec<u8>>) -> std::io::Result<Self> {
        use std::io::Read;
        use std::os::fd::AsFd;

        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("gangway-replay-keys".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                let mut buffer = [0u8; 256];
                while !flag.load(Ordering::Relaxed) {
                    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
                    match poll(&mut fds, PollTimeout::from(50u16)) {
                        Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                        Ok(_) => {}
                        Err(_) => return,
                    }
                    match stdin.lock().read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if keys.send(buffer[..n].to_vec()).is_err() {
                                return;
                            }
                        }
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for KeyReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The terminal as the replay leaves it: modes the recording turned on turned off (its
/// alternate screen left), colours reset.
struct Screen {
    modes: ScreenModes,
}

impl Screen {
    fn write(&mut self, text: &str) -> std::io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.modes.observe(text.as_bytes());
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Clears the screen for a replay from the start.
    fn restart(&mut self, text: &str) -> std::io::Result<()> {
        let mut reset = self.modes.reset_sequence();
        reset.extend_from_slice(b"\x1b[0m\x1b[H\x1b[2J");
        self.modes = ScreenModes::default();
        let mut out = std::io::stdout().lock();
        out.write_all(&reset)?;
        out.flush()?;
        drop(out);
        self.write(text)
    }

    /// Best effort: a terminal that is gone cannot be reset.
    fn restore(&mut self) {
        let mut reset = self.modes.reset_sequence();
        reset.extend_from_slice(b"\x1b[0m\r\n");
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&reset);
        let _ = out.flush();
    }
}

async fn play_on_terminal(timeline: Timeline) -> u8 {
    let signals = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::quit(),
    ]
    .map(|kind| (kind.as_raw_value(), signal(kind)));
    let mut leave = Vec::new();
    for (number, installed) in signals {
        match installed {
            Ok(installed) => leave.push((number, installed)),
            Err(error) => {
                eprintln!("gangway: cannot watch signals: {error}");
                return exit::OTHER;
            }
        }
    }
    // Keys only from a terminal; raw mode so that they come one by one, unechoed.
    let (key_tx, mut keys) = mpsc::unbounded_channel();
    let interactive = std::io::stdin().is_terminal();
    let guard = if interactive {
        match RawModeGuard::enter() {
            Ok(guard) => Some(guard),
            Err(error) => {
                eprintln!("gangway: cannot put the terminal in raw mode: {error}");
                return exit::OTHER;
            }
        }
    } else {
        None
    };
    let reader = if interactive {
        KeyReader::spawn(key_tx).ok()
    } else {
        drop(key_tx);
        None
    };
    let mut screen = Screen {
        modes: ScreenModes::default(),
    };
    let status = drive(timeline, &mut screen, &mut keys, &mut leave).await;
    drop(reader);
    screen.restore();
    drop(guard);
    status
}

async fn drive(
    timeline: Timeline,
    screen: &mut Screen,
    keys: &mut mpsc::UnboundedReceiver<Vec<u8>>,
    leave: &mut [(i32, tokio::signal::unix::Signal)],
) -> u8 {
    let mut player = Player::new(timeline, Instant::now());
    let mut keys_open = true;
    loop {
        if screen.write(&player.due(Instant::now())).is_err() {
            return exit::OTHER;
        }
        if player.finished() {
            return exit::OK;
        }
        let deadline = player.next_deadline();
        let wake = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        let signalled = async {
            let waits = leave.iter_mut().map(|(number, signal)| {
                Box::pin(async move {
                    signal.recv().await;
                    *number
                })
            });
            futures_util::future::select_all(waits).await.0
        };
        tokio::select! {
            () = wake => {}
            number = signalled => {
                return exit::SIGNAL_BASE.saturating_add(u8::try_from(number).unwrap_or(0));
            }
            read = keys.recv(), if keys_open => {
                let Some(bytes) = read else {
                    keys_open = false;
                    continue;
                };
                let now = Instant::now();
                for control in controls(&bytes) {
                    let written = match control {
                        Control::Quit => return exit::OK,
                        Control::Pause => {
                            player.toggle_pause(now);
                            Ok(())
                        }
                        Control::Faster => {
                            player.faster(now);
                            Ok(())
                        }
                        Control::Slower => {
                            player.slower(now);
                            Ok(())
                        }
                        Control::Forward | Control::Back => {
                            let delta = if control == Control::Forward { SEEK_STEP } else { -SEEK_STEP };
                            match player.seek(now, delta) {
                                Seek::Forward(text) => screen.write(&text),
                                Seek::Restart(text) => screen.restart(&text),
                            }
                        }
                    };
                    if written.is_err() {
                        return exit::OTHER;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_controls() {
        use Control::*;
        assert_eq!(controls(b" "), [Pause]);
        assert_eq!(controls(b"+=-_"), [Faster, Faster, Slower, Slower]);
        assert_eq!(controls(b"\x1b[C\x1b[D\x1bOC"), [Forward, Back, Forward]);
        assert_eq!(controls(b"\x1b"), [Quit]);
        assert_eq!(controls(b"\x1b[A x"), [Pause]);
        assert_eq!(controls(b"q"), [Quit]);
        assert_eq!(controls(b"\x03"), [Quit]);
    }

    #[test]
    fn the_listing_is_escaped() {
        let info = RecordingInfo {
            session_id: "dev-0123456789abcdef0".into(),
            target: "i-0\u{1b}[2J".into(),
            start: "2026-12-07T12:00:00Z".into(),
            duration_secs: 3.25,
            size_bytes: 10,
            path: "/tmp/\u{1b}]0;x\u{7}.cast".into(),
        };
        let text = table(&[info]);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(!text.contains('\u{7}'), "{text:?}");
    }
}
