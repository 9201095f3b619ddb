//! Command-line parsing, at the top of the crate: each subcommand's arguments are plain data
//! handed to its file in `commands/`, and converted here into the layers' own option types
//! (`AwsArgs::options`). Nothing below `commands/` imports this module. `main.rs` only
//! dispatches what [`Cli::resolve`] returns.
//!
//! Each subcommand accepts only the options that mean something to it (issue 16, bug 9). The
//! AWS options and the UI's `--readonly`/`--config` may also stand before the subcommand
//! (`gangway --profile dev list`); `resolve` merges them into the subcommand's own, and refuses
//! them where they mean nothing (`gangway --tag Env=dev emulator`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::aws::AwsOptions;
use crate::aws::documents::EXEC_DOCUMENT;
use crate::aws::types::parse_key_value;

#[derive(Debug, Parser)]
#[command(
    name = "gangway",
    version,
    about = "Shell sessions to EC2 through AWS Systems Manager Session Manager, no bastion and no plugin",
    long_about = None
)]
pub struct Cli {
    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub ui: UiArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How to reach AWS. Everything not given here comes from aws-config's default chain
/// (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct AwsArgs {
    /// Named profile from ~/.aws/config (SSO, credential_process and assumed roles work).
    #[arg(long)]
    pub profile: Option<String>,

    /// Region, or several separated by commas (`ap-northeast-2,us-east-1`).
    #[arg(long, value_delimiter = ',')]
    pub region: Vec<String>,

    /// Endpoint URL for every AWS service (for the emulator: `http://127.0.0.1:PORT`).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Only instances with this tag (repeatable), applied as EC2 filters.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub tags: Vec<(String, String)>,
}

impl AwsArgs {
    /// How to reach AWS, for the AWS layer; empty values mean unset.
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone().filter(|p| !p.is_empty()),
            regions: self
                .region
                .iter()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
            endpoint_url: self.endpoint_url.clone().filter(|u| !u.is_empty()),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// These options given after the subcommand, over those given before it: a value given
    /// after wins, tags add up.
    fn over(self, before: AwsArgs) -> AwsArgs {
        let mut tags = before.tags;
        tags.extend(self.tags);
        AwsArgs {
            profile: self.profile.or(before.profile),
            region: if self.region.is_empty() {
                before.region
            } else {
                self.region
            },
            endpoint_url: self.endpoint_url.or(before.endpoint_url),
            tags,
        }
    }
}

/// Options of the UI (and of the commands that read the config file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct UiArgs {
    /// Hide dangerous actions (opening shells, terminating sessions).
    #[arg(long)]
    pub readonly: bool,

    /// Config file (default: ~/.config/gangway/config.toml); one named here must exist.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl UiArgs {
    fn over(self, before: UiArgs) -> UiArgs {
        UiArgs {
            readonly: self.readonly || before.readonly,
            config: self.config.or(before.config),
        }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the whole product against the built-in local AWS emulator (no account needed).
    Demo(DemoArgs),
    /// Serve the local AWS emulator (EC2, SSM and Session Manager with real shells).
    Emulator(EmulatorArgs),
    /// Open a Session Manager shell on an instance, natively.
    Connect(ConnectArgs),
    /// List the instances you may reach, joined with their SSM agent state.
    List(ListArgs),
    /// Run one command on an instance: its stdout and stderr apart, its exit status as
    /// gangway's. Needs a session document with separateOutputStream (`gangway setup`).
    Exec(ExecArgs),
    /// Create the session document `gangway exec` uses, once per account and region.
    Setup(SetupArgs),
    /// Who opened, resumed and terminated which sessions, when and from where (CloudTrail).
    Audit(AuditArgs),
}

/// `--readonly` (before or after the subcommand) refuses the commands that change something.
fn refuse_in_readonly(readonly: bool, what: &str, command: &str) -> Result<(), String> {
    if readonly {
        return Err(format!(
            "--readonly forbids {what}: `gangway {command}` refused"
        ));
    }
    Ok(())
}

/// What to run, with every option where it belongs: the result of [`Cli::resolve`].
#[derive(Debug, Clone)]
pub enum Invocation {
    /// `gangway` with no subcommand: the UI against AWS.
    Ui {
        aws: AwsArgs,
        ui: UiArgs,
    },
    Demo(DemoArgs),
    Emulator(EmulatorArgs),
    Connect(ConnectArgs),
    List(ListArgs),
    Exec(ExecArgs),
    Setup(SetupArgs),
    Audit(AuditArgs),
}

impl Cli {
    /// Merges the options given before the subcommand into it, or says which of them do
    /// not apply there. The error is one line for the user (exit status 2, like clap's).
    pub fn resolve(self) -> Result<Invocation, String> {
        let Cli { aws, ui, command } = self;
        let refuse = |what: &str, command: &str, why: &str| {
            Err(format!(
                "{what} does not apply to `gangway {command}` ({why})"
            ))
        };
        Ok(match command {
            None => Invocation::Ui { aws, ui },
            Some(Command::Demo(mut args)) => {
                if !aws.is_empty() {
                    return refuse(
                        "--profile, --region, --endpoint-url and --tag",
                        "demo",
                        "it signs in to its own emulator",
                    );
                }
                args.ui = args.ui.over(ui);
                Invocation::Demo(args)
            }
            Some(Command::Emulator(args)) => {
                if !aws.is_empty() || ui != UiArgs::default() {
                    return refuse(
                        "an AWS or UI option",
                        "emulator",
                        "it serves AWS instead of calling it",
                    );
                }
                Invocation::Emulator(args)
            }
            Some(Command::Connect(mut args)) => {
                refuse_in_readonly(ui.readonly || args.readonly, "opening shells", "connect")?;
                args.aws = args.aws.over(aws);
                args.config = args.config.or(ui.config);
                Invocation::Connect(args)
            }
            Some(Command::Exec(mut args)) => {
                refuse_in_readonly(ui.readonly || args.readonly, "running commands", "exec")?;
                args.aws = args.aws.over(aws);
                args.config = args.config.or(ui.config);
                Invocation::Exec(args)
            }
            Some(Command::Setup(mut args)) => {
                refuse_in_readonly(
                    ui.readonly || args.readonly,
                    "changing the account",
                    "setup",
                )?;
                if ui.config.is_some() || !aws.tags.is_empty() || !args.aws.tags.is_empty() {
                    return refuse(
                        "--config and --tag",
                        "setup",
                        "it creates a document in the account, for no instance in particular",
                    );
                }
                args.aws = args.aws.over(aws);
                Invocation::Setup(args)
            }
            Some(Command::List(mut args)) => {
                args.aws = args.aws.over(aws);
                // Listing is never dangerous: --readonly changes nothing here.
                args.config = args.config.or(ui.config);
                Invocation::List(args)
            }
            Some(Command::Audit(mut args)) => {
                if !aws.tags.is_empty() || !args.aws.tags.is_empty() {
                    return refuse(
                        "--tag",
                        "audit",
                        "CloudTrail lists events, not instances: use --target",
                    );
                }
                // Reading the trail changes nothing: --readonly changes nothing here.
                args.aws = args.aws.over(aws);
                Invocation::Audit(args)
            }
        })
    }
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Sign in to the demo as this emulator user (`dev` or `admin`).
    #[arg(long, default_value = "dev")]
    pub user: String,

    #[command(flatten)]
    pub fleet: FleetArgs,

    #[command(flatten)]
    pub ui: UiArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct FleetArgs {
    /// Fleet file (TOML) with users, preferences and instances.
    #[arg(long, value_name = "FILE", conflicts_with = "instances")]
    pub fleet: Option<PathBuf>,

    /// Generate a deterministic fleet of N instances instead.
    #[arg(long, value_name = "N")]
    pub instances: Option<usize>,
}

#[derive(Debug, Clone, Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// Allow a non-loopback listen address (the emulator runs real shells).
    #[arg(long)]
    pub allow_remote: bool,

    #[command(flatten)]
    pub fleet: FleetArgs,

    /// Override the idle session timeout, in seconds.
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<u64>,

    /// Override the maximum session duration, in seconds.
    #[arg(long, value_name = "SECS")]
    pub max_duration: Option<u64>,

    /// Fault injection, e.g. `drop=0.001,dup=0.05,reorder=0.05,cut-every=10s`.
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,

    /// The agent's output pace: `agent` (default) reads ≤ 1024 bytes then pauses 1 ms like
    /// the real agent; `off` is for benchmarks of gangway's own ceiling only, never for a
    /// figure that claims what AWS does.
    #[arg(long, value_name = "PACE", default_value = "agent")]
    pub agent_pace: AgentPaceArg,
}

/// `--agent-pace` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentPaceArg {
    Agent,
    Off,
}

#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Instance id, `Name` tag value, or `tag:KEY=VALUE`.
    pub target: String,

    /// Reason recorded with the session.
    #[arg(long)]
    pub reason: Option<String>,

    /// Session document (default: the shell, SSM-SessionManagerRunShell).
    #[arg(long, value_name = "NAME")]
    pub document: Option<String>,

    /// Document parameter (repeatable), e.g. `command=uptime`.
    #[arg(long = "parameter", value_name = "K=V", value_parser = parse_key_value)]
    pub parameters: Vec<(String, String)>,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Config file whose `[fleet] tags` narrow the targets, as in the UI.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Read-only mode forbids opening shells: with it, connect refuses to run.
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Instance id, `Name` tag value, or `tag:KEY=VALUE`.
    pub target: String,

    /// The command and its arguments, after `--`. They reach the remote program as they are
    /// here (no remote shell: use `sh -c '…'` for pipes, variables and globs).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,

    /// Session document to run it through: NonInteractiveCommands with separateOutputStream
    /// (what `gangway setup` creates). AWS-StartNonInteractiveCommand works without setup
    /// where it takes a separateOutputStream parameter.
    #[arg(long, value_name = "NAME", env = "GANGWAY_EXEC_DOCUMENT", default_value = EXEC_DOCUMENT)]
    pub document: String,

    /// Reason recorded with the session.
    #[arg(long)]
    pub reason: Option<String>,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Config file whose `[fleet] tags` narrow the targets, as in the UI.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Read-only mode forbids running commands: with it, exec refuses to run.
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SetupArgs {
    /// Name of the session document to create.
    #[arg(long, value_name = "NAME", env = "GANGWAY_EXEC_DOCUMENT", default_value = EXEC_DOCUMENT)]
    pub document: String,

    /// Show the document that would be created, and call nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Read-only mode forbids changing the account: with it, setup refuses to run.
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Config file whose `[fleet] tags` narrow the list, as in the UI.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Events since a span ago (`30m`, `2h`, `7d`) or a time (`2026-11-29T08:00:00Z`).
    #[arg(long, value_name = "DURATION|TIME", default_value = "1d")]
    pub since: String,

    /// Only this user's events (user name or ARN).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Only events on this instance (id or Name tag).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,

    #[arg(long, value_enum, default_value = "table")]
    pub output: OutputFormat,

    /// Keep running and print new events as CloudTrail records them.
    #[arg(long)]
    pub follow: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tags_are_refused_everywhere() {
        // `--tag Env web-1` once widened the scope silently (issue 10).
        for args in [
            &["gangway", "--tag", "Env", "connect", "web-1"][..],
            &["gangway", "connect", "--tag", "Env", "web-1"],
            &["gangway", "list", "--tag", "=dev"],
            &["gangway", "--tag", "novalue"],
        ] {
            let error = Cli::try_parse_from(args).expect_err("a malformed tag is an error");
            assert!(error.to_string().contains("KEY=VALUE"), "{error}");
        }
        let tags = list(&["gangway", "--tag", "Env=dev", "list", "--tag", "Role=a=b"])
            .aws
            .tags;
        assert_eq!(
            tags,
            [("Env".into(), "dev".into()), ("Role".into(), "a=b".into())]
        );
    }

    fn resolve(args: &[&str]) -> Result<Invocation, String> {
        Cli::try_parse_from(args)
            .map_err(|e| e.to_string())?
            .resolve()
    }

    fn list(args: &[&str]) -> ListArgs {
        match resolve(args) {
            Ok(Invocation::List(list)) => list,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_before_the_subcommand_are_merged_into_it() {
        let args = list(&[
            "gangway",
            "--profile",
            "dev",
            "--region",
            "eu-west-1",
            "--config",
            "c.toml",
            "list",
            "--region",
            "us-east-1",
        ]);
        assert_eq!(args.aws.profile.as_deref(), Some("dev"));
        assert_eq!(
            args.aws.region,
            ["us-east-1"],
            "the value after the subcommand wins"
        );
        assert_eq!(args.config, Some(PathBuf::from("c.toml")));
        let Ok(Invocation::Demo(demo)) = resolve(&["gangway", "--readonly", "demo"]) else {
            panic!("demo");
        };
        assert!(demo.ui.readonly);
    }

    #[test]
    fn options_that_mean_nothing_to_a_subcommand_are_refused() {
        // Each of these was accepted and ignored (issue 16, bug 9).
        for args in [
            &["gangway", "emulator", "--endpoint-url", "http://x"][..],
            &["gangway", "emulator", "--tag", "Env=dev"],
            &["gangway", "emulator", "--region", "us-east-1"],
            &["gangway", "emulator", "--readonly"],
            &["gangway", "--tag", "Env=dev", "emulator"],
            &["gangway", "--readonly", "emulator"],
            &["gangway", "--profile", "dev", "demo"],
            &["gangway", "demo", "--endpoint-url", "http://x"],
            &["gangway", "list", "--readonly", "--user", "dev"],
        ] {
            assert!(resolve(args).is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn readonly_refuses_to_open_a_shell() {
        for args in [
            &["gangway", "--readonly", "connect", "web-1"][..],
            &["gangway", "connect", "--readonly", "web-1"],
        ] {
            let error = resolve(args).expect_err("refused");
            assert!(error.contains("--readonly"), "{error}");
        }
        assert!(matches!(
            resolve(&["gangway", "connect", "web-1"]),
            Ok(Invocation::Connect(_))
        ));
    }

    #[test]
    fn exec_takes_its_command_after_the_separator_verbatim() {
        let Ok(Invocation::Exec(args)) = resolve(&[
            "gangway",
            "--profile",
            "p",
            "exec",
            "web-1",
            "--",
            "printf",
            "%s|",
            "",
            "a b",
            "--x",
        ]) else {
            panic!("exec");
        };
        assert_eq!(args.command, ["printf", "%s|", "", "a b", "--x"]);
        assert_eq!(args.aws.profile.as_deref(), Some("p"));
        assert_eq!(args.document, EXEC_DOCUMENT);
        assert!(
            resolve(&["gangway", "exec", "web-1"]).is_err(),
            "no command"
        );
        for args in [
            &["gangway", "--readonly", "exec", "web-1", "--", "id"][..],
            &["gangway", "exec", "--readonly", "web-1", "--", "id"],
            &["gangway", "setup", "--readonly"],
        ] {
            let error = resolve(args).expect_err("refused");
            assert!(error.contains("--readonly"), "{error}");
        }
        assert!(resolve(&["gangway", "setup", "--tag", "Env=dev"]).is_err());
        assert!(matches!(
            resolve(&["gangway", "setup", "--document", "mine"]),
            Ok(Invocation::Setup(SetupArgs { document, .. })) if document == "mine"
        ));
    }

    #[test]
    fn malformed_parameters_are_refused() {
        assert!(Cli::try_parse_from(["gangway", "connect", "web-1", "--parameter", "x"]).is_err());
    }

    #[test]
    fn empty_values_mean_unset() {
        let args = AwsArgs {
            profile: Some(String::new()),
            region: vec![" us-east-1".into(), String::new()],
            endpoint_url: None,
            tags: vec![],
        };
        let opts = args.options();
        assert_eq!(opts.profile, None);
        assert_eq!(opts.regions, ["us-east-1"]);
    }

    #[test]
    fn regions_are_comma_separated() {
        let args = list(&["gangway", "--region", "ap-northeast-2,us-east-1", "list"]);
        assert_eq!(args.aws.region, ["ap-northeast-2", "us-east-1"]);
    }
}
