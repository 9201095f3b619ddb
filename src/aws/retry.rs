//! Patience with AWS: a call that AWS throttled (after the SDK's own attempts), or that could
//! not reach AWS at all, is tried again with growing pauses, and the caller is told each
//! time so the user knows why nothing moves. Only for calls that are safe to repeat: a
//! throttled request did nothing; an unreachable one may have, so writes retry only
//! throttling.

use std::future::Future;
use std::time::Duration;

use super::error::AwsError;

/// What to retry and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// Also retry "cannot reach AWS" (reads only).
    pub unreachable: bool,
    pub first_pause: Duration,
    pub max_pause: Duration,
    /// Give up once this much time went into pauses.
    pub total: Duration,
}

impl Patience {
    /// For reads that follow a running command: a dropped network is waited out for minutes.
    pub const READS: Self = Self {
        unreachable: true,
        first_pause: Duration::from_millis(500),
        max_pause: Duration::from_secs(20),
        total: Duration::from_secs(600),
    };
    /// For reads the caller repeats on its own (the UI's rounds of a followed command):
    /// throttling is waited out as for [`Self::READS`], an unreachable AWS is said at once.
    pub const REPEATED_READS: Self = Self {
        unreachable: false,
        ..Self::READS
    };
    /// For SendCommand and CancelCommand: throttling only.
    pub const WRITES: Self = Self {
        unreachable: false,
        first_pause: Duration::from_millis(500),
        max_pause: Duration::from_secs(10),
        total: Duration::from_secs(60),
    };

    fn retries(&self, error: &AwsError) -> bool {
        match error {
            AwsError::Throttled => true,
            AwsError::Unreachable { .. } => self.unreachable,
            _ => false,
        }
    }
}

/// Runs `call` until it succeeds, fails for another reason, or the patience is spent.
/// `notice` hears one line per retry ("AWS is throttling requests; retrying in 2s"). The
/// future is `Send` when `notice` and `call` are, so a task can run it (the UI's executor).
pub async fn with_patience<T, N, F, Fut>(
    patience: Patience,
    notice: N,
    mut call: F,
) -> Result<T, AwsError>
where
    N: Fn(String),
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut pause = patience.first_pause;
    let mut waited = Duration::ZERO;
    loop {
        match call().await {
            Err(error) if patience.retries(&error) && waited + pause <= patience.total => {
                // Throttling's own hint ("wait and try again") is what happens here.
                let what = match &error {
                    AwsError::Throttled => error.to_string(),
                    _ => error.to_line(),
                };
                notice(format!("{what}; retrying in {:.1}s", pause.as_secs_f64()));
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(patience.max_pause);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_and_said() {
        let said = Mutex::new(Vec::new());
        let notice = |line: String| said.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        let mut attempts = 0;
        let result = with_patience(Patience::WRITES, &notice, || {
            attempts += 1;
            let answer = if attempts < 3 {
                Err(AwsError::Throttled)
            } else {
                Ok(attempts)
            };
            async move { answer }
        })
        .await;
        assert_eq!(result, Ok(3));
        let said = said.into_inner().unwrap_or_default();
        assert_eq!(said.len(), 2);
        assert!(said[0].contains("throttling") && said[0].contains("retrying in 0.5s"));
        assert!(said[1].contains("retrying in 1.0s"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_can_retry_a_throttled_call_and_say_so() {
        let (said, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = std::sync::Arc::clone(&attempts);
        // tokio::spawn takes only a Send future: the UI's executor runs its calls so.
        let task = tokio::spawn(async move {
            let notice = move |line: String| {
                let _ = said.send(line);
            };
            with_patience(Patience::REPEATED_READS, notice, || {
                let attempt = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                async move {
                    if attempt < 2 {
                        Err(AwsError::Throttled)
                    } else {
                        Ok(attempt)
                    }
                }
            })
            .await
        });
        assert_eq!(task.await.ok(), Some(Ok(2)));
        let line = heard.recv().await.unwrap_or_default();
        assert!(line.contains("retrying in 0.5s"), "{line}");
        assert!(heard.recv().await.is_none(), "one retry, one line");
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_reads_say_an_unreachable_endpoint_at_once() {
        let unreachable = || AwsError::Unreachable {
            endpoint: "e".into(),
            detail: "refused".into(),
        };
        let result: Result<(), _> = with_patience(
            Patience::REPEATED_READS,
            |_| {},
            || async { Err(unreachable()) },
        )
        .await;
        assert_eq!(result, Err(unreachable()));
    }

    #[tokio::test(start_paused = true)]
    async fn writes_do_not_retry_an_unreachable_endpoint() {
        let unreachable = || AwsError::Unreachable {
            endpoint: "e".into(),
            detail: "refused".into(),
        };
        let notice = |_: String| {};
        let result: Result<(), _> =
            with_patience(Patience::WRITES, &notice, || async { Err(unreachable()) }).await;
        assert_eq!(result, Err(unreachable()));
    }
}
