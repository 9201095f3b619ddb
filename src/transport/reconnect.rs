//! The resuming state of the driver's link (`Link::Reconnecting`, §7.2): which attempt is
//! in flight, why the previous one failed, and the attempt itself (backoff, ResumeSession
//! for a new token, re-dial of the ORIGINAL stream URL) as one future the driver polls
//! next to its commands. No socket is held meanwhile: the dead one was dropped on entry.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::channel::{Backoff, Resumer};
use super::dial::Connect;
use super::socket::BoxedWs;
use super::{SecretString, TransportError};

pub(super) struct Reconnecting {
    /// 0-based number of the attempt in flight.
    attempt: u32,
    in_flight: BoxFuture<'static, Outcome>,
    retry: Retry,
}

/// What an attempt needs, cloned into each attempt's future.
struct Retry {
    connect: Arc<dyn Connect>,
    resumer: Resumer,
    stream_url: SecretString,
    backoff: Backoff,
}

pub(super) enum Outcome {
    Resumed {
        token: SecretString,
        ws: BoxedWs,
    },
    /// ResumeSession returned no token: the session ended while we were away.
    SessionGone,
    Failed(String),
}

/// What the driver does after an attempt.
pub(super) enum Next {
    Resumed { token: SecretString, ws: BoxedWs },
    Retrying,
    GiveUp(TransportError),
}

impl Reconnecting {
    /// Starts attempt 0 after `cause` dropped the socket; the final error when the backoff
    /// allows no attempt at all.
    pub(super) fn start(
        connect: Arc<dyn Connect>,
        resumer: Resumer,
        stream_url: SecretString,
        backoff: Backoff,
        cause: &TransportError,
    ) -> Result<Self, TransportError> {
        if backoff.attempts == 0 {
            return Err(TransportError::ResumeFailed(cause.to_string()));
        }
        let retry = Retry {
            connect,
            resumer,
            stream_url,
            backoff,
        };
        Ok(Self {
            attempt: 0,
            in_flight: retry.attempt(0),
            retry,
        })
    }

    pub(super) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The attempt in flight; poll it until it is done, then give its outcome to `next`.
    pub(super) fn in_flight(&mut self) -> &mut BoxFuture<'static, Outcome> {
        &mut self.in_flight
    }

    /// Starts the next attempt after a failure, or says why to give up.
    pub(super) fn next(&mut self, outcome: Outcome) -> Next {
        match outcome {
            Outcome::Resumed { token, ws } => Next::Resumed { token, ws },
            Outcome::SessionGone => Next::GiveUp(TransportError::SessionTimedOut),
            Outcome::Failed(reason) => {
                tracing::debug!(attempt = self.attempt, %reason, "resume attempt failed");
                self.attempt += 1;
                if self.attempt >= self.retry.backoff.attempts {
                    // Wrapped exactly once: the reason is the resumer's or the dial's own
                    // message (issue 17: it once read "could not be resumed" twice).
                    return Next::GiveUp(TransportError::ResumeFailed(reason));
                }
                self.in_flight = self.retry.attempt(self.attempt);
                Next::Retrying
            }
        }
    }
}

impl Retry {
    fn attempt(&self, attempt: u32) -> BoxFuture<'static, Outcome> {
        let delay = self.backoff.delay(attempt);
        let connect = Arc::clone(&self.connect);
        let resumer = Arc::clone(&self.resumer);
        let url = self.stream_url.clone();
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            let token = match resumer().await {
                Ok(Some(token)) => token,
                Ok(None) => return Outcome::SessionGone,
                Err(message) => return Outcome::Failed(message),
            };
            match connect.connect(&url, &token).await {
                Ok(ws) => Outcome::Resumed { token, ws },
                Err(error) => Outcome::Failed(error.to_string()),
            }
        })
    }
}
