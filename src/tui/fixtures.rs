//! Emulator-shaped data for tests, snapshots and the benchmark: the same kinds of instances
//! as the emulator's demo fleet (offline, stopped, old agent, not managed, a Korean tag and a
//! tag value carrying an ESC sequence and NUL), with fixed times so snapshots are stable;
//! and the model the `update` tests start from, with the keys they press.

use std::time::{Duration, SystemTime};

use crate::aws::types::{
    Instance, InstanceId, InstanceState, PingStatus, SessionInfo, SessionPreferences,
    SessionStatus, Tags,
};

/// 2026-11-29 12:00:00 UTC: "now" in every fixture.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_953_600)
}

pub fn ago(secs: u64) -> SystemTime {
    now() - Duration::from_secs(secs)
}

struct Spec<'a> {
    name: &'a str,
    hex: &'a str,
    env: &'a str,
    state: InstanceState,
    ping: PingStatus,
    agent: &'a str,
    image: (&'a str, &'a str),
    extra: &'a [(&'a str, &'a str)],
}

const AL2023: (&str, &str) = ("ami-a1b2c3d4e5f60001", "al2023-ami-2023.6");
const UBUNTU: (&str, &str) = ("ami-a1b2c3d4e5f60002", "ubuntu-24.04-amd64");

fn instance(at: usize, spec: &Spec<'_>) -> Instance {
    let team = if at.is_multiple_of(2) {
        "platform"
    } else {
        "payments"
    };
    let tags: Tags = [("Name", spec.name), ("Env", spec.env), ("Team", team)]
        .into_iter()
        .chain(spec.extra.iter().copied())
        .collect();
    let managed = spec.ping != PingStatus::NotManaged;
    Instance {
        id: InstanceId::from_aws(format!("i-{}", spec.hex)),
        name: tags.get_shared("Name").cloned(),
        tags,
        state: spec.state.clone(),
        ping_status: spec.ping,
        agent_version: managed.then(|| spec.agent.into()),
        platform: Some("Linux".into()),
        platform_name: Some(
            if spec.image == UBUNTU {
                "Ubuntu 24.04"
            } else {
                "Amazon Linux 2023"
            }
            .into(),
        ),
        private_ip: Some(format!("10.0.1.{}", 10 + at).into()),
        image_id: Some(spec.image.0.into()),
        image_name: Some(spec.image.1.into()),
        region: "us-east-1".into(),
        last_ping: managed.then(|| ago(30 + at as u64 * 7)),
        account: None,
        account_id: None,
        ec2: crate::aws::types::Ec2Facts {
            instance_type: Some(
                if at.is_multiple_of(3) {
                    "m7g.large"
                } else {
                    "t3.small"
                }
                .into(),
            ),
            availability_zone: Some(["us-east-1a", "us-east-1b"][at % 2].into()),
            launch_time: Some(ago(86_400 * (40 + at as u64))),
            vpc_id: Some("vpc-0a1b2c3d4e5f60001".into()),
            subnet_id: Some(format!("subnet-0a1b2c3d4e5f6000{}", at % 2).into()),
            instance_profile: Some(
                "arn:aws:iam::123456789012:instance-profile/AmazonSSMRoleForInstancesQuickSetup"
                    .into(),
            ),
            public_ip: at
                .is_multiple_of(4)
                .then(|| format!("54.210.0.{}", 10 + at).into()),
        },
    }
}

/// A dozen instances like the emulator's `Fleet::demo()`.
pub fn demo_instances() -> Vec<Instance> {
    use InstanceState::{Running, Stopped};
    use PingStatus::{ConnectionLost, Inactive, NotManaged, Online};
    let specs = [
        Spec {
            name: "web-1",
            hex: "a1b2c3d4e5f600001",
            env: "prod",
            state: Running,
            ping: Online,
            agent: "3.3.987.0",
            image: AL2023,
            extra: &[("Role", "web")],
        },
        Spec {
            name: "web-2",
            hex: "a1b2c3d4e5f600002",
            env: "prod",
            state: Running,
            ping: Online,
            agent: "3.3.987.0",
            image: AL2023,
            extra: &[("Role", "web")],
        },
        Spec {
            name: "api-1",
            hex: "a1b2c3d4e5f600003",
            env: "dev",
            state: Running,
            ping: Online,
            agent: "3.3.987.0",
            image: UBUNTU,
            extra: &[("Role", "api")],
        },
        Spec {
            name: "api-2",
            hex: "a1b2c3d4e5f600004",
            env: "dev",
            state: Running,
            ping: ConnectionLost,
            agent: "3.3.987.0",
            image: UBUNTU,
            extra: &[("Role", "api")],
        },
        Spec {
            name: "db-1",
            hex: "a1b2c3d4e5f600005",
            env: "prod",
            state: Running,
            ping: Online,
            agent: "3.2.582.0",
            image: AL2023,
            extra: &[("Role", "db")],
        },
        Spec {
            name: "batch-1",
            hex: "a1b2c3d4e5f600006",
            env: "stg",
            state: Stopped,
            ping: Inactive,
            agent: "3.3.987.0",
            image: AL2023,
            extra: &[],
        },
        Spec {
            name: "legacy-1",
            hex: "a1b2c3d4e5f600007",
            env: "stg",
            state: Running,
            ping: Online,
            agent: "2.3.50.0",
            image: UBUNTU,
            extra: &[("Owner", "old-team")],
        },
        Spec {
            name: "bastion-old",
            hex: "a1b2c3d4e5f600008",
            env: "prod",
            state: Running,
            ping: NotManaged,
            agent: "",
            image: AL2023,
            extra: &[],
        },
        Spec {
            name: "웹서버-서울",
            hex: "a1b2c3d4e5f600009",
            env: "dev",
            state: Running,
            ping: Online,
            agent: "3.3.987.0",
            image: UBUNTU,
            extra: &[("설명", "한국어 태그 값")],
        },
        Spec {
            name: "evil\x1b[31m-tag",
            hex: "a1b2c3d4e5f60000a",
            env: "dev",
            state: Running,
            ping: Online,
            agent: "3.3.987.0",
            image: AL2023,
            extra: &[("Note", "bell\x07 nul\0 esc\x1b]0;pwned\x07")],
        },
        Spec {
            name: "worker-1",
            hex: "a1b2c3d4e5f60000b",
            env: "dev",
            state: Running,
            ping: Online,
            agent: "3.3.987.0",
            image: AL2023,
            extra: &[(
                "Description",
                "a very long description that goes on and on well past any column width so it must be cut with an ellipsis",
            )],
        },
        Spec {
            name: "worker-2",
            hex: "a1b2c3d4e5f60000c",
            env: "stg",
            state: Running,
            ping: Online,
            agent: "3.3.987.0",
            image: AL2023,
            extra: &[],
        },
    ];
    specs
        .iter()
        .enumerate()
        .map(|(at, s)| instance(at, s))
        .collect()
}

/// `n` instances named like the emulator's generated fleets (`host-00001`, Env cycling).
pub fn generated_instances(n: usize) -> Vec<Instance> {
    let envs = ["dev", "stg", "prod"];
    (0..n)
        .map(|at| {
            let name = format!("host-{:05}", at + 1);
            let hex = format!("{:017x}", at + 1);
            let ping = if at % 10 == 9 {
                PingStatus::ConnectionLost
            } else {
                PingStatus::Online
            };
            let spec = Spec {
                name: &name,
                hex: &hex,
                env: envs[at % 3],
                state: InstanceState::Running,
                ping,
                agent: "3.3.987.0",
                image: if at % 4 == 0 { UBUNTU } else { AL2023 },
                extra: &[],
            };
            let mut i = instance(at % 200, &spec);
            i.private_ip =
                Some(format!("10.{}.{}.{}", at / 65_536 % 256, at / 256 % 256, at % 256).into());
            i
        })
        .collect()
}

pub fn session(
    id: &str,
    target: &str,
    owner: &str,
    started_secs_ago: u64,
    reason: Option<&str>,
) -> SessionInfo {
    SessionInfo {
        session_id: id.to_owned(),
        target: target.to_owned(),
        status: SessionStatus::Connected,
        owner: format!("arn:aws:iam::123456789012:user/{owner}"),
        start: Some(ago(started_secs_ago)),
        end: None,
        reason: reason.map(str::to_owned),
        end_reason: None,
        document_name: Some("SSM-SessionManagerRunShell".to_owned()),
        region: "us-east-1".to_owned(),
    }
}

pub fn active_sessions() -> Vec<SessionInfo> {
    vec![
        session(
            "dev-0a1b2c3d4e5f60001",
            "i-a1b2c3d4e5f600003",
            "dev",
            300,
            Some("JIRA-123 deploy"),
        ),
        session(
            "dev-0a1b2c3d4e5f60002",
            "i-a1b2c3d4e5f600001",
            "dev",
            4 * 3600 - 90,
            None,
        ),
        session(
            "admin-0a1b2c3d4e5f60003",
            "i-a1b2c3d4e5f600005",
            "admin",
            2 * 3600,
            Some("db 점검 \x1b[2J"),
        ),
    ]
}

pub fn history_sessions() -> Vec<SessionInfo> {
    (0..30)
        .map(|at| {
            let mut s = session(
                &format!("dev-0b{:015x}", at),
                if at % 2 == 0 {
                    "i-a1b2c3d4e5f600001"
                } else {
                    "i-a1b2c3d4e5f600009"
                },
                if at % 3 == 0 { "admin" } else { "dev" },
                3600 * (at + 2),
                (at % 4 == 0).then_some("routine check"),
            );
            s.status = SessionStatus::Terminated;
            s.end = Some(ago(3600 * (at + 1)));
            s.end_reason = Some(
                match at % 3 {
                    0 => "The shell exited with code 0.",
                    1 => "Session terminated: idle for 20 minutes (idle session timeout).",
                    _ => "Session terminated by admin.",
                }
                .to_owned(),
            );
            s
        })
        .collect()
}

pub fn preferences() -> SessionPreferences {
    SessionPreferences {
        idle_session_timeout_minutes: Some(20),
        max_session_duration_minutes: Some(240),
        s3_bucket_name: None,
        cloudwatch_log_group_name: Some("/ssm/sessions".to_owned()),
        kms_key_id: None,
        run_as_enabled: false,
    }
}

/// Recent commands as ListCommands gives them, newest first.
pub fn commands() -> Vec<crate::aws::types::CommandInfo> {
    let command = |id: &str, secs: u64, status: &str, counts: (i32, i32, i32), comment: &str| {
        crate::aws::types::CommandInfo {
            command_id: id.to_owned(),
            document_name: "AWS-RunShellScript".to_owned(),
            comment: comment.to_owned(),
            requested: Some(ago(secs)),
            status: status.to_owned(),
            status_details: status.to_owned(),
            target_count: counts.0,
            completed_count: counts.1,
            error_count: counts.2,
            delivery_timed_out_count: 0,
            max_concurrency: "50".to_owned(),
            max_errors: "0".to_owned(),
            instance_ids: Vec::new(),
            targets: Vec::new(),
            output_s3: None,
        }
    };
    vec![
        command(
            "0b6f1c2e-7d3a-4e59-9a61-3f0c2d8e4b11",
            90,
            "InProgress",
            (3, 1, 0),
            "gangway tui",
        ),
        command(
            "5e2d9a40-1c7b-4f86-b3d2-8a9e0f6c7d22",
            3_600,
            "Failed",
            (4, 4, 1),
            "security check \x1b[2J",
        ),
        command(
            "9c4a7e13-2b5f-4d08-8e1a-6b3f9d2c0e33",
            86_400,
            "Success",
            (12, 12, 0),
            "",
        ),
    ]
}

/// The invocations of the first of [`commands`]: on web-1, web-2 and the escaping one.
pub fn invocations() -> Vec<crate::aws::types::InvocationInfo> {
    let instances = demo_instances();
    let by_name = |name: &str| {
        instances
            .iter()
            .find(|i| i.name.as_deref() == Some(name))
            .map(|i| i.id.to_string())
            .unwrap_or_default()
    };
    let invocation = |name: &str, status: &str, code: Option<i32>, output: &str| {
        crate::aws::types::InvocationInfo {
            command_id: "0b6f1c2e-7d3a-4e59-9a61-3f0c2d8e4b11".to_owned(),
            instance_id: by_name(name),
            instance_name: format!("ip-10-0-0-{}.ec2.internal", name.len()),
            status: status.to_owned(),
            status_details: status.to_owned(),
            response_code: code,
            output: output.to_owned(),
            stdout_url: None,
            stderr_url: None,
        }
    };
    vec![
        invocation("web-1", "Success", Some(0), "web-1\n"),
        invocation("web-2", "InProgress", None, ""),
        invocation(
            "evil\x1b[31m-tag",
            "Failed",
            Some(2),
            "\x1b]0;pwned\x07uname: extra operand\n",
        ),
    ]
}

/// GetCommandInvocation for web-1.
pub fn output() -> crate::aws::types::InvocationOutput {
    crate::aws::types::InvocationOutput {
        status: "Success".to_owned(),
        status_details: "Success".to_owned(),
        response_code: Some(0),
        stdout: "web-1\nLinux 6.1.0 x86_64\n\x1b[31mred\x1b[0m\n".to_owned(),
        stderr: String::new(),
        stdout_url: None,
        stderr_url: None,
    }
}

/// The model the `update` tests start from: the UI started (`init`) in us-east-1 at
/// [`now`], 120x40, with the demo fleet loaded and nothing else.
pub fn fleet_model(readonly: bool) -> crate::tui::model::Model {
    use crate::tui::update::{init, update};
    let mut m = crate::tui::model::Model::new(
        now(),
        vec!["us-east-1".into()],
        crate::tui::keymap::Keymap::defaults(readonly),
        crate::tui::model::Settings::default(),
    );
    m.size = (120, 40);
    init(&mut m);
    update(
        &mut m,
        crate::tui::msg::Msg::FleetLoaded {
            region: "us-east-1".into(),
            result: Ok(demo_instances()),
        },
    );
    m
}

/// Presses `keys` one after the other, without modifiers but for Ctrl-D: '\n' is Enter,
/// '\t' Tab, '\x1b' Esc, '\x04' Ctrl-D, any other character itself. Returns the effects
/// they asked for.
pub fn press(m: &mut crate::tui::model::Model, keys: &str) -> Vec<crate::tui::effect::Effect> {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut effects = Vec::new();
    for c in keys.chars() {
        let event = match c {
            '\n' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            '\t' => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
            '\x1b' => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            '\x04' => KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL),
            c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        };
        effects.extend(crate::tui::update::update(
            m,
            crate::tui::msg::Msg::Key(event),
        ));
    }
    effects
}
