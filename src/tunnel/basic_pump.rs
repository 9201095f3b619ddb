//! Basic mode (§6.3): one local connection at a time, its bytes as the raw PT 1 stream.
//! When it closes, Flag DisconnectToPort tells the agent to close its side, and the next
//! waiting connection takes the session (the agent re-dials on its first bytes). Others
//! wait in the slot's queue meanwhile (taken only when the session is free, so a session
//! that ends leaves them to the next one); `--sessions N` is how basic mode carries N at
//! once. A local half-close ends the connection, as in the plugin (basicportforwarding.go,
//! func ReadStream): basic mode has no way to say "no more input" and keep reading.

use std::collections::VecDeque;

use super::connection::{Downstream, ToWriter, Upstream};
use super::pump::{Life, PumpContext, PumpEnd, Queues, stopped};
use crate::proto::PayloadFlag;
use crate::transport::{ChannelEvent, SessionChannel};

/// Output handed to the local writer and not yet written, past which the pump stops
/// taking output from the channel (whose own backlog then holds the agent back, §5.2).
const UNWRITTEN_HIGH: usize = 4 << 20;

enum Outgoing {
    Data(Vec<u8>),
    Disconnect,
}

/// Runs basic mode until the session ends or the tunnel stops.
pub(crate) async fn run(channel: &mut SessionChannel, ctx: &mut PumpContext<'_>) -> PumpEnd {
    let input = channel.input();
    let mut queues = Queues::new();
    let mut active: Option<Life> = None;
    let mut outgoing: VecDeque<Outgoing> = VecDeque::new();
    let mut unwritten = 0usize;
    // Output that arrived with no connection to take it (after a disconnect, before the
    // agent closed its side): it belonged to the previous connection.
    let mut orphaned = 0u64;
    let end = loop {
        tokio::select! {
            permit = input.reserve(), if !outgoing.is_empty() => match permit {
                Ok(permit) => match outgoing.pop_front() {
                    Some(Outgoing::Data(bytes)) => permit.send_input(bytes),
                    Some(Outgoing::Disconnect) => {
                        drop(permit);
                        if input.send_flag(PayloadFlag::DisconnectToPort).await.is_err() {
                            break PumpEnd::Ended("the data channel stopped".into());
                        }
                    }
                    None => {}
                },
                Err(_) => break PumpEnd::Ended("the data channel stopped".into()),
            },
            event = channel.next_event(), if unwritten < UNWRITTEN_HIGH => match event {
                Some(ChannelEvent::Output(bytes)) => match &mut active {
                    Some(life) => {
                        life.bytes_down += bytes.len() as u64;
                        unwritten += bytes.len();
                        let _ = life.tasks.to_writer.send(ToWriter::Data(bytes));
                    }
                    None => orphaned += bytes.len() as u64,
                },
                other => {
                    if let Some(end) = ctx.on_channel_state(other.as_ref()) {
                        break end;
                    }
                }
            },
            Some(down) = queues.downstream.recv() => match down {
                Downstream::Written(key, n) if is_active(&active, key) => {
                    unwritten = unwritten.saturating_sub(n);
                }
                Downstream::Done(key, error) if is_active(&active, key) => {
                    disconnect(&mut active, &mut outgoing, ctx, error);
                }
                _ => {}
            },
            Some(up) = queues.upstream.recv(), if outgoing.len() < 2 => match up {
                Upstream::Data(key, bytes) if is_active(&active, key) => {
                    if let Some(life) = &mut active {
                        life.bytes_up += bytes.len() as u64;
                    }
                    outgoing.push_back(Outgoing::Data(bytes));
                }
                Upstream::Eof(key) if is_active(&active, key) => {
                    disconnect(&mut active, &mut outgoing, ctx, None);
                }
                Upstream::Failed(key, error) if is_active(&active, key) => {
                    disconnect(&mut active, &mut outgoing, ctx, Some(error));
                }
                _ => {}
            },
            Some(next) = ctx.incoming.recv(), if active.is_none() => {
                ctx.opened(&next);
                unwritten = 0;
                active = Some(Life::new(next.connection, queues.spawn(next)));
            }
            () = stopped(ctx.stop) => break PumpEnd::Stopped,
        }
    };
    if orphaned > 0 {
        tracing::debug!(orphaned, "basic mode: output without a connection dropped");
    }
    let reason = match &end {
        PumpEnd::Stopped => "the tunnel stopped".to_owned(),
        PumpEnd::Ended(reason) => format!("the session ended: {reason}"),
    };
    if let Some(life) = active.take() {
        ctx.closed(&life, Some(reason.clone()));
    }
    end
}

fn is_active(active: &Option<Life>, key: u64) -> bool {
    active.as_ref().is_some_and(|life| life.connection == key)
}

/// The local connection is over (either way): the plugin's DisconnectToPort (§6.3), so the
/// agent closes the destination and re-dials for the next one.
fn disconnect(
    active: &mut Option<Life>,
    outgoing: &mut VecDeque<Outgoing>,
    ctx: &PumpContext<'_>,
    error: Option<String>,
) {
    if let Some(life) = active.take() {
        outgoing.push_back(Outgoing::Disconnect);
        ctx.closed(&life, error);
    }
}
