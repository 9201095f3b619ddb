//! One copy session: the script of [`super::script`] running on the instance through
//! AWS-StartInteractiveCommand, opened like every other session (`shell::open_channel`:
//! StartSession, the websocket, ResumeSession after a cut), read a line at a time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::script::{self, Reply};
use super::{OpenSessions, Remote};
use crate::aws::documents::{COMMAND_PARAMETER, INTERACTIVE_COMMAND_DOCUMENT};
use crate::aws::{AwsClient, StartSessionRequest};
use crate::shell::{ShellError, open_channel};
use crate::transport::{ChannelEvent, InputSender, SessionChannel, TransportError};

/// The longest line the script writes is a listing entry (a base64 path) or an error of
/// 300 characters; anything longer is not the script talking.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// How long a session that was asked to quit may take to close before it is terminated.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// Why a copy session could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SessionFailure {
    #[error(transparent)]
    Start(#[from] ShellError),
    /// The session ended or its connection was lost; a new one may do better.
    #[error("the session ended: {0}")]
    Ended(String),
    /// The instance said something the script never says (a broken shell, missing tools).
    #[error("{0}")]
    Remote(String),
}

impl SessionFailure {
    /// True when opening another session is worth a try.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Ended(_))
    }
}

/// A running copy script and the bytes it has written that were not read yet.
pub struct RemoteShell {
    channel: SessionChannel,
    input: InputSender,
    client: AwsClient,
    open_sessions: OpenSessions,
    session_id: String,
    pending: Vec<u8>,
    read_at: usize,
    /// An event met while gathering output, handled next.
    held: Option<ChannelEvent>,
    /// Websocket resumes seen (the transport handled them; counted for the summary).
    pub resumes: u32,
}

impl RemoteShell {
    /// Starts the script on `target` and waits for its `ready` line.
    pub async fn open(remote: &Remote) -> Result<Self, SessionFailure> {
        let client = &remote.client;
        let request = StartSessionRequest {
            target: remote.target.clone(),
            document_name: Some(INTERACTIVE_COMMAND_DOCUMENT.to_owned()),
            parameters: BTreeMap::from([(
                COMMAND_PARAMETER.to_owned(),
                vec![script::SCRIPT.to_owned()],
            )]),
            reason: remote.reason.clone(),
        };
        let (channel, session_id) = open_channel(client, &request).await?;
        super::lock(&remote.open_sessions).insert(session_id.clone());
        tracing::info!(session = %session_id, "copy session open");
        let mut shell = Self {
            input: channel.input(),
            channel,
            client: client.clone(),
            open_sessions: Arc::clone(&remote.open_sessions),
            session_id,
            pending: Vec::new(),
            read_at: 0,
            held: None,
            resumes: 0,
        };
        match shell.reply().await {
            Ok(Reply::Ready) => Ok(shell),
            Ok(Reply::Error(message)) => {
                shell.terminate().await;
                Err(SessionFailure::Remote(message))
            }
            Ok(other) => {
                shell.terminate().await;
                Err(SessionFailure::Remote(format!(
                    "the copy script did not start (it said {other:?})"
                )))
            }
            Err(error) => {
                shell.terminate().await;
                Err(error)
            }
        }
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Sends request or data bytes; waits while the channel is saturated.
    pub async fn send(&self, bytes: Vec<u8>) -> Result<(), SessionFailure> {
        self.input
            .send_input(bytes)
            .await
            .map_err(|_| SessionFailure::Ended("the data channel stopped".into()))
    }

    /// The next line of output without its line end (LF, or CR LF from the pty).
    pub async fn line(&mut self) -> Result<&[u8], SessionFailure> {
        loop {
            if let Some(at) = self.pending[self.read_at..]
                .iter()
                .position(|b| *b == b'\n')
            {
                let start = self.read_at;
                let mut end = start + at;
                self.read_at = end + 1;
                if end > start && self.pending[end - 1] == b'\r' {
                    end -= 1;
                }
                return Ok(&self.pending[start..end]);
            }
            if self.pending.len() - self.read_at > MAX_LINE_BYTES {
                return Err(SessionFailure::Remote(
                    "the instance wrote a line longer than the copy script ever does".into(),
                ));
            }
            self.fill().await?;
        }
    }

    /// The next answer, skipping anything else (a shell's noise before the script runs).
    pub async fn reply(&mut self) -> Result<Reply, SessionFailure> {
        loop {
            let line = self.line().await?;
            if let Some(reply) = Reply::parse(line) {
                return Ok(reply);
            }
            tracing::debug!(
                line = %String::from_utf8_lossy(line),
                "ignoring a line that is not an answer"
            );
        }
    }

    /// Waits for more output.
    async fn fill(&mut self) -> Result<(), SessionFailure> {
        if self.read_at > 0 {
            self.pending.drain(..self.read_at);
            self.read_at = 0;
        }
        loop {
            let next = match self.held.take() {
                Some(event) => Some(event),
                None => self.channel.next_event().await,
            };
            let Some(event) = next else {
                return Err(SessionFailure::Ended("the data channel stopped".into()));
            };
            match event {
                ChannelEvent::Output(bytes) | ChannelEvent::Stderr(bytes) => {
                    self.pending.extend_from_slice(&bytes);
                    // Take whatever else is already here before looking for a line end.
                    while let Some(more) = self.channel.try_next_event() {
                        match more {
                            ChannelEvent::Output(bytes) => self.pending.extend_from_slice(&bytes),
                            other => {
                                self.held = Some(other);
                                break;
                            }
                        }
                    }
                    return Ok(());
                }
                ChannelEvent::Reconnecting => {
                    tracing::warn!(session = %self.session_id, "copy session resuming");
                }
                ChannelEvent::Reconnected => {
                    self.resumes += 1;
                    tracing::info!(session = %self.session_id, "copy session resumed");
                }
                // Port-session events never come on an InteractiveCommands session.
                ChannelEvent::Opened
                | ChannelEvent::Notice(_)
                | ChannelEvent::ExitCode(_)
                | ChannelEvent::PortSession(_)
                | ChannelEvent::Flag(_) => {}
                ChannelEvent::Closed { reason } => {
                    return Err(SessionFailure::Ended(
                        reason.unwrap_or_else(|| "the remote script exited".into()),
                    ));
                }
                ChannelEvent::Lost(TransportError::SessionTimedOut) => {
                    return Err(SessionFailure::Ended("the session timed out".into()));
                }
                ChannelEvent::Lost(error) => return Err(SessionFailure::Ended(error.to_string())),
            }
        }
    }

    /// Asks the script to exit and waits a moment for the session to close; terminates it
    /// otherwise, so no session is left open on the instance.
    pub async fn close(mut self) {
        let quit = self.send(script::QUIT.to_vec()).await;
        let closed = quit.is_ok()
            && tokio::time::timeout(QUIT_GRACE, async {
                while let Some(event) = self.channel.next_event().await {
                    if event.is_final() {
                        return true;
                    }
                }
                true
            })
            .await
            .unwrap_or(false);
        if closed {
            super::lock(&self.open_sessions).remove(&self.session_id);
        } else {
            self.terminate().await;
        }
    }

    /// Ends a session that failed, in the background: TerminateSession, so the instance
    /// does not keep a shell waiting for requests.
    pub fn abandon(mut self) {
        tokio::spawn(async move { self.terminate().await });
    }

    /// TerminateSession, best effort (a failure is only logged).
    pub async fn terminate(&mut self) {
        if let Err(error) = self.client.terminate_session(&self.session_id).await {
            tracing::warn!(session = %self.session_id, error = %error.to_line(), "TerminateSession failed");
        }
        super::lock(&self.open_sessions).remove(&self.session_id);
    }
}
