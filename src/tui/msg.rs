//! Everything that can happen to the UI: keys, resizes, the clock, and answers from the AWS
//! tasks started by effects. Answers carry plain data (no SDK types, no errors with secrets).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use crate::aws::types::{
    CommandInfo, Instance, InstanceId, InvocationInfo, InvocationOutput, SessionEvent, SessionInfo,
    SessionPreferences,
};
use crate::aws::{Diagnosis, HistoryFilter};
use crate::tui::model::{LoadError, ShellTarget};
use crate::tunnel::TunnelEvent;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste of the terminal gangway runs in).
    Paste(String),
    Mouse(MouseEvent),
    /// What shell pane `id`'s session did.
    Pane {
        id: u64,
        event: PaneMsg,
    },
    Resize(u16, u16),
    Tick(SystemTime),
    FleetLoaded {
        region: String,
        result: Result<Vec<Instance>, LoadError>,
    },
    Connectivity {
        id: InstanceId,
        result: Result<Diagnosis, LoadError>,
    },
    SessionsLoaded {
        region: String,
        result: Result<Vec<SessionInfo>, LoadError>,
    },
    HistoryLoaded {
        region: String,
        query: HistoryFilter,
        result: Result<HistoryPage, LoadError>,
    },
    PreferencesLoaded {
        region: String,
        result: Result<SessionPreferences, LoadError>,
    },
    AuditLoaded {
        region: String,
        result: Result<Vec<SessionEvent>, LoadError>,
    },
    Terminated {
        session_id: String,
        result: Result<(), LoadError>,
    },
    ShellEnded {
        target: ShellTarget,
        result: Result<ShellReport, String>,
    },
    /// SendCommand answered.
    CommandSent {
        region: String,
        result: Result<CommandInfo, LoadError>,
    },
    CommandsLoaded {
        region: String,
        result: Result<Vec<CommandInfo>, LoadError>,
    },
    /// One round of a command's invocations (every page), and how many pages it took.
    InvocationsLoaded {
        command_id: String,
        result: Result<(Vec<InvocationInfo>, usize), LoadError>,
    },
    OutputLoaded {
        command_id: String,
        instance_id: String,
        result: Result<InvocationOutput, LoadError>,
    },
    /// AWS throttled a Run Command call, which waits to be tried again (`aws::retry`): the
    /// line says so and when.
    Retrying(String),
    /// The last activity of every session a gangway process on this machine runs, by session
    /// id, from their activity files (`local::activity`); read with each sessions load.
    LocalActivity(HashMap<String, SystemTime>),
    /// What tunnel `id` reported (the tunnel layer's own events).
    Tunnel {
        id: u64,
        event: TunnelEvent,
    },
    /// Tunnel `id`'s byte totals, `interval` after its previous sample.
    TunnelTraffic {
        id: u64,
        up: u64,
        down: u64,
        interval: Duration,
    },
    /// Tunnel `id` is over (stopped, failed to start, gave up), with why.
    TunnelEnded {
        id: u64,
        reason: String,
    },
}

/// An embedded shell's news, as plain data (`shell::PaneEvent` less the output bytes, which
/// went to the pane's screen).
#[derive(Debug, Clone, PartialEq)]
pub enum PaneMsg {
    Started {
        session_id: String,
        at: SystemTime,
    },
    Recording {
        off_because: Option<String>,
    },
    /// Output arrived (and is on the pane's screen) at `at`.
    Output {
        at: SystemTime,
    },
    Notice(String),
    Reconnecting,
    Reconnected,
    /// The session is over (`Err`: it never started, and why).
    Ended(Result<ShellReport, String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub sessions: Vec<SessionInfo>,
    pub next_token: Option<String>,
}

/// How a shell opened from the UI ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellReport {
    pub session_id: Option<String>,
    /// One line: "exited with status 0", "terminated by idle timeout", …
    pub summary: String,
    pub ended_at: SystemTime,
    /// The remote shell's exit status, when the protocol carried one.
    pub exit_code: Option<i32>,
}
