//! Following a sent command until every instance it can reach has finished: a few
//! ListCommandInvocations pages a round (not a call per instance), the round's pace set by
//! how many pages it took, GetCommandInvocation once per instance when it finishes (for
//! stdout and stderr apart), and each change handed to the output (`Sink`).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::signal::unix::SignalKind;

use crate::aws::retry::{Patience, with_patience};
use crate::aws::types::{InvocationInfo, InvocationOutput};
use crate::aws::{AwsClient, AwsError};

/// GetCommandInvocation calls in flight at once.
const OUTPUT_FETCHES: usize = 16;

/// One instance as the run shows it.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub info: InvocationInfo,
    /// The Name tag from the listing, when known.
    pub name: Option<String>,
    /// Fetched once the invocation finished.
    pub output: Option<InvocationOutput>,
}

impl Tracked {
    pub fn label(&self) -> String {
        let name = self
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.info.instance_name.clone());
        if name.is_empty() {
            self.info.instance_id.clone()
        } else {
            format!(
                "{} ({})",
                crate::text::escape_and_fit(&name, 40),
                self.info.instance_id
            )
        }
    }
}

/// What the output does with the follow's news.
pub trait Sink {
    /// An instance changed status (its output is there once it has finished).
    fn changed(&mut self, tracked: &Tracked);
    /// A round ended; `all` is every instance so far, in AWS's order.
    fn round(&mut self, all: &[&Tracked]);
    /// A line about gangway itself (retries), for stderr.
    fn notice(&self, line: &str);
}

/// How following ended.
pub enum Followed {
    /// Everything reachable finished; instances still pending (their agent cannot take the
    /// command) are listed by id.
    Finished { still_pending: Vec<String> },
    /// The user pressed Ctrl-C and chose to stop following.
    Detached,
}

/// What Ctrl-C should do, asked of the user.
pub enum Interrupt {
    Cancel,
    Detach,
}

pub struct Follower<'a> {
    pub client: &'a AwsClient,
    pub command_id: &'a str,
    /// Names from the listing, by instance id.
    pub names: BTreeMap<String, String>,
    /// Instances known not to be able to take it (listed before sending).
    pub offline: HashSet<String>,
    /// Everything seen so far, by instance id; order kept in `order`.
    pub tracked: BTreeMap<String, Tracked>,
    pub order: Vec<String>,
    /// API calls made while following (the benchmark reports them).
    pub calls: usize,
}

impl<'a> Follower<'a> {
    pub fn new(
        client: &'a AwsClient,
        command_id: &'a str,
        names: BTreeMap<String, String>,
        offline: HashSet<String>,
    ) -> Self {
        Self {
            client,
            command_id,
            names,
            offline,
            tracked: BTreeMap::new(),
            order: Vec::new(),
            calls: 0,
        }
    }

    pub fn all(&self) -> Vec<&Tracked> {
        self.order
            .iter()
            .filter_map(|id| self.tracked.get(id))
            .collect()
    }

    /// Rounds until done, or until Ctrl-C and the user's choice says detach. `ask` is
    /// called on Ctrl-C.
    pub async fn run(
        &mut self,
        sink: &mut dyn Sink,
        ask: &dyn Fn() -> Interrupt,
    ) -> Result<Followed, AwsError> {
        let mut pause = Duration::from_millis(300);
        // One listener for the whole follow, so a Ctrl-C pressed while a round runs is
        // kept and answered after it, not lost between two listeners.
        let mut interrupts = tokio::signal::unix::signal(SignalKind::interrupt())
            .map_err(|err| AwsError::Config(format!("cannot watch for Ctrl-C: {err}")))?;
        loop {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                interrupted = interrupts.recv() => {
                    if interrupted.is_some() {
                        match ask() {
                            Interrupt::Detach => return Ok(Followed::Detached),
                            Interrupt::Cancel => {
                                sink.notice("cancelling the command on AWS (CancelCommand)");
                                let notice = |line: String| sink.notice(&line);
                                with_patience(Patience::WRITES, &notice, || {
                                    self.client.cancel_command(self.command_id)
                                })
                                .await?;
                                self.calls += 1;
                            }
                        }
                    }
                }
            }
            let pages = self.round(sink).await?;
            if let Some(done) = self.done(sink).await? {
                return Ok(done);
            }
            pause = crate::aws::commands::pause_after_round(pages);
        }
    }

    /// One round: every invocation, the changes reported, outputs of the newly finished.
    async fn round(&mut self, sink: &mut dyn Sink) -> Result<usize, AwsError> {
        let (invocations, pages) = {
            let notice = |line: String| sink.notice(&line);
            with_patience(Patience::READS, &notice, || {
                self.client.command_invocations(self.command_id)
            })
            .await?
        };
        self.calls += pages;
        let mut finished_now = Vec::new();
        for info in invocations {
            let id = info.instance_id.clone();
            let previous = self.tracked.get(&id).map(|t| t.info.status_details.clone());
            if previous.as_deref() == Some(info.status_details.as_str()) {
                continue;
            }
            if previous.is_none() {
                self.order.push(id.clone());
            }
            let finished = info.is_finished();
            let tracked = Tracked {
                name: self.names.get(&id).cloned(),
                info,
                output: None,
            };
            self.tracked.insert(id.clone(), tracked);
            if finished {
                finished_now.push(id);
            } else if let Some(tracked) = self.tracked.get(&id) {
                sink.changed(tracked);
            }
        }
        let outputs: Vec<(String, Result<InvocationOutput, AwsError>)> = {
            let this = &*self;
            let sink: &dyn Sink = sink;
            futures_util::stream::iter(finished_now)
                .map(|id| async move {
                    let output = this.fetch_output(&id, sink).await;
                    (id, output)
                })
                .buffer_unordered(OUTPUT_FETCHES)
                .collect()
                .await
        };
        for (id, output) in outputs {
            self.calls += 1;
            if let Some(tracked) = self.tracked.get_mut(&id) {
                tracked.output = Some(output?);
                sink.changed(tracked);
            }
        }
        sink.round(&self.all());
        Ok(pages)
    }

    async fn fetch_output(&self, id: &str, sink: &dyn Sink) -> Result<InvocationOutput, AwsError> {
        let notice = |line: String| sink.notice(&line);
        with_patience(Patience::READS, &notice, || {
            self.client.command_output(self.command_id, id)
        })
        .await
    }

    /// Done when AWS says the command finished, or when every invocation it made has, but
    /// for those on instances listed as unable to take it (they wait for a delivery timeout).
    async fn done(&mut self, sink: &dyn Sink) -> Result<Option<Followed>, AwsError> {
        let unfinished: Vec<String> = self
            .all()
            .iter()
            .filter(|t| !t.info.is_finished())
            .map(|t| t.info.instance_id.clone())
            .collect();
        if !unfinished.is_empty() && !unfinished.iter().all(|id| self.offline.contains(id)) {
            return Ok(None);
        }
        let notice = |line: String| sink.notice(&line);
        let command = with_patience(Patience::READS, &notice, || {
            self.client.command(self.command_id)
        })
        .await?;
        self.calls += 1;
        let Some(command) = command else {
            return Err(AwsError::NotFound(format!(
                "command {} is no longer known to AWS",
                self.command_id
            )));
        };
        // Targets by tag: AWS may not have made every invocation yet.
        let all_made = usize::try_from(command.target_count).unwrap_or(0) <= self.order.len();
        if command.is_finished() || (all_made && !self.order.is_empty()) {
            return Ok(Some(Followed::Finished {
                still_pending: unfinished,
            }));
        }
        Ok(None)
    }
}
