//! Starting a session: StartSession through the AWS layer, then the data channel through the
//! transport, with ResumeSession wired in for reconnects and KMS GenerateDataKey for
//! encrypted sessions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::error::ShellError;
use crate::aws::{AwsClient, AwsError, StartSessionRequest};
use crate::transport::{
    ChannelOptions, DataKey, DataKeySource, Dialer, KeyRefusal, KeyRefused, Resumer,
    SessionChannel, SessionEndpoint,
};

/// StartSession, then dial its stream URL. Returns the live channel and the session id.
pub async fn open_channel(
    client: &AwsClient,
    request: &StartSessionRequest,
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
    let options = ChannelOptions::default();
    let channel = SessionChannel::open_with_kms(endpoint, dialer, resumer, data_keys, options)
        .await
        .inspect_err(
            |error| tracing::warn!(session = %started.session_id, %error, "dial failed"),
        )?;
    Ok((channel, started.session_id))
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
