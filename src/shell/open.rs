//! Starting a session: StartSession through the AWS layer, then the data channel through the
//! transport, with ResumeSession wired in for reconnects and KMS GenerateDataKey for
//! encrypted sessions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::error::ShellError;
use crate::aws::{AwsClient, AwsError, StartSessionRequest};
use crate::transport::{
    ChannelOptions, DataKey, DataKeySource, Dialer, KeyRefusal, KeyRefused, Resumer,
    SessionChannel, SessionEndpoint,
};

/// How long a session that could not be opened may take to be terminated before gangway
/// gives up on it (the error the user sees does not wait for more).
const TERMINATE_UNOPENED_WITHIN: Duration = Duration::from_secs(5);

/// StartSession, then dial its stream URL. Returns the live channel and the session id.
/// A session whose websocket does not open is terminated, so it does not stay `Connecting`
/// on the service (issue 17, F10).
pub async fn open_channel(
    client: &AwsClient,
    request: &StartSessionRequest,
) -> Result<(SessionChannel, String), ShellError> {
    open_channel_with(client, request, ChannelOptions::default()).await
}

/// [`open_channel`] with the caller's channel options (the tunnel asks for port sessions).
pub async fn open_channel_with(
    client: &AwsClient,
    request: &StartSessionRequest,
    options: ChannelOptions,
) -> Result<(SessionChannel, String), ShellError> {
    let dialer = Dialer::from_env()?;
    let started = client.start_session(request).await?;
    tracing::info!(session = %started.session_id, target = %request.target, "session started");
    let endpoint = SessionEndpoint {
        session_id: started.session_id.clone(),
        stream_url: started.stream_url,
        token: started.token,
    };
    let resumer = resumer_for(client.clone(), started.session_id.clone());
    let data_keys = data_keys_for(
        client.clone(),
        started.session_id.clone(),
        request.target.clone(),
    );
    let opened = SessionChannel::open_with_kms(endpoint, dialer, resumer, data_keys, options).await;
    match opened {
        Ok(channel) => Ok((channel, started.session_id)),
        Err(error) => {
            tracing::warn!(session = %started.session_id, %error, "dial failed");
            terminate_unopened(client, &started.session_id).await;
            Err(error.into())
        }
    }
}

/// TerminateSession for a session gangway started and could not open. Best effort: the
/// dial error is what the user needs to read, so a failure here is only logged.
async fn terminate_unopened(client: &AwsClient, session_id: &str) {
    let terminated = tokio::time::timeout(
        TERMINATE_UNOPENED_WITHIN,
        client.terminate_session(session_id),
    )
    .await;
    match terminated {
        Ok(Ok(())) => tracing::info!(session = %session_id, "unopened session terminated"),
        Ok(Err(error)) => {
            tracing::warn!(session = %session_id, error = %error.to_line(), "terminating the unopened session failed")
        }
        Err(_) => {
            tracing::warn!(session = %session_id, "terminating the unopened session timed out")
        }
    }
}

/// What ends the session on the service when gangway gives up on it: the TerminateSession
/// API, since shell-type sessions ignore the TerminateSession flag (§6.1, quirk 26). Boxed
/// like the transport's `Resumer` so the pump needs no AWS client of its own.
pub type Terminator =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// TerminateSession through the AWS layer, for the pump's signal handling.
pub fn terminator_for(client: AwsClient, session_id: String) -> Terminator {
    Arc::new(move || {
        let client = client.clone();
        let session_id = session_id.clone();
        Box::pin(async move {
            client
                .terminate_session(&session_id)
                .await
                .map_err(|error| error.to_line())
        })
    })
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

/// KMS GenerateDataKey through the AWS layer with the caller's credentials, for sessions the
/// agent encrypts (§4.6). The encryption context's TargetId is the StartSession target, which
/// the agent compares with its own instance id.
fn data_keys_for(client: AwsClient, session_id: String, target: String) -> DataKeySource {
    Arc::new(move |key_id: String| {
        let client = client.clone();
        let session_id = session_id.clone();
        let target = target.clone();
        Box::pin(async move {
            match client
                .generate_session_data_key(&key_id, &session_id, &target)
                .await
            {
                Ok(key) => Ok(DataKey {
                    ciphertext_blob: key.ciphertext_blob.clone(),
                    plaintext: key.expose_plaintext().to_vec(),
                }),
                Err(error) => {
                    tracing::warn!(session = %session_id, %error, "KMS GenerateDataKey failed");
                    Err(KeyRefused {
                        line: error.to_line(),
                        refusal: match error {
                            AwsError::AccessDenied(_) => KeyRefusal::AccessDenied,
                            AwsError::NotFound(_) => KeyRefusal::NotFound,
                            _ => KeyRefusal::Other,
                        },
                    })
                }
            }
        })
    })
}
