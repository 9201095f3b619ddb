//! Every screen rendered into ratatui's `TestBackend` from emulator-shaped fixtures (including
//! the ESC/NUL tag and the Korean tags) and compared with insta snapshots at 120x40 and 80x24;
//! tiny sizes must not panic.
#![allow(clippy::unwrap_used)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use unicode_width::UnicodeWidthStr;

use crate::aws::{Cause, Diagnosis};
use crate::tui::fixtures;
use crate::tui::keymap::Keymap;
use crate::tui::model::{Banner, Model, Settings};
use crate::tui::msg::{HistoryPage, Msg};
use crate::tui::update::{init, update};

fn loaded(readonly: bool) -> Model {
    let settings = Settings {
        identity: Some("dev".into()),
        tag_columns: vec!["Env".into()],
        ..Settings::default()
    };
    let mut m = Model::new(
        fixtures::now(),
        vec!["us-east-1".into()],
        Keymap::defaults(readonly),
        settings,
    );
    init(&mut m);
    let region = || "us-east-1".to_owned();
    update(
        &mut m,
        Msg::FleetLoaded {
            region: region(),
            result: Ok(fixtures::demo_instances()),
        },
    );
    update(
        &mut m,
        Msg::SessionsLoaded {
            region: region(),
            result: Ok(fixtures::active_sessions()),
        },
    );
    update(
        &mut m,
        Msg::PreferencesLoaded {
            region: region(),
            result: Ok(fixtures::preferences()),
        },
    );
    m
}

/// Presses `keys` (the fixtures' way), leaving what they ask for undone.
fn press(m: &mut Model, keys: &str) {
    fixtures::press(m, keys);
}

/// The screens to snapshot, each a model built by keys from the loaded fixture state.
fn screens() -> Vec<(&'static str, Model)> {
    let mut out = Vec::new();
    out.push(("fleet", loaded(false)));
    let mut m = loaded(false);
    press(&mut m, "jjjjjjd");
    let id = m.fleet.selected().unwrap().id.clone();
    let report = Diagnosis {
        cause: Cause::AgentTooOld {
            version: "2.3.50.0".into(),
        },
        summary: "the SSM agent 2.3.50.0 is too old for Session Manager".into(),
        more: Vec::new(),
        fix: Some("update the agent to 2.3.68.0 or later".into()),
        warnings: Vec::new(),
    };
    update(
        &mut m,
        Msg::Connectivity {
            id,
            result: Ok(report),
        },
    );
    out.push(("fleet_detail", m));
    let mut m = loaded(false);
    press(&mut m, "jjjjjd");
    out.push(("fleet_detail_escapes", m));
    let mut m = loaded(false);
    press(&mut m, "d");
    out.push(("fleet_detail_sessions", m));
    let mut m = loaded(false);
    press(&mut m, "/서울");
    out.push(("fleet_filter", m));
    let mut m = loaded(false);
    press(&mut m, "i");
    out.push(("fleet_grouped", m));
    let mut m = loaded(false);
    m.settings.scope_tags = vec![("Env".into(), "dev".into())];
    out.push(("fleet_scoped", m.clone()));
    press(&mut m, "R");
    out.push(("fleet_reachable_only", m));
    let mut m = loaded(true);
    m.banner = Some(Banner {
        message: "the security token included in the request is expired".into(),
        hint: Some("run `aws sso login --profile dev`".into()),
    });
    out.push(("fleet_readonly_banner", m));
    out.extend(run_screens());
    let mut m = loaded(false);
    press(&mut m, "2 ");
    out.push(("sessions", m));
    let mut m = loaded(false);
    press(&mut m, "2  \x04");
    out.push(("sessions_confirm", m));
    let mut m = loaded(false);
    press(&mut m, "2/dev\na");
    out.push(("sessions_filtered_marked", m));
    let mut m = loaded(false);
    press(&mut m, "3");
    let query = m.history.query.clone();
    let page = HistoryPage {
        sessions: fixtures::history_sessions(),
        next_token: Some("more".into()),
    };
    update(
        &mut m,
        Msg::HistoryLoaded {
            region: "us-east-1".into(),
            query,
            result: Ok(page),
        },
    );
    out.push(("history", m.clone()));
    press(&mut m, "jj\n");
    out.push(("history_detail", m));
    let mut m = loaded(false);
    press(&mut m, "4");
    out.push(("preferences", m));
    let mut m = loaded(false);
    press(&mut m, ":audit\n");
    let event = |id: &str, kind, user: &str, reason: Option<&str>, error: Option<&str>, ago| {
        crate::aws::types::SessionEvent {
            event_id: id.into(),
            kind,
            time: fixtures::now() - std::time::Duration::from_secs(ago),
            user: user.into(),
            user_arn: None,
            session_id: Some("dev-0a1b2c3d4e5f60001".into()),
            target: Some("i-a1b2c3d4e5f600001".into()),
            source_ip: Some("192.0.2.10".into()),
            reason: reason.map(str::to_owned),
            error_code: error.map(str::to_owned),
            region: "us-east-1".into(),
        }
    };
    use crate::aws::types::SessionEventKind as K;
    update(
        &mut m,
        Msg::AuditLoaded {
            region: "us-east-1".into(),
            result: Ok(vec![
                event("e3", K::Terminate, "dev", None, None, 60),
                event(
                    "e2",
                    K::Start,
                    "eve\u{1b}]0;pwned\u{7}",
                    Some("x\u{9b}31m"),
                    Some("AccessDeniedException"),
                    300,
                ),
                event("e1", K::Start, "dev", Some("INC-42 restart"), None, 600),
            ]),
        },
    );
    out.push(("audit", m));
    let mut m = loaded(false);
    press(&mut m, "?");
    out.push(("help", m));
    let mut m = loaded(false);
    m.settings.reason_mode = crate::tui::model::ReasonMode::Required;
    let pattern = regex_lite::Regex::new("^[A-Z]+-[0-9]+").unwrap();
    m.settings.reason_example = crate::tui::reason_example::example(&pattern);
    m.settings.reason_pattern = Some(pattern);
    press(&mut m, "\nfix\n");
    out.push(("reason_prompt", m));
    let mut m = loaded(false);
    press(&mut m, ":history owner=dev");
    out.push(("command_line", m));
    let mut m = loaded(false);
    press(&mut m, "/batch-1\n\n");
    out.push(("fleet_long_status", m));
    let mut m = loaded(false);
    press(&mut m, "2");
    update(
        &mut m,
        Msg::Terminated {
            session_id: "admin-0a1b2c3d4e5f60003".into(),
            result: Err(denied_terminate("admin-0a1b2c3d4e5f60003")),
        },
    );
    out.push(("sessions_denied", m.clone()));
    press(&mut m, "m");
    out.push(("message_popup", m));
    let mut m = loaded(false);
    press(&mut m, "2   \x04y");
    for (id, result) in [
        ("dev-0a1b2c3d4e5f60001", Ok(())),
        (
            "admin-0a1b2c3d4e5f60003",
            Err(denied_terminate("admin-0a1b2c3d4e5f60003")),
        ),
        ("dev-0a1b2c3d4e5f60002", Ok(())),
    ] {
        update(
            &mut m,
            Msg::Terminated {
                session_id: id.into(),
                result,
            },
        );
    }
    out.push(("sessions_partly_denied", m));
    let mut m = loaded(false);
    update(
        &mut m,
        Msg::ShellEnded {
            target: web_1(),
            result: Err(denied_start_session()),
        },
    );
    out.push(("fleet_shell_denied", m));
    let mut m = loaded(false);
    m.banner = Some(Banner {
        message: "cannot reach AWS at https://ssm.us-east-1.amazonaws.com: error sending \
                  request: client error (Connect): tcp connect error: Connection refused"
            .into(),
        hint: Some("check your network, proxy, --region and --endpoint-url".into()),
    });
    out.push(("fleet_long_banner", m));
    let mut m = loaded(false);
    press(&mut m, "?G");
    out.push(("help_scrolled", m));
    let mut m = loaded(false);
    m.settings.endpoint = Some("http://127.0.0.1:41873".into());
    m.settings.connect_as = Some("AKIAGANGWAYDEV".into());
    out.push(("fleet_demo_endpoint", m.clone()));
    press(&mut m, ":info\n");
    out.push(("info", m));
    let mut m = loaded(false);
    press(&mut m, "f8080\t5432\tdb.internal");
    out.push(("tunnel_form", m));
    let mut m = loaded(false);
    press(&mut m, "f\t\n");
    out.push(("tunnel_form_error", m));
    let mut m = with_tunnels();
    out.push(("tunnels", m.clone()));
    press(&mut m, "\x04");
    out.push(("tunnels_confirm", m));
    out
}

/// Three tunnels: one carrying traffic, one resumed after a re-establish to a remote host,
/// one ended with a reason that holds an escape sequence (it must be shown escaped).
fn with_tunnels() -> Model {
    use crate::tui::model::ShellTarget;
    use crate::tui::tunnel_list::TunnelRequest;
    use crate::tunnel::TunnelEvent;
    let mut m = loaded(false);
    let target = |id: &str, name: &str| ShellTarget {
        instance_id: crate::aws::InstanceId::from_aws(id),
        name: Some(name.to_owned()),
        region: "us-east-1".into(),
    };
    let ids = [
        m.tunnels.add(
            target("i-0a1b2c3d4e5f60001", "web-1"),
            TunnelRequest {
                local_port: 8080,
                remote_port: 80,
                host: None,
            },
        ),
        m.tunnels.add(
            target("i-0a1b2c3d4e5f60005", "db-1"),
            TunnelRequest {
                local_port: 0,
                remote_port: 5432,
                host: Some("db.internal".into()),
            },
        ),
        m.tunnels.add(
            target("i-0a1b2c3d4e5f6000a", "evil\x1b[31m-tag"),
            TunnelRequest {
                local_port: 9000,
                remote_port: 22,
                host: None,
            },
        ),
    ];
    let listening = |port: u16, remote: &str| TunnelEvent::Listening {
        listener: 0,
        local: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        remote: remote.into(),
    };
    let events = [
        (ids[0], listening(8080, "80")),
        (
            ids[0],
            TunnelEvent::ConnectionOpened {
                listener: 0,
                connection: 1,
                peer: std::net::SocketAddr::from(([127, 0, 0, 1], 50_000)),
                session_id: "dev-1".into(),
            },
        ),
        (ids[1], listening(41_873, "db.internal:5432")),
        (
            ids[1],
            TunnelEvent::SessionOpened {
                listener: 0,
                session_id: "dev-2".into(),
                mode: "mux",
                reestablished: 2,
            },
        ),
        (
            ids[1],
            TunnelEvent::Reconnecting {
                listener: 0,
                session_id: "dev-2".into(),
            },
        ),
    ];
    for (id, event) in events {
        update(&mut m, Msg::Tunnel { id, event });
    }
    update(
        &mut m,
        Msg::TunnelTraffic {
            id: ids[0],
            up: 3 * 1024 * 1024,
            down: 12 * 1024 * 1024,
            interval: std::time::Duration::from_secs(2),
        },
    );
    update(
        &mut m,
        Msg::TunnelEnded {
            id: ids[2],
            reason: "the agent said \x1b[2Jno".into(),
        },
    );
    press(&mut m, "6");
    m
}

pub(super) fn render(model: &mut Model, width: u16, height: u16) -> Buffer {
    update(model, Msg::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| super::draw(frame, model)).unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row; a wide character's hidden second cell is skipped.
pub(super) fn text_of(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        let mut x = 0;
        while x < buffer.area.width {
            let symbol = buffer[(x, y)].symbol();
            let width = u16::try_from(symbol.width().max(1)).unwrap();
            // A wide character whose second half was drawn over (by a popup) shows as a space.
            let covered = (1..width)
                .any(|dx| x + dx < buffer.area.width && buffer[(x + dx, y)].symbol() != " ");
            if covered {
                line.push(' ');
                x += 1;
                continue;
            }
            line.push_str(symbol);
            x += width;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Run Command: marks and the prompt over the fleet, the confirmation, the commands list,
/// one command live and an instance's output.
fn run_screens() -> Vec<(&'static str, Model)> {
    let mut out = Vec::new();
    let mut m = loaded(false);
    // api-1 (space marks it and moves down), api-2 (offline: left out, with its reason) and
    // the instance whose name holds an escape sequence.
    press(&mut m, " ");
    let web2 = m.fleet.selected().unwrap().id.clone();
    m.fleet.marked.insert(web2);
    let evil = fixtures::demo_instances()
        .into_iter()
        .find(|i| i.name.as_deref().is_some_and(|n| n.starts_with("evil")))
        .unwrap();
    m.fleet.marked.insert(evil.id);
    out.push(("fleet_marked", m.clone()));
    press(&mut m, "!uname -n");
    out.push(("run_prompt", m.clone()));
    press(&mut m, "\n");
    out.push(("run_confirm", m));
    let mut m = loaded(false);
    press(&mut m, ":commands\n");
    update(
        &mut m,
        Msg::CommandsLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::commands()),
        },
    );
    out.push(("commands", m.clone()));
    press(&mut m, "\n");
    update(
        &mut m,
        Msg::InvocationsLoaded {
            command_id: fixtures::commands()[0].command_id.clone(),
            result: Ok((fixtures::invocations(), 1)),
        },
    );
    out.push(("command", m.clone()));
    press(&mut m, "\n");
    let web1 = fixtures::invocations()[0].instance_id.clone();
    update(
        &mut m,
        Msg::OutputLoaded {
            command_id: fixtures::commands()[0].command_id.clone(),
            instance_id: web1,
            result: Ok(fixtures::output()),
        },
    );
    out.push(("command_output", m));
    out
}

#[test]
fn every_screen_at_120x40_and_80x24() {
    for (name, mut model) in screens() {
        for (w, h) in [(120, 40), (80, 24)] {
            let buffer = render(&mut model, w, h);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text_of(&buffer));
        }
    }
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (_, mut model) in screens() {
        for (w, h) in [(1, 1), (10, 3), (0, 0), (0, 5), (5, 0), (3, 2), (20, 4)] {
            render(&mut model, w, h);
        }
    }
}

#[test]
fn no_control_character_reaches_the_terminal() {
    for (name, mut model) in screens() {
        let buffer = render(&mut model, 200, 50);
        for cell in buffer.content() {
            assert!(
                !cell.symbol().chars().any(char::is_control),
                "{name}: {:?}",
                cell.symbol()
            );
        }
        let text = text_of(&buffer);
        assert!(!text.contains("pwned\u{7}"), "{name}");
    }
}

#[test]
fn korean_names_keep_the_columns_aligned() {
    let mut model = loaded(false);
    let buffer = render(&mut model, 120, 40);
    let columns: Vec<usize> = text_of(&buffer)
        .lines()
        .filter_map(|line| {
            let at = line.find(" i-a1b2")?;
            Some(UnicodeWidthStr::width(&line[..at]))
        })
        .collect();
    assert_eq!(columns.len(), 12);
    assert!(columns.iter().all(|c| *c == columns[0]), "{columns:?}");
}

#[test]
fn the_last_two_minutes_of_a_countdown_are_red() {
    let mut model = loaded(false);
    press(&mut model, "2");
    let buffer = render(&mut model, 160, 20);
    let text = text_of(&buffer);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("dev-0a1b2c3d4e5f60002"))
        .unwrap();
    let x = line.find("1m30s").unwrap();
    let x = u16::try_from(UnicodeWidthStr::width(&line[..x])).unwrap();
    assert_eq!(buffer[(x, u16::try_from(y).unwrap())].fg, Color::Red);
}

#[test]
fn empty_columns_give_their_room_to_the_reason() {
    let mut m = loaded(false);
    let mut sessions = fixtures::active_sessions();
    sessions[0].reason = Some("JIRA-4711 rotate TLS certs".into());
    update(
        &mut m,
        Msg::SessionsLoaded {
            region: "us-east-1".into(),
            result: Ok(sessions),
        },
    );
    press(&mut m, "2");
    let text = text_of(&render(&mut m, 120, 40));
    assert!(text.contains("JIRA-4711 rotate TLS certs"), "{text}");
    let text = text_of(&render(&mut m, 80, 24));
    let header = text.lines().nth(1).unwrap();
    assert!(header.contains("REASON"), "{text}");
    assert!(
        !header.contains("IDLE"),
        "no row has an idle time: {header}"
    );
}

#[test]
fn group_headers_show_the_name_the_whole_id_and_the_count() {
    let mut m = loaded(false);
    let mut instances = fixtures::generated_instances(4444);
    for instance in &mut instances {
        let (id, name) = if instance.image_id.as_deref() == Some("ami-a1b2c3d4e5f60001") {
            (
                "ami-0123456789abcdef1",
                "al2023-ami-2023.6.20241010.0-kernel-6.1-x86_64",
            )
        } else {
            (
                "ami-0123456789abcdef2",
                "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20241004",
            )
        };
        instance.image_id = Some(id.into());
        instance.image_name = Some(name.into());
    }
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(instances),
        },
    );
    // Grouped, from the top: the first group is the 3333 instances of ...def1.
    press(&mut m, "ig");
    for (w, h) in [(120, 40), (80, 24)] {
        let text = text_of(&render(&mut m, w, h));
        let header = text.lines().find(|l| l.starts_with('▸')).expect(&text);
        assert!(
            header.contains("ami-0123456789abcdef1"),
            "{w}x{h}: {header}"
        );
        assert!(header.contains("3333 instances"), "{w}x{h}: {header}");
        if w == 120 {
            assert!(
                header.contains("al2023-ami-2023.6.20241010.0-kernel-6.1-x86_64"),
                "{header}"
            );
        }
    }
}

/// The screen as one line, runs of spaces as one: a message wrapped at spaces reads whole.
fn joined(buffer: &Buffer) -> String {
    text_of(buffer)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn web_1() -> crate::tui::model::ShellTarget {
    crate::tui::model::ShellTarget {
        instance_id: crate::aws::types::InstanceId::from_aws("i-a1b2c3d4e5f600001"),
        name: Some("web-1".into()),
        region: "us-east-1".into(),
    }
}

/// What `shell::run` reports when StartSession is denied: AWS's text, then the advice.
fn denied_start_session() -> String {
    crate::shell::ShellError::Aws(crate::aws::AwsError::AccessDenied(
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: \
         ssm:StartSession on resource: arn:aws:ec2:us-east-1:123456789012:instance/\
         i-a1b2c3d4e5f600001 because no identity-based policy allows the ssm:StartSession action"
            .into(),
    ))
    .to_string()
}

/// What the executor makes of a TerminateSession denial.
fn denied_terminate(session_id: &str) -> crate::tui::model::LoadError {
    let error = crate::aws::AwsError::AccessDenied(format!(
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: \
         ssm:TerminateSession on resource: arn:aws:ssm:us-east-1:123456789012:session/\
         {session_id} because the session belongs to another user"
    ));
    crate::tui::executor::load_error(&error)
}

#[test]
fn a_denied_start_session_keeps_its_reason_at_every_width() {
    for (w, h) in [(80, 24), (120, 40), (220, 50)] {
        let mut m = loaded(false);
        update(
            &mut m,
            Msg::ShellEnded {
                target: web_1(),
                result: Err(denied_start_session()),
            },
        );
        let text = joined(&render(&mut m, w, h));
        assert!(
            text.contains("because no identity-based policy allows the ssm:StartSession action"),
            "{w}x{h}:\n{}",
            text_of(&render(&mut m, w, h))
        );
    }
}

#[test]
fn a_denied_terminate_keeps_its_reason_at_every_width() {
    for (w, h) in [(80, 24), (120, 40), (220, 50)] {
        let mut m = loaded(false);
        press(&mut m, "2");
        update(
            &mut m,
            Msg::Terminated {
                session_id: "admin-0a1b2c3d4e5f60003".into(),
                result: Err(denied_terminate("admin-0a1b2c3d4e5f60003")),
            },
        );
        let text = joined(&render(&mut m, w, h));
        assert!(
            text.contains("because the session belongs to another user"),
            "{w}x{h}:\n{}",
            text_of(&render(&mut m, w, h))
        );
    }
}

#[test]
fn the_whole_message_opens_in_a_popup() {
    let mut m = loaded(false);
    press(&mut m, "2");
    update(
        &mut m,
        Msg::Terminated {
            session_id: "admin-0a1b2c3d4e5f60003".into(),
            result: Err(denied_terminate("admin-0a1b2c3d4e5f60003")),
        },
    );
    press(&mut m, "m");
    let text = text_of(&render(&mut m, 80, 24));
    assert!(text.contains("Whole message"), "{text}");
    assert!(text.contains("ssm:TerminateSession"), "{text}");
    assert!(text.contains("ask an administrator"), "{text}");
    press(&mut m, "\x1b");
    let text = text_of(&render(&mut m, 80, 24));
    assert!(!text.contains("Whole message"), "esc closes it:\n{text}");
}

#[test]
fn a_long_banner_wraps_instead_of_cutting_words() {
    let message = "cannot reach AWS at https://ssm.us-east-1.amazonaws.com: error sending \
                   request: client error (Connect): tcp connect error: Connection refused";
    let mut m = loaded(false);
    m.banner = Some(Banner {
        message: message.into(),
        hint: Some("check your network, proxy, --region and --endpoint-url".into()),
    });
    for (w, h) in [(120, 40), (80, 24)] {
        let text = joined(&render(&mut m, w, h));
        assert!(text.contains(message), "{w}x{h}:\n{text}");
        assert!(text.contains("--endpoint-url"), "{w}x{h}:\n{text}");
    }
}

#[test]
fn at_80x24_the_hint_bar_keeps_help_and_quit() {
    for keys in ["", "d", "2", "3", "4", "?"] {
        let mut m = loaded(false);
        press(&mut m, keys);
        let text = text_of(&render(&mut m, 80, 24));
        let hints = text.lines().last().unwrap();
        assert!(hints.contains("q quit"), "after {keys:?}: {hints}");
        if keys != "?" {
            assert!(hints.contains("? help"), "after {keys:?}: {hints}");
        }
    }
}

#[test]
fn the_help_screen_scrolls_to_every_description_at_80x24() {
    let mut m = loaded(false);
    press(&mut m, "?");
    let mut seen = String::new();
    for _ in 0..40 {
        seen.push_str(&text_of(&render(&mut m, 80, 24)));
        press(&mut m, "j");
    }
    for spec in crate::tui::keymap::ACTIONS {
        assert!(
            seen.contains(spec.help),
            "{:?} never shown whole",
            spec.help
        );
    }
    assert!(seen.contains("before=…]"), "the commands are shown whole");
}

fn title(model: &mut Model, width: u16) -> String {
    text_of(&render(model, width, 24))
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn each_tab_counts_its_rows() {
    let mut m = loaded(false);
    assert!(
        title(&mut m, 120).contains("1:fleet(12)"),
        "{}",
        title(&mut m, 120)
    );
    assert!(
        title(&mut m, 120).contains("2:sessions(3)"),
        "{}",
        title(&mut m, 120)
    );
    press(&mut m, "/web");
    let filtered = format!("1:fleet({}/12)", m.fleet.shown);
    assert!(m.fleet.shown < 12);
    assert!(
        title(&mut m, 120).contains(&filtered),
        "{}",
        title(&mut m, 120)
    );
    press(&mut m, "\n3");
    let query = m.history.query.clone();
    update(
        &mut m,
        Msg::HistoryLoaded {
            region: "us-east-1".into(),
            query,
            result: Ok(HistoryPage {
                sessions: fixtures::history_sessions(),
                next_token: Some("more".into()),
            }),
        },
    );
    assert!(
        title(&mut m, 80).contains("3:history(30+)"),
        "{}",
        title(&mut m, 80)
    );
}

#[test]
fn the_title_says_when_the_screen_was_refreshed_and_r_shows() {
    let mut m = loaded(false);
    update(
        &mut m,
        Msg::Tick(fixtures::now() + std::time::Duration::from_secs(12)),
    );
    assert!(
        title(&mut m, 120).contains("refreshed 12s ago"),
        "{}",
        title(&mut m, 120)
    );
    press(&mut m, "r");
    assert!(
        title(&mut m, 120).contains("refreshing…"),
        "{}",
        title(&mut m, 120)
    );
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::demo_instances()),
        },
    );
    assert!(
        title(&mut m, 120).contains("refreshed 0s ago"),
        "{}",
        title(&mut m, 120)
    );
    assert!(
        title(&mut m, 80).contains("refreshed 0s ago"),
        "{}",
        title(&mut m, 80)
    );
}

#[test]
fn times_are_shown_in_the_configured_zone_with_its_name() {
    let mut m = loaded(false);
    press(&mut m, "2");
    // Wide enough for the STARTED column.
    let utc = text_of(&render(&mut m, 200, 40));
    // The first active session started at 11:58 UTC.
    assert!(utc.contains("2026-11-29 11:5"), "{utc}");
    assert!(utc.contains(" UTC "), "{utc}");
    m.settings.time_zone = crate::tui::clock::TimeZone::posix("KST-9").unwrap();
    let seoul = text_of(&render(&mut m, 200, 40));
    assert!(seoul.contains("2026-11-29 20:5"), "{seoul}");
    assert!(seoul.contains(" KST "), "{seoul}");
    assert!(!seoul.contains(" UTC "), "{seoul}");
}

#[test]
fn sessions_run_by_other_gangway_processes_show_their_idle_time() {
    let mut m = loaded(false);
    let session = fixtures::active_sessions()[0].session_id.clone();
    // `gangway connect` in another terminal, idle for 95 s: its activity file says so.
    let activity = fixtures::now() - std::time::Duration::from_secs(95);
    update(
        &mut m,
        Msg::LocalActivity([(session.clone(), activity)].into()),
    );
    press(&mut m, "2");
    let text = text_of(&render(&mut m, 160, 20));
    let header = text.lines().nth(1).unwrap();
    assert!(header.contains("IDLE"), "{text}");
    let row = text.lines().find(|l| l.contains(&session)).unwrap();
    // Idle 1m35s; 20 min idle timeout in the fixtures' preferences: 18m25s left.
    assert!(row.contains("1m35s"), "{row}");
    assert!(row.contains("18m25s"), "{row}");
}
