//! What `update` asks the outside world to do. The runtime executes each effect on a tokio
//! task (or, for a shell, after handing over the terminal) and answers with a `Msg`.

use crate::aws::HistoryFilter;
use crate::aws::types::{Instance, SendCommandRequest};
use crate::tui::model::{SessionRef, ShellTarget};
use crate::tui::panes::PaneScreen;
use crate::tui::tunnel_list::TunnelRequest;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `list_instances` in every region, with the configured tag filters.
    LoadFleet,
    /// `GetConnectionStatus` for the instance, then the diagnosis.
    CheckConnectivity(Box<Instance>),
    LoadSessions,
    /// One history page; `region: None` starts over in every region.
    LoadHistory {
        region: Option<String>,
        query: HistoryFilter,
        next_token: Option<String>,
    },
    LoadPreferences,
    /// The last day's session events of every region (CloudTrail).
    LoadAudit,
    Terminate(SessionRef),
    /// SendCommand in one region (the user confirmed it).
    SendCommand {
        region: String,
        request: SendCommandRequest,
    },
    /// The first page of ListCommands in every region.
    LoadCommands,
    /// Every page of ListCommandInvocations (with details) of one command.
    LoadInvocations {
        region: String,
        command_id: String,
    },
    /// GetCommandInvocation: one instance's stdout and stderr.
    LoadOutput {
        region: String,
        command_id: String,
        instance_id: String,
    },
    OpenShell {
        target: ShellTarget,
        reason: Option<String>,
    },
    /// A tunnel (`crate::tunnel`) on the UI's runtime, reported as `Msg::Tunnel*` under `id`.
    StartTunnel {
        id: u64,
        target: ShellTarget,
        request: TunnelRequest,
    },
    StopTunnel(u64),
    /// A shell inside the UI (issue 13): its session runs on the executor's task and feeds
    /// `screen`; answers come as `Msg::Pane { id, .. }`.
    OpenPane {
        id: u64,
        target: ShellTarget,
        reason: Option<String>,
        /// Columns, rows.
        size: (u16, u16),
        screen: PaneScreen,
    },
    /// Bytes for pane `id`'s session, already encoded as a terminal sends them.
    PaneInput {
        id: u64,
        bytes: Vec<u8>,
    },
    PaneResize {
        id: u64,
        size: (u16, u16),
    },
    /// End pane `id`'s session (TerminateSession) and forget it.
    ClosePane(u64),
}
