//! Keys and resizes from a reader thread into the message channel. The thread can be paused
//! (gitui's input pausing) so that, while a live shell owns the terminal, every key goes to
//! the shell: `pause` returns only once the thread has stopped reading.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event};
use tokio::sync::mpsc::UnboundedSender;

use crate::tui::msg::Msg;

const POLL_INTERVAL: Duration = Duration::from_millis(25);
const PAUSE_ACK_TIMEOUT: Duration = Duration::from_secs(2);

enum Control {
    Pause,
    Resume,
}

pub struct Input {
    control: mpsc::Sender<Control>,
    acks: mpsc::Receiver<()>,
}

impl Input {
    pub fn spawn(messages: UnboundedSender<Msg>) -> Self {
        let (control, control_rx) = mpsc::channel();
        let (ack_tx, acks) = mpsc::channel();
        thread::Builder::new()
            .name("gangway-input".into())
            .spawn(move || read_loop(&messages, &control_rx, &ack_tx))
            .map_err(|e| tracing::error!("no input thread: {e}"))
            .ok();
        Self { control, acks }
    }

    /// Stops reading the terminal; returns once the reader acknowledged.
    pub fn pause(&self) {
        if self.control.send(Control::Pause).is_ok() {
            let started = std::time::Instant::now();
            let acked = self.acks.recv_timeout(PAUSE_ACK_TIMEOUT);
            if acked.is_err() {
                tracing::warn!(
                    "the input reader did not pause within {:?}",
                    started.elapsed()
                );
            }
        }
    }

    pub fn resume(&self) {
        let _ = self.control.send(Control::Resume);
    }
}

fn read_loop(
    messages: &UnboundedSender<Msg>,
    control: &mpsc::Receiver<Control>,
    ack: &mpsc::Sender<()>,
) {
    loop {
        match control.try_recv() {
            Ok(Control::Pause) => {
                let _ = ack.send(());
                if !wait_for_resume(control) {
                    return;
                }
            }
            Ok(Control::Resume) | Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => return,
        }
        let msg = match event::poll(POLL_INTERVAL) {
            Ok(true) => match event::read() {
                Ok(Event::Key(key)) => Some(Msg::Key(key)),
                Ok(Event::Resize(cols, rows)) => Some(Msg::Resize(cols, rows)),
                Ok(Event::Paste(text)) => Some(Msg::Paste(text)),
                Ok(Event::Mouse(mouse)) => Some(Msg::Mouse(mouse)),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!("reading the terminal: {e}");
                    None
                }
            },
            Ok(false) => None,
            Err(e) => {
                tracing::warn!("polling the terminal: {e}");
                thread::sleep(POLL_INTERVAL);
                None
            }
        };
        if let Some(msg) = msg
            && messages.send(msg).is_err()
        {
            return;
        }
    }
}

/// Blocks until `Resume`; false when the UI is gone.
fn wait_for_resume(control: &mpsc::Receiver<Control>) -> bool {
    loop {
        match control.recv() {
            Ok(Control::Resume) => return true,
            Ok(Control::Pause) => {}
            Err(_) => return false,
        }
    }
}
