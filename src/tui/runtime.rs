//! The event loop: messages in (keys, clock, AWS answers), `update`, effects out, and at most
//! one frame per `FRAME_INTERVAL` however many messages arrive (yazi's coalesced rendering,
//! style.md §3). A shell takes the terminal inside the loop: input paused, terminal released,
//! the session run, the terminal taken back and redrawn.

use std::time::{Duration, Instant, SystemTime};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::shell::SessionRecords;
use crate::tui::effect::Effect;
use crate::tui::executor::Executor;
use crate::tui::key_reader::Input;
use crate::tui::model::{Model, ShellTarget};
use crate::tui::msg::Msg;
use crate::tui::panes::keys::MouseMode;
use crate::tui::terminal::Tui;
use crate::tui::{shell, update, views};

/// At most ~60 frames per second.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// For this long after a key, a paste or a mouse event, frames may follow each other after
/// only `TYPING_FRAME_GAP`: the echo of a keystroke in a shell tab arrives a moment after the
/// key's own frame, and waiting out the 60 fps gate made every echo ~16 ms late (17.5 ms p50
/// against the hand-over's 1.1 ms in `benches/tabs.rs`). Output nobody typed for (a flood)
/// stays at 60 frames per second.
const TYPING_WINDOW: Duration = Duration::from_millis(100);
const TYPING_FRAME_GAP: Duration = Duration::from_micros(500);
const TICK_INTERVAL: Duration = Duration::from_secs(1);

/// Runs the UI until the user quits or a signal asks gangway to stop.
pub async fn run(mut model: Model, clients: Vec<crate::aws::AwsClient>) -> anyhow::Result<()> {
    let (sender, mut messages) = unbounded_channel();
    let executor = Executor::new(
        clients,
        sender.clone(),
        model.settings.tag_filters.clone(),
        model.access_scope(),
    )
    .with_activity_dir(model.settings.records.activity_dir.clone())
    .with_records(model.settings.records.clone());
    let mut tui = Tui::enter()?;
    let input = Input::spawn(sender);
    let size = tui.terminal.size()?;
    model.size = (size.width, size.height);
    model.now = SystemTime::now();
    for effect in update::init(&mut model) {
        executor.spawn(effect);
    }
    // Every signal that ends or stops gangway is the UI's to handle: in raw mode Ctrl-C and
    // Ctrl-Z are keys, so these come from `kill`. Once a shell has run, its pump's handlers
    // stay installed for the process (tokio never removes one), so without these the UI
    // would ignore them instead of restoring the terminal (issue 17, F7).
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    let mut stop = signal(SignalKind::from_raw(nix::libc::SIGTSTP))?;
    let mut ticks = tokio::time::interval(TICK_INTERVAL);
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME_INTERVAL;
    let mut last_input = Instant::now() - TYPING_WINDOW;
    while !model.quit {
        let gap = frame_gap(last_input.elapsed());
        if dirty && last_frame.elapsed() >= gap {
            crate::tui::terminal::capture_mouse(wants_mouse(&model));
            tui.terminal.draw(|frame| views::draw(frame, &model))?;
            last_frame = Instant::now();
            dirty = false;
        }
        let until_frame = gap.saturating_sub(last_frame.elapsed());
        let batch = tokio::select! {
            Some(msg) = messages.recv() => drain(msg, &mut messages),
            _ = ticks.tick() => vec![Msg::Tick(SystemTime::now())],
            _ = tokio::time::sleep(until_frame), if dirty => Vec::new(),
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
            _ = interrupt.recv() => break,
            _ = quit.recv() => break,
            _ = stop.recv() => {
                stop_until_continued(&mut tui, &input)?;
                dirty = true;
                Vec::new()
            }
        };
        if batch
            .iter()
            .any(|msg| matches!(msg, Msg::Key(_) | Msg::Paste(_) | Msg::Mouse(_)))
        {
            last_input = Instant::now();
        }
        let mut pending = std::collections::VecDeque::from(batch);
        while let Some(msg) = pending.pop_front() {
            dirty = true;
            for effect in update::update(&mut model, msg) {
                match effect {
                    Effect::OpenShell { target, reason } => {
                        let records = model.settings.records.clone();
                        let ended =
                            hand_over(&mut tui, &input, &executor, target, reason, &records)
                                .await?;
                        pending.push_back(ended);
                        last_frame = Instant::now() - FRAME_INTERVAL;
                    }
                    other => executor.spawn(other),
                }
            }
        }
    }
    // The terminal first, so the user is not left looking at a frozen screen while the
    // tunnels end their sessions (bounded by the tunnel layer's stop deadline).
    drop(tui);
    executor.close_panes().await;
    executor.stop_tunnels().await;
    Ok(())
}

/// Whether the shell on screen runs a program that asked for mouse reports.
fn wants_mouse(model: &Model) -> bool {
    model.tabs.showing
        && model
            .tabs
            .focused()
            .is_some_and(|p| p.is_live() && p.screen.input_modes().mouse != MouseMode::Off)
}

/// How long after the last frame the next may be drawn, `since_input` after the last key.
fn frame_gap(since_input: Duration) -> Duration {
    if since_input < TYPING_WINDOW {
        TYPING_FRAME_GAP
    } else {
        FRAME_INTERVAL
    }
}

/// Everything already queued, so a burst becomes one frame.
fn drain(first: Msg, messages: &mut UnboundedReceiver<Msg>) -> Vec<Msg> {
    let mut batch = vec![first];
    while let Ok(msg) = messages.try_recv() {
        batch.push(msg);
    }
    batch
}

/// SIGTSTP: the user's terminal back (normal screen, cooked mode), stop for real, and take it
/// again after `fg`. SIGSTOP cannot be caught, so `raise` returns once SIGCONT came.
fn stop_until_continued(tui: &mut Tui, input: &Input) -> anyhow::Result<()> {
    input.pause();
    tui.suspend();
    if let Err(error) = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP) {
        tracing::warn!(%error, "could not stop on SIGTSTP");
    }
    tui.resume()?;
    input.resume();
    Ok(())
}

async fn hand_over(
    tui: &mut Tui,
    input: &Input,
    executor: &Executor,
    target: ShellTarget,
    reason: Option<String>,
    records: &SessionRecords,
) -> anyhow::Result<Msg> {
    input.pause();
    tui.suspend();
    let result = match executor.client(&target.region) {
        Some(client) => shell::run(client, &target, reason.as_deref(), records).await,
        None => Err(format!("no client for region {}", target.region)),
    };
    tui.resume()?;
    input.resume();
    Ok(Msg::ShellEnded { target, result })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_follow_closely_only_just_after_input() {
        assert_eq!(frame_gap(Duration::ZERO), TYPING_FRAME_GAP);
        assert_eq!(frame_gap(Duration::from_millis(99)), TYPING_FRAME_GAP);
        assert_eq!(frame_gap(TYPING_WINDOW), FRAME_INTERVAL);
        assert_eq!(frame_gap(Duration::from_secs(5)), FRAME_INTERVAL);
    }
}
