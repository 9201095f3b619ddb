//! One embedded shell's task on the UI's runtime: the session (`shell::run_embedded`) and,
//! beside it, the feeder that puts its output on the pane's screen and tells the UI, at
//! most once a millisecond, that the pane changed. The UI never parses output itself, so a
//! flood cannot hold up its keys (the prefix key included).

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use crate::aws::{AwsClient, StartSessionRequest};
use crate::shell::{PaneControl, PaneEvent, PaneIo, SessionRecords};
use crate::tui::model::ShellTarget;
use crate::tui::msg::{Msg, PaneMsg};
use crate::tui::panes::PaneScreen;

/// Keystroke messages waiting for the session, at most (a paste is one message). Past it,
/// input is refused with a notice rather than buffered without bound.
pub const INPUT_QUEUE: usize = 1024;
/// Output hand-overs (up to 64 KiB each) waiting for the feeder, at most.
const OUTPUT_QUEUE: usize = 16;
/// The feeder tells the UI about new output at most this often. Not a whole frame: the UI's
/// loop already coalesces frames (60 per second in a flood), and news held back for a frame
/// made a keystroke's echo wait up to 16 ms (p99 19 ms in `benches/tabs.rs`); a message a
/// millisecond costs the UI nothing.
const OUTPUT_NEWS_EVERY: Duration = Duration::from_millis(1);

/// The UI's handles on a running pane.
pub struct PaneTask {
    pub input: mpsc::Sender<Vec<u8>>,
    pub control: mpsc::Sender<PaneControl>,
    pub task: JoinHandle<()>,
}

pub struct PaneStart {
    pub id: u64,
    pub target: ShellTarget,
    pub reason: Option<String>,
    pub size: (u16, u16),
    pub screen: PaneScreen,
}

/// Spawns the session of pane `start.id`.
pub fn spawn(
    client: AwsClient,
    start: PaneStart,
    records: SessionRecords,
    messages: UnboundedSender<Msg>,
) -> PaneTask {
    let (input_tx, input) = mpsc::channel(INPUT_QUEUE);
    let (control_tx, control) = mpsc::channel(8);
    let (events, events_rx) = mpsc::channel(OUTPUT_QUEUE);
    let PaneStart {
        id,
        target,
        reason,
        size,
        screen,
    } = start;
    let task = tokio::spawn(async move {
        let request = StartSessionRequest {
            target: target.instance_id.to_string(),
            document_name: None,
            parameters: Default::default(),
            reason,
        };
        let io = PaneIo {
            input,
            control,
            events,
        };
        let session = crate::shell::run_embedded(&client, &request, &records, size, io);
        let feeder = feed(id, events_rx, screen, messages.clone());
        let (result, ()) = tokio::join!(session, feeder);
        let result = result
            .map(|outcome| crate::tui::shell::report(&outcome))
            .map_err(|error| error.to_string());
        let _ = messages.send(Msg::Pane {
            id,
            event: PaneMsg::Ended(result),
        });
    });
    PaneTask {
        input: input_tx,
        control: control_tx,
        task,
    }
}

/// Output onto the screen, everything else to the UI, until the session drops its sender.
async fn feed(
    id: u64,
    mut events: mpsc::Receiver<PaneEvent>,
    screen: PaneScreen,
    messages: UnboundedSender<Msg>,
) {
    let send = |event| {
        let _ = messages.send(Msg::Pane { id, event });
    };
    let mut last_news = Instant::now() - OUTPUT_NEWS_EVERY;
    let mut untold = false;
    loop {
        let event = if untold {
            // Something is on the screen the UI has not heard of: say so once the next
            // frame is due, or earlier if nothing else comes.
            match tokio::time::timeout(OUTPUT_NEWS_EVERY, events.recv()).await {
                Ok(event) => event,
                Err(_) => {
                    send(PaneMsg::Output {
                        at: SystemTime::now(),
                    });
                    last_news = Instant::now();
                    untold = false;
                    continue;
                }
            }
        } else {
            events.recv().await
        };
        let Some(event) = event else {
            break;
        };
        match event {
            PaneEvent::Output(bytes) => {
                screen.feed(&bytes);
                if last_news.elapsed() >= OUTPUT_NEWS_EVERY {
                    send(PaneMsg::Output {
                        at: SystemTime::now(),
                    });
                    last_news = Instant::now();
                    untold = false;
                } else {
                    untold = true;
                }
            }
            PaneEvent::Started { session_id } => send(PaneMsg::Started {
                session_id,
                at: SystemTime::now(),
            }),
            PaneEvent::Recording { off_because } => send(PaneMsg::Recording { off_because }),
            PaneEvent::Notice(text) => send(PaneMsg::Notice(text)),
            PaneEvent::Reconnecting => send(PaneMsg::Reconnecting),
            PaneEvent::Reconnected => send(PaneMsg::Reconnected),
        }
    }
    if untold {
        send(PaneMsg::Output {
            at: SystemTime::now(),
        });
    }
}
