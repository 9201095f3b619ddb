//! The Run Command flow of `update`: marks, the prompt, the confirmation, SendCommand, the
//! command followed at the pace of `gangway run`, and an instance's output.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::aws::types::{CommandInfo, Instance};
use crate::tui::fixtures;
use crate::tui::model::{Confirmed, Level, LoadError, Mode};

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn named(m: &Model, name: &str) -> Instance {
    m.fleet
        .instances
        .iter()
        .find(|i| i.name.as_deref() == Some(name))
        .cloned()
        .unwrap()
}

/// Marks instances by moving the cursor to each and pressing space.
fn mark(m: &mut Model, names: &[&str]) {
    for name in names {
        let id = named(m, name).id;
        m.fleet.select_id(&id);
        update(m, key(KeyCode::Char(' ')));
        assert!(m.fleet.marked.contains(&id), "{name} marked");
    }
}

fn sent(command_id: &str, targets: i32) -> CommandInfo {
    CommandInfo {
        command_id: command_id.into(),
        target_count: targets,
        status: "Pending".into(),
        ..fixtures::commands()[0].clone()
    }
}

#[test]
fn marked_instances_get_the_command_after_a_confirmation() {
    let mut m = fixtures::fleet_model(false);
    mark(&mut m, &["web-1", "web-2", "db-1"]);
    assert!(update(&mut m, key(KeyCode::Char('!'))).is_empty());
    assert!(matches!(&m.mode, Mode::Run(p) if p.targets.len() == 3));
    assert!(fixtures::press(&mut m, "uname -n").is_empty());
    assert!(
        update(&mut m, key(KeyCode::Enter)).is_empty(),
        "nothing is sent before the confirmation"
    );
    let Mode::Confirm(confirm) = m.mode.clone() else {
        panic!("{:?}", m.mode)
    };
    assert!(confirm.title.contains('3'), "{}", confirm.title);
    for name in ["web-1", "web-2", "db-1"] {
        assert!(
            confirm.lines.iter().any(|l| l.contains(name)),
            "{name} listed: {:?}",
            confirm.lines
        );
    }
    let effects = update(&mut m, key(KeyCode::Char('y')));
    let [Effect::SendCommand { region, request }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(region, "us-east-1");
    assert_eq!(request.document_name, "AWS-RunShellScript");
    assert_eq!(request.commands, ["uname -n"]);
    let mut ids = request.instance_ids.clone();
    ids.sort();
    let mut want: Vec<String> = ["web-1", "web-2", "db-1"]
        .iter()
        .map(|n| named(&m, n).id.to_string())
        .collect();
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(m.mode, Mode::Normal);
}

#[test]
fn without_marks_the_command_goes_to_what_the_filter_shows() {
    let mut m = fixtures::fleet_model(false);
    update(&mut m, key(KeyCode::Char('/')));
    fixtures::press(&mut m, "worker");
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, key(KeyCode::Char('!')));
    let Mode::Run(prompt) = &m.mode else {
        panic!("{:?}", m.mode)
    };
    let mut names: Vec<_> = prompt
        .targets
        .iter()
        .filter_map(|i| i.name.as_deref())
        .collect();
    names.sort();
    assert_eq!(names, ["worker-1", "worker-2"]);
}

#[test]
fn an_empty_command_and_a_mix_of_windows_and_linux_are_refused_in_the_prompt() {
    let mut m = fixtures::fleet_model(false);
    let mut instances = fixtures::demo_instances();
    for i in &mut instances {
        if i.name.as_deref() == Some("web-2") {
            i.platform = Some("Windows".into());
        }
    }
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(instances),
        },
    );
    mark(&mut m, &["web-1", "web-2"]);
    update(&mut m, key(KeyCode::Char('!')));
    update(&mut m, key(KeyCode::Enter));
    assert!(
        matches!(&m.mode, Mode::Run(p) if p.error.as_deref().is_some_and(|e| e.contains("type the command")))
    );
    fixtures::press(&mut m, "hostname");
    update(&mut m, key(KeyCode::Enter));
    let Mode::Run(prompt) = &m.mode else {
        panic!("a mix must not reach the confirmation: {:?}", m.mode)
    };
    assert!(
        prompt.error.as_deref().unwrap().contains("Windows"),
        "{:?}",
        prompt.error
    );
    assert_eq!(update(&mut m, key(KeyCode::Esc)), []);
    assert_eq!(m.mode, Mode::Normal);
}

#[test]
fn only_windows_instances_get_powershell() {
    let mut m = fixtures::fleet_model(false);
    let mut instances = fixtures::demo_instances();
    for i in &mut instances {
        i.platform = Some("Windows".into());
    }
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(instances),
        },
    );
    mark(&mut m, &["web-1"]);
    update(&mut m, key(KeyCode::Char('!')));
    fixtures::press(&mut m, "hostname");
    update(&mut m, key(KeyCode::Enter));
    let Mode::Confirm(confirm) = &m.mode else {
        panic!("{:?}", m.mode)
    };
    assert!(
        matches!(&confirm.action, Confirmed::Run(run) if run.request.document_name == "AWS-RunPowerShellScript")
    );
}

#[test]
fn readonly_has_no_run_key_and_says_why() {
    let mut m = fixtures::fleet_model(true);
    assert!(update(&mut m, key(KeyCode::Char('!'))).is_empty());
    assert_eq!(m.mode, Mode::Normal);
    let status = m.status.clone().unwrap();
    assert!(status.text.contains("--readonly"), "{}", status.text);
    assert!(status.text.contains("run a command"), "{}", status.text);
}

#[test]
fn a_sent_command_is_followed_at_the_pace_of_gangway_run_until_it_finishes() {
    let mut m = fixtures::fleet_model(false);
    mark(&mut m, &["web-1"]);
    let effects = update(
        &mut m,
        Msg::CommandSent {
            region: "us-east-1".into(),
            result: Ok(sent("cmd-1", 1)),
        },
    );
    assert_eq!(
        effects,
        [Effect::LoadInvocations {
            region: "us-east-1".into(),
            command_id: "cmd-1".into()
        }]
    );
    assert_eq!(m.screen, Screen::Command);
    assert!(m.fleet.marked.is_empty(), "marks are spent");
    let mut running = fixtures::invocations();
    running.truncate(1);
    running[0].command_id = "cmd-1".into();
    running[0].status = "InProgress".into();
    update(
        &mut m,
        Msg::InvocationsLoaded {
            command_id: "cmd-1".into(),
            result: Ok((running.clone(), 1)),
        },
    );
    let start = m.now;
    assert!(
        update(&mut m, Msg::Tick(start + Duration::from_millis(500))).is_empty(),
        "no round before the pause"
    );
    let effects = update(&mut m, Msg::Tick(start + Duration::from_secs(1)));
    assert!(effects.contains(&Effect::LoadInvocations {
        region: "us-east-1".into(),
        command_id: "cmd-1".into()
    }));
    assert!(
        !update(&mut m, Msg::Tick(start + Duration::from_secs(2)))
            .iter()
            .any(|e| matches!(e, Effect::LoadInvocations { .. })),
        "one round at a time"
    );
    let mut done = running;
    done[0].status = "Success".into();
    update(
        &mut m,
        Msg::InvocationsLoaded {
            command_id: "cmd-1".into(),
            result: Ok((done, 1)),
        },
    );
    assert!(m.command.as_ref().unwrap().finished());
    assert!(
        !update(&mut m, Msg::Tick(start + Duration::from_secs(60)))
            .iter()
            .any(|e| matches!(e, Effect::LoadInvocations { .. })),
        "a finished command is not polled"
    );
}

#[test]
fn enter_shows_an_instance_output_and_esc_closes_it_before_going_back() {
    let mut m = fixtures::fleet_model(false);
    update(&mut m, key(KeyCode::Char(':')));
    let effects = fixtures::press(&mut m, "commands")
        .into_iter()
        .chain(update(&mut m, key(KeyCode::Enter)))
        .collect::<Vec<_>>();
    assert_eq!(effects, [Effect::LoadCommands]);
    update(
        &mut m,
        Msg::CommandsLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::commands()),
        },
    );
    let id = fixtures::commands()[0].command_id.clone();
    assert_eq!(
        update(&mut m, key(KeyCode::Enter)),
        [Effect::LoadInvocations {
            region: "us-east-1".into(),
            command_id: id.clone()
        }]
    );
    // An answer about another command changes nothing.
    update(
        &mut m,
        Msg::InvocationsLoaded {
            command_id: "other".into(),
            result: Ok((fixtures::invocations(), 1)),
        },
    );
    assert!(m.command.as_ref().unwrap().invocations.is_empty());
    update(
        &mut m,
        Msg::InvocationsLoaded {
            command_id: id.clone(),
            result: Ok((fixtures::invocations(), 1)),
        },
    );
    let web1 = fixtures::invocations()[0].instance_id.clone();
    assert_eq!(
        update(&mut m, key(KeyCode::Enter)),
        [Effect::LoadOutput {
            region: "us-east-1".into(),
            command_id: id.clone(),
            instance_id: web1.clone()
        }]
    );
    update(
        &mut m,
        Msg::OutputLoaded {
            command_id: id,
            instance_id: web1,
            result: Ok(fixtures::output()),
        },
    );
    let pane = m.command.as_ref().unwrap().output.clone().unwrap();
    assert!(matches!(pane.result, Some(Ok(ref o)) if o.stdout.starts_with("web-1")));
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.screen, Screen::Command, "esc closes the output first");
    assert!(m.command.as_ref().unwrap().output.is_none());
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.screen, Screen::Commands);
}

#[test]
fn a_refused_send_says_why_and_stays_on_the_fleet() {
    let mut m = fixtures::fleet_model(false);
    let effects = update(
        &mut m,
        Msg::CommandSent {
            region: "us-east-1".into(),
            result: Err(LoadError {
                kind: crate::tui::model::ErrorKind::AccessDenied,
                message: "User: arn:aws:iam::1:user/dev is not authorized to perform: ssm:SendCommand on resource: arn:aws:ec2:us-east-1:1:instance/i-1 because no identity-based policy allows it".into(),
                hint: None,
            }),
        },
    );
    assert!(effects.is_empty());
    assert_eq!(m.screen, Screen::Fleet);
    let status = m.status.clone().unwrap();
    assert_eq!(status.level, Level::Error);
    assert!(status.text.contains("not sent"), "{}", status.text);
    assert!(status.text.contains("denied"), "{}", status.text);
}
