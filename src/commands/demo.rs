//! `gangway demo`: the UI against the embedded emulator, started in this process, signed in
//! as a fleet user with static credentials; no AWS account or files needed. The one place
//! where the UI and the emulator meet.

use std::process::ExitCode;
use std::time::SystemTime;

use super::emulator::fleet_from_args;
use super::exit;
use super::ui::{block_on, finish, prepare, require_terminal, start_logging};
use crate::aws::AwsClient;
use crate::cli::{AwsArgs, DemoArgs};
use crate::emulator::authorize::may_start_session;
use crate::emulator::fleet::{InstanceState, PingStatus, Role, User};
use crate::emulator::{EmulatorConfig, RunningEmulator};
use crate::text::escape_for_terminal;
use crate::tui::runtime;

/// Secret access key of every emulator identity (docs/emulator.md).
const DEMO_SECRET: &str = "gangway";
const DEMO_REGION: &str = "us-east-1";

/// Entry point of `gangway demo`: signs in as `--user` (dev by default).
pub fn run(args: DemoArgs) -> ExitCode {
    // Without a fleet of its own, the demo spans two accounts and two regions (issue 13).
    let accounts = args.fleet.fleet.is_none() && args.fleet.instances.is_none();
    let fleet = match fleet_from_args(&args.fleet) {
        Ok(_) if accounts => crate::emulator::Fleet::demo_accounts(),
        Ok(fleet) => fleet,
        Err(e) => {
            eprintln!("gangway demo: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let Some(user) = fleet.users.iter().find(|u| u.name == args.user) else {
        let names: Vec<&str> = fleet.users.iter().map(|u| u.name.as_str()).collect();
        eprintln!(
            "gangway demo: no user `{}` in the fleet (users: {})",
            escape_for_terminal(&args.user),
            names.join(", ")
        );
        return ExitCode::from(exit::USAGE);
    };
    let access_key = user.access_key_id.clone();
    if let Err(status) = require_terminal("gangway demo") {
        return status;
    }
    let mut model = match prepare(&AwsArgs::default(), &args.ui, Some(&args.user)) {
        Ok(model) => model,
        Err(status) => return status,
    };
    let _log = start_logging();
    model.regions = vec![DEMO_REGION.to_owned()];
    if accounts {
        model.settings.accounts = [DEMO_MAIN, DEMO_OPS]
            .map(|name| crate::aws::AccountSpec {
                name: Some(name.to_owned()),
                ..Default::default()
            })
            .to_vec();
    }
    // The emulator's users carry an IAM-like tag scope; wildcard values are left out because
    // the diagnosis compares tags exactly.
    model.settings.scope_tags = user
        .scope
        .iter()
        .filter(|(_, value)| !value.contains(['*', '?']))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    block_on(async move {
        let emulator = match crate::emulator::start(EmulatorConfig::new(fleet)).await {
            Ok(emulator) => emulator,
            Err(e) => {
                eprintln!("gangway demo: cannot start the emulator: {e}");
                return ExitCode::from(exit::OTHER);
            }
        };
        tracing::info!("demo emulator at {}", emulator.endpoint);
        let client = AwsClient::with_static_credentials(
            DEMO_REGION,
            &emulator.endpoint,
            &access_key,
            DEMO_SECRET,
        );
        let clients = if accounts {
            let clients = demo_accounts(&emulator.endpoint, &access_key, &mut model).await;
            model.regions = clients.iter().map(AwsClient::location).collect();
            clients
        } else {
            vec![client]
        };
        // A little past and a colleague at work, so the history, the sessions view and an
        // administrator's terminate can be tried alone (issue 16).
        let past = crate::emulator::demo_past::seed_history(emulator.state(), SystemTime::now());
        tracing::info!("demo history: {} ended sessions", past.len());
        let _colleague = open_colleague_session(&emulator, &args.user).await;
        model.settings.endpoint = Some(emulator.endpoint.clone());
        model.settings.connect_as = Some(access_key.clone());
        let result = runtime::run(model, clients).await;
        emulator.shutdown().await;
        finish(result)
    })
}

/// The demo's accounts, as the fleet column names them.
const DEMO_MAIN: &str = "main";
const DEMO_OPS: &str = "ops";

/// The demo's two accounts × two regions: the user's own account with its keys, and the
/// operations account through STS AssumeRole of `DEMO_ROLE`, as a config's `role_arn`
/// account would be reached. An account that cannot be reached is in the banner.
async fn demo_accounts(
    endpoint: &str,
    access_key: &str,
    model: &mut crate::tui::model::Model,
) -> Vec<AwsClient> {
    use crate::emulator::fleet::{DEMO_OTHER_ACCOUNT, DEMO_REGIONS, DEMO_ROLE};
    let role_arn = format!("arn:aws:iam::{DEMO_OTHER_ACCOUNT}:role/{DEMO_ROLE}");
    let mut clients = Vec::new();
    for region in DEMO_REGIONS {
        let base = AwsClient::with_static_credentials(region, endpoint, access_key, DEMO_SECRET)
            .with_account(DEMO_MAIN);
        clients.push(base.clone());
        match base
            .with_account(DEMO_OPS)
            .assume_role(&role_arn, "gangway-demo")
            .await
        {
            Ok(ops) => clients.push(ops),
            Err(error) => {
                let error = crate::tui::executor::load_error(&error);
                model
                    .fleet
                    .failures
                    .insert(format!("{DEMO_OPS}/{region}"), error);
            }
        }
    }
    model.banner = crate::tui::update::failures_banner(&model.fleet.failures);
    clients
}

/// What the colleague's session says it is for.
const COLLEAGUE_REASON: &str = "INC-42 disk full";

/// A live shell session by another user of the fleet (the admin, or `dev` when the demo runs
/// as the admin), opened through the same client code as `gangway connect` and kept open
/// while the demo runs: the sessions view shows someone else's session to look at or, as an
/// administrator, to terminate. Best effort: the demo runs without it if it cannot open.
async fn open_colleague_session(
    emulator: &RunningEmulator,
    me: &str,
) -> Option<tokio::task::JoinHandle<()>> {
    let now = SystemTime::now();
    let fleet = emulator.state().fleet();
    let usable = |u: &&User| u.name != me && !u.credentials_expired(now);
    let colleague = fleet
        .users
        .iter()
        .filter(usable)
        .find(|u| u.role == Role::Admin || me == "admin")?;
    let reachable: Vec<_> = fleet
        .instances
        .iter()
        .filter(|i| {
            i.state == InstanceState::Running
                && i.ping_status == Some(PingStatus::Online)
                && may_start_session(emulator.state(), colleague, DEMO_REGION, i)
        })
        .collect();
    // build-1 in the demo fleet; any instance the colleague may reach in another.
    let target = reachable
        .iter()
        .find(|i| i.name() == Some("build-1"))
        .or_else(|| reachable.first())?;
    let client = AwsClient::with_static_credentials(
        DEMO_REGION,
        &emulator.endpoint,
        &colleague.access_key_id,
        DEMO_SECRET,
    );
    let request = crate::aws::StartSessionRequest {
        target: target.id.clone(),
        document_name: None,
        parameters: Default::default(),
        reason: Some(COLLEAGUE_REASON.to_owned()),
    };
    match crate::shell::open_channel(&client, &request).await {
        Ok((mut channel, session_id)) => {
            tracing::info!(session = %session_id, user = %colleague.name, "demo colleague session open");
            // Reading its events keeps the channel's output flowing until it ends.
            Some(tokio::spawn(async move {
                while channel.next_event().await.is_some() {}
            }))
        }
        Err(error) => {
            tracing::warn!(%error, "the demo colleague's session did not open");
            None
        }
    }
}
