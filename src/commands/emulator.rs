//! `gangway emulator`: build the fleet from the arguments, serve, print the endpoint line.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{AgentPaceArg, EmulatorArgs, FleetArgs};
use crate::emulator::agent::process::AgentPace;
use crate::emulator::faults::FaultSpec;
use crate::emulator::{EmulatorConfig, EmulatorError, Fleet};

/// The fleet the arguments ask for: a file, a generated fleet of N, or the demo fleet.
pub fn fleet_from_args(args: &FleetArgs) -> Result<Fleet, EmulatorError> {
    Ok(match (&args.fleet, args.instances) {
        (Some(path), _) => Fleet::load(path)?,
        (None, Some(count)) => Fleet::generated(count),
        (None, None) => Fleet::demo(),
    })
}

fn config_from_args(args: &EmulatorArgs) -> Result<EmulatorConfig, EmulatorError> {
    let mut config = EmulatorConfig::new(fleet_from_args(&args.fleet)?);
    config.listen = args.listen;
    config.allow_remote = args.allow_remote;
    config.idle_timeout = args.idle_timeout.map(Duration::from_secs);
    config.max_duration = args.max_duration.map(Duration::from_secs);
    if let Some(spec) = &args.faults {
        config.faults = FaultSpec::parse(spec)?;
    }
    config.agent_pace = match args.agent_pace {
        AgentPaceArg::Agent => AgentPace::Agent,
        AgentPaceArg::Off => AgentPace::Off,
    };
    Ok(config)
}

/// Entry point of `gangway emulator`. The first stdout line is `endpoint=http://…`, flushed
/// at once so scripts and tests can read it; request logs go to stderr.
pub fn run(args: EmulatorArgs) -> ExitCode {
    crate::logging::init_stderr_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("gangway emulator: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match serve(&args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("gangway emulator: {err}");
                ExitCode::from(super::exit::USAGE)
            }
        }
    })
}

async fn serve(args: &EmulatorArgs) -> Result<(), EmulatorError> {
    let config = config_from_args(args)?;
    let instances = config.fleet.instances.len();
    let running = crate::emulator::start(config).await?;
    let mut stdout = std::io::stdout();
    // Nothing useful can be done if stdout is gone; keep serving for whoever has the port.
    let _ = writeln!(stdout, "endpoint={}", running.endpoint);
    let _ = stdout.flush();
    let users: Vec<&str> = running
        .state()
        .fleet()
        .users
        .iter()
        .map(|user| user.name.as_str())
        .collect();
    tracing::info!(
        "serving {instances} instances on {} for users {}",
        running.endpoint,
        users.join(", ")
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
