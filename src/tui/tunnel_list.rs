//! The tunnels this UI runs, as plain data: the form that starts one, and each tunnel's row
//! (ports, connections, rates, state) kept up to date from the tunnel layer's events. The
//! tunnels themselves live on the executor's tasks (`executor.rs`); only what they report
//! arrives here, so `update` stays pure.

use std::net::SocketAddr;
use std::time::Duration;

use crate::tui::model::{Cursor, ShellTarget};
use crate::tunnel::TunnelEvent;

/// What the user asked for in the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelRequest {
    /// 0: a free port, chosen by the OS.
    pub local_port: u16,
    pub remote_port: u16,
    /// A host the instance reaches (AWS-StartPortForwardingSessionToRemoteHost).
    pub host: Option<String>,
}

impl TunnelRequest {
    /// `[host:]port`, as the tunnel layer describes a destination.
    pub fn remote(&self) -> String {
        match &self.host {
            Some(host) => format!("{host}:{}", self.remote_port),
            None => self.remote_port.to_string(),
        }
    }
}

/// The fields of the form, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Local,
    Remote,
    Host,
}

impl FormField {
    pub const ALL: [FormField; 3] = [Self::Local, Self::Remote, Self::Host];

    pub fn label(self) -> &'static str {
        match self {
            Self::Local => "local port",
            Self::Remote => "remote port",
            Self::Host => "remote host",
        }
    }
}

/// The form that starts a tunnel to the instance selected in the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct TunnelForm {
    pub target: ShellTarget,
    pub local: String,
    pub remote: String,
    pub host: String,
    pub field: FormField,
    pub error: Option<String>,
}

/// Longest host name (DNS: 253 characters).
const MAX_HOST: usize = 253;

impl TunnelForm {
    pub fn new(target: ShellTarget) -> Self {
        Self {
            target,
            local: String::new(),
            remote: String::new(),
            host: String::new(),
            field: FormField::Local,
            error: None,
        }
    }

    pub fn text(&self, field: FormField) -> &str {
        match field {
            FormField::Local => &self.local,
            FormField::Remote => &self.remote,
            FormField::Host => &self.host,
        }
    }

    pub fn text_mut(&mut self, field: FormField) -> &mut String {
        match field {
            FormField::Local => &mut self.local,
            FormField::Remote => &mut self.remote,
            FormField::Host => &mut self.host,
        }
    }

    /// Whether `ch` may be typed into the current field: digits in the ports (five at most),
    /// host name characters in the host.
    pub fn accepts(&self, ch: char) -> bool {
        match self.field {
            FormField::Local | FormField::Remote => {
                ch.is_ascii_digit() && self.text(self.field).len() < 5
            }
            FormField::Host => {
                (ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_' | ':'))
                    && self.host.len() < MAX_HOST
            }
        }
    }

    /// Moves to the next (or previous) field, wrapping around.
    pub fn cycle(&mut self, forward: bool) {
        let at = FormField::ALL
            .iter()
            .position(|f| *f == self.field)
            .unwrap_or(0);
        let len = FormField::ALL.len();
        let next = if forward {
            (at + 1) % len
        } else {
            (at + len - 1) % len
        };
        self.field = FormField::ALL[next];
    }

    /// The request, or what is wrong with the form (one line).
    pub fn request(&self) -> Result<TunnelRequest, String> {
        let local = self.local.trim();
        let local_port = if local.is_empty() {
            0
        } else {
            local
                .parse::<u16>()
                .map_err(|_| format!("local port `{local}` is not a port (0-65535)"))?
        };
        let remote = self.remote.trim();
        if remote.is_empty() {
            return Err("a remote port is required".to_owned());
        }
        let remote_port = match remote.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return Err(format!("remote port `{remote}` is not a port (1-65535)")),
        };
        let host = self.host.trim();
        let host = (!host.is_empty()).then(|| host.to_owned());
        Ok(TunnelRequest {
            local_port,
            remote_port,
            host,
        })
    }
}

/// Where a tunnel is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelState {
    /// Binding the listener and opening the first session.
    Starting,
    Listening,
    /// The websocket dropped; the session is being resumed (connections kept).
    Resuming,
    /// The service ended the session; a new one is being opened.
    Reopening,
    /// Asked to stop; waiting for the sessions to end.
    Stopping,
    /// Over, with the reason (AWS's words: escape before a terminal).
    Ended(String),
}

/// One tunnel this UI runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TunnelRow {
    pub id: u64,
    pub target: ShellTarget,
    pub request: TunnelRequest,
    /// Where it listens, once it does.
    pub local: Option<SocketAddr>,
    pub connections: u32,
    /// Bytes so far, from the last traffic sample.
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Bytes per second over the last sample.
    pub rate_up: u64,
    pub rate_down: u64,
    /// Sessions opened again after the service ended one.
    pub reestablished: u32,
    pub state: TunnelState,
}

impl TunnelRow {
    pub fn is_running(&self) -> bool {
        !matches!(self.state, TunnelState::Ended(_))
    }

    /// The state in words, for the table (reasons not escaped yet).
    pub fn state_text(&self) -> String {
        let again = match self.reestablished {
            0 => String::new(),
            1 => ", re-established once".to_owned(),
            n => format!(", re-established {n} times"),
        };
        match &self.state {
            TunnelState::Starting => "starting…".to_owned(),
            TunnelState::Listening => format!("listening{again}"),
            TunnelState::Resuming => format!("resuming{again}"),
            TunnelState::Reopening => format!("re-establishing{again}"),
            TunnelState::Stopping => "stopping…".to_owned(),
            TunnelState::Ended(reason) => format!("ended: {reason}"),
        }
    }

    /// What a tunnel event changes.
    pub fn apply(&mut self, event: &TunnelEvent) {
        match event {
            TunnelEvent::Listening { local, .. } => {
                self.local = Some(*local);
                self.state = TunnelState::Listening;
            }
            TunnelEvent::SessionOpened { reestablished, .. } => {
                self.reestablished = self.reestablished.max(*reestablished);
                if self.state != TunnelState::Stopping {
                    self.state = TunnelState::Listening;
                }
            }
            TunnelEvent::ConnectionOpened { .. } => self.connections += 1,
            TunnelEvent::ConnectionClosed { .. } => {
                self.connections = self.connections.saturating_sub(1);
            }
            TunnelEvent::Reconnecting { .. } if self.state != TunnelState::Stopping => {
                self.state = TunnelState::Resuming;
            }
            TunnelEvent::Resumed { .. } if self.state != TunnelState::Stopping => {
                self.state = TunnelState::Listening;
            }
            TunnelEvent::SessionEnded {
                reopening: true, ..
            } if self.state != TunnelState::Stopping => self.state = TunnelState::Reopening,
            _ => {}
        }
    }

    /// A traffic sample: totals so far, `interval` after the previous one.
    pub fn sample(&mut self, up: u64, down: u64, interval: Duration) {
        let per_second = |now: u64, before: u64| {
            let millis = interval.as_millis().max(1);
            let delta = u128::from(now.saturating_sub(before));
            u64::try_from(delta * 1000 / millis).unwrap_or(u64::MAX)
        };
        self.rate_up = per_second(up, self.bytes_up);
        self.rate_down = per_second(down, self.bytes_down);
        self.bytes_up = up;
        self.bytes_down = down;
    }

    /// The tunnel is over: no connections, no traffic.
    pub fn end(&mut self, reason: String) {
        self.state = TunnelState::Ended(reason);
        self.connections = 0;
        self.rate_up = 0;
        self.rate_down = 0;
    }
}

/// Every tunnel this UI started, oldest first (ended ones stay, with their reason).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TunnelsState {
    pub items: Vec<TunnelRow>,
    pub cursor: Cursor,
    /// The id the next tunnel gets.
    pub next_id: u64,
}

impl TunnelsState {
    pub fn get_mut(&mut self, id: u64) -> Option<&mut TunnelRow> {
        self.items.iter_mut().find(|row| row.id == id)
    }

    pub fn selected(&self) -> Option<&TunnelRow> {
        self.items.get(self.cursor.selected)
    }

    pub fn running(&self) -> usize {
        self.items.iter().filter(|row| row.is_running()).count()
    }

    /// Adds a tunnel in `Starting` and returns its id.
    pub fn add(&mut self, target: ShellTarget, request: TunnelRequest) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.items.push(TunnelRow {
            id,
            target,
            request,
            local: None,
            connections: 0,
            bytes_up: 0,
            bytes_down: 0,
            rate_up: 0,
            rate_down: 0,
            reestablished: 0,
            state: TunnelState::Starting,
        });
        id
    }
}

/// `12 B/s`, `3.4 KiB/s`, `51.2 MiB/s`.
pub fn rate(bytes_per_second: u64) -> String {
    const UNITS: [&str; 4] = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
    let mut value = bytes_per_second as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes_per_second} B/s")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
