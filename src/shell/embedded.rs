//! A session whose terminal is a pane of the UI rather than this process's stdio (issue 13):
//! the same start ([`open_channel`]), the same reading of its end ([`end_of`]), the same
//! abandon ([`abandon_session`]) and the same records ([`LiveRecords`]) as the terminal pump,
//! but output goes to the UI through a bounded queue and input comes from it. The UI owns
//! the terminal emulator; this side never touches the local terminal.

use std::time::Duration;

use tokio::sync::mpsc;

use super::error::ShellError;
use super::open::{open_channel, terminator_for};
use super::outcome::{ShellEnd, ShellOutcome};
use super::pump::{abandon_session, end_of};
use super::records::{LiveRecords, SessionRecords};
use crate::aws::{AwsClient, StartSessionRequest};
use crate::transport::{ChannelEvent, InputSender, SessionChannel};

/// Output gathered from ready events before one hand-over to the UI, as in the terminal pump.
const OUTPUT_BATCH_BYTES: usize = 64 * 1024;

/// What the UI sends a running embedded session besides keystrokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneControl {
    /// The pane's new size (columns, rows).
    Resize(u16, u16),
    /// End the session (the pane was closed, the UI quits).
    Close,
}

/// What an embedded session tells the UI, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaneEvent {
    /// StartSession answered and the data channel is dialled.
    Started {
        session_id: String,
    },
    /// Whether the session is recorded, and if not why (`None` when it is).
    Recording {
        off_because: Option<String>,
    },
    /// Remote output (stdout and stderr, as a terminal gets them).
    Output(Vec<u8>),
    /// A line of gangway's or the agent's own (a resume notice, the agent's notice).
    Notice(String),
    Reconnecting,
    Reconnected,
}

/// The UI's ends of an embedded session's queues.
pub struct PaneIo {
    /// Keystrokes, already encoded as a terminal would send them.
    pub input: mpsc::Receiver<Vec<u8>>,
    pub control: mpsc::Receiver<PaneControl>,
    /// Bounded: a UI that falls behind slows the session down (the transport stops reading,
    /// §5.2), it never makes this side buffer more.
    pub events: mpsc::Sender<PaneEvent>,
}

/// Starts the session `request` asks for and runs it until it ends, with the pane's `size`
/// (columns, rows) as its first input and its recording's size.
pub async fn run_embedded(
    client: &AwsClient,
    request: &StartSessionRequest,
    records: &SessionRecords,
    size: (u16, u16),
    io: PaneIo,
) -> Result<ShellOutcome, ShellError> {
    let (channel, session_id) = open_channel(client, request).await?;
    let PaneIo {
        input,
        mut control,
        events,
    } = io;
    let _ = events
        .send(PaneEvent::Started {
            session_id: session_id.clone(),
        })
        .await;
    let live = LiveRecords::start(records, &session_id, &request.target, Some(size)).await;
    let terminate = terminator_for(client.clone(), session_id.clone());
    let mut pump = Embedded {
        channel,
        records: live,
        events,
        exit_code: None,
        held: None,
    };
    pump.tell_recording().await;
    let _ = pump.channel.input().resize(size.0, size.1).await;
    pump.records.resize(size.0, size.1);
    let forwarder = tokio::spawn(forward_input(
        input,
        pump.channel.input(),
        pump.records.clock(),
    ));
    let end = pump.run(&mut control).await;
    let end = match end {
        Some(end) => end,
        None => {
            abandon_session(&terminate, &mut pump.channel).await;
            ShellEnd::Closed
        }
    };
    forwarder.abort();
    let exit_code = pump.exit_code;
    pump.records.finish().await;
    Ok(ShellOutcome {
        session_id,
        end,
        remote_exit_code: exit_code,
    })
}

/// Keystrokes to the session, in order, touching the activity clock as the stdin pump does
/// (input is activity for the idle timeout, ../shared/protocol.md §7.3). Its own task, so
/// output keeps flowing while input waits for the channel's capacity.
async fn forward_input(
    mut input: mpsc::Receiver<Vec<u8>>,
    sender: InputSender,
    clock: std::sync::Arc<crate::local::activity::ActivityClock>,
) {
    while let Some(bytes) = input.recv().await {
        clock.touch();
        if sender.send_input(bytes).await.is_err() {
            return;
        }
    }
}

struct Embedded {
    channel: SessionChannel,
    records: LiveRecords,
    events: mpsc::Sender<PaneEvent>,
    exit_code: Option<i32>,
    /// A non-output event met while batching output.
    held: Option<ChannelEvent>,
}

impl Embedded {
    /// Runs until the session ends (`Some`) or the UI closes it (`None`).
    async fn run(&mut self, control: &mut mpsc::Receiver<PaneControl>) -> Option<ShellEnd> {
        let mut activity_tick = tokio::time::interval(crate::local::activity::WRITE_EVERY);
        activity_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let event = match self.held.take() {
                Some(event) => Some(event),
                None => tokio::select! {
                    event = self.channel.next_event() => event,
                    _ = activity_tick.tick() => {
                        self.records.tick();
                        continue;
                    }
                    command = control.recv() => match command {
                        Some(PaneControl::Resize(cols, rows)) => {
                            self.records.resize(cols, rows);
                            let _ = self.channel.input().resize(cols, rows).await;
                            continue;
                        }
                        Some(PaneControl::Close) | None => return None,
                    },
                },
            };
            let Some(event) = event else {
                return Some(ShellEnd::ConnectionLost {
                    error: "the data channel stopped".into(),
                });
            };
            if let Some(end) = self.on_event(event).await {
                return Some(end);
            }
        }
    }

    async fn on_event(&mut self, event: ChannelEvent) -> Option<ShellEnd> {
        match event {
            ChannelEvent::Opened => tracing::info!("embedded session open"),
            ChannelEvent::Output(bytes) | ChannelEvent::Stderr(bytes) => {
                let batch = self.gather_output(bytes);
                self.records.output(&batch);
                self.send(PaneEvent::Output(batch)).await;
                if self.records.take_notice().is_some() {
                    self.tell_recording().await;
                }
            }
            ChannelEvent::Notice(text) => self.send(PaneEvent::Notice(text)).await,
            ChannelEvent::ExitCode(code) => self.exit_code = Some(code),
            ChannelEvent::PortSession(_) | ChannelEvent::Flag(_) => {}
            ChannelEvent::Reconnecting => {
                tracing::warn!("connection dropped; resuming");
                self.send(PaneEvent::Reconnecting).await;
            }
            ChannelEvent::Reconnected => {
                tracing::info!("connection resumed");
                self.send(PaneEvent::Reconnected).await;
            }
            last @ (ChannelEvent::Closed { .. } | ChannelEvent::Lost(_)) => return end_of(last),
        }
        None
    }

    /// Whether the session is recorded: told once at the start and again when a failure
    /// (a full disk) stopped it. The records keep the reason in their notice.
    async fn tell_recording(&mut self) {
        let off_because = match (self.records.recording(), self.records.take_notice()) {
            (true, _) => None,
            (false, Some(why)) => Some(why),
            (false, None) => Some(RECORDING_OFF_IN_CONFIG.to_owned()),
        };
        self.send(PaneEvent::Recording { off_because }).await;
    }

    fn gather_output(&mut self, first: Vec<u8>) -> Vec<u8> {
        let mut batch = first;
        while batch.len() < OUTPUT_BATCH_BYTES {
            match self.channel.try_next_event() {
                Some(ChannelEvent::Output(more) | ChannelEvent::Stderr(more)) => {
                    batch.extend_from_slice(&more)
                }
                Some(other) => {
                    self.held = Some(other);
                    break;
                }
                None => break,
            }
        }
        batch
    }

    /// Waits for room in the UI's queue: a UI that is gone is no reason to stop reading the
    /// session (its end still has to be read and recorded).
    async fn send(&mut self, event: PaneEvent) {
        if tokio::time::timeout(UI_GONE_AFTER, self.events.send(event))
            .await
            .is_err()
        {
            tracing::warn!("the UI took no output for {UI_GONE_AFTER:?}");
        }
    }
}

/// Why a session is not recorded when the records gave no reason: the config turned it off.
const RECORDING_OFF_IN_CONFIG: &str = "recording off: [recording] enabled = false";

/// How long one hand-over to the UI may wait before the output is dropped with a warning (a
/// UI stopped with SIGTSTP, say): the session itself must go on.
const UI_GONE_AFTER: Duration = Duration::from_secs(30);
