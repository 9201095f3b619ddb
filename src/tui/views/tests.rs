//! Every screen rendered into ratatui's `TestBackend` from emulator-shaped fixtures (including
//! the ESC/NUL tag and the Korean tags) and compared with insta snapshots at 120x40 and 80x24;
//! tiny sizes must not panic.
#![allow(clippy::unwrap_used)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
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

fn press(m: &mut Model, keys: &str) {
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            '\x04' => {
                update(
                    m,
                    Msg::Key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)),
                );
                continue;
            }
            c => KeyCode::Char(c),
        };
        update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
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
    press(&mut m, "/서울");
    out.push(("fleet_filter", m));
    let mut m = loaded(false);
    press(&mut m, "i");
    out.push(("fleet_grouped", m));
    let mut m = loaded(true);
    m.banner = Some(Banner {
        message: "the security token included in the request is expired".into(),
        hint: Some("run `aws sso login --profile dev`".into()),
    });
    out.push(("fleet_readonly_banner", m));
    let mut m = loaded(false);
    press(&mut m, "2 ");
    out.push(("sessions", m));
    let mut m = loaded(false);
    press(&mut m, "2  \x04");
    out.push(("sessions_confirm", m));
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
    out.push(("history", m));
    let mut m = loaded(false);
    press(&mut m, "4");
    out.push(("preferences", m));
    let mut m = loaded(false);
    press(&mut m, "?");
    out.push(("help", m));
    let mut m = loaded(false);
    m.settings.reason_mode = crate::tui::model::ReasonMode::Required;
    m.settings.reason_pattern = Some(regex_lite::Regex::new("^[A-Z]+-[0-9]+").unwrap());
    press(&mut m, "\nfix\n");
    out.push(("reason_prompt", m));
    let mut m = loaded(false);
    press(&mut m, ":history owner=dev");
    out.push(("command_line", m));
    let mut m = loaded(false);
    press(&mut m, "/batch-1\n\n");
    out.push(("fleet_long_status", m));
    out
}

fn render(model: &mut Model, width: u16, height: u16) -> Buffer {
    update(model, Msg::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| super::draw(frame, model)).unwrap();
    terminal.backend().buffer().clone()
}

/// The buffer as text, one line per row; a wide character's hidden second cell is skipped.
fn text_of(buffer: &Buffer) -> String {
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
