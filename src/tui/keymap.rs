//! Keys map to named actions through data (style.md §3): one table holds every action's name
//! (its key in the config file), help text, the screens it applies to and whether it is
//! dangerous. Input handling, the hint bar, the `?` screen and `--readonly` all read this table,
//! so they cannot disagree.

use ratatui::crossterm::event::KeyEvent;

pub use crate::tui::chord::Chord;

/// Where an action applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Global,
    /// The three lists: fleet, sessions and history (filter and sort).
    Lists,
    Fleet,
    Sessions,
    History,
    /// The commands list and one command's view.
    Commands,
    Tunnels,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Self::Global => "everywhere",
            Self::Lists => "fleet, sessions, history",
            Self::Fleet => "fleet",
            Self::Sessions => "sessions",
            Self::History => "history",
            Self::Commands => "commands",
            Self::Tunnels => "tunnels",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Back,
    Help,
    Command,
    Message,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Refresh,
    ShowFleet,
    ShowSessions,
    ShowHistory,
    ShowPreferences,
    ShowCommands,
    Filter,
    SortNext,
    SortReverse,
    GroupByImage,
    ReachableOnly,
    Detail,
    OpenShell,
    Mark,
    MarkAll,
    Terminate,
    SessionDetail,
    RunCommand,
    OpenCommand,
    ShowTunnels,
    ShowShells,
    Forward,
    StopTunnel,
}

/// One row of the action table.
#[derive(Debug)]
pub struct ActionSpec {
    pub action: Action,
    /// The name used in `[keys]` of the config file.
    pub name: &'static str,
    pub help: &'static str,
    pub scope: Scope,
    /// Opens shells or ends sessions: hidden and disabled by `--readonly`.
    pub dangerous: bool,
    pub default_keys: &'static [&'static str],
}

const fn spec(
    action: Action,
    name: &'static str,
    help: &'static str,
    scope: Scope,
    default_keys: &'static [&'static str],
) -> ActionSpec {
    ActionSpec {
        action,
        name,
        help,
        scope,
        dangerous: false,
        default_keys,
    }
}

const fn dangerous(mut s: ActionSpec) -> ActionSpec {
    s.dangerous = true;
    s
}

use Action as A;
use Scope as S;

pub const ACTIONS: &[ActionSpec] = &[
    spec(A::Quit, "quit", "quit gangway", S::Global, &["q", "ctrl-c"]),
    spec(A::Back, "back", "back / close", S::Global, &["esc"]),
    spec(A::Help, "help", "this help", S::Global, &["?"]),
    spec(
        A::Command,
        "command",
        "command mode (:sessions :history :commands :prefs :fleet :info :q)",
        S::Global,
        &[":"],
    ),
    spec(
        A::Message,
        "message",
        "the whole last message (AWS's own words)",
        S::Global,
        &["m"],
    ),
    spec(A::Up, "up", "move up", S::Global, &["up", "k"]),
    spec(A::Down, "down", "move down", S::Global, &["down", "j"]),
    spec(
        A::PageUp,
        "page_up",
        "page up",
        S::Global,
        &["pgup", "ctrl-b"],
    ),
    spec(
        A::PageDown,
        "page_down",
        "page down",
        S::Global,
        &["pgdn", "ctrl-f"],
    ),
    spec(A::Top, "top", "first row", S::Global, &["home", "g"]),
    spec(A::Bottom, "bottom", "last row", S::Global, &["end", "G"]),
    spec(
        A::Refresh,
        "refresh",
        "refresh now",
        S::Global,
        &["r", "ctrl-r"],
    ),
    spec(A::ShowFleet, "fleet", "fleet view", S::Global, &["1"]),
    spec(
        A::ShowSessions,
        "sessions",
        "active sessions",
        S::Global,
        &["2"],
    ),
    spec(
        A::ShowHistory,
        "history",
        "session history",
        S::Global,
        &["3"],
    ),
    spec(
        A::ShowPreferences,
        "preferences",
        "session preferences",
        S::Global,
        &["4"],
    ),
    spec(
        A::ShowCommands,
        "commands",
        "Run Command commands",
        S::Global,
        &["5"],
    ),
    spec(
        A::ShowTunnels,
        "tunnels",
        "tunnels this UI runs",
        S::Global,
        &["6"],
    ),
    spec(
        A::Filter,
        "filter",
        "filter: names, ids, tags, IP prefixes, owners, reasons",
        S::Lists,
        &["/"],
    ),
    spec(A::SortNext, "sort", "sort by next column", S::Lists, &["s"]),
    spec(
        A::SortReverse,
        "sort_reverse",
        "reverse sort order",
        S::Lists,
        &["S"],
    ),
    spec(
        A::GroupByImage,
        "group_by_image",
        "group by image",
        S::Fleet,
        &["i"],
    ),
    spec(
        A::ReachableOnly,
        "reachable_only",
        "only instances you can open a shell on now",
        S::Fleet,
        &["R"],
    ),
    spec(
        A::Detail,
        "detail",
        "detail pane + connectivity check",
        S::Fleet,
        &["d", "tab"],
    ),
    dangerous(spec(
        A::OpenShell,
        "shell",
        "open a shell",
        S::Fleet,
        &["enter"],
    )),
    dangerous(spec(
        A::RunCommand,
        "run",
        "run a command (marked, or all shown)",
        S::Fleet,
        &["!"],
    )),
    spec(
        A::OpenCommand,
        "open",
        "open the command / the instance's output",
        S::Commands,
        &["enter"],
    ),
    // One key on two screens: instances for a command, sessions to terminate.
    spec(
        A::Mark,
        "mark",
        "mark / unmark (fleet: to run a command; sessions: to terminate)",
        S::Global,
        &["space"],
    ),
    spec(
        A::MarkAll,
        "mark_all",
        "mark all shown (the filtered ones); again: unmark",
        S::Sessions,
        &["a"],
    ),
    spec(
        A::SessionDetail,
        "session_detail",
        "the whole session: owner's ARN, times, why it ended",
        S::History,
        &["enter", "d"],
    ),
    spec(
        A::ShowShells,
        "shells",
        "back to the shell tabs (they keep running)",
        S::Global,
        &["t"],
    ),
    dangerous(spec(
        A::Forward,
        "forward",
        "forward a local port to this instance (a tunnel)",
        S::Fleet,
        &["f"],
    )),
    dangerous(spec(
        A::Terminate,
        "terminate",
        "terminate (marked or selected)",
        S::Sessions,
        &["ctrl-d"],
    )),
    dangerous(spec(
        A::StopTunnel,
        "stop_tunnel",
        "stop the selected tunnel",
        S::Tunnels,
        &["ctrl-d"],
    )),
];

pub fn spec_of(action: Action) -> &'static ActionSpec {
    ACTIONS
        .iter()
        .find(|s| s.action == action)
        .unwrap_or(&ACTIONS[0])
}

pub fn action_named(name: &str) -> Option<Action> {
    ACTIONS.iter().find(|s| s.name == name).map(|s| s.action)
}

/// The resolved bindings: defaults, then the config file's `[keys]` on top.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Chord, Action)>,
    readonly: bool,
}

impl Keymap {
    pub fn defaults(readonly: bool) -> Self {
        let bindings = ACTIONS
            .iter()
            .flat_map(|s| {
                s.default_keys
                    .iter()
                    .filter_map(move |k| Some((Chord::parse(k)?, s.action)))
            })
            .collect();
        Self { bindings, readonly }
    }

    /// Replaces the keys of `action`; a chord given to it is taken from any other action
    /// whose scope overlaps, so one key never means two things on one screen.
    pub fn rebind(&mut self, action: Action, chords: &[Chord]) {
        let scope = spec_of(action).scope;
        self.bindings.retain(|(chord, bound)| {
            *bound != action
                && !(chords.contains(chord) && scopes_overlap(spec_of(*bound).scope, scope))
        });
        self.bindings.extend(chords.iter().map(|c| (*c, action)));
    }

    pub fn is_readonly(&self) -> bool {
        self.readonly
    }

    /// The action a key means on a screen; dangerous actions do not exist in read-only mode.
    pub fn resolve(&self, screen: Scope, key: &KeyEvent) -> Option<Action> {
        let chord = Chord::from_event(key);
        self.bindings
            .iter()
            .filter(|(c, _)| *c == chord)
            .map(|(_, a)| *a)
            .find(|a| self.available(*a) && scope_applies(spec_of(*a).scope, screen))
    }

    /// The dangerous action a key would mean on a screen if `--readonly` had not removed it,
    /// so the UI can say why the key does nothing.
    pub fn refused(&self, screen: Scope, key: &KeyEvent) -> Option<Action> {
        if !self.readonly {
            return None;
        }
        let chord = Chord::from_event(key);
        self.bindings
            .iter()
            .filter(|(c, _)| *c == chord)
            .map(|(_, a)| *a)
            .find(|a| !self.available(*a) && scope_applies(spec_of(*a).scope, screen))
    }

    pub fn available(&self, action: Action) -> bool {
        !(self.readonly && spec_of(action).dangerous)
    }

    /// The keys bound to an action, in binding order (first = the one shown in hints).
    pub fn keys_for(&self, action: Action) -> Vec<Chord> {
        self.bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(c, _)| *c)
            .collect()
    }

    /// `key action` pairs for the hint bar of a screen.
    pub fn hints(&self, screen: Scope, actions: &[Action]) -> Vec<(String, &'static str)> {
        actions
            .iter()
            .filter(|a| self.available(**a) && scope_applies(spec_of(**a).scope, screen))
            .filter_map(|a| Some((self.keys_for(*a).first()?.to_string(), spec_of(*a).name)))
            .collect()
    }

    /// Rows of the `?` screen: scope, keys, help, dangerous; read-only hides the dangerous ones.
    pub fn help_rows(&self) -> Vec<(Scope, String, &'static str, bool)> {
        ACTIONS
            .iter()
            .filter(|s| self.available(s.action))
            .map(|s| {
                let keys: Vec<String> = self
                    .keys_for(s.action)
                    .iter()
                    .map(Chord::to_string)
                    .collect();
                (s.scope, keys.join(" "), s.help, s.dangerous)
            })
            .collect()
    }
}

fn scope_applies(action_scope: Scope, screen: Scope) -> bool {
    let list = matches!(screen, Scope::Fleet | Scope::Sessions | Scope::History);
    action_scope == Scope::Global
        || action_scope == screen
        || (action_scope == Scope::Lists && list)
}

fn scopes_overlap(a: Scope, b: Scope) -> bool {
    scope_applies(a, b) || scope_applies(b, a)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    fn key(text: &str) -> KeyEvent {
        let chord = Chord::parse(text).unwrap();
        let mut mods = KeyModifiers::NONE;
        if chord.ctrl {
            mods |= KeyModifiers::CONTROL;
        }
        if let KeyCode::Char(c) = chord.code
            && c.is_ascii_uppercase()
        {
            mods |= KeyModifiers::SHIFT;
        }
        KeyEvent::new(chord.code, mods)
    }

    #[test]
    fn defaults_resolve_per_screen() {
        let map = Keymap::defaults(false);
        assert_eq!(
            map.resolve(Scope::Fleet, &key("enter")),
            Some(Action::OpenShell)
        );
        assert_eq!(map.resolve(Scope::Sessions, &key("enter")), None);
        assert_eq!(
            map.resolve(Scope::Sessions, &key("ctrl-d")),
            Some(Action::Terminate)
        );
        assert_eq!(map.resolve(Scope::History, &key("q")), Some(Action::Quit));
        assert_eq!(
            map.resolve(Scope::Fleet, &key("S")),
            Some(Action::SortReverse)
        );
        assert_eq!(map.resolve(Scope::Fleet, &key("x")), None);
    }

    #[test]
    fn readonly_removes_dangerous_actions_from_keys_and_help() {
        let map = Keymap::defaults(true);
        assert_eq!(map.resolve(Scope::Fleet, &key("enter")), None);
        assert_eq!(map.resolve(Scope::Sessions, &key("ctrl-d")), None);
        assert!(
            map.help_rows()
                .iter()
                .all(|(_, _, _, dangerous)| !dangerous)
        );
        assert!(
            !map.hints(Scope::Fleet, &[Action::OpenShell])
                .iter()
                .any(|(_, n)| *n == "shell")
        );
    }

    #[test]
    fn rebinding_moves_a_key_between_actions() {
        let mut map = Keymap::defaults(false);
        map.rebind(Action::Terminate, &[Chord::parse("x").unwrap()]);
        assert_eq!(
            map.resolve(Scope::Sessions, &key("x")),
            Some(Action::Terminate)
        );
        assert_eq!(map.resolve(Scope::Sessions, &key("ctrl-d")), None);
        map.rebind(Action::OpenShell, &[Chord::parse("r").unwrap()]);
        assert_eq!(
            map.resolve(Scope::Fleet, &key("r")),
            Some(Action::OpenShell)
        );
        assert_eq!(
            map.resolve(Scope::Fleet, &key("ctrl-r")),
            Some(Action::Refresh)
        );
    }

    #[test]
    fn chords_round_trip_through_text() {
        for text in [
            "ctrl-d", "enter", "esc", "space", "G", "?", "f5", "pgdn", "alt-x",
        ] {
            assert_eq!(Chord::parse(text).unwrap().to_string(), text);
        }
        assert!(Chord::parse("ctrl-").is_none());
        assert!(Chord::parse("nonsense").is_none());
        assert!(Chord::parse("").is_none());
    }

    #[test]
    fn help_is_generated_from_the_table() {
        let rows = Keymap::defaults(false).help_rows();
        assert_eq!(rows.len(), ACTIONS.len());
        assert!(
            rows.iter()
                .any(|(_, keys, help, _)| keys == "ctrl-d" && help.starts_with("terminate"))
        );
    }
}
