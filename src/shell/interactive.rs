//! Running a session on this process's stdio until it ends: the entry the UI calls after
//! releasing the terminal, and the one `gangway connect` uses in both modes.

use super::error::ShellError;
use super::open::{open_channel, terminator_for};
use super::outcome::ShellOutcome;
use super::pump::{PumpMode, pump};
use super::records::{LiveRecords, SessionRecords};
use super::terminal::{RawModeGuard, terminal_size};
use crate::aws::{AwsClient, StartSessionRequest};
use crate::transport::{ChannelEvent, SessionChannel};

/// The size a recording starts with when the terminal does not say.
const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// Starts the session `request` asks for and pumps it until it ends. In
/// [`PumpMode::Terminal`] the terminal is in raw mode meanwhile and its modes are restored
/// before this returns, whatever happened; the caller (the UI) must have released the terminal
/// (left the alternate screen, stopped its input reader) and redraws afterwards.
/// `records` says where the session's recording (TTY mode) and activity file go.
pub async fn run(
    client: &AwsClient,
    request: &StartSessionRequest,
    mode: PumpMode,
    records: &SessionRecords,
) -> Result<ShellOutcome, ShellError> {
    let (channel, session_id) = open_channel(client, request).await?;
    run_started(
        client,
        channel,
        Vec::new(),
        session_id,
        &request.target,
        mode,
        records,
    )
    .await
}

/// [`run`] for a channel that is already open (gangway as `session-manager-plugin`: the AWS
/// CLI started the session), with the events the caller took from it first (`early`).
/// `target` names the session's target in its records.
pub async fn run_started(
    client: &AwsClient,
    channel: SessionChannel,
    early: Vec<ChannelEvent>,
    session_id: String,
    target: &str,
    mode: PumpMode,
    records: &SessionRecords,
) -> Result<ShellOutcome, ShellError> {
    let terminate = terminator_for(client.clone(), session_id.clone());
    let record = (mode == PumpMode::Terminal).then(|| terminal_size().unwrap_or(DEFAULT_SIZE));
    let live = LiveRecords::start(records, &session_id, target, record).await;
    match mode {
        PumpMode::Terminal => {
            // The AWS CLI's first line, so the user has the id to find or end the session
            // by (issue 16); pipe mode stays quiet: its stderr is the remote side's.
            eprint!("\r\nStarting session with SessionId: {session_id}\r\n");
            let guard = RawModeGuard::enter()?;
            let outcome = pump(channel, early, session_id, mode, terminate, live).await;
            drop(guard);
            Ok(outcome?)
        }
        PumpMode::Pipe { .. } | PumpMode::Command => {
            Ok(pump(channel, early, session_id, mode, terminate, live).await?)
        }
    }
}
