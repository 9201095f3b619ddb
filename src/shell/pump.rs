//! The terminal pump: stdin → channel, channel → stdout, resize on SIGWINCH, and the
//! signals that must end a session cleanly. The same loop serves TTY mode (raw terminal,
//! owned by the caller through a `RawModeGuard`) and pipe mode (no terminal changes).

use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::modes::ScreenModes;
use super::open::Terminator;
use super::outcome::{ShellEnd, ShellOutcome};
use super::records::LiveRecords;
use super::stdin::{Platform, StdinMode, StdinPump};
use super::terminal::terminal_size;
use crate::transport::{ChannelEvent, InputSender, SessionChannel, TransportError};

/// Output gathered from ready events before one write: fewer syscalls under load, no
/// added latency (we only take what is already there).
const OUTPUT_BATCH_BYTES: usize = 256 * 1024;

/// How long a signalled gangway waits for the session to confirm its end (the
/// TerminateSession call included).
const TERMINATE_GRACE: Duration = Duration::from_secs(1);

/// A resume quicker than this goes unmentioned (it is invisible anyway); a slower one is
/// announced on stderr so that a frozen screen has an explanation.
const RECONNECT_NOTICE_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpMode {
    /// stdin/stdout are the user's terminal, already in raw mode.
    Terminal,
    /// Pipes or files: bytes both ways, stdin shaped for the target's platform and its end
    /// sent as that platform's shell needs it (see `stdin::PipeInput`).
    Pipe { target: Platform },
    /// One command (`gangway exec`, NonInteractiveCommands): stdin is never read, since the
    /// agent gives the command none (§6.2.1) and a script's stdin must stay with the script;
    /// Ctrl-C ends the session like SIGTERM.
    Command,
}

/// The signals the pump acts on. Everything that can end or stop gangway is caught, so
/// the terminal is put back and the remote session is not left behind (issue 17, F7).
struct Signals {
    winch: Option<Signal>,
    /// SIGTSTP and SIGCONT, in TTY mode: user modes while stopped, raw mode after `fg`.
    tstp: Option<Signal>,
    cont: Option<Signal>,
    leave: LeaveSignals,
}

/// The signals that end the session: SIGTERM, SIGHUP, SIGINT, SIGQUIT.
struct LeaveSignals {
    term: Signal,
    hup: Signal,
    int: Signal,
    quit: Signal,
}

impl Signals {
    fn install(mode: PumpMode) -> std::io::Result<Self> {
        let terminal_only = |kind| match mode {
            PumpMode::Terminal => signal(kind).map(Some),
            PumpMode::Pipe { .. } | PumpMode::Command => Ok(None),
        };
        Ok(Self {
            winch: terminal_only(SignalKind::window_change())?,
            tstp: terminal_only(SignalKind::from_raw(libc_signal::SIGTSTP))?,
            cont: terminal_only(SignalKind::from_raw(libc_signal::SIGCONT))?,
            leave: LeaveSignals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
                int: signal(SignalKind::interrupt())?,
                quit: signal(SignalKind::quit())?,
            },
        })
    }
}

impl LeaveSignals {
    /// The number of the next signal that ends the session. Cancel-safe.
    async fn leaving(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => libc_signal::SIGTERM,
            _ = self.hup.recv() => libc_signal::SIGHUP,
            _ = self.int.recv() => libc_signal::SIGINT,
            _ = self.quit.recv() => libc_signal::SIGQUIT,
        }
    }
}

/// Signal numbers as `nix` has them, as the `i32`s `ShellEnd::Signal` carries.
mod libc_signal {
    use nix::sys::signal::Signal;

    pub const SIGHUP: i32 = Signal::SIGHUP as i32;
    pub const SIGINT: i32 = Signal::SIGINT as i32;
    pub const SIGQUIT: i32 = Signal::SIGQUIT as i32;
    pub const SIGTERM: i32 = Signal::SIGTERM as i32;
    pub const SIGTSTP: i32 = Signal::SIGTSTP as i32;
    pub const SIGCONT: i32 = Signal::SIGCONT as i32;
}

/// What happened while an event was being handled.
enum Handled {
    Done(std::io::Result<Option<ShellEnd>>),
    /// A signal that ends the session arrived, maybe while stdout was blocked.
    Signal(i32),
}

/// Runs until the session ends; never touches terminal modes itself except around a stop
/// (SIGTSTP/SIGCONT). In TTY mode it ends by resetting the screen modes the remote side may
/// have left on ([`ScreenModes`]), so the caller's last line lands on a normal screen.
/// `records` gets the output and activity, and is finished (recording closed, activity file
/// removed) before this returns.
///
/// `early` are events a caller already took from the channel (gangway as
/// `session-manager-plugin` waits for the handshake to learn what the session is): they are
/// handled first, in order, as if they had just arrived.
pub(super) async fn pump(
    mut channel: SessionChannel,
    early: Vec<ChannelEvent>,
    session_id: String,
    mode: PumpMode,
    terminate: Terminator,
    records: LiveRecords,
) -> std::io::Result<ShellOutcome> {
    let input = channel.input();
    let mut signals = Signals::install(mode)?;
    let mut state = PumpState {
        stdout: tokio::io::stdout(),
        stderr: tokio::io::stderr(),
        input,
        mode,
        exit_code: None,
        held: early.into(),
        reconnect_notice: ReconnectNotice::None,
        terminate,
        screen: ScreenModes::default(),
        records,
    };
    if let Some(notice) = state.records.take_notice() {
        // Best effort, like every notice: the session matters more than this line.
        let _ = state.notice(&notice).await;
    }
    // §6.1: the real size is the first input once the session opens. Queued before stdin is
    // read, it stays ahead of anything typed early; the transport holds it until open.
    state.send_size().await;
    // `gangway exec` reads no stdin: the agent gives the command none (§6.2.1), and a
    // script's own stdin must stay with the script.
    let clock = state.records.clock();
    let stdin_pump = match mode {
        PumpMode::Terminal => Some(StdinPump::spawn(
            state.input.clone(),
            StdinMode::Terminal,
            clock,
        )?),
        PumpMode::Pipe { target } => Some(StdinPump::spawn(
            state.input.clone(),
            StdinMode::Pipe(target),
            clock,
        )?),
        PumpMode::Command => None,
    };
    let end = run_loop(&mut state, &mut channel, &mut signals).await;
    drop(stdin_pump);
    std::mem::replace(&mut state.records, LiveRecords::none())
        .finish()
        .await;
    if mode == PumpMode::Terminal {
        // Best effort: a terminal that is gone cannot be reset, and that is no failure.
        let reset = state.screen.reset_sequence();
        let _ = state.stdout.write_all(&reset).await;
    }
    let _ = state.stdout.flush().await;
    Ok(ShellOutcome {
        session_id,
        end: end?,
        remote_exit_code: state.exit_code,
    })
}

async fn run_loop(
    state: &mut PumpState,
    channel: &mut SessionChannel,
    signals: &mut Signals,
) -> std::io::Result<ShellEnd> {
    // The activity file is rewritten at most once per second (local::activity).
    let mut activity_tick = state.records.has_activity_file().then(|| {
        let mut tick = tokio::time::interval(crate::local::activity::WRITE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    });
    loop {
        let next = match state.held.pop_front() {
            Some(event) => Some(event),
            None => tokio::select! {
                event = channel.next_event() => event,
                () = next_tick(&mut activity_tick) => {
                    state.records.tick();
                    continue;
                }
                () = state.reconnect_notice.due() => {
                    state.announce_reconnecting().await?;
                    continue;
                }
                () = next_signal(&mut signals.winch) => {
                    state.send_size().await;
                    continue;
                }
                () = next_signal(&mut signals.tstp) => {
                    stop_self();
                    continue;
                }
                () = next_signal(&mut signals.cont) => {
                    state.resume_after_stop().await;
                    continue;
                }
                number = signals.leave.leaving() => return Ok(state.leave(number, channel).await),
            },
        };
        let Some(event) = next else {
            return Ok(ShellEnd::ConnectionLost {
                error: "the data channel stopped".into(),
            });
        };
        // A stdout nobody reads blocks the write: a signal must still end the session.
        let handled = tokio::select! {
            result = state.on_event(event, channel) => Handled::Done(result),
            number = signals.leave.leaving() => Handled::Signal(number),
        };
        match handled {
            Handled::Done(Ok(Some(end))) => return Ok(end),
            Handled::Done(Ok(None)) => {}
            Handled::Done(Err(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
                // `| head -c 10`: whoever read our output is gone, and so is the point of
                // the remote command (issue 17).
                return Ok(state.abandon(ShellEnd::OutputClosed, channel).await);
            }
            Handled::Done(Err(error)) => return Err(error),
            Handled::Signal(number) => return Ok(state.leave(number, channel).await),
        }
    }
}

/// SIGTSTP (`kill -TSTP`; in raw mode Ctrl-Z is a byte for the remote side): the user's
/// terminal modes back, then stop for real. SIGSTOP cannot be caught, so this returns only
/// after a SIGCONT, which the pump then handles.
fn stop_self() {
    tracing::info!("stopping on SIGTSTP");
    super::terminal::suspend_raw_mode();
    if let Err(error) = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP) {
        tracing::warn!(%error, "could not stop on SIGTSTP");
    }
}

struct PumpState {
    stdout: tokio::io::Stdout,
    stderr: tokio::io::Stderr,
    input: InputSender,
    mode: PumpMode,
    exit_code: Option<i32>,
    /// Events to handle before reading the channel again: a non-output event met while
    /// batching output, or the ones a caller took before the pump started.
    held: std::collections::VecDeque<ChannelEvent>,
    reconnect_notice: ReconnectNotice,
    /// Ends the session on the service (TerminateSession API) when a signal ends gangway.
    terminate: Terminator,
    /// Which screen modes the remote output left on, for the reset at the end.
    screen: ScreenModes,
    /// The recording and the activity file.
    records: LiveRecords,
}

/// Whether the user was told about a resume in progress.
enum ReconnectNotice {
    None,
    /// Resuming since a moment ago: announce it at this instant if still resuming.
    Due(tokio::time::Instant),
    Shown,
}

impl ReconnectNotice {
    async fn due(&self) {
        match self {
            Self::Due(at) => tokio::time::sleep_until(*at).await,
            Self::None | Self::Shown => std::future::pending().await,
        }
    }
}

impl PumpState {
    async fn on_event(
        &mut self,
        event: ChannelEvent,
        channel: &mut SessionChannel,
    ) -> std::io::Result<Option<ShellEnd>> {
        match event {
            ChannelEvent::Opened => tracing::info!("session open"),
            ChannelEvent::Output(bytes) => {
                let batch = self.gather_output(bytes, channel);
                if self.mode == PumpMode::Terminal {
                    self.screen.observe(&batch);
                }
                self.records.output(&batch);
                write_all_flush(&mut self.stdout, &batch).await?;
                self.records_notice().await?;
            }
            ChannelEvent::Stderr(bytes) => {
                self.records.output(&bytes);
                write_all_flush(&mut self.stderr, &bytes).await?;
                self.records_notice().await?;
            }
            ChannelEvent::Notice(text) => {
                let line = format!("{}\r\n", crate::text::escape_for_terminal(&text));
                write_all_flush(&mut self.stderr, line.as_bytes()).await?;
            }
            ChannelEvent::ExitCode(code) => self.exit_code = Some(code),
            // A shell channel refuses Port sessions (§4.4) and shells ignore flags (§6.1).
            ChannelEvent::PortSession(_) | ChannelEvent::Flag(_) => {}
            ChannelEvent::Reconnecting => {
                tracing::warn!("connection dropped; resuming");
                if matches!(self.reconnect_notice, ReconnectNotice::None) {
                    let at = tokio::time::Instant::now() + RECONNECT_NOTICE_AFTER;
                    self.reconnect_notice = ReconnectNotice::Due(at);
                }
            }
            ChannelEvent::Reconnected => {
                tracing::info!("connection resumed");
                let shown = matches!(self.reconnect_notice, ReconnectNotice::Shown);
                self.reconnect_notice = ReconnectNotice::None;
                if shown {
                    self.notice("connection resumed").await?;
                }
            }
            final_event @ (ChannelEvent::Closed { .. } | ChannelEvent::Lost(_)) => {
                return Ok(end_of(final_event));
            }
        }
        Ok(None)
    }

    /// Says once that the recording stopped (a full disk), after the output that found out.
    async fn records_notice(&mut self) -> std::io::Result<()> {
        match self.records.take_notice() {
            Some(notice) => self.notice(&notice).await,
            None => Ok(()),
        }
    }

    async fn announce_reconnecting(&mut self) -> std::io::Result<()> {
        self.reconnect_notice = ReconnectNotice::Shown;
        self.notice("connection lost; resuming the session (typed input is kept)")
            .await
    }

    /// One line of gangway's own on stderr, apart from the remote output: on a fresh line
    /// and with CR LF on a raw terminal, a plain line in pipe mode (stderr may be a log).
    async fn notice(&mut self, text: &str) -> std::io::Result<()> {
        let line = match self.mode {
            PumpMode::Terminal => format!("\r\n[gangway: {text}]\r\n"),
            PumpMode::Pipe { .. } | PumpMode::Command => format!("[gangway: {text}]\n"),
        };
        write_all_flush(&mut self.stderr, line.as_bytes()).await
    }

    /// Takes the output events that are already waiting, up to a batch.
    fn gather_output(&mut self, first: Vec<u8>, channel: &mut SessionChannel) -> Vec<u8> {
        let mut batch = first;
        // Events taken earlier come before anything still in the channel.
        while batch.len() < OUTPUT_BATCH_BYTES && self.held.is_empty() {
            match channel.try_next_event() {
                Some(ChannelEvent::Output(more)) => batch.extend_from_slice(&more),
                Some(other) => {
                    self.held.push_back(other);
                    break;
                }
                None => break,
            }
        }
        batch
    }

    async fn send_size(&mut self) {
        if self.mode != PumpMode::Terminal {
            return;
        }
        if let Some((cols, rows)) = terminal_size() {
            self.records.resize(cols, rows);
            let _ = self.input.resize(cols, rows).await;
        }
    }

    /// SIGCONT: raw mode again (a shell's `fg` hands the terminal back in its own modes),
    /// and the size, which may have changed while stopped.
    async fn resume_after_stop(&mut self) {
        tracing::info!("continuing after a stop");
        if self.mode == PumpMode::Terminal {
            super::terminal::reenter_raw_mode();
        }
        self.send_size().await;
    }

    /// SIGTERM, SIGHUP, SIGINT, SIGQUIT: the session is being abandoned, so end it.
    async fn leave(&mut self, signal_number: i32, channel: &mut SessionChannel) -> ShellEnd {
        tracing::warn!(signal_number, "leaving the session on a signal");
        self.abandon(ShellEnd::Signal(signal_number), channel).await
    }

    /// Ends the session on the service ([`abandon_session`]) and says how it ended.
    async fn abandon(&mut self, end: ShellEnd, channel: &mut SessionChannel) -> ShellEnd {
        abandon_session(&self.terminate, channel).await;
        end
    }
}

/// How the session ended, when `event` is the channel's final one (`Closed` or `Lost`).
/// Shared with the UI's embedded pump (`super::embedded`), so both read an end alike.
pub(super) fn end_of(event: ChannelEvent) -> Option<ShellEnd> {
    match event {
        ChannelEvent::Closed { reason } => Some(match reason {
            Some(reason) => ShellEnd::Terminated { reason },
            None => ShellEnd::Exited,
        }),
        ChannelEvent::Lost(TransportError::SessionTimedOut) => Some(ShellEnd::TimedOut),
        ChannelEvent::Lost(TransportError::KmsRefused(refused)) => Some(ShellEnd::KmsRefused {
            line: refused.line,
            refusal: refused.refusal,
        }),
        ChannelEvent::Lost(error) => Some(ShellEnd::ConnectionLost {
            error: error.to_string(),
        }),
        _ => None,
    }
}

/// Ends the session with the TerminateSession API and gives its channel_closed a moment
/// to arrive, so the remote shell does not linger. The TerminateSession flag would not
/// do: shell-type sessions ack and ignore it (§6.1, quirk 26; agent:
/// shell/shell_unix.go, func InputStreamMessageHandler).
pub(super) async fn abandon_session(terminate: &Terminator, channel: &mut SessionChannel) {
    let terminate = terminate();
    let wait_for_close = async {
        if let Err(error) = terminate.await {
            tracing::warn!(%error, "TerminateSession failed");
            return;
        }
        while let Some(event) = channel.next_event().await {
            if event.is_final() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(TERMINATE_GRACE, wait_for_close).await;
}

async fn next_tick(tick: &mut Option<tokio::time::Interval>) {
    match tick {
        Some(tick) => {
            tick.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn next_signal(signal: &mut Option<Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

async fn write_all_flush<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
) -> std::io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}
