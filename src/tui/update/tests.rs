//! `update` without a terminal: keys in, model changes and effects out.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::aws::{Cause, Diagnosis};
use crate::tui::fixtures;
use crate::tui::keymap::Keymap;
use crate::tui::model::{
    Confirmed, Connectivity, ErrorKind, Level, LoadError, Mode, ReasonMode, Settings, ShellTarget,
};
use crate::tui::msg::{HistoryPage, ShellReport};

fn model_with(settings: Settings, readonly: bool) -> Model {
    let mut model = Model::new(
        fixtures::now(),
        vec!["us-east-1".into()],
        Keymap::defaults(readonly),
        settings,
    );
    model.size = (120, 40);
    let effects = init(&mut model);
    assert_eq!(
        effects,
        [
            Effect::LoadFleet,
            Effect::LoadSessions,
            Effect::LoadPreferences
        ]
    );
    update(
        &mut model,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::demo_instances()),
        },
    );
    update(
        &mut model,
        Msg::SessionsLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::active_sessions()),
        },
    );
    update(
        &mut model,
        Msg::PreferencesLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::preferences()),
        },
    );
    model
}

fn model() -> Model {
    model_with(
        Settings {
            identity: Some("dev".into()),
            ..Settings::default()
        },
        false,
    )
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Msg::Key(KeyEvent::new(KeyCode::Char(c), mods))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(model: &mut Model, text: &str) -> Vec<Effect> {
    text.chars().flat_map(|c| update(model, ch(c))).collect()
}

fn selected_name(model: &Model) -> String {
    model
        .fleet
        .selected()
        .and_then(|i| i.name.as_deref().map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn filtering_then_enter_opens_a_shell_on_the_match() {
    let mut m = model();
    // The hand-over (`[shell] embedded = false`); tabs: panes_tests.rs.
    m.settings.embedded_shells = false;
    update(&mut m, ch('/'));
    assert_eq!(m.mode, Mode::Filter);
    typed(&mut m, "api-1");
    assert_eq!(m.fleet.shown, 1);
    assert_eq!(selected_name(&m), "api-1");
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.mode, Mode::Normal, "enter leaves the filter, keeping it");
    let effects = update(&mut m, key(KeyCode::Enter));
    let [
        Effect::OpenShell {
            target,
            reason: None,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(target.name.as_deref(), Some("api-1"));
}

#[test]
fn an_offline_instance_is_explained_instead_of_opening_a_shell() {
    let mut m = model();
    update(&mut m, ch('/'));
    typed(&mut m, "batch-1");
    update(&mut m, key(KeyCode::Enter));
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    let status = m.status.clone().unwrap();
    assert_eq!(status.level, Level::Error);
    assert!(
        status.text.starts_with("no shell on batch-1:"),
        "{}",
        status.text
    );
    assert!(status.text.contains("stopped"), "{}", status.text);
}

#[test]
fn esc_in_filter_mode_clears_the_filter() {
    let mut m = model();
    update(&mut m, ch('/'));
    typed(&mut m, "web-");
    assert_eq!(m.fleet.shown, 2);
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.fleet.shown, 12);
    assert_eq!(m.mode, Mode::Normal);
}

#[test]
fn readonly_never_opens_shells_or_terminates() {
    let mut m = model_with(Settings::default(), true);
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    update(&mut m, ch('2'));
    assert_eq!(m.screen, Screen::Sessions);
    assert!(update(&mut m, ctrl('d')).is_empty());
    assert_eq!(m.mode, Mode::Normal);
}

#[test]
fn required_reason_must_be_given_and_match_the_pattern() {
    let settings = Settings {
        reason_mode: ReasonMode::Required,
        reason_pattern: Some(regex_lite::Regex::new("^[A-Z]+-[0-9]+").unwrap()),
        reason_example: Some("ABC-123".into()),
        embedded_shells: false,
        ..Settings::default()
    };
    let mut m = model_with(settings, false);
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    assert!(matches!(m.mode, Mode::Reason(_)));
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    let Mode::Reason(prompt) = &m.mode else {
        panic!()
    };
    assert_eq!(prompt.error.as_deref(), Some("a reason is required"));
    typed(&mut m, "because");
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    let Mode::Reason(prompt) = &m.mode else {
        panic!()
    };
    // An example that fits, not the pattern a second time (issue 16).
    let error = prompt.error.as_deref().unwrap();
    assert!(error.contains("`ABC-123`"), "{error}");
    assert!(!error.contains("[A-Z]"), "{error}");
    for _ in 0.."because".len() {
        update(&mut m, key(KeyCode::Backspace));
    }
    typed(&mut m, "OPS-42 disk full");
    let effects = update(&mut m, key(KeyCode::Enter));
    assert!(
        matches!(&effects[..], [Effect::OpenShell { reason: Some(r), .. }] if r == "OPS-42 disk full")
    );
    assert_eq!(m.mode, Mode::Normal);
}

#[test]
fn terminate_asks_first_and_covers_every_marked_session() {
    let mut m = model();
    update(&mut m, ch('2'));
    update(&mut m, ch(' '));
    update(&mut m, ch(' '));
    assert_eq!(m.sessions.marked.len(), 2);
    assert!(
        update(&mut m, ctrl('d')).is_empty(),
        "nothing happens before the confirmation"
    );
    let Mode::Confirm(confirm) = &m.mode else {
        panic!("{:?}", m.mode)
    };
    assert!(
        matches!(&confirm.action, Confirmed::Terminate(s) if s.len() == 2),
        "{confirm:?}"
    );
    let effects = update(&mut m, ch('y'));
    assert_eq!(effects.len(), 2);
    assert!(effects.iter().all(|e| matches!(e, Effect::Terminate(_))));
    assert!(m.sessions.marked.is_empty());
}

#[test]
fn declining_the_confirmation_terminates_nothing() {
    let mut m = model();
    update(&mut m, ch('2'));
    assert!(
        update(&mut m, ctrl('d')).is_empty(),
        "nothing happens before the answer"
    );
    let Mode::Confirm(confirm) = &m.mode else {
        panic!("ctrl-d must open the confirmation, got {:?}", m.mode);
    };
    assert!(
        matches!(&confirm.action, Confirmed::Terminate(s) if s.len() == 1),
        "{confirm:?}"
    );
    assert!(update(&mut m, key(KeyCode::Esc)).is_empty());
    assert_eq!(m.mode, Mode::Normal);
}

#[test]
fn a_denied_terminate_shows_the_reason_from_aws() {
    let mut m = model();
    let error = LoadError {
        kind: ErrorKind::AccessDenied,
        message: "User dev is not allowed to terminate admin-0a1b".into(),
        hint: None,
    };
    let effects = update(
        &mut m,
        Msg::Terminated {
            session_id: "admin-0a1b".into(),
            result: Err(error),
        },
    );
    assert_eq!(effects, [Effect::LoadSessions]);
    let status = m.status.clone().unwrap();
    assert_eq!(status.level, Level::Error);
    assert!(status.text.contains("is not allowed to terminate"));
}

#[test]
fn expired_credentials_raise_a_banner_and_keep_the_data() {
    let mut m = model();
    let error = LoadError {
        kind: ErrorKind::Credentials,
        message: "the security token has expired".into(),
        hint: Some("run `aws sso login --profile dev`".into()),
    };
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Err(error),
        },
    );
    assert_eq!(m.fleet.instances.len(), 12);
    assert!(
        m.banner
            .as_ref()
            .unwrap()
            .hint
            .as_deref()
            .unwrap()
            .contains("sso login")
    );
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::demo_instances()),
        },
    );
    assert!(m.banner.is_none(), "a success clears the banner");
}

#[test]
fn command_mode_switches_screens_and_quits() {
    let mut m = model();
    update(&mut m, ch(':'));
    typed(&mut m, "sessions");
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.screen, Screen::Sessions);
    update(&mut m, ch(':'));
    typed(&mut m, "prefs");
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.screen, Screen::Preferences);
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.screen, Screen::Sessions, "esc goes back one screen");
    update(&mut m, ch(':'));
    typed(&mut m, "nonsense");
    update(&mut m, key(KeyCode::Enter));
    assert!(m.status.as_ref().unwrap().text.contains("unknown command"));
    update(&mut m, ch(':'));
    typed(&mut m, "q");
    update(&mut m, key(KeyCode::Enter));
    assert!(m.quit);
}

#[test]
fn history_filters_come_from_the_command_line_and_pages_follow_scrolling() {
    let mut m = model();
    update(&mut m, ch(':'));
    typed(&mut m, "history target=i-a1b2c3d4e5f600001 since=2h");
    let effects = update(&mut m, key(KeyCode::Enter));
    let [
        Effect::LoadHistory {
            region: None,
            query,
            next_token: None,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(query.target.as_deref(), Some("i-a1b2c3d4e5f600001"));
    assert_eq!(
        query.after,
        Some(fixtures::now() - Duration::from_secs(7200))
    );
    let page = |from: usize| HistoryPage {
        sessions: fixtures::history_sessions()[from..from + 10].to_vec(),
        next_token: Some(format!("t{from}")),
    };
    let query = query.clone();
    let more = update(
        &mut m,
        Msg::HistoryLoaded {
            region: "us-east-1".into(),
            query: query.clone(),
            result: Ok(page(0)),
        },
    );
    // Ten rows fill less than a 40-line screen: the next page is asked for at once.
    assert!(matches!(&more[..], [Effect::LoadHistory { next_token: Some(t), .. }] if t == "t0"));
    update(
        &mut m,
        Msg::HistoryLoaded {
            region: "us-east-1".into(),
            query,
            result: Ok(page(10)),
        },
    );
    assert_eq!(m.history.items.len(), 20);
    let starts: Vec<_> = m.history.items.iter().map(|s| s.start).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");
}

#[test]
fn stale_history_answers_are_ignored() {
    let mut m = model();
    update(&mut m, ch('3'));
    let old = crate::aws::HistoryFilter {
        owner: Some("someone".into()),
        ..Default::default()
    };
    update(
        &mut m,
        Msg::HistoryLoaded {
            region: "us-east-1".into(),
            query: old,
            result: Ok(HistoryPage {
                sessions: fixtures::history_sessions(),
                next_token: None,
            }),
        },
    );
    assert!(m.history.items.is_empty());
}

#[test]
fn bad_history_filters_are_reported() {
    assert!(parse_history_query(&["since=2x"], fixtures::now()).is_err());
    assert!(parse_history_query(&["colour=red"], fixtures::now()).is_err());
    assert!(parse_history_query(&["after=yesterday"], fixtures::now()).is_err());
    let q = parse_history_query(
        &["after=2026-11-29T08:00:00Z", "owner=dev"],
        fixtures::now(),
    )
    .unwrap();
    assert_eq!(q.owner.as_deref(), Some("dev"));
}

#[test]
fn the_detail_pane_checks_connectivity_of_the_selection() {
    let mut m = model();
    let effects = update(&mut m, ch('d'));
    assert!(
        matches!(&effects[..], [Effect::CheckConnectivity(i)] if i.name.as_deref() == Some(&selected_name(&m)[..]))
    );
    let id = m.fleet.selected().unwrap().id.clone();
    assert_eq!(m.fleet.connectivity.get(&id), Some(&Connectivity::Checking));
    let report = Diagnosis {
        cause: Cause::Stopped,
        more: Vec::new(),
        summary: "the instance is stopped".into(),
        fix: Some("start it".into()),
        warnings: Vec::new(),
    };
    update(
        &mut m,
        Msg::Connectivity {
            id: id.clone(),
            result: Ok(report),
        },
    );
    assert!(matches!(
        m.fleet.connectivity.get(&id),
        Some(Connectivity::Known(diagnosis)) if !diagnosis.can_connect()
    ));
    let moved = update(&mut m, key(KeyCode::Down));
    assert!(
        matches!(&moved[..], [Effect::CheckConnectivity(_)]),
        "moving re-checks the new selection"
    );
    assert!(
        update(&mut m, key(KeyCode::Up)).is_empty(),
        "a known result is not asked for again"
    );
    let again = update(&mut m, ch('r'));
    assert!(again.contains(&Effect::LoadFleet));
    assert!(
        again
            .iter()
            .any(|e| matches!(e, Effect::CheckConnectivity(i) if i.id == id)),
        "r checks again"
    );
}

#[test]
fn movement_keeps_the_selection_on_screen() {
    let mut m = model_with(Settings::default(), false);
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::generated_instances(500)),
        },
    );
    update(&mut m, Msg::Resize(80, 24));
    update(&mut m, key(KeyCode::PageDown));
    update(&mut m, key(KeyCode::PageDown));
    let page = m.page_rows();
    assert_eq!(m.fleet.cursor.selected, 2 * page);
    assert!(
        m.fleet.cursor.offset <= m.fleet.cursor.selected
            && m.fleet.cursor.selected < m.fleet.cursor.offset + page
    );
    update(&mut m, ch('G'));
    assert_eq!(m.fleet.cursor.selected, 499);
    update(&mut m, ch('g'));
    assert_eq!((m.fleet.cursor.selected, m.fleet.cursor.offset), (0, 0));
}

#[test]
fn several_regions_merge_into_one_list() {
    let mut m = Model::new(
        fixtures::now(),
        vec!["ap-northeast-2".into(), "us-east-1".into()],
        Keymap::defaults(false),
        Settings::default(),
    );
    let mut seoul = fixtures::generated_instances(3);
    for i in &mut seoul {
        i.region = "ap-northeast-2".into();
    }
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::demo_instances()),
        },
    );
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "ap-northeast-2".into(),
            result: Ok(seoul),
        },
    );
    assert_eq!(m.fleet.instances.len(), 15);
    assert!(m.multi_region());
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "ap-northeast-2".into(),
            result: Ok(vec![]),
        },
    );
    assert_eq!(
        m.fleet.instances.len(),
        12,
        "a region's refresh replaces only that region"
    );
}

#[test]
fn ticks_refresh_the_fleet_on_schedule_and_sessions_while_shown() {
    let mut m = model();
    assert!(update(&mut m, Msg::Tick(fixtures::now() + Duration::from_secs(1))).is_empty());
    let effects = update(&mut m, Msg::Tick(fixtures::now() + Duration::from_secs(61)));
    assert_eq!(effects, [Effect::LoadFleet]);
    update(&mut m, ch('2'));
    update(
        &mut m,
        Msg::SessionsLoaded {
            region: "us-east-1".into(),
            result: Ok(vec![]),
        },
    );
    let effects = update(&mut m, Msg::Tick(fixtures::now() + Duration::from_secs(67)));
    assert_eq!(effects, [Effect::LoadSessions]);
}

#[test]
fn a_shell_end_reports_in_the_status_line_and_marks_the_session_as_own() {
    let mut m = model_with(Settings::default(), false);
    let target = ShellTarget {
        instance_id: crate::aws::types::InstanceId::from_aws("i-a1b2c3d4e5f600001"),
        name: Some("web-1".into()),
        region: "us-east-1".into(),
    };
    let report = ShellReport {
        exit_code: None,
        session_id: Some("dev-0a1b2c3d4e5f60002".into()),
        summary: "exited with status 0".into(),
        ended_at: fixtures::now(),
    };
    let effects = update(
        &mut m,
        Msg::ShellEnded {
            target: target.clone(),
            result: Ok(report),
        },
    );
    assert_eq!(effects, [Effect::LoadSessions]);
    assert_eq!(
        m.status.clone().unwrap().text,
        "shell on web-1 ended: exited with status 0"
    );
    assert!(m.is_own(&fixtures::active_sessions()[1]));
    assert_eq!(
        m.settings.identity.as_deref(),
        Some("dev"),
        "learned from the session id"
    );
    assert!(
        m.is_own(&fixtures::active_sessions()[0]),
        "another session of the same user"
    );
    assert!(!m.is_own(&fixtures::active_sessions()[2]));
    update(
        &mut m,
        Msg::ShellEnded {
            target,
            result: Err("TargetNotConnected: the agent is offline".into()),
        },
    );
    assert_eq!(m.status.clone().unwrap().level, Level::Error);
}

#[test]
fn own_sessions_are_recognised_by_identity() {
    let m = model();
    let own: Vec<bool> = fixtures::active_sessions()
        .iter()
        .map(|s| m.is_own(s))
        .collect();
    assert_eq!(own, [true, true, false]);
}

#[test]
fn release_events_and_unbound_keys_do_nothing() {
    let mut m = model();
    let before = m.fleet.cursor.clone();
    let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = ratatui::crossterm::event::KeyEventKind::Release;
    update(&mut m, Msg::Key(release));
    update(&mut m, ch('x'));
    assert!(!m.quit);
    assert_eq!(m.fleet.cursor, before);
}

#[test]
fn a_failed_refresh_waits_a_full_interval_before_retrying() {
    let mut m = model();
    let error = LoadError {
        kind: ErrorKind::Unreachable,
        message: "cannot reach AWS".into(),
        hint: None,
    };
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Err(error),
        },
    );
    assert!(update(&mut m, Msg::Tick(fixtures::now() + Duration::from_secs(2))).is_empty());
    let effects = update(&mut m, Msg::Tick(fixtures::now() + Duration::from_secs(60)));
    assert_eq!(effects, [Effect::LoadFleet]);
}

#[test]
fn an_instance_outside_the_known_scope_is_explained() {
    let settings = Settings {
        scope_tags: vec![("Env".into(), "dev".into())],
        ..Settings::default()
    };
    let mut m = model_with(settings, false);
    update(&mut m, ch('/'));
    typed(&mut m, "web-1");
    update(&mut m, key(KeyCode::Enter));
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    let status = m.status.clone().unwrap().text;
    assert!(status.contains("Env"), "{status}");
}

#[test]
fn history_targets_may_be_given_by_name() {
    let mut m = model();
    update(&mut m, ch(':'));
    typed(&mut m, "history target=web-2");
    let effects = update(&mut m, key(KeyCode::Enter));
    let [Effect::LoadHistory { query, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(query.target.as_deref(), Some("i-a1b2c3d4e5f600002"));
    update(&mut m, ch(':'));
    typed(&mut m, "history target=nosuch");
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    assert!(
        m.status
            .clone()
            .unwrap()
            .text
            .contains("no instance named `nosuch`")
    );
}

#[test]
fn a_later_command_clears_an_old_error() {
    let mut m = model();
    update(&mut m, ch(':'));
    typed(&mut m, "nonsense");
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.status.clone().unwrap().level, Level::Error);
    update(&mut m, ch('s'));
    assert_eq!(m.status, None, "sorting worked: the error is old news");

    update(&mut m, ch('/'));
    typed(&mut m, "batch-1");
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.status.clone().unwrap().level, Level::Error);
    update(&mut m, ch(':'));
    typed(&mut m, "history owner=dev");
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.status, None);

    let throttled = LoadError {
        kind: ErrorKind::Other,
        message: "AWS is throttling requests".into(),
        hint: None,
    };
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Err(throttled),
        },
    );
    assert_eq!(m.status.clone().unwrap().level, Level::Error);
    update(
        &mut m,
        Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(fixtures::demo_instances()),
        },
    );
    assert_eq!(m.status, None, "the next fleet load worked");
}

fn denied_terminate(session_id: &str) -> LoadError {
    crate::tui::executor::load_error(&crate::aws::AwsError::AccessDenied(format!(
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: \
         ssm:TerminateSession on resource: arn:aws:ssm:us-east-1:123456789012:session/\
         {session_id} because the session belongs to another user"
    )))
}

fn terminated(m: &mut Model, session_id: &str, result: Result<(), LoadError>) {
    update(
        m,
        Msg::Terminated {
            session_id: session_id.into(),
            result,
        },
    );
}

#[test]
fn a_partly_denied_multi_terminate_reports_each_session() {
    let mut m = model();
    update(&mut m, ch('2'));
    for _ in 0..3 {
        update(&mut m, ch(' '));
    }
    update(&mut m, ctrl('d'));
    assert_eq!(update(&mut m, ch('y')).len(), 3);
    // The denial arrives first: a later success must not hide it.
    terminated(
        &mut m,
        "admin-0a1b2c3d4e5f60003",
        Err(denied_terminate("admin-0a1b2c3d4e5f60003")),
    );
    terminated(&mut m, "dev-0a1b2c3d4e5f60001", Ok(()));
    terminated(&mut m, "dev-0a1b2c3d4e5f60002", Ok(()));
    let status = m.status.clone().unwrap();
    assert_eq!(status.level, Level::Error);
    for part in [
        "terminated 2 of 3",
        "dev-0a1b2c3d4e5f60001",
        "dev-0a1b2c3d4e5f60002",
        "admin-0a1b2c3d4e5f60003 denied because the session belongs to another user",
    ] {
        assert!(status.text.contains(part), "{part:?} in {}", status.text);
    }
}

#[test]
fn a_two_session_terminate_names_both() {
    let mut m = model();
    update(&mut m, ch('2'));
    update(&mut m, ch(' '));
    update(&mut m, ch(' '));
    update(&mut m, ctrl('d'));
    let effects = update(&mut m, ch('y'));
    let ids: Vec<String> = effects
        .iter()
        .map(|e| match e {
            Effect::Terminate(s) => s.session_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        terminated(&mut m, id, Ok(()));
    }
    let status = m.status.clone().unwrap();
    assert_eq!(status.level, Level::Info);
    for id in &ids {
        assert!(status.text.contains(id.as_str()), "{id} in {}", status.text);
    }
}

#[test]
fn in_readonly_mode_enter_says_why_nothing_happens() {
    let mut m = model_with(Settings::default(), true);
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    let status = m.status.clone().expect("a word on why no shell opens");
    assert!(status.text.contains("--readonly"), "{}", status.text);
    assert!(status.text.contains("open a shell"), "{}", status.text);
}

#[test]
fn a_short_error_does_not_offer_a_popup_with_nothing_more() {
    let mut m = model();
    let target = ShellTarget {
        instance_id: crate::aws::types::InstanceId::from_aws("i-a1b2c3d4e5f600001"),
        name: Some("web-1".into()),
        region: "us-east-1".into(),
    };
    update(
        &mut m,
        Msg::ShellEnded {
            target,
            result: Err("the agent went away".into()),
        },
    );
    let status = m.status.clone().unwrap();
    assert_eq!(status.text, "no shell on web-1: the agent went away");
    assert!(!status.has_more());
}

#[test]
fn audit_loads_session_events_and_refreshes_on_r() {
    use crate::aws::types::{SessionEvent, SessionEventKind};
    let mut m = model();
    update(&mut m, ch(':'));
    typed(&mut m, "audit");
    assert_eq!(update(&mut m, key(KeyCode::Enter)), [Effect::LoadAudit]);
    assert_eq!(m.screen, Screen::Audit);
    let event = SessionEvent {
        event_id: "e1".into(),
        kind: SessionEventKind::Start,
        time: fixtures::now(),
        user: "dev".into(),
        user_arn: None,
        session_id: Some("dev-1".into()),
        target: Some("i-a1b2c3d4e5f600001".into()),
        source_ip: Some("127.0.0.1".into()),
        reason: None,
        error_code: None,
        region: "us-east-1".into(),
    };
    update(
        &mut m,
        Msg::AuditLoaded {
            region: "us-east-1".into(),
            result: Ok(vec![event.clone()]),
        },
    );
    assert_eq!(m.audit["us-east-1"], [event]);
    assert!(matches!(m.audit_load, Load::Loaded(_)));
    assert_eq!(update(&mut m, ch('r')), [Effect::LoadAudit]);
}

#[test]
fn reachable_only_shows_the_instances_a_shell_can_open_on_now() {
    let mut m = model_with(
        Settings {
            scope_tags: vec![("Env".into(), "dev".into())],
            ..Settings::default()
        },
        false,
    );
    let all = m.fleet.shown;
    update(&mut m, ch('R'));
    let scope = m.access_scope();
    let shown: Vec<_> = m
        .fleet
        .rows
        .iter()
        .filter_map(|row| match row {
            crate::tui::fleet_list::FleetRow::Instance(at) => Some(&m.fleet.instances[*at]),
            crate::tui::fleet_list::FleetRow::Group { .. } => None,
        })
        .collect();
    assert!(
        !shown.is_empty() && shown.len() < all,
        "{} of {all}",
        shown.len()
    );
    assert!(
        shown
            .iter()
            .all(|i| crate::aws::diagnose(i, None, &scope).can_connect())
    );
    assert!(m.fleet.selected().is_some());
    update(&mut m, ch('R'));
    assert_eq!(m.fleet.shown, all);
}

#[test]
fn enter_on_a_history_row_shows_the_whole_session_and_any_key_closes_it() {
    let mut m = model();
    update(&mut m, ch('3'));
    let query = m.history.query.clone();
    update(
        &mut m,
        Msg::HistoryLoaded {
            region: "us-east-1".into(),
            query,
            result: Ok(HistoryPage {
                sessions: fixtures::history_sessions(),
                next_token: None,
            }),
        },
    );
    update(&mut m, ch('j'));
    let second = m.history.items[1].clone();
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.mode, Mode::Session(Box::new(second)));
    update(&mut m, ch('x'));
    assert_eq!(m.mode, Mode::Normal);
    assert_eq!(m.screen, Screen::History);
}

#[test]
fn sessions_filter_sort_and_mark_all_shown_for_one_terminate() {
    let mut m = model();
    update(&mut m, ch('2'));
    for c in "/admin".chars() {
        update(&mut m, ch(c));
    }
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.sessions.view.rows.len(), 1);
    assert_eq!(
        m.selected_session().unwrap().session_id,
        "admin-0a1b2c3d4e5f60003"
    );
    // esc clears the filter before it leaves the screen.
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.sessions.view.rows.len(), 3);
    assert_eq!(m.screen, Screen::Sessions);
    // `a` marks every session the filter leaves; ctrl-d offers exactly those.
    for c in "/dev".chars() {
        update(&mut m, ch(c));
    }
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, ch('a'));
    assert_eq!(m.sessions.marked.len(), 2);
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)),
    );
    let Mode::Confirm(confirm) = &m.mode else {
        panic!("{:?}", m.mode)
    };
    let Confirmed::Terminate(sessions) = &confirm.action else {
        panic!("{:?}", confirm.action)
    };
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().all(|s| s.session_id.starts_with("dev-")));
    update(&mut m, key(KeyCode::Esc));
    // `a` again unmarks them.
    update(&mut m, ch('a'));
    assert!(m.sessions.marked.is_empty());
    // `s` sorts by the next column (owner), `S` reverses it.
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, ch('s'));
    assert_eq!(
        m.sessions.view.sort,
        crate::tui::session_list::SessionSort::Owner
    );
    let first = m.sessions.view.item(&m.sessions.items, 0).unwrap();
    assert!(first.owner.ends_with("/admin"), "{first:?}");
}
