//! A port session on this process's stdin and stdout, for `gangway ssh-proxy` as an SSH
//! `ProxyCommand` (AWS-StartSSHSession, the plugin's StandardStreamForwarding, §6.3): stdin
//! goes out as PT 1 as it is read, output is written as it arrives. Binary-safe: no CR or EOT
//! conversion, no lone-LF rewriting.

use super::connection::{Downstream, ToWriter, Upstream, spawn_halves};
use super::open::OpenSession;
use super::pump::{Queues, stopped};
use crate::transport::ChannelEvent;

/// Output queued for stdout and not yet written, past which the channel is not read.
const UNWRITTEN_HIGH: usize = 4 << 20;

/// How the pump ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdioEnd {
    /// Stdin reached its end (the SSH client is done): the plugin exits 0 here.
    InputClosed,
    /// The session ended; stdout has everything that arrived. The reason, if any.
    SessionEnded(Option<String>),
    /// Stdout could not be written (the reader went away).
    OutputClosed(String),
    /// Stopped by a signal.
    Stopped,
}

/// Pumps until stdin ends, the session ends, or `stop` turns true. Reports websocket
/// resumes through `on_notice` (for stderr: stdout belongs to the SSH client).
pub async fn run(
    session: &mut OpenSession,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    mut on_notice: impl FnMut(&str),
) -> StdioEnd {
    let channel = &mut session.channel;
    let input = channel.input();
    let mut queues = Queues::new();
    let tasks = spawn_halves(
        0,
        tokio::io::stdin(),
        tokio::io::stdout(),
        queues.upstream_tx.clone(),
        queues.downstream_tx.clone(),
        Default::default(),
    );
    let mut outgoing: Option<Vec<u8>> = None;
    let mut input_ended = false;
    let mut unwritten = 0usize;
    let end = loop {
        if input_ended && outgoing.is_none() {
            break StdioEnd::InputClosed;
        }
        tokio::select! {
            permit = input.reserve(), if outgoing.is_some() => match permit {
                Ok(permit) => {
                    if let Some(bytes) = outgoing.take() {
                        permit.send_input(bytes);
                    }
                }
                Err(_) => break StdioEnd::SessionEnded(None),
            },
            event = channel.next_event(), if unwritten < UNWRITTEN_HIGH => match event {
                Some(ChannelEvent::Output(bytes)) => {
                    unwritten += bytes.len();
                    let _ = tasks.to_writer.send(ToWriter::Data(bytes));
                }
                Some(ChannelEvent::Reconnecting) => on_notice("connection lost; resuming the session"),
                Some(ChannelEvent::Reconnected) => on_notice("connection resumed"),
                Some(ChannelEvent::Closed { reason }) => break StdioEnd::SessionEnded(reason),
                Some(ChannelEvent::Lost(error)) => {
                    break StdioEnd::SessionEnded(Some(error.to_string()));
                }
                None => break StdioEnd::SessionEnded(None),
                Some(_) => {}
            },
            Some(down) = queues.downstream.recv() => match down {
                Downstream::Written(_, n) => unwritten = unwritten.saturating_sub(n),
                Downstream::Done(_, Some(error)) => break StdioEnd::OutputClosed(error),
                Downstream::Done(_, None) => {}
            },
            Some(up) = queues.upstream.recv(), if outgoing.is_none() && !input_ended => match up {
                Upstream::Data(_, bytes) => outgoing = Some(bytes),
                Upstream::Eof(_) | Upstream::Failed(..) => input_ended = true,
            },
            () = stopped(stop) => break StdioEnd::Stopped,
        }
    };
    // Whatever arrived is written before returning (stdout is the SSH client's).
    if !matches!(end, StdioEnd::OutputClosed(_)) && tasks.to_writer.send(ToWriter::Finish).is_ok() {
        while let Some(down) = queues.downstream.recv().await {
            if matches!(down, Downstream::Done(..)) {
                break;
            }
        }
    }
    end
}
