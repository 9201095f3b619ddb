//! The UI's effects against the emulator through the real AWS SDK, answers fed into `update`:
//! the fleet joined, the connectivity diagnosis, preferences, a denied terminate showing AWS's
//! reason, history pages, the banner with its fix for a bad access key and for an
//! unreachable endpoint, with the last data kept, and a throttled Run Command waited out.
use std::time::Duration;

use gangway::aws::types::SendCommandRequest;
use gangway::aws::{AwsClient, StartSessionRequest};
use gangway::emulator::Fleet;
use gangway::tui::effect::Effect;
use gangway::tui::executor::Executor;
use gangway::tui::fixtures;
use gangway::tui::keymap::Keymap;
use gangway::tui::model::{Connectivity, Level, Model, SessionRef, Settings};
use gangway::tui::msg::Msg;
use gangway::tui::update::{init, update};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::support::aws_clients::{ADMIN, DEV, REGION, aws_client};
use crate::support::cut_proxy::CutProxy;
use crate::support::emulator::start_fleet;
use crate::support::{PATIENCE, unreachable_endpoint};

struct Ui {
    model: Model,
    executor: Executor,
    answers: UnboundedReceiver<Msg>,
}

impl Ui {
    fn new(client: AwsClient) -> Self {
        let settings = Settings {
            scope_tags: vec![("Env".into(), "dev".into())],
            identity: Some("dev".into()),
            ..Settings::default()
        };
        let mut model = Model::new(
            fixtures::now(),
            vec![REGION.into()],
            Keymap::defaults(false),
            settings,
        );
        model.size = (120, 40);
        let (sender, answers) = unbounded_channel();
        let executor = Executor::new(vec![client], sender, Vec::new(), model.access_scope());
        Self {
            model,
            executor,
            answers,
        }
    }

    fn run(&self, effects: Vec<Effect>) {
        for effect in effects {
            self.executor.spawn(effect);
        }
    }

    /// Waits for `count` answers and applies them (and the effects they cause, once).
    async fn settle(&mut self, count: usize) {
        for _ in 0..count {
            let msg = tokio::time::timeout(PATIENCE, self.answers.recv())
                .await
                .unwrap()
                .unwrap();
            let effects = update(&mut self.model, msg);
            self.run(
                effects
                    .into_iter()
                    .filter(|e| !matches!(e, Effect::LoadHistory { .. }))
                    .collect(),
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_preferences_and_connectivity_come_back_as_messages() {
    let emulator = start_fleet(Fleet::demo()).await;
    let mut ui = Ui::new(aws_client(&emulator.endpoint, DEV));
    let effects = init(&mut ui.model);
    ui.run(effects);
    ui.settle(3).await;
    assert_eq!(ui.model.fleet.instances.len(), 12);
    assert!(
        ui.model
            .fleet
            .instances
            .iter()
            .any(|i| i.id.as_str().starts_with("mi-"))
    );
    assert_eq!(
        ui.model.preferences[REGION].idle_session_timeout_minutes,
        Some(20)
    );
    assert!(ui.model.banner.is_none());

    let web = ui
        .model
        .fleet
        .instances
        .iter()
        .find(|i| i.name.as_deref() == Some("web-1"))
        .unwrap()
        .clone();
    ui.run(vec![Effect::CheckConnectivity(Box::new(web.clone()))]);
    ui.settle(1).await;
    let Some(Connectivity::Known(diagnosis)) = ui.model.fleet.connectivity.get(&web.id) else {
        panic!("{:?}", ui.model.fleet.connectivity)
    };
    assert!(!diagnosis.can_connect());
    assert!(
        diagnosis.summary.contains("Env=dev"),
        "{}",
        diagnosis.summary
    );
    assert!(diagnosis.fix.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_terminate_shows_the_reason_from_aws_and_history_pages_in() {
    let emulator = start_fleet(Fleet::demo()).await;
    let admin = aws_client(&emulator.endpoint, ADMIN);
    let instances = admin.list_instances(&[]).await.unwrap();
    let target = instances
        .iter()
        .find(|i| i.name.as_deref() == Some("worker-1"))
        .unwrap();
    let request = StartSessionRequest {
        target: target.id.to_string(),
        ..Default::default()
    };
    let started = admin.start_session(&request).await.unwrap();

    let mut ui = Ui::new(aws_client(&emulator.endpoint, DEV));
    ui.run(vec![Effect::LoadSessions]);
    ui.settle(1).await;
    assert!(
        ui.model
            .sessions
            .items
            .iter()
            .any(|s| s.session_id == started.session_id)
    );
    assert!(
        !ui.model.is_own(&ui.model.sessions.items[0]),
        "the admin's session is not dev's"
    );

    let session = SessionRef {
        session_id: started.session_id.clone(),
        region: REGION.into(),
    };
    ui.run(vec![Effect::Terminate(session)]);
    ui.settle(2).await; // Terminated, then the sessions reload it asked for
    let status = ui.model.status.clone().unwrap();
    assert_eq!(status.level, Level::Error);
    assert!(status.text.contains(&started.session_id), "{}", status.text);
    assert!(
        status.text.to_lowercase().contains("denied") || status.text.contains("not authorized"),
        "{}",
        status.text
    );

    admin.terminate_session(&started.session_id).await.unwrap();
    let query = ui.model.history.query.clone();
    ui.run(vec![Effect::LoadHistory {
        region: None,
        query,
        next_token: None,
    }]);
    ui.model.history.pending_regions.insert(REGION.into());
    ui.settle(1).await;
    // The emulator may take a moment to move a terminated session into history.
    for _ in 0..50 {
        if ui
            .model
            .history
            .items
            .iter()
            .any(|s| s.session_id == started.session_id)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let query = ui.model.history.query.clone();
        ui.model.history.pending_regions.insert(REGION.into());
        ui.run(vec![Effect::LoadHistory {
            region: None,
            query,
            next_token: None,
        }]);
        ui.settle(1).await;
    }
    assert!(
        ui.model
            .history
            .items
            .iter()
            .any(|s| s.session_id == started.session_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_and_an_unreachable_endpoint_raise_a_banner_and_keep_the_data() {
    let emulator = start_fleet(Fleet::demo()).await;
    let mut ui = Ui::new(aws_client(&emulator.endpoint, DEV));
    ui.run(vec![Effect::LoadFleet]);
    ui.settle(1).await;
    assert_eq!(ui.model.fleet.instances.len(), 12);

    let mut unknown_key = Ui::new(aws_client(&emulator.endpoint, "AKIANOBODY"));
    unknown_key.model.fleet = ui.model.fleet.clone();
    unknown_key.run(vec![Effect::LoadFleet]);
    unknown_key.settle(1).await;
    let banner = unknown_key.model.banner.clone().expect("a banner");
    assert!(banner.hint.is_some(), "{banner:?}");
    assert_eq!(
        unknown_key.model.fleet.instances.len(),
        12,
        "the last data stays"
    );

    let mut unreachable = Ui::new(aws_client(&unreachable_endpoint(), DEV));
    unreachable.model.fleet = ui.model.fleet.clone();
    unreachable.run(vec![Effect::LoadFleet]);
    unreachable.settle(1).await;
    let banner = unreachable.model.banner.clone().expect("a banner");
    assert!(
        banner.hint.as_deref().unwrap().contains("endpoint"),
        "{banner:?}"
    );
    assert_eq!(unreachable.model.fleet.instances.len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_run_command_is_waited_out_as_gangway_run_waits_and_said() {
    let emulator = start_fleet(Fleet::demo()).await;
    let proxy = CutProxy::start(emulator.local_addr);
    let mut ui = Ui::new(aws_client(&proxy.endpoint, DEV));
    ui.run(vec![Effect::LoadFleet]);
    ui.settle(1).await;
    let worker = ui
        .model
        .fleet
        .instances
        .iter()
        .find(|i| i.name.as_deref() == Some("worker-1"))
        .expect("worker-1 in the demo fleet")
        .id
        .to_string();

    proxy.throttle();
    ui.run(vec![Effect::SendCommand {
        region: REGION.into(),
        request: SendCommandRequest {
            document_name: "AWS-RunShellScript".into(),
            instance_ids: vec![worker],
            commands: vec!["true".into()],
            ..SendCommandRequest::default()
        },
    }]);
    // The first answer: the call waits, and the status line says why.
    ui.settle(1).await;
    let status = ui.model.status.clone().expect("a status line");
    assert_eq!(status.level, Level::Warn, "{status:?}");
    assert!(
        status.text.contains("AWS is throttling requests") && status.text.contains("retrying in"),
        "{status:?}"
    );

    proxy.stop_throttling();
    // More waits may be said before a retry gets through; then the command is sent.
    let sent = tokio::time::timeout(PATIENCE, async {
        loop {
            match ui.answers.recv().await.expect("the executor answers") {
                Msg::CommandSent { result, .. } => return result,
                other => {
                    update(&mut ui.model, other);
                }
            }
        }
    })
    .await
    .expect("SendCommand retried within the patience");
    let sent = sent.expect("sent once AWS stopped throttling");
    assert_eq!(sent.target_count, 1, "{sent:?}");
}
