//! `gangway` with no subcommand: the UI against AWS. Also the set-up both UI entry points
//! share (config file, `--tag`, logging, the runtime), which `gangway demo` reuses.

use std::process::ExitCode;
use std::time::SystemTime;

use super::exit;
use crate::aws::AwsClient;
use crate::cli::{AwsArgs, UiArgs};
use crate::tui::model::Model;
use crate::tui::runtime;

/// Entry point of `gangway` with no subcommand.
pub fn run(aws: &AwsArgs, ui: &UiArgs) -> ExitCode {
    if let Err(status) = require_terminal("gangway") {
        return status;
    }
    let model = match prepare(aws, ui, None) {
        Ok(model) => model,
        Err(status) => return status,
    };
    let _log = start_logging();
    let mut options = aws.options();
    super::settings::with_config_accounts(&mut options, &model.settings.accounts);
    block_on(async move {
        let mut model = model;
        let clients = if options.accounts.is_empty() {
            match AwsClient::from_options(&options).await {
                Ok(clients) => clients,
                Err(e) => {
                    eprintln!("gangway: {}", e.to_line());
                    return ExitCode::from(exit::for_aws(&e));
                }
            }
        } else {
            account_clients(&mut model, &options).await
        };
        let regions = clients.iter().map(AwsClient::location).collect();
        let mut model = Model { regions, ..model };
        model.settings.identity = caller_arn(&clients).await;
        model.settings.endpoint = clients
            .first()
            .and_then(|c| c.endpoint_url())
            .map(str::to_owned);
        finish(runtime::run(model, clients).await)
    })
}

/// Several accounts (`--profile a,b`, `[[accounts]]`): every account's clients, built
/// concurrently. An account that has none (its profile does not exist, no region) is put in
/// the fleet's failures, so the banner names it from the first frame while the other
/// accounts load.
async fn account_clients(model: &mut Model, options: &crate::aws::AwsOptions) -> Vec<AwsClient> {
    model.settings.accounts = options.accounts.clone();
    let mut clients = Vec::new();
    for account in crate::aws::account_clients(options).await {
        match account.clients {
            Ok(found) => clients.extend(found),
            Err(error) => {
                let error = crate::tui::executor::load_error(&error);
                model.fleet.failures.insert(account.label, error);
            }
        }
    }
    model.banner = crate::tui::update::failures_banner(&model.fleet.failures);
    clients
}

/// Who the user is, for the header and for marking their own sessions (issue 16: "who am
/// I"). Best effort and quick: the UI starts without it if STS does not answer in time, and
/// then learns the identity from the first shell it opens, as before.
async fn caller_arn(clients: &[AwsClient]) -> Option<String> {
    let client = clients.first()?;
    match tokio::time::timeout(IDENTITY_WAIT, client.caller_arn()).await {
        Ok(Ok(arn)) => Some(arn),
        Ok(Err(error)) => {
            tracing::warn!("GetCallerIdentity: {}", error.to_line());
            None
        }
        Err(_) => {
            tracing::warn!("GetCallerIdentity did not answer within {IDENTITY_WAIT:?}");
            None
        }
    }
}

/// How long the UI waits for GetCallerIdentity before it starts without knowing the user.
const IDENTITY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The UI draws on stdout and reads keys from stdin; without a terminal on both it could only
/// fail later with an OS error ("No such device or address"), so say what to use instead.
pub(super) fn require_terminal(program: &str) -> Result<(), ExitCode> {
    if crate::shell::terminal::stdio_is_tty() {
        return Ok(());
    }
    eprintln!(
        "{program}: the UI needs a terminal on stdin and stdout. Without one, use \
         `gangway list` and `gangway connect TARGET` (pipes work), or serve the emulator \
         alone with `gangway emulator`."
    );
    Err(ExitCode::from(exit::USAGE))
}

/// File logging for the whole run; the returned guard flushes the last lines when dropped.
pub(super) fn start_logging() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let (path, guard) = crate::logging::init_file_logging("tui").ok()?;
    tracing::info!("gangway UI starting; log file {}", path.display());
    Some(guard)
}

/// The config file, `--tag` and the initial model, shared by both entry points.
pub(super) fn prepare(
    aws: &AwsArgs,
    ui: &UiArgs,
    identity: Option<&str>,
) -> Result<Model, ExitCode> {
    let loaded = super::settings::load_config(ui.config.as_deref(), ui.readonly)?;
    let mut settings = loaded.settings;
    settings.tag_filters.extend(aws.tags.iter().cloned());
    settings.identity = identity.map(str::to_owned);
    settings.time_zone = crate::tui::clock::zone(ui.utc || settings.utc);
    let mut model = Model::new(
        SystemTime::now(),
        aws.region.clone(),
        loaded.keymap,
        settings,
    );
    model.config_warning = loaded.warning;
    Ok(model)
}

pub(super) fn block_on(work: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => {
            eprintln!("gangway: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(super) fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gangway: {e:#}");
            ExitCode::FAILURE
        }
    }
}
