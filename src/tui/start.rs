//! `gangway` (the UI against AWS) and `gangway demo` (the UI against the embedded emulator):
//! configuration, AWS clients, logging, then the runtime.

use std::process::ExitCode;
use std::time::SystemTime;

use crate::aws::{AwsClient, AwsOptions};
use crate::cli::{Cli, DemoArgs, split_key_value};
use crate::emulator::{EmulatorConfig, fleet_from_args};
use crate::tui::config;
use crate::tui::model::Model;
use crate::tui::runtime;

/// Secret access key of every emulator identity (docs/emulator.md).
const DEMO_SECRET: &str = "gangway";
const DEMO_REGION: &str = "us-east-1";

/// Entry point of `gangway` with no subcommand.
pub fn run_cli(cli: &Cli) -> ExitCode {
    let _log = start_logging();
    let Some(model) = prepare(cli, None) else {
        return ExitCode::from(2);
    };
    let options = AwsOptions::from(&cli.aws);
    block_on(async move {
        let clients = match AwsClient::from_options(&options).await {
            Ok(clients) => clients,
            Err(e) => {
                eprintln!("gangway: {}", e.to_line());
                return ExitCode::from(e.exit_status());
            }
        };
        let regions = clients.iter().map(|c| c.region().to_owned()).collect();
        finish(runtime::run(Model { regions, ..model }, clients).await)
    })
}

/// Entry point of `gangway demo`: starts the emulator in this process and signs in as
/// `--user` (dev by default) with static credentials; no AWS account or files needed.
pub fn run_demo(cli: &Cli, args: DemoArgs) -> ExitCode {
    let fleet = match fleet_from_args(&args.fleet) {
        Ok(fleet) => fleet,
        Err(e) => {
            eprintln!("gangway demo: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(user) = fleet.users.iter().find(|u| u.name == args.user) else {
        let names: Vec<&str> = fleet.users.iter().map(|u| u.name.as_str()).collect();
        let wanted = crate::aws::escape_for_terminal(&args.user);
        eprintln!(
            "gangway demo: no user `{wanted}` in the fleet (users: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let access_key = user.access_key_id.clone();
    let _log = start_logging();
    let Some(mut model) = prepare(cli, Some(&args.user)) else {
        return ExitCode::from(2);
    };
    model.regions = vec![DEMO_REGION.to_owned()];
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
                return ExitCode::from(2);
            }
        };
        tracing::info!("demo emulator at {}", emulator.endpoint);
        let client = AwsClient::with_static_credentials(
            DEMO_REGION,
            &emulator.endpoint,
            &access_key,
            DEMO_SECRET,
        );
        let result = runtime::run(model, vec![client]).await;
        emulator.shutdown().await;
        finish(result)
    })
}

/// File logging for the whole run; the returned guard flushes the last lines when dropped.
fn start_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let (path, guard) = crate::logging::init_file_logging("tui").ok()?;
    tracing::info!("gangway UI starting; log file {}", path.display());
    Some(guard)
}

/// The config file, `--tag` and the initial model, shared by both entry points.
fn prepare(cli: &Cli, identity: Option<&str>) -> Option<Model> {
    let loaded = config::load(cli.config.as_deref(), cli.readonly);
    let mut settings = loaded.settings;
    for tag in &cli.aws.tags {
        let Some((key, value)) = split_key_value(tag) else {
            eprintln!(
                "gangway: --tag `{}` must be KEY=VALUE",
                crate::aws::escape_for_terminal(tag)
            );
            return None;
        };
        settings
            .tag_filters
            .push((key.to_owned(), value.to_owned()));
    }
    settings.identity = identity.map(str::to_owned);
    let mut model = Model::new(
        SystemTime::now(),
        cli.aws.region.clone(),
        loaded.keymap,
        settings,
    );
    model.config_warning = loaded.warning;
    Some(model)
}

fn block_on(work: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => {
            eprintln!("gangway: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gangway: {e:#}");
            ExitCode::FAILURE
        }
    }
}
