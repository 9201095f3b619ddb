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
use crate::aws::types::{S3Location, parse_key_value};

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
    /// Named profile from ~/.aws/config (SSO, credential_process and assumed roles work),
    /// or several separated by commas (`prod,staging`): every account at once.
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
        let profiles: Vec<&str> = self
            .profile
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        // `--profile a,b`: one account per profile; a single name stays the one account.
        let several = self.profile.as_deref().is_some_and(|p| p.contains(','));
        let accounts = if several {
            profiles
                .iter()
                .map(|profile| crate::aws::AccountSpec {
                    profile: Some((*profile).to_owned()),
                    ..Default::default()
                })
                .collect()
        } else {
            Vec::new()
        };
        AwsOptions {
            accounts,
            profile: if several {
                None
            } else {
                profiles.first().map(|p| (*p).to_owned())
            },
            regions: self
                .region
                .iter()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
            endpoint_url: self.endpoint_url.clone().filter(|u| !u.is_empty()),
            ssm_endpoint_url: None,
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

    /// Show times in UTC instead of the local time zone (also `[display] utc = true`).
    #[arg(long)]
    pub utc: bool,
}

impl UiArgs {
    fn over(self, before: UiArgs) -> UiArgs {
        UiArgs {
            readonly: self.readonly || before.readonly,
            config: self.config.or(before.config),
            utc: self.utc || before.utc,
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
    /// Forward local ports to an instance, or to a host it reaches, through port sessions.
    Forward(ForwardArgs),
    /// Carry SSH to an instance on stdin/stdout: `ProxyCommand gangway ssh-proxy %h`.
    SshProxy(SshProxyArgs),
    /// Link `session-manager-plugin` to gangway, so the AWS CLI's `aws ssm start-session`
    /// (and tools built on it) run their sessions through gangway.
    InstallPlugin(InstallPluginArgs),
    /// Run a script on many instances with Run Command (AWS-RunShellScript), follow each
    /// instance's status and collect the output; `run list` and `run show ID` read the history.
    Run(Box<RunArgs>),
    /// Write, explain and simulate IAM policies for Session Manager access.
    Policy(PolicyArgs),
    /// EventBridge alerts for the security team: write the rules (`new`), try one on a
    /// CloudTrail event (`test`).
    Alerts(AlertsArgs),
    /// Play a session's recording back (space pause, +/- speed, ←/→ 5 s, q quit), or list
    /// the recordings.
    Replay(ReplayArgs),
    /// Copy files to or from an instance: `gangway cp ./app.tar web-1:/tmp/`,
    /// `gangway cp web-1:/var/log/app.log .`; binary-safe, checked by SHA-256, resumable.
    Cp(CpArgs),
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

/// The options a command that acts on instances shares with the UI: its own `--readonly`,
/// AWS options and `--config`.
trait Acting {
    fn shared(&mut self) -> (bool, &mut AwsArgs, &mut Option<PathBuf>);
}

macro_rules! acting {
    ($($args:ty),*) => {$(
        impl Acting for $args {
            fn shared(&mut self) -> (bool, &mut AwsArgs, &mut Option<PathBuf>) {
                (self.readonly, &mut self.aws, &mut self.config)
            }
        }
    )*};
}
acting!(
    ConnectArgs,
    ExecArgs,
    CpArgs,
    ForwardArgs,
    SshProxyArgs,
    RunArgs
);

/// A command that acts on instances (`what` it does, for the refusal): refused under
/// `--readonly` given before or after it; its AWS options over those given before it, and
/// its `--config` or else the one given before it.
fn acting<A: Acting>(
    args: &mut A,
    aws: AwsArgs,
    ui: &UiArgs,
    what: &str,
    command: &str,
) -> Result<(), String> {
    let (readonly, args_aws, config) = args.shared();
    refuse_in_readonly(ui.readonly || readonly, what, command)?;
    *args_aws = std::mem::take(args_aws).over(aws);
    if config.is_none() {
        config.clone_from(&ui.config);
    }
    Ok(())
}

/// What to run, with every option where it belongs: the result of [`Cli::resolve`].
#[derive(Debug, Clone)]
pub enum Invocation {
    /// `gangway` with no subcommand: the UI against AWS.
    Ui { aws: AwsArgs, ui: UiArgs },
    /// A subcommand, with the options given before it merged into its own.
    Command(Command),
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
        let Some(mut command) = command else {
            return Ok(Invocation::Ui { aws, ui });
        };
        match &mut command {
            Command::Demo(args) => {
                if !aws.is_empty() {
                    return refuse(
                        "--profile, --region, --endpoint-url and --tag",
                        "demo",
                        "it signs in to its own emulator",
                    );
                }
                args.ui = std::mem::take(&mut args.ui).over(ui);
            }
            Command::Emulator(_) => {
                if !aws.is_empty() || ui != UiArgs::default() {
                    return refuse(
                        "an AWS or UI option",
                        "emulator",
                        "it serves AWS instead of calling it",
                    );
                }
            }
            Command::Connect(args) => acting(args, aws, &ui, "opening shells", "connect")?,
            Command::Exec(args) => acting(args, aws, &ui, "running commands", "exec")?,
            Command::Cp(args) => acting(args, aws, &ui, "copying files", "cp")?,
            Command::Setup(args) => {
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
                args.aws = std::mem::take(&mut args.aws).over(aws);
            }
            Command::Forward(args) => acting(args, aws, &ui, "opening tunnels", "forward")?,
            Command::SshProxy(args) => acting(args, aws, &ui, "opening SSH sessions", "ssh-proxy")?,
            Command::InstallPlugin(_) => {
                if !aws.is_empty() || ui != UiArgs::default() {
                    return refuse(
                        "AWS and UI options",
                        "install-plugin",
                        "it only creates a link",
                    );
                }
            }
            Command::Run(args) => {
                let history_tags = match &args.history {
                    Some(RunHistory::List(list)) => !list.aws.tags.is_empty(),
                    Some(RunHistory::Show(show)) => !show.aws.tags.is_empty(),
                    None => false,
                };
                if args.history.is_some() && (history_tags || !aws.tags.is_empty()) {
                    return refuse(
                        "--tag",
                        "run list` or `gangway run show",
                        "they read the command history, for no instances in particular",
                    );
                }
                match &mut args.history {
                    // Reading the history is never dangerous.
                    Some(RunHistory::List(list)) => list.aws = list.aws.clone().over(aws),
                    Some(RunHistory::Show(show)) => show.aws = show.aws.clone().over(aws),
                    None => acting(&mut **args, aws, &ui, "running commands", "run")?,
                }
            }
            Command::Policy(_) => {
                if !aws.is_empty() || ui != UiArgs::default() {
                    return refuse(
                        "an AWS or UI option",
                        "policy",
                        "it works on policy files and calls no AWS",
                    );
                }
            }
            Command::Alerts(args) => {
                if ui != UiArgs::default() {
                    return refuse("a UI option", "alerts", "it prints rules and tests events");
                }
                match &mut args.command {
                    AlertsCommand::New(new) => {
                        if !aws.tags.is_empty() || !new.aws.tags.is_empty() {
                            return refuse("--tag", "alerts new", "the rules are for no instance");
                        }
                        // Only asked for the account and region a topic name needs.
                        new.aws = new.aws.clone().over(aws);
                    }
                    AlertsCommand::Apply(apply) => {
                        if !aws.tags.is_empty() || !apply.aws.tags.is_empty() {
                            return refuse(
                                "--tag",
                                "alerts apply",
                                "the rules are for no instance",
                            );
                        }
                        apply.aws = apply.aws.clone().over(aws);
                    }
                    AlertsCommand::Test(_) => {
                        if !aws.is_empty() {
                            return refuse(
                                "an AWS option",
                                "alerts test",
                                "it matches a file locally and calls no AWS",
                            );
                        }
                    }
                }
            }
            Command::Replay(args) => {
                if !aws.is_empty() {
                    return refuse(
                        "--profile, --region, --endpoint-url and --tag",
                        "replay",
                        "it reads recordings on this machine",
                    );
                }
                // Replaying is never dangerous: --readonly changes nothing here.
                args.config = args.config.take().or(ui.config);
            }
            Command::List(args) => {
                args.aws = std::mem::take(&mut args.aws).over(aws);
                // Listing is never dangerous: --readonly changes nothing here.
                args.config = args.config.take().or(ui.config);
            }
            Command::Audit(args) => {
                if !aws.tags.is_empty() || !args.aws.tags.is_empty() {
                    return refuse(
                        "--tag",
                        "audit",
                        "CloudTrail lists events, not instances: use --target",
                    );
                }
                // Reading the trail changes nothing: --readonly changes nothing here.
                args.aws = std::mem::take(&mut args.aws).over(aws);
            }
        }
        Ok(Invocation::Command(command))
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
pub struct ForwardArgs {
    /// Instance id, `Name` tag value, or `tag:KEY=VALUE`.
    pub target: String,

    /// `[LOCAL:]REMOTE` port pairs, e.g. `8080:80 5432`; LOCAL 0 or omitted picks a free
    /// port and prints it. Each gets its own listener on 127.0.0.1.
    #[arg(required = true, value_name = "[LOCAL:]REMOTE", value_parser = parse_port_pair)]
    pub ports: Vec<PortPair>,

    /// Forward to this host as the instance reaches it (a database endpoint, another
    /// machine) instead of the instance itself.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Spread each listener's connections over up to N sessions, opened as connections
    /// arrive (the agent paces each session's download, so N sessions carry about N times
    /// as much).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub sessions: u16,

    /// Print events as JSON lines on stdout (listening, connection opened/closed,
    /// resumed, ended) for scripts.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Config file whose `[fleet] tags` narrow the targets, as in the UI.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Read-only mode forbids opening tunnels: with it, forward refuses to run.
    #[arg(long)]
    pub readonly: bool,
}

/// One `[LOCAL:]REMOTE` of `gangway forward`: LOCAL 0 means "a free port".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortPair {
    pub local: u16,
    pub remote: u16,
}

/// Why a unix socket path is refused as REMOTE: AWS has no document for it.
const NO_REMOTE_UNIX_SOCKET: &str = "AWS Session Manager cannot forward to a unix socket on the instance: the agent's port plugin dials TCP only (amazon-ssm-agent, agent/session/plugins/port: DialCall with \"tcp\"), and AWS-StartPortForwardingSessionToSocket puts its unix socket on your machine, not on the instance. Have the instance listen on a loopback TCP port for the socket (e.g. socat TCP-LISTEN:8080,bind=127.0.0.1,fork UNIX-CONNECT:PATH) and forward that port";
/// Why a unix socket path is refused as LOCAL.
const NO_LOCAL_UNIX_SOCKET: &str = "a local unix socket (AWS-StartPortForwardingSessionToSocket) is not supported; give a local TCP port";

/// `8080:80` or `80` (local port chosen by the OS). A path on either side is refused with
/// the reason (user guide, "Unix sockets on the instance").
pub fn parse_port_pair(text: &str) -> Result<PortPair, String> {
    let (local_text, remote_text) = text.rsplit_once(':').unwrap_or(("", text));
    if remote_text.contains('/') {
        return Err(NO_REMOTE_UNIX_SOCKET.to_owned());
    }
    if local_text.contains('/') {
        return Err(NO_LOCAL_UNIX_SOCKET.to_owned());
    }
    let port = |part: &str, what: &str, zero_ok: bool| -> Result<u16, String> {
        match part.trim().parse::<u16>() {
            Ok(0) if !zero_ok => Err(format!("the {what} port must be 1 to 65535")),
            Ok(port) => Ok(port),
            Err(_) => Err(format!(
                "`{part}` is not a {what} port (a number, 1 to 65535)"
            )),
        }
    };
    match text.split_once(':') {
        Some((local, remote)) => Ok(PortPair {
            local: port(local, "local", true)?,
            remote: port(remote, "remote", false)?,
        }),
        None => Ok(PortPair {
            local: 0,
            remote: port(text, "remote", false)?,
        }),
    }
}

#[derive(Debug, Clone, Args)]
pub struct InstallPluginArgs {
    /// Where to put the link: default, the first directory on PATH you can write to that
    /// is in your home directory, else ~/.local/bin.
    pub dir: Option<PathBuf>,

    /// Replace an existing `session-manager-plugin` that is not gangway.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SshProxyArgs {
    /// Instance id, `Name` tag value, or `tag:KEY=VALUE` (ssh's `%h`).
    pub target: String,

    /// The SSH port on the instance (ssh's `%p`).
    #[arg(default_value_t = 22, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Config file whose `[fleet] tags` narrow the targets, as in the UI.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Read-only mode forbids opening sessions: with it, ssh-proxy refuses to run.
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
pub struct CpArgs {
    /// What to copy: a local path, or TARGET:PATH on an instance (TARGET is an instance
    /// id, `Name` tag value, or `tag:KEY=VALUE`).
    pub source: String,

    /// Where to copy it: TARGET:PATH when the source is local, a local path otherwise. An
    /// existing directory receives the source under its own name.
    pub destination: String,

    /// Copy a directory and everything under it.
    #[arg(short = 'r', long)]
    pub recursive: bool,

    /// Sessions a download is spread over (each is paced by the agent on its own; default
    /// 8, see docs/PERFORMANCE.md). Uploads use one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=MAX_COPY_SESSIONS))]
    pub sessions: Option<u16>,

    /// Reason recorded with the sessions.
    #[arg(long)]
    pub reason: Option<String>,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Config file whose `[fleet] tags` narrow the targets, as in the UI.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Read-only mode forbids copying: with it, cp refuses to run.
    #[arg(long)]
    pub readonly: bool,
}

/// The most sessions one download may use.
const MAX_COPY_SESSIONS: i64 = crate::copy::download::MAX_SESSIONS as i64;

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

/// `--output-s3`: an `s3://BUCKET/PREFIX` URL, said plainly when it is not one.
fn parse_s3_location(text: &str) -> Result<S3Location, String> {
    S3Location::from_url(text)
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunArgs {
    #[command(subcommand)]
    pub history: Option<RunHistory>,

    /// Instance ids, Name tag values or `tag:KEY=VALUE` (at most 50); without any, every
    /// instance that `--tag` (and the config file's `[fleet] tags`) select.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// A line of the script (repeatable, in order).
    #[arg(long = "command", short = 'c', value_name = "LINE")]
    pub commands: Vec<String>,

    /// The script, from a UTF-8 file. Without --command or --script it is read from stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "commands")]
    pub script: Option<PathBuf>,

    /// Command document (default: AWS-RunShellScript, or AWS-RunPowerShellScript when every
    /// target is Windows).
    #[arg(long, value_name = "NAME")]
    pub document: Option<String>,

    /// How many instances run it at once: a number or a percentage (AWS's default: 50).
    #[arg(long, value_name = "N|N%")]
    pub max_concurrency: Option<String>,

    /// How many errors stop new invocations: a number or a percentage (AWS's default: 0).
    #[arg(long, value_name = "N|N%")]
    pub max_errors: Option<String>,

    /// Seconds the script may run on each instance (the document's executionTimeout).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,

    /// Comment recorded with the command (at most 100 characters).
    #[arg(long)]
    pub comment: Option<String>,

    /// Where AWS writes every instance's whole output: s3://BUCKET/PREFIX.
    #[arg(long = "output-s3", value_name = "S3_URL", value_parser = parse_s3_location)]
    pub output_s3: Option<S3Location>,

    /// Write each instance's stdout, stderr and status to DIR/INSTANCE-ID.{stdout,stderr,status}.
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,

    /// Run without asking (required when stdin or stderr is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// `table`: a live table on a terminal and each instance's output at the end; `json`:
    /// one JSON line per state change.
    #[arg(long, value_enum, default_value = "table")]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Config file whose `[fleet] tags` narrow the targets, as in the UI.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Read-only mode forbids running commands: with it, run refuses to run.
    #[arg(long)]
    pub readonly: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RunHistory {
    /// The commands run in the region, newest first (ListCommands).
    List(RunListArgs),
    /// One command: each instance's status and output.
    Show(RunShowArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RunListArgs {
    /// How many commands to show.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,

    #[arg(long, value_enum, default_value = "table")]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RunShowArgs {
    /// The command id (as `gangway run` and `gangway run list` print it).
    pub command_id: String,

    /// Only this instance, with its stdout and stderr apart (up to 24,000 characters).
    #[arg(long, value_name = "ID")]
    pub instance: Option<String>,

    #[arg(long, value_enum, default_value = "table")]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// A recording file, or the id of a recorded session. Without it, the recordings are
    /// listed.
    #[arg(value_name = "FILE|SESSION-ID")]
    pub recording: Option<String>,

    /// List the recordings as JSON (session id, target, start, duration, size, path).
    #[arg(long, conflicts_with = "recording")]
    pub json: bool,

    /// Config file whose `[recording] dir` holds the recordings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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

    /// Only the instances a shell can open on now (the REACH column says why the others
    /// cannot).
    #[arg(long)]
    pub reachable: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum PolicyCommand {
    /// Print an IAM policy that lets its user open sessions on tagged instances until a time
    /// (ready for `aws iam put-user-policy`).
    New(PolicyNewArgs),
    /// Say in plain words what a policy file allows, and warn about the classic holes.
    Explain(PolicyExplainArgs),
    /// Allow or deny: evaluate a policy file for one request, with the deciding statement.
    Simulate(PolicySimulateArgs),
}

/// What a generated policy lets its user do with sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum SessionKind {
    /// Interactive shells (the default document, SSM-SessionManagerRunShell).
    Shell,
    /// Port forwarding (AWS-StartPortForwardingSession, also to remote hosts).
    Port,
    /// SSH through Session Manager (AWS-StartSSHSession).
    Ssh,
    /// Commands: AWS-StartInteractiveCommand, AWS-StartNonInteractiveCommand and gangway's
    /// exec document.
    Run,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyNewArgs {
    /// Instances must carry this tag (repeatable: all of them).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_key_value, required = true)]
    pub tags: Vec<(String, String)>,

    /// End of the access, ISO 8601 (2026-12-31T18:00:00Z, or a date: its midnight UTC).
    #[arg(long, value_name = "TIME")]
    pub until: String,

    /// Start of the access, ISO 8601.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,

    /// What sessions may do, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "shell")]
    pub allow: Vec<SessionKind>,

    /// The account id in the ARNs (default: any account, `*`).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// Regions the access holds in (repeatable; default: every region, `*`).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,

    /// The KMS key of KMS-encrypted sessions: the policy allows kms:GenerateDataKey on it.
    #[arg(long, value_name = "ARN")]
    pub kms_key: Option<String>,

    /// The IAM user it is for: attached to them in the CloudFormation and Terraform outputs;
    /// with JSON, the `aws iam put-user-policy` command is printed on stderr.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// The policy document itself, or a CloudFormation template or Terraform configuration
    /// that creates it as a managed policy.
    #[arg(long, value_enum, default_value = "json")]
    pub output: PolicyOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyOutput {
    Json,
    Cloudformation,
    Terraform,
}

#[derive(Debug, Clone, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AlertsCommand {
    /// Print the EventBridge rules that mail the security team on sessions, security-group
    /// and WAF changes, each with an SNS target and its short message.
    New(AlertsNewArgs),
    /// Match a CloudTrail event against a rule locally, with EventBridge's rules, and print
    /// the message it would deliver. Exit 0 matched, 21 not matched, 2 bad input.
    Test(AlertsTestArgs),
    /// Create or update those rules, their targets and the SNS topic through EventBridge and
    /// SNS: shows what would change, rule by rule, and changes it only with --yes.
    Apply(AlertsApplyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AlertsApplyArgs {
    /// The SNS topic: a name (created if missing, in the caller's account and region) or an
    /// existing topic's ARN.
    #[arg(
        long,
        value_name = "NAME|ARN",
        default_value = "gangway-security-alerts"
    )]
    pub topic: String,

    /// Make the changes shown. Without it nothing is changed (a dry run).
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AlertsNewArgs {
    /// The SNS topic: a name (made an ARN with the account and region; created by the
    /// CloudFormation and Terraform outputs) or an existing topic's ARN.
    #[arg(
        long,
        value_name = "NAME|ARN",
        default_value = "gangway-security-alerts"
    )]
    pub topic: String,

    /// The account of the topic (default: the caller's, from STS GetCallerIdentity).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// The rules as put-rule/put-targets input (JSON), or a CloudFormation template or
    /// Terraform configuration that creates them.
    #[arg(long, value_enum, default_value = "json")]
    pub output: PolicyOutput,

    /// `--region` is the topic's region (default: the configured one).
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AlertsTestArgs {
    /// A rule name from `gangway alerts new`, or a file holding a rule (put-rule input, its
    /// `Targets` optional) or an event pattern.
    pub rule: String,

    /// A CloudTrail event: a record, or EventBridge's "AWS API Call via CloudTrail" event;
    /// `-` for stdin.
    pub event: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyExplainArgs {
    /// The policy document (JSON), `-` for stdin.
    pub file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct PolicySimulateArgs {
    /// The policy document (JSON), `-` for stdin.
    pub file: PathBuf,

    /// The IAM action, like ssm:StartSession.
    #[arg(long, value_name = "ACTION")]
    pub action: String,

    /// The resource's ARN (default `*`, for actions without resource-level permissions).
    #[arg(long, value_name = "ARN", default_value = "*")]
    pub resource: String,

    /// A tag of the resource: sets ssm:resourceTag/KEY and aws:ResourceTag/KEY (repeatable).
    #[arg(long = "instance-tag", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub instance_tags: Vec<(String, String)>,

    /// The caller's user name (aws:username).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// The time of the request (aws:CurrentTime), ISO 8601; default now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Any other condition key (repeatable).
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub context: Vec<(String, String)>,
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
    fn port_pairs_are_local_colon_remote_or_remote_alone() {
        assert_eq!(
            parse_port_pair("8080:80"),
            Ok(PortPair {
                local: 8080,
                remote: 80
            })
        );
        assert_eq!(
            parse_port_pair("5432"),
            Ok(PortPair {
                local: 0,
                remote: 5432
            })
        );
        assert_eq!(parse_port_pair("0:22").map(|p| p.local), Ok(0));
        for bad in ["", "http", "80:0", "0", "70000", "1:2:3", "-1"] {
            assert!(parse_port_pair(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unix_socket_paths_are_refused_with_the_reason() {
        for remote in ["8080:/var/run/docker.sock", "/run/app.sock", "0:./app.sock"] {
            let error = parse_port_pair(remote).err().unwrap_or_default();
            assert!(
                error.contains("cannot forward to a unix socket on the instance")
                    && error.contains("dials TCP only"),
                "{remote}: {error}"
            );
        }
        let error = parse_port_pair("/tmp/db.sock:5432")
            .err()
            .unwrap_or_default();
        assert!(error.contains("local unix socket"), "{error}");
    }

    #[test]
    fn forward_and_ssh_proxy_are_refused_in_readonly_mode() {
        for argv in [
            &["gangway", "--readonly", "forward", "web-1", "80"][..],
            &["gangway", "ssh-proxy", "web-1", "--readonly"][..],
        ] {
            let resolved = Cli::try_parse_from(argv).expect("parses").resolve();
            assert!(resolved.is_err(), "{argv:?}");
        }
        let resolved = Cli::try_parse_from([
            "gangway",
            "forward",
            "web-1",
            "8080:80",
            "5432",
            "--sessions",
            "4",
        ])
        .expect("parses")
        .resolve();
        let Ok(Invocation::Command(Command::Forward(args))) = resolved else {
            panic!("{resolved:?}");
        };
        assert_eq!(args.ports.len(), 2);
        assert_eq!(args.sessions, 4);
    }

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
            Ok(Invocation::Command(Command::List(list))) => list,
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
        let Ok(Invocation::Command(Command::Demo(demo))) =
            resolve(&["gangway", "--readonly", "demo"])
        else {
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
    fn run_is_refused_in_readonly_but_its_history_is_not() {
        let error = resolve(&["gangway", "--readonly", "run", "web-1", "-c", "id"])
            .expect_err("running is dangerous");
        assert!(error.contains("--readonly"), "{error}");
        assert!(resolve(&["gangway", "--readonly", "run", "list"]).is_ok());
        assert!(resolve(&["gangway", "run", "show", "c-1", "--region", "eu-west-1"]).is_ok());
        let error = resolve(&["gangway", "run", "list", "--tag", "Env=dev"])
            .expect_err("--tag means nothing to the history");
        assert!(error.contains("--tag"), "{error}");
        let Ok(Invocation::Command(Command::Run(run))) = resolve(&[
            "gangway", "--tag", "Env=dev", "run", "-c", "id", "-c", "uptime",
        ]) else {
            panic!("a run by tag");
        };
        assert_eq!(run.aws.tags, [("Env".to_owned(), "dev".to_owned())]);
        assert_eq!(run.commands, ["id", "uptime"]);
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
            Ok(Invocation::Command(Command::Connect(_)))
        ));
    }

    #[test]
    fn exec_takes_its_command_after_the_separator_verbatim() {
        let Ok(Invocation::Command(Command::Exec(args))) = resolve(&[
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
            Ok(Invocation::Command(Command::Setup(SetupArgs { document, .. }))) if document == "mine"
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
