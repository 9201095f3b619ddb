//! `gangway ssh-proxy TARGET [PORT]`: AWS-StartSSHSession on stdin/stdout, for ssh's
//! `ProxyCommand` (the plugin's StandardStreamForwarding, §6.3). stdout carries only the
//! session's bytes; everything gangway says goes to stderr, which ssh shows.

use std::process::ExitCode;

use super::connect::{
    ConnectError, check_agent_runs, check_reachable, find_target, target_clients,
};
use super::exit;
use crate::aws::AwsClient;
use crate::cli::SshProxyArgs;
use crate::text::escape_for_terminal;
use crate::tunnel::stdio::{self, StdioEnd};
use crate::tunnel::{Destination, OpenError, OpenSession, open_stream_session, terminate};

#[derive(Debug, thiserror::Error)]
enum ProxyError {
    #[error(transparent)]
    Target(#[from] ConnectError),
    #[error("{0}")]
    Open(#[from] OpenError),
    #[error("cannot watch for signals: {0}")]
    Signals(std::io::Error),
}

impl ProxyError {
    fn exit_status(&self) -> u8 {
        match self {
            Self::Target(error) => error.exit_status(),
            Self::Open(error) => exit::for_open_error(error),
            Self::Signals(_) => exit::OTHER,
        }
    }
}

/// Entry point of `gangway ssh-proxy`.
pub fn run(args: SshProxyArgs) -> ExitCode {
    let args = &args;
    super::run_session(
        "ssh-proxy",
        || super::settings::scope(args.config.as_deref(), &args.aws.tags),
        async |scope| proxy(args, &scope).await,
        |result| match result {
            Ok(status) => ExitCode::from(status),
            Err(error) => super::failed("ssh-proxy", &error, error.exit_status()),
        },
    )
}

async fn proxy(args: &SshProxyArgs, scope: &[(String, String)]) -> Result<u8, ProxyError> {
    let clients = target_clients(&args.aws.options())
        .await
        .map_err(ConnectError::from)?;
    let (client, instance) = find_target(&clients, &args.target, scope).await?;
    check_reachable(&instance)?;
    let destination = Destination::Ssh(args.port);
    check_agent_runs(&instance, &destination)?;
    let request = destination.request(instance.id.as_str(), None);
    let session = open_stream_session(&client, &request).await?;
    carry(&client, session).await.map_err(ProxyError::Signals)
}

/// Carries an open stream session on stdin/stdout until it ends, ends it on the service,
/// and says how it ended as an exit status; also gangway as `session-manager-plugin` for
/// AWS-StartSSHSession. Fails only when signals cannot be watched.
pub(super) async fn carry(client: &AwsClient, mut session: OpenSession) -> std::io::Result<u8> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate_signal = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    let received = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let watcher = {
        let received = std::sync::Arc::clone(&received);
        tokio::spawn(async move {
            let number = tokio::select! {
                _ = interrupt.recv() => 2,
                _ = terminate_signal.recv() => 15,
                _ = hangup.recv() => 1,
            };
            received.store(number, std::sync::atomic::Ordering::Release);
            let _ = stop_tx.send(true);
        })
    };
    let end = stdio::run(&mut session, &mut stop, |notice| {
        eprintln!("gangway: {notice}");
    })
    .await;
    watcher.abort();
    let session_id = session.session_id.clone();
    drop(session);
    terminate(client, &session_id).await;
    Ok(match end {
        StdioEnd::InputClosed | StdioEnd::SessionEnded(None) => exit::OK,
        StdioEnd::SessionEnded(Some(reason)) => {
            eprintln!(
                "gangway: the session ended: {}",
                escape_for_terminal(&reason)
            );
            exit::TERMINATED
        }
        StdioEnd::OutputClosed(_) => exit::BROKEN_PIPE,
        StdioEnd::Stopped => {
            exit::SIGNAL_BASE + received.load(std::sync::atomic::Ordering::Acquire)
        }
    })
}
