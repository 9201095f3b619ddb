//! Mux mode (§6.3): every local connection is one smux stream over the session's PT 1 byte
//! stream, with gangway as the smux client (`proto::smux`, ids 3, 5, 7, …).
//!
//! One task owns the [`Mux`] and the channel. It never waits on the channel's input queue
//! while output is pending: the input side is a cancel-safe `reserve` inside the same
//! `select!` that reads output, because the agent stops acknowledging input while its own
//! output is not read, and a pump blocked on input would never read it (deadlock).
//!
//! Half-close is kept both ways: a local FIN becomes `close_write` (smux FIN) and the
//! stream keeps receiving; the peer's FIN shuts the local write side down. (The plugin
//! closes both directions at the first EOF, `handleDataTransfer`; the agent does too, so a
//! peer that half-closes may see the rest cut by the agent, not by gangway.)

use std::collections::HashMap;
use std::time::Instant;

use super::connection::{Downstream, READ_CHUNK, ToWriter, Upstream};
use super::event::TunnelEvent;
use super::pump::{Accepted, Life, PumpContext, PumpEnd, Queues, sleep_until, stopped};
use crate::proto::PayloadFlag;
use crate::proto::smux::{Mux, MuxConfig, MuxEvent, Role, StreamId};
use crate::transport::{ChannelEvent, SessionChannel};

/// Bytes handed to the channel per input command: 16 of the transport's 1 KiB payloads.
const TRANSMIT_CHUNK: usize = 16 * 1024;
/// Encoded smux bytes waiting for the channel past which local reads are not taken.
const TRANSMIT_HIGH: usize = 256 * 1024;

struct Stream {
    id: StreamId,
    life: Life,
}

/// Runs the mux until the session ends or the tunnel stops.
pub(crate) async fn run(
    channel: &mut SessionChannel,
    keepalive: bool,
    ctx: &mut PumpContext<'_>,
) -> PumpEnd {
    let config = MuxConfig {
        keepalive,
        ..MuxConfig::default()
    };
    let mut mux = Mux::new(Role::Client, config, Instant::now());
    let input = channel.input();
    let mut queues = Queues::new();
    let mut streams: HashMap<u64, Stream> = HashMap::new();
    let mut by_id: HashMap<StreamId, u64> = HashMap::new();
    let end = loop {
        if let Some(end) = drain_mux(&mut mux, &mut streams, &by_id) {
            break end;
        }
        let pending = mux.pending_transmit_bytes();
        tokio::select! {
            permit = input.reserve(), if pending > 0 => match permit {
                Ok(permit) => {
                    if let Some(bytes) = mux.poll_transmit(TRANSMIT_CHUNK) {
                        permit.send_input(bytes);
                    }
                }
                Err(_) => break PumpEnd::Ended("the data channel stopped".into()),
            },
            event = channel.next_event(), if mux.wants_input() => {
                match event {
                    Some(ChannelEvent::Output(bytes)) => mux.handle_input(&bytes),
                    Some(ChannelEvent::Flag(PayloadFlag::ConnectToPortError)) => {
                        ctx.emit(TunnelEvent::RemoteRefused {
                            listener: ctx.listener,
                            session_id: ctx.session_id.to_owned(),
                        });
                    }
                    other => {
                        if let Some(end) = ctx.on_channel_state(other.as_ref()) {
                            break end;
                        }
                    }
                }
            }
            Some(down) = queues.downstream.recv() => {
                on_downstream(down, &mut mux, &mut streams, &mut by_id, ctx);
            }
            Some(up) = queues.upstream.recv(), if pending < TRANSMIT_HIGH => {
                on_upstream(up, &mut mux, &mut streams, &mut by_id, ctx);
            }
            Some(accepted) = ctx.incoming.recv() => {
                attach(accepted, &mut mux, &mut queues, &mut streams, &mut by_id, ctx);
            }
            () = sleep_until(mux.poll_timeout()) => mux.handle_timeout(Instant::now()),
            () = stopped(ctx.stop) => break PumpEnd::Stopped,
        }
    };
    let reason = match &end {
        PumpEnd::Stopped => "the tunnel stopped".to_owned(),
        PumpEnd::Ended(reason) => format!("the session ended: {reason}"),
    };
    for (_, stream) in streams.drain() {
        ctx.closed(&stream.life, Some(reason.clone()));
    }
    end
}

fn attach(
    accepted: Accepted,
    mux: &mut Mux,
    queues: &mut Queues,
    streams: &mut HashMap<u64, Stream>,
    by_id: &mut HashMap<StreamId, u64>,
    ctx: &PumpContext<'_>,
) {
    ctx.opened(&accepted);
    let connection = accepted.connection;
    match mux.open_stream() {
        Ok(id) => {
            let tasks = queues.spawn(accepted);
            by_id.insert(id, connection);
            streams.insert(
                connection,
                Stream {
                    id,
                    life: Life::new(connection, tasks),
                },
            );
        }
        Err(error) => {
            // Dropping the socket closes it: the local client sees the refusal at once.
            let life = Life::new(connection, queues.spawn(accepted));
            ctx.closed(&life, Some(error.to_string()));
        }
    }
}

fn on_upstream(
    up: Upstream,
    mux: &mut Mux,
    streams: &mut HashMap<u64, Stream>,
    by_id: &mut HashMap<StreamId, u64>,
    ctx: &PumpContext<'_>,
) {
    match up {
        Upstream::Data(key, bytes) => {
            if let Some(stream) = streams.get_mut(&key) {
                debug_assert!(bytes.len() <= READ_CHUNK);
                stream.life.bytes_up += bytes.len() as u64;
                if let Err(error) = mux.send(stream.id, &bytes) {
                    tracing::debug!(%error, "local data not sent");
                }
            }
        }
        Upstream::Eof(key) => {
            if let Some(stream) = streams.get_mut(&key) {
                stream.life.read_done = true;
                let _ = mux.close_write(stream.id);
                finish_if_done(key, mux, streams, by_id, ctx);
            }
        }
        Upstream::Failed(key, error) => close(key, Some(error), mux, streams, by_id, ctx),
    }
}

fn on_downstream(
    down: Downstream,
    mux: &mut Mux,
    streams: &mut HashMap<u64, Stream>,
    by_id: &mut HashMap<StreamId, u64>,
    ctx: &PumpContext<'_>,
) {
    match down {
        Downstream::Written(key, n) => {
            if let Some(stream) = streams.get(&key) {
                mux.consumed(stream.id, n);
            }
        }
        Downstream::Done(key, None) => {
            if let Some(stream) = streams.get_mut(&key) {
                stream.life.write_done = true;
                finish_if_done(key, mux, streams, by_id, ctx);
            }
        }
        Downstream::Done(key, Some(error)) => close(key, Some(error), mux, streams, by_id, ctx),
    }
}

/// Hands what the mux decoded to the connections; `Some` when the mux died.
fn drain_mux(
    mux: &mut Mux,
    streams: &mut HashMap<u64, Stream>,
    by_id: &HashMap<StreamId, u64>,
) -> Option<PumpEnd> {
    while let Some(event) = mux.poll_event() {
        match event {
            MuxEvent::Data(id, bytes) => {
                let Some(stream) = by_id.get(&id).and_then(|key| streams.get_mut(key)) else {
                    let _ = mux.close(id);
                    continue;
                };
                stream.life.bytes_down += bytes.len() as u64;
                let _ = stream.life.tasks.to_writer.send(ToWriter::Data(bytes));
            }
            MuxEvent::StreamFinished(id) => {
                if let Some(stream) = by_id.get(&id).and_then(|key| streams.get_mut(key)) {
                    let _ = stream.life.tasks.to_writer.send(ToWriter::Finish);
                }
            }
            // The agent only accepts streams (§6.3); one it opens has nowhere to go.
            MuxEvent::StreamAccepted(id) => {
                tracing::debug!(%id, "the agent opened a smux stream; closing it");
                let _ = mux.close(id);
            }
            MuxEvent::Error(error) => return Some(PumpEnd::Ended(error.to_string())),
        }
    }
    None
}

/// Both directions are finished: forget the stream (its FIN went out with `close_write`).
fn finish_if_done(
    key: u64,
    mux: &mut Mux,
    streams: &mut HashMap<u64, Stream>,
    by_id: &mut HashMap<StreamId, u64>,
    ctx: &PumpContext<'_>,
) {
    if streams
        .get(&key)
        .is_some_and(|stream| stream.life.read_done && stream.life.write_done)
    {
        close(key, None, mux, streams, by_id, ctx);
    }
}

fn close(
    key: u64,
    reason: Option<String>,
    mux: &mut Mux,
    streams: &mut HashMap<u64, Stream>,
    by_id: &mut HashMap<StreamId, u64>,
    ctx: &PumpContext<'_>,
) {
    if let Some(stream) = streams.remove(&key) {
        by_id.remove(&stream.id);
        let _ = mux.close(stream.id);
        ctx.closed(&stream.life, reason);
    }
}
