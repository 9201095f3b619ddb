//! The tunnel form, stopping with a confirmation, read-only, and what tunnel events do to a
//! row (connections, rates, states).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use crate::tui::effect::Effect;
use crate::tui::fixtures;
use crate::tui::model::{Level, Mode, Model, Screen};
use crate::tui::msg::Msg;
use crate::tui::tunnel_list::{TunnelRequest, TunnelState};
use crate::tui::update::update;
use crate::tunnel::TunnelEvent;

fn started(m: &mut Model, keys: &str) -> (u64, TunnelRequest) {
    let effects = fixtures::press(m, keys);
    match effects.as_slice() {
        [
            Effect::StartTunnel {
                id,
                request,
                target,
            },
        ] => {
            assert_eq!(
                Some(target.instance_id.clone()),
                m.fleet.selected().map(|i| i.id.clone())
            );
            (*id, request.clone())
        }
        other => panic!("expected one StartTunnel, got {other:?}"),
    }
}

#[test]
fn the_form_starts_a_tunnel_with_what_was_typed() {
    let mut m = fixtures::fleet_model(false);
    let (id, request) = started(&mut m, "f8080\t5432\tdb.internal\n");
    assert_eq!(
        request,
        TunnelRequest {
            local_port: 8080,
            remote_port: 5432,
            host: Some("db.internal".into())
        }
    );
    assert_eq!(m.mode, Mode::Normal);
    assert_eq!(m.tunnels.items.len(), 1);
    assert_eq!(m.tunnels.items[0].id, id);
    assert_eq!(m.tunnels.items[0].state, TunnelState::Starting);
}

#[test]
fn an_empty_local_port_picks_a_free_one_and_no_host_means_the_instance() {
    let mut m = fixtures::fleet_model(false);
    let (_, request) = started(&mut m, "f\t22\n");
    assert_eq!(request.local_port, 0);
    assert_eq!(request.host, None);
    assert_eq!(request.remote(), "22");
}

#[test]
fn bad_input_stays_in_the_form_with_the_reason() {
    let mut m = fixtures::fleet_model(false);
    assert!(fixtures::press(&mut m, "f\n").is_empty());
    let Mode::TunnelForm(form) = &m.mode else {
        panic!("form closed")
    };
    assert_eq!(form.error.as_deref(), Some("a remote port is required"));
    // Letters are refused in a port field, a port over 65535 is refused on submit.
    fixtures::press(&mut m, "\tx");
    let Mode::TunnelForm(form) = &m.mode else {
        panic!("form closed")
    };
    assert!(form.remote.is_empty());
    assert!(form.error.as_deref().unwrap().contains("digits only"));
    assert!(fixtures::press(&mut m, "70000\n").is_empty());
    let Mode::TunnelForm(form) = &m.mode else {
        panic!("form closed")
    };
    assert!(form.error.as_deref().unwrap().contains("is not a port"));
    // esc leaves without starting anything.
    assert!(fixtures::press(&mut m, "\x1b").is_empty());
    assert_eq!(m.mode, Mode::Normal);
    assert!(m.tunnels.items.is_empty());
}

#[test]
fn readonly_has_no_tunnel_key_and_says_why() {
    let mut m = fixtures::fleet_model(true);
    assert!(fixtures::press(&mut m, "f").is_empty());
    assert_eq!(m.mode, Mode::Normal);
    let status = m.status.as_ref().unwrap();
    assert_eq!(status.level, Level::Warn);
    assert!(status.text.contains("--readonly"), "{}", status.text);
    assert!(
        status.text.contains("forward a local port"),
        "{}",
        status.text
    );
}

#[test]
fn events_keep_the_row_up_to_date() {
    let mut m = fixtures::fleet_model(false);
    let (id, _) = started(&mut m, "f\t80\n");
    let local = SocketAddr::from(([127, 0, 0, 1], 40_000));
    let events = [
        TunnelEvent::Listening {
            listener: 0,
            local,
            remote: "80".into(),
        },
        TunnelEvent::ConnectionOpened {
            listener: 0,
            connection: 1,
            peer: local,
            session_id: "s".into(),
        },
        TunnelEvent::ConnectionOpened {
            listener: 0,
            connection: 2,
            peer: local,
            session_id: "s".into(),
        },
        TunnelEvent::ConnectionClosed {
            listener: 0,
            connection: 1,
            bytes_up: 1,
            bytes_down: 1,
            reason: None,
        },
    ];
    for event in events {
        update(&mut m, Msg::Tunnel { id, event });
    }
    let row = &m.tunnels.items[0];
    assert_eq!(row.local, Some(local));
    assert_eq!(row.connections, 1);
    assert_eq!(row.state, TunnelState::Listening);
    update(
        &mut m,
        Msg::TunnelTraffic {
            id,
            up: 2048,
            down: 0,
            interval: Duration::from_secs(2),
        },
    );
    update(
        &mut m,
        Msg::TunnelTraffic {
            id,
            up: 3072,
            down: 4096,
            interval: Duration::from_millis(500),
        },
    );
    let row = &m.tunnels.items[0];
    assert_eq!((row.rate_up, row.rate_down), (2048, 8192));
    let resuming = TunnelEvent::Reconnecting {
        listener: 0,
        session_id: "s".into(),
    };
    update(
        &mut m,
        Msg::Tunnel {
            id,
            event: resuming,
        },
    );
    assert_eq!(m.tunnels.items[0].state, TunnelState::Resuming);
    let ended = TunnelEvent::SessionEnded {
        listener: 0,
        session_id: "s".into(),
        reason: "idle timeout".into(),
        reopening: true,
    };
    update(&mut m, Msg::Tunnel { id, event: ended });
    assert_eq!(m.tunnels.items[0].state, TunnelState::Reopening);
    let reopened = TunnelEvent::SessionOpened {
        listener: 0,
        session_id: "t".into(),
        mode: "mux",
        reestablished: 1,
    };
    update(
        &mut m,
        Msg::Tunnel {
            id,
            event: reopened,
        },
    );
    assert_eq!(
        m.tunnels.items[0].state_text(),
        "listening, re-established once"
    );
    update(
        &mut m,
        Msg::TunnelEnded {
            id,
            reason: "could not open a new session: denied".into(),
        },
    );
    let row = &m.tunnels.items[0];
    assert_eq!(
        row.state,
        TunnelState::Ended("could not open a new session: denied".into())
    );
    assert_eq!((row.connections, row.rate_up), (0, 0));
    assert_eq!(m.status.as_ref().unwrap().level, Level::Error);
}

#[test]
fn stopping_asks_first_then_stops_only_that_tunnel() {
    let mut m = fixtures::fleet_model(false);
    let (first, _) = started(&mut m, "f\t80\n");
    let (second, _) = started(&mut m, "f\t443\n");
    assert_ne!(first, second);
    fixtures::press(&mut m, ":tunnels\n");
    assert_eq!(m.screen, Screen::Tunnels);
    fixtures::press(&mut m, "j\x04");
    assert!(
        matches!(&m.mode, Mode::Confirm(c) if c.action == crate::tui::model::Confirmed::StopTunnel(second))
    );
    // n keeps it.
    assert!(fixtures::press(&mut m, "n").is_empty());
    assert_eq!(m.tunnels.items[1].state, TunnelState::Starting);
    fixtures::press(&mut m, "\x04");
    assert_eq!(fixtures::press(&mut m, "y"), [Effect::StopTunnel(second)]);
    assert_eq!(m.tunnels.items[1].state, TunnelState::Stopping);
    update(
        &mut m,
        Msg::TunnelEnded {
            id: second,
            reason: "stopped".into(),
        },
    );
    let name = m.fleet.selected().unwrap().name.clone().unwrap();
    assert_eq!(
        m.status.as_ref().unwrap().text,
        format!("tunnel to {name} stopped")
    );
    // An ended tunnel is not asked about again.
    assert!(fixtures::press(&mut m, "\x04").is_empty());
    assert_eq!(m.mode, Mode::Normal);
    assert_eq!(m.tunnels.running(), 1);
}
