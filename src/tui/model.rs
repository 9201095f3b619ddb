//! The whole state of the UI as plain data. Nothing here does IO or reads the clock: time
//! arrives as `Msg::Tick(now)`, data as messages, so `update` and the views are pure and tests
//! build a `Model` from fixtures.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use crate::aws::types::{
    CommandInfo, Instance, InstanceId, InvocationInfo, InvocationOutput, SendCommandRequest,
    SessionEvent, SessionInfo, SessionPreferences,
};
use crate::aws::{Diagnosis, HistoryFilter};
use crate::shell::SessionRecords;
use crate::tui::fleet_list::FleetState;
use crate::tui::keymap::{Keymap, Scope};
use crate::tui::session_list::SessionView;

/// What fills the body of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Fleet,
    Sessions,
    History,
    Preferences,
    /// Session events from CloudTrail (`:audit`), the `gangway audit` list.
    Audit,
    Help,
    /// Recent Run Command commands (ListCommands).
    Commands,
    /// One command: each instance's status, live, and an instance's output.
    Command,
    /// The tunnels this UI runs (`:tunnels`).
    Tunnels,
}

impl Screen {
    /// The keymap scope of a screen (help and preferences only take global keys).
    pub fn scope(self) -> Scope {
        match self {
            Self::Fleet => Scope::Fleet,
            Self::Sessions => Scope::Sessions,
            Self::History => Scope::History,
            Self::Commands | Self::Command => Scope::Commands,
            Self::Tunnels => Scope::Tunnels,
            Self::Preferences | Self::Audit | Self::Help => Scope::Global,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Fleet => "fleet",
            Self::Sessions => "sessions",
            Self::History => "history",
            Self::Preferences => "preferences",
            Self::Audit => "audit",
            Self::Help => "help",
            Self::Commands => "commands",
            Self::Command => "command",
            Self::Tunnels => "tunnels",
        }
    }
}

/// Who gets the keys right now.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// Typing into the fleet filter; the filter applies on every keystroke.
    Filter,
    Command(String),
    Confirm(Confirm),
    Reason(ReasonPrompt),
    /// The one-line command to run on the fleet's marked (or shown) instances.
    Run(RunPrompt),
    /// The whole last message (status, banner, config warning) in a popup; any key closes it.
    Message,
    /// `:info`: who, where and how to join from another terminal; any key closes it.
    Info,
    /// One session in full (a history row); any key closes it.
    Session(Box<SessionInfo>),
    /// The form that starts a tunnel to the selected instance.
    TunnelForm(crate::tui::tunnel_list::TunnelForm),
}

/// A destructive action waiting for `y` (gitui's confirm popup, style.md §3).
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub title: String,
    /// The popup escapes them (escaping twice changes nothing).
    pub lines: Vec<String>,
    pub action: Confirmed,
}

/// What `y` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirmed {
    Terminate(Vec<SessionRef>),
    Run(Box<PendingRun>),
    /// Stop this tunnel (of `Model::tunnels`).
    StopTunnel(u64),
    /// Close this shell pane, ending its live session.
    ClosePane(u64),
    /// Send input to every marked pane of the tab.
    Broadcast,
    /// Quit, ending the live sessions of the shell tabs.
    Quit,
}

impl Confirmed {
    /// The words beside `y` and `n` in the popup.
    pub fn answers(&self) -> (&'static str, &'static str) {
        match self {
            Self::Terminate(_) => ("terminate", "keep them"),
            Self::Run(_) => ("run it", "do nothing"),
            Self::StopTunnel(_) => ("stop it", "keep it"),
            Self::ClosePane(_) => ("close it", "keep it"),
            Self::Broadcast => ("broadcast", "don't"),
            Self::Quit => ("quit", "stay"),
        }
    }
}

/// A command typed and checked, waiting for its confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRun {
    pub region: String,
    pub request: SendCommandRequest,
}

/// The run prompt: the instances were chosen when it opened (marks, else the filter).
#[derive(Debug, Clone, PartialEq)]
pub struct RunPrompt {
    pub targets: Vec<Instance>,
    pub text: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionRef {
    pub session_id: String,
    pub region: String,
}

/// The instance a shell is about to open on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellTarget {
    pub instance_id: InstanceId,
    pub name: Option<String>,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReasonPrompt {
    pub target: ShellTarget,
    pub text: String,
    pub error: Option<String>,
}

/// Whether a reason must be given before a shell opens (config `[shell] reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasonMode {
    Required,
    Optional,
    #[default]
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Load {
    #[default]
    Idle,
    Loading,
    Loaded(SystemTime),
    /// The last attempt failed at this time; the next automatic one waits a full interval.
    Failed(SystemTime),
}

/// An AWS failure reduced to what the screen needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Expired or missing credentials: a banner, the data stays.
    Credentials,
    /// The endpoint cannot be reached: a banner, the data stays.
    Unreachable,
    AccessDenied,
    Other,
}

impl ErrorKind {
    pub fn wants_banner(self) -> bool {
        matches!(self, Self::Credentials | Self::Unreachable)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub level: Level,
    /// One line: what happened, then why ("no shell on web-1: denied because …").
    pub text: String,
    /// Where the reason starts in `text` (a byte offset): the status line may cut what comes
    /// before it to make room, never the reason itself.
    pub reason_at: usize,
    /// What to do about it: after the text when the line has room, always in the popup.
    pub hint: Option<String>,
    /// The whole message as AWS or the shell gave it, for the popup (`m`).
    pub detail: Option<String>,
    /// The load this failure came from ("fleet (us-east-1)"): its next success clears it.
    pub source: Option<String>,
}

impl Status {
    pub fn new(level: Level, text: impl Into<String>) -> Self {
        Self {
            level,
            text: text.into(),
            reason_at: 0,
            hint: None,
            detail: None,
            source: None,
        }
    }

    /// "`what`: `reason`", where only `what` may be cut on screen.
    pub fn because(level: Level, what: &str, reason: &str) -> Self {
        Self {
            reason_at: what.len() + 2,
            ..Self::new(level, format!("{what}: {reason}"))
        }
    }

    /// `what` failed with `message`: the line carries the reason, the popup the whole text.
    pub fn failure(what: &str, message: &str, hint: Option<&str>) -> Self {
        let reason = reason_of(message);
        let (reason, advice) = split_advice(&reason);
        Self {
            hint: hint.or(advice).map(str::to_owned),
            detail: Some(message.to_owned()),
            ..Self::because(Level::Error, what, reason)
        }
    }

    /// Whether the popup has more to say than the text.
    pub fn has_more(&self) -> bool {
        self.hint.is_some() || self.detail_beyond_text().is_some()
    }

    /// The whole message, unless the text already ends with all of it (a short error).
    pub fn detail_beyond_text(&self) -> Option<&str> {
        self.detail
            .as_deref()
            .filter(|d| !self.text.ends_with(d.trim()))
    }
}

/// The part of an AWS error a user acts on. Denials name the caller's ARN, the action and the
/// resource before the reason ("User: arn:… is not authorized to perform: ssm:TerminateSession
/// on resource: arn:… because the session belongs to another user"); the reason is what is
/// kept, the rest stays in the popup. Other messages are short already and kept whole.
pub fn reason_of(message: &str) -> String {
    let message = message.trim();
    let denied = message.contains("is not authorized to perform")
        || message.to_ascii_lowercase().starts_with("access denied");
    if let Some(at) = message.rfind(" because ") {
        let why = message[at + 1..].trim_end_matches('.');
        return if denied {
            format!("denied {why}")
        } else {
            why.to_owned()
        };
    }
    if let Some((_, rest)) = message.split_once("is not authorized to perform: ") {
        let action = rest.split_whitespace().next().unwrap_or(rest);
        return format!("denied: not authorized to perform {action}");
    }
    message.to_owned()
}

/// A shell's error line ends a denial with its advice in parentheses ("… because no policy
/// allows it (ask an administrator …)"): the advice is shown after the reason when it fits.
fn split_advice(reason: &str) -> (&str, Option<&str>) {
    if reason.starts_with("denied")
        && reason.ends_with(')')
        && let Some(at) = reason.rfind(" (")
    {
        return (&reason[..at], Some(&reason[at + 2..reason.len() - 1]));
    }
    (reason, None)
}

/// A multi-session terminate in flight: each answer is kept until the last one arrives, then
/// all of them are reported together (issue 16, bug 4).
#[derive(Debug, Clone, PartialEq)]
pub struct TerminateBatch {
    pub asked: Vec<String>,
    pub done: Vec<String>,
    pub failed: Vec<(String, LoadError)>,
}

impl TerminateBatch {
    pub fn new(asked: Vec<String>) -> Self {
        Self {
            asked,
            done: Vec::new(),
            failed: Vec::new(),
        }
    }

    pub fn answered(&self) -> bool {
        self.done.len() + self.failed.len() >= self.asked.len()
    }
}

/// `GetConnectionStatus` plus the diagnosis in plain words (from `aws::diagnose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connectivity {
    Checking,
    /// The diagnosis with GetConnectionStatus's answer folded in.
    Known(Diagnosis),
    Failed(String),
}

/// Settings from the config file and the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub tag_filters: Vec<(String, String)>,
    /// Tags the user's access is limited to, when known (the demo knows its user's scope);
    /// the diagnosis says "outside your tag scope" for instances without them.
    pub scope_tags: Vec<(String, String)>,
    /// Tags shown as their own columns in the fleet table.
    pub tag_columns: Vec<String>,
    pub refresh_every: Duration,
    pub sessions_refresh_every: Duration,
    pub reason_mode: ReasonMode,
    pub reason_pattern: Option<regex_lite::Regex>,
    /// A reason that matches the pattern, shown in the prompt (`[shell] reason_example`, or
    /// made from the pattern by `tui::reason_example`).
    pub reason_example: Option<String>,
    /// The user name sessions are owned by (`dev` in the demo); marks "own" sessions.
    pub identity: Option<String>,
    /// `[display] utc = true` in the config file (`--utc` does the same).
    pub utc: bool,
    /// The zone times are shown in, with its name (`crate::tui::clock`).
    pub time_zone: crate::tui::clock::TimeZone,
    /// The endpoint the UI talks to when it is not AWS's own (the demo's emulator,
    /// `--endpoint-url`): `:info` shows it so a second terminal can join.
    pub endpoint: Option<String>,
    /// The demo's access key id, for `:info`'s ready-made `gangway connect` line (the
    /// emulator checks no secret: any works).
    pub connect_as: Option<String>,
    /// Where shells opened here are recorded and keep their activity file.
    pub records: SessionRecords,
    /// The config's `[[accounts]]`: loaded when no `--profile` is given (issue 13).
    pub accounts: Vec<crate::aws::AccountSpec>,
    /// `[shell] embedded`: shells open in tabs inside the UI (true) or take the whole
    /// terminal until they end (false, the hand-over).
    pub embedded_shells: bool,
    /// `[shell] prefix`: the key before the UI's own keys inside a shell tab.
    pub prefix: crate::tui::chord::Chord,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tag_filters: Vec::new(),
            scope_tags: Vec::new(),
            tag_columns: Vec::new(),
            refresh_every: Duration::from_secs(60),
            sessions_refresh_every: Duration::from_secs(5),
            reason_mode: ReasonMode::Off,
            reason_pattern: None,
            reason_example: None,
            identity: None,
            utc: false,
            time_zone: crate::tui::clock::TimeZone::UTC,
            endpoint: None,
            connect_as: None,
            records: SessionRecords::default(),
            accounts: Vec::new(),
            embedded_shells: true,
            prefix: crate::tui::chord::Chord::parse(crate::tui::panes::DEFAULT_PREFIX).unwrap_or(
                crate::tui::chord::Chord {
                    code: ratatui::crossterm::event::KeyCode::Char(']'),
                    ctrl: true,
                    alt: false,
                },
            ),
        }
    }
}

/// A list with a selection and a scroll offset kept by `update`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub selected: usize,
    pub offset: usize,
}

impl Cursor {
    /// Clamps to `len` rows and scrolls so the selection stays inside `page` visible rows.
    pub fn settle(&mut self, len: usize, page: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        let page = page.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        self.offset = self.offset.min(len.saturating_sub(page));
    }
}

#[derive(Debug, Clone)]
pub struct SessionsState {
    pub by_region: BTreeMap<String, Vec<SessionInfo>>,
    /// Merged, newest first.
    pub items: Vec<SessionInfo>,
    pub marked: BTreeSet<String>,
    /// Filter and sort: the rows shown, which the cursor moves over.
    pub view: SessionView,
    pub cursor: Cursor,
    pub load: Load,
}

#[derive(Debug, Clone)]
pub struct HistoryState {
    pub query: HistoryFilter,
    pub items: Vec<SessionInfo>,
    /// Regions with more pages, and the token of the next one.
    pub next_tokens: BTreeMap<String, String>,
    pub pending_regions: BTreeSet<String>,
    pub view: SessionView,
    pub cursor: Cursor,
    pub load: Load,
}

/// Recent commands of every region, newest first.
#[derive(Debug, Clone, Default)]
pub struct CommandsState {
    pub by_region: BTreeMap<String, Vec<CommandInfo>>,
    /// Merged, newest first, with their region.
    pub items: Vec<(String, CommandInfo)>,
    pub cursor: Cursor,
    pub load: Load,
}

/// One command followed live: its invocations re-read by pages, paced like `gangway run`.
#[derive(Debug, Clone)]
pub struct CommandView {
    pub command_id: String,
    pub region: String,
    /// From the commands list or SendCommand's answer, when known.
    pub info: Option<CommandInfo>,
    pub invocations: Vec<InvocationInfo>,
    /// Pages the last round read (the pause before the next round grows with them).
    pub pages: usize,
    pub cursor: Cursor,
    pub load: Load,
    pub output: Option<OutputPane>,
}

impl CommandView {
    pub fn new(command_id: String, region: String, info: Option<CommandInfo>) -> Self {
        Self {
            command_id,
            region,
            info,
            invocations: Vec::new(),
            pages: 0,
            cursor: Cursor::default(),
            load: Load::Idle,
            output: None,
        }
    }

    /// Done when every invocation has finished and AWS has made as many as it targets.
    pub fn finished(&self) -> bool {
        let targets = self
            .info
            .as_ref()
            .map_or(0, |i| usize::try_from(i.target_count).unwrap_or(0));
        !self.invocations.is_empty()
            && self.invocations.len() >= targets
            && self.invocations.iter().all(InvocationInfo::is_finished)
    }
}

/// One instance's output (GetCommandInvocation), under the invocations.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputPane {
    pub instance_id: String,
    /// `None` while it loads; an error line when it failed.
    pub result: Option<Result<InvocationOutput, String>>,
}

/// AWS's default when the preferences leave the idle timeout empty.
pub const DEFAULT_IDLE_TIMEOUT_MINUTES: u32 = 20;

/// The last stretch before a session's idle timeout or maximum duration in which the UI
/// warns (red countdowns, the shell's status line and its notice).
pub const WARNING_WINDOW: Duration = Duration::from_secs(120);

/// A shell this UI opened: the only sessions whose activity it can know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedSession {
    pub last_activity: SystemTime,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub now: SystemTime,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub screen: Screen,
    pub back_stack: Vec<Screen>,
    pub mode: Mode,
    pub keymap: Keymap,
    pub settings: Settings,
    pub regions: Vec<String>,
    pub fleet: FleetState,
    pub sessions: SessionsState,
    pub history: HistoryState,
    pub tunnels: crate::tui::tunnel_list::TunnelsState,
    pub preferences: BTreeMap<String, SessionPreferences>,
    pub preferences_load: Load,
    /// Each region's session events of the last day, newest first (`:audit`).
    pub audit: BTreeMap<String, Vec<SessionEvent>>,
    pub audit_load: Load,
    pub commands: CommandsState,
    /// The command on the command screen.
    pub command: Option<CommandView>,
    pub opened: HashMap<String, OpenedSession>,
    /// Last activity of the sessions gangway processes on this machine run (`gangway
    /// connect` in another terminal included), from their activity files.
    pub local_activity: HashMap<String, SystemTime>,
    pub status: Option<Status>,
    /// The terminate whose answers are still arriving.
    pub terminating: Option<TerminateBatch>,
    /// First line of the help screen on display.
    pub help_scroll: usize,
    pub banner: Option<Banner>,
    pub config_warning: Option<String>,
    pub quit: bool,
    /// Shells inside the UI: tabs, panes, the prefix key's state (issue 13).
    pub tabs: crate::tui::panes::Tabs,
}

impl Model {
    pub fn new(now: SystemTime, regions: Vec<String>, keymap: Keymap, settings: Settings) -> Self {
        Self {
            now,
            size: (80, 24),
            screen: Screen::Fleet,
            back_stack: Vec::new(),
            mode: Mode::Normal,
            keymap,
            fleet: FleetState::new(settings.tag_columns.clone()),
            settings,
            regions,
            sessions: SessionsState {
                by_region: BTreeMap::new(),
                items: Vec::new(),
                marked: BTreeSet::new(),
                view: SessionView::default(),
                cursor: Cursor::default(),
                load: Load::Idle,
            },
            history: HistoryState {
                query: HistoryFilter::default(),
                items: Vec::new(),
                next_tokens: BTreeMap::new(),
                pending_regions: BTreeSet::new(),
                view: SessionView::default(),
                cursor: Cursor::default(),
                load: Load::Idle,
            },
            tunnels: Default::default(),
            preferences: BTreeMap::new(),
            preferences_load: Load::Idle,
            audit: BTreeMap::new(),
            audit_load: Load::Idle,
            commands: CommandsState::default(),
            command: None,
            opened: HashMap::new(),
            local_activity: HashMap::new(),
            status: None,
            terminating: None,
            help_scroll: 0,
            banner: None,
            config_warning: None,
            quit: false,
            tabs: Default::default(),
        }
    }

    /// More than one region among the locations (`ACCOUNT/REGION` or `REGION`).
    pub fn multi_region(&self) -> bool {
        let mut regions = self
            .regions
            .iter()
            .map(|location| location.rsplit('/').next().unwrap_or(location));
        let first = regions.next();
        regions.any(|region| Some(region) != first)
    }

    /// Where the UI looks, for the title line: its regions, or with several accounts how
    /// many of each (`2 accounts × 2 regions`), which a list of every pair would not fit.
    pub fn where_label(&self) -> String {
        if !self.multi_account() {
            return self.regions.join(",");
        }
        let regions: BTreeSet<&str> = self
            .regions
            .iter()
            .map(|location| location.rsplit('/').next().unwrap_or(location))
            .collect();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{} × {}",
            plural(self.settings.accounts.len(), "account"),
            plural(regions.len(), "region")
        )
    }

    /// Several accounts are shown (`--profile a,b`, `[[accounts]]`): the ACCOUNT column.
    pub fn multi_account(&self) -> bool {
        !self.settings.accounts.is_empty()
    }

    /// Rows of the body table on the current screen (the same layout the views draw).
    pub fn page_rows(&self) -> usize {
        let chrome = crate::tui::views::layout::Chrome::of(self);
        let rows = crate::tui::views::layout::table_rows(self.size.1, chrome);
        match self.screen {
            // The history screen spends one line on the filters in force.
            Screen::History => rows.saturating_sub(1),
            Screen::Command => crate::tui::views::layout::command_table_rows(
                rows,
                self.command.as_ref().is_some_and(|v| v.output.is_some()),
            ),
            _ => rows,
        }
    }

    /// Whether a session belongs to the user of this UI: opened here, or owned by the identity.
    pub fn is_own(&self, session: &SessionInfo) -> bool {
        if self.opened.contains_key(&session.session_id) {
            return true;
        }
        self.settings
            .identity
            .as_deref()
            .is_some_and(|me| session.owner == me || session.owner.rsplit('/').next() == Some(me))
    }

    /// The filter of the list on screen (`None` where there is no list).
    pub fn list_filter(&self) -> Option<&str> {
        match self.screen {
            Screen::Fleet => Some(&self.fleet.filter),
            Screen::Sessions => Some(&self.sessions.view.filter),
            Screen::History => Some(&self.history.view.filter),
            Screen::Preferences
            | Screen::Audit
            | Screen::Help
            | Screen::Commands
            | Screen::Command
            | Screen::Tunnels => None,
        }
    }

    /// The session on the sessions screen's selected row.
    pub fn selected_session(&self) -> Option<&SessionInfo> {
        let sessions = &self.sessions;
        sessions
            .view
            .item(&sessions.items, sessions.cursor.selected)
    }

    /// The session on the history screen's selected row.
    pub fn selected_history(&self) -> Option<&SessionInfo> {
        let history = &self.history;
        history.view.item(&history.items, history.cursor.selected)
    }

    /// Recomputes the rows of the sessions and history tables (after their data, a filter,
    /// a sort or the fleet's names changed), keeping each selection on the same session.
    pub fn rebuild_session_rows(&mut self) {
        let fleet = &self.fleet;
        for (list, cursor, items) in [
            (
                &mut self.sessions.view,
                &mut self.sessions.cursor,
                &self.sessions.items,
            ),
            (
                &mut self.history.view,
                &mut self.history.cursor,
                &self.history.items,
            ),
        ] {
            let selected = list
                .item(items, cursor.selected)
                .map(|s| s.session_id.clone());
            list.rebuild(items, |target| fleet.name_of(target));
            if let Some(at) =
                selected.and_then(|id| list.rows.iter().position(|i| items[*i].session_id == id))
            {
                cursor.selected = at;
            }
        }
    }

    pub fn set_status(&mut self, level: Level, text: impl Into<String>) {
        self.status = Some(Status::new(level, text));
    }

    /// The latest activity this UI knows of for a session: a shell it opened, or an activity
    /// file of any gangway process on this machine.
    pub fn last_activity(&self, session_id: &str) -> Option<SystemTime> {
        let opened = self.opened.get(session_id).map(|o| o.last_activity);
        let local = self.local_activity.get(session_id).copied();
        opened.max(local)
    }

    /// The idle timeout and the maximum duration of sessions in `region`, from its
    /// preferences (AWS's 20-minute idle default when they leave it empty); `None` while the
    /// preferences are not loaded, or for a maximum the account does not set.
    pub fn session_limits(&self, region: &str) -> (Option<Duration>, Option<Duration>) {
        let prefs = self.preferences.get(region);
        let minutes = |m: u32| Duration::from_secs(u64::from(m) * 60);
        let idle = prefs.map(|p| {
            minutes(
                p.idle_session_timeout_minutes
                    .unwrap_or(DEFAULT_IDLE_TIMEOUT_MINUTES),
            )
        });
        let max = prefs
            .and_then(|p| p.max_session_duration_minutes)
            .map(minutes);
        (idle, max)
    }

    pub fn instance_name(&self, target: &str) -> Option<&str> {
        self.fleet.name_of(target)
    }

    /// What the diagnosis knows about the user's access.
    pub fn access_scope(&self) -> crate::aws::AccessScope {
        let mut required_tags = self.settings.tag_filters.clone();
        required_tags.extend(self.settings.scope_tags.iter().cloned());
        crate::aws::AccessScope {
            required_tags,
            access_expired: false,
            // A known tag scope means an engineer's access: advice names whom to ask.
            limited: !self.settings.scope_tags.is_empty(),
        }
    }

    pub fn instance(&self, id: &InstanceId) -> Option<&Instance> {
        self.fleet.get(id)
    }
}
