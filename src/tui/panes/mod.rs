//! Shells inside the UI (issue 13): tabs of one to four panes side by side, each pane a live
//! session drawn through its own terminal state ([`screen::PaneScreen`]), a prefix key for
//! the UI's own keys, broadcast to marked panes, and the status line. Plain data like the
//! rest of the model; the sessions run on the executor's tasks (`shell::run_embedded`).

pub mod keys;
pub mod layout;
pub mod screen;
pub mod status;

use std::time::SystemTime;

use crate::tui::model::ShellTarget;
pub use screen::PaneScreen;

/// Panes side by side in one tab, at most.
pub const MAX_PANES: usize = 4;

/// The prefix key's default: ctrl-] (0x1d), telnet's escape. Readline and the common shells
/// leave it unbound, vi uses it for tags only, and it does not collide with tmux (ctrl-b) or
/// screen (ctrl-a) run inside the session; prefix twice sends it.
pub const DEFAULT_PREFIX: &str = "ctrl-]";

/// Where a pane's connection stands, for the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// StartSession and the dial are in flight.
    Opening,
    Open,
    /// The socket dropped; ResumeSession and a new dial are in flight.
    Resuming,
    /// Resumed after a drop (the bar says so until the session ends).
    Resumed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recording {
    /// Not known yet (the session is opening).
    Unknown,
    On,
    /// Off, and why ("recording off: …").
    Off(String),
}

/// How a pane's session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneEnd {
    /// One line: "exited with status 0", "ended: idle timeout…", "could not start: …".
    pub summary: String,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pane {
    pub id: u64,
    pub target: ShellTarget,
    pub session_id: Option<String>,
    /// When the session started (StartSession answered): its age and max duration count
    /// from here.
    pub started_at: Option<SystemTime>,
    /// The last data either way (../shared/protocol.md §7.3: what the idle timeout counts).
    pub last_activity: Option<SystemTime>,
    pub connection: Connection,
    pub recording: Recording,
    /// The last notice from the agent or the transport.
    pub notice: Option<String>,
    pub end: Option<PaneEnd>,
    /// Marked for broadcast.
    pub marked: bool,
    pub screen: PaneScreen,
    /// The size the session was last told (columns, rows).
    pub size: (u16, u16),
}

impl Pane {
    pub fn new(id: u64, target: ShellTarget, size: (u16, u16)) -> Self {
        Self {
            id,
            target,
            session_id: None,
            started_at: None,
            last_activity: None,
            connection: Connection::Opening,
            recording: Recording::Unknown,
            notice: None,
            end: None,
            marked: true,
            screen: PaneScreen::new(size.0, size.1),
            size,
        }
    }

    pub fn is_live(&self) -> bool {
        self.end.is_none()
    }

    /// The target's Name, else its instance id.
    pub fn label(&self) -> &str {
        self.target
            .name
            .as_deref()
            .unwrap_or(self.target.instance_id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tab {
    pub panes: Vec<Pane>,
    pub focused: usize,
}

impl Tab {
    pub fn focused(&self) -> Option<&Pane> {
        self.panes.get(self.focused)
    }

    pub fn is_live(&self) -> bool {
        self.panes.iter().any(Pane::is_live)
    }
}

/// Every tab, which one is on screen, and the prefix and broadcast state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tabs {
    pub tabs: Vec<Tab>,
    pub current: usize,
    /// A tab fills the screen (else the fleet UI does, and the shells keep running).
    pub showing: bool,
    /// The prefix key was pressed: the next key is the UI's.
    pub prefix_armed: bool,
    /// Input goes to the current tab's marked panes.
    pub broadcast: bool,
    /// Lines paged back into the focused pane's scrollback (0: the live screen).
    pub scrollback: usize,
    next_id: u64,
}

impl Tabs {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn current_tab(&self) -> Option<&Tab> {
        self.tabs.get(self.current)
    }

    pub fn current_tab_mut(&mut self) -> Option<&mut Tab> {
        self.tabs.get_mut(self.current)
    }

    pub fn focused(&self) -> Option<&Pane> {
        self.current_tab().and_then(Tab::focused)
    }

    pub fn pane_mut(&mut self, id: u64) -> Option<&mut Pane> {
        self.tabs
            .iter_mut()
            .flat_map(|t| t.panes.iter_mut())
            .find(|p| p.id == id)
    }

    pub fn pane(&self, id: u64) -> Option<&Pane> {
        self.tabs
            .iter()
            .flat_map(|t| t.panes.iter())
            .find(|p| p.id == id)
    }

    pub fn live_panes(&self) -> usize {
        self.tabs
            .iter()
            .flat_map(|t| t.panes.iter())
            .filter(|p| p.is_live())
            .count()
    }
}
