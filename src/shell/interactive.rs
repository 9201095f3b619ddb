//! Running a session on this process's stdio until it ends: the entry the UI calls after
//! releasing the terminal, and the one `gangway connect` uses in both modes.

use super::error::ShellError;
use super::open::{open_channel, terminator_for};
use super::outcome::ShellOutcome;
use super::pump::{PumpMode, pump};
use super::terminal::RawModeGuard;
use crate::aws::{AwsClient, StartSessionRequest};

/// Starts the session `request` asks for and pumps it until it ends. In
/// [`PumpMode::Terminal`] the terminal is in raw mode meanwhile and its modes are restored
/// before this returns, whatever happened; the caller (the UI) must have released the terminal
/// (left the alternate screen, stopped its input reader) and redraws afterwards.
pub async fn run(
    client: &AwsClient,
    request: &StartSessionRequest,
    mode: PumpMode,
) -> Result<ShellOutcome, ShellError> {
    let (channel, session_id) = open_channel(client, request).await?;
    let terminate = terminator_for(client.clone(), session_id.clone());
    match mode {
        PumpMode::Terminal => {
            let guard = RawModeGuard::enter()?;
            let outcome = pump(channel, session_id, mode, terminate).await;
            drop(guard);
            Ok(outcome?)
        }
        PumpMode::Pipe { .. } | PumpMode::Command => {
            Ok(pump(channel, session_id, mode, terminate).await?)
        }
    }
}
