//! Running a session on this process's stdio until it ends: the entry the UI calls after
//! releasing the terminal, and the one `gangway connect` uses in both modes.

use super::error::ShellError;
use super::open::{open_channel, terminator_for};
use super::outcome::ShellOutcome;
use super::pump::{PumpMode, pump};
use super::records::{LiveRecords, SessionRecords};
use super::terminal::{RawModeGuard, terminal_size};
use crate::aws::{AwsClient, StartSessionRequest};

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
    let terminate = terminator_for(client.clone(), session_id.clone());
    let record = (mode == PumpMode::Terminal).then(|| terminal_size().unwrap_or(DEFAULT_SIZE));
    let live = LiveRecords::start(records, &session_id, &request.target, record).await;
    match mode {
        PumpMode::Terminal => {
            let guard = RawModeGuard::enter()?;
            let outcome = pump(channel, session_id, mode, terminate, live).await;
            drop(guard);
            Ok(outcome?)
        }
        PumpMode::Pipe { .. } | PumpMode::Command => {
            Ok(pump(channel, session_id, mode, terminate, live).await?)
        }
    }
}
