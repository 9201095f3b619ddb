//! `gangway demo`: the UI against the embedded emulator, started in this process, signed in
//! as a fleet user with static credentials; no AWS account or files needed. The one place
//! where the UI and the emulator meet.

use std::process::ExitCode;

use super::emulator::fleet_from_args;
use super::exit;
use super::ui::{block_on, finish, prepare, require_terminal, start_logging};
use crate::aws::AwsClient;
use crate::cli::{AwsArgs, DemoArgs};
use crate::emulator::EmulatorConfig;
use crate::text::escape_for_terminal;
use crate::tui::runtime;

/// Secret access key of every emulator identity (docs/emulator.md).
const DEMO_SECRET: &str = "gangway";
const DEMO_REGION: &str = "us-east-1";

/// Entry point of `gangway demo`: signs in as `--user` (dev by default).
pub fn run(args: DemoArgs) -> ExitCode {
    let fleet = match fleet_from_args(&args.fleet) {
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
        let result = runtime::run(model, vec![client]).await;
        emulator.shutdown().await;
        finish(result)
    })
}
