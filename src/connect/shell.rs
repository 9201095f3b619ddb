//! Starting a session and running it on this process's terminal: the library entry the
//! TUI calls after releasing the terminal ([`run_interactive`]), and the pieces
//! `gangway connect` shares with it.

use std::sync::Arc;

use super::error::ConnectError;
use super::outcome::ShellOutcome;
use super::pump::{PumpMode, pump};
use super::terminal::RawModeGuard;
use crate::aws::{AwsClient, InstanceId, StartSessionRequest};
use crate::transport::{ChannelOptions, Dialer, Resumer, SessionChannel, SessionEndpoint};

/// Opens a shell (SSM-SessionManagerRunShell) on `instance_id` and runs it on this
/// process's terminal in raw mode until it ends; the terminal modes are restored before
/// this returns, whatever happened. The caller (the TUI) must have released the terminal
/// (left the alternate screen, stopped its input reader) and redraws afterwards.
pub async fn run_interactive(
    client: &AwsClient,
    instance_id: &InstanceId,
    reason: Option<&str>,
) -> Result<ShellOutcome, ConnectError> {
    let request = StartSessionRequest {
        target: instance_id.to_string(),
        document_name: None,
        parameters: Default::default(),
        reason: reason.map(str::to_owned),
    };
    let (channel, session_id) = open_channel(client, &request).await?;
    let guard = RawModeGuard::enter()?;
    let outcome = pump(channel, session_id, PumpMode::Terminal).await;
    drop(guard);
    Ok(outcome?)
}

/// StartSession, then dial its stream URL. Returns the live channel and the session id.
pub async fn open_channel(
    client: &AwsClient,
    request: &StartSessionRequest,
) -> Result<(SessionChannel, String), ConnectError> {
    let dialer = Dialer::from_env()?;
    let started = client.start_session(request).await?;
    tracing::info!(session = %started.session_id, target = %request.target, "session started");
    let endpoint = SessionEndpoint {
        session_id: started.session_id.clone(),
        stream_url: started.stream_url,
        token: started.token,
    };
    let resumer = resumer_for(client.clone(), started.session_id.clone());
    let channel = SessionChannel::open(endpoint, dialer, resumer, ChannelOptions::default())
        .await
        .inspect_err(
            |error| tracing::warn!(session = %started.session_id, %error, "dial failed"),
        )?;
    Ok((channel, started.session_id))
}

/// ResumeSession through the AWS layer, for the transport's reconnects (§7.2).
fn resumer_for(client: AwsClient, session_id: String) -> Resumer {
    Arc::new(move || {
        let client = client.clone();
        let session_id = session_id.clone();
        Box::pin(async move {
            match client.resume_session(&session_id).await {
                Ok(token) => Ok(token.filter(|token| !token.is_empty())),
                Err(error) => Err(error.to_line()),
            }
        })
    })
}
