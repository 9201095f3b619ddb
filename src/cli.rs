//! Command-line parsing, at the top of the crate: each subcommand's arguments are plain data
//! handed to its file in `commands/`, and converted here into the layers' own option types
//! (`AwsArgs::options`). Nothing below `commands/` imports this module. `main.rs` only
//! dispatches.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::aws::AwsOptions;
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

    /// Hide dangerous actions (opening shells, terminating sessions).
    #[arg(long, global = true)]
    pub readonly: bool,

    /// Config file (default: ~/.config/gangway/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How to reach AWS. Everything not given here comes from aws-config's default chain.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Named profile from ~/.aws/config (SSO, credential_process and assumed roles work).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// Region, or several separated by commas (`ap-northeast-2,us-east-1`).
    #[arg(long, global = true, value_delimiter = ',')]
    pub region: Vec<String>,

    /// Endpoint URL for every AWS service (for the emulator: `http://127.0.0.1:PORT`).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Only instances with this tag (repeatable), applied as EC2 filters.
    #[arg(long = "tag", global = true, value_name = "KEY=VALUE", value_parser = parse_key_value)]
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
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Sign in to the demo as this emulator user (`dev` or `admin`).
    #[arg(long, default_value = "dev")]
    pub user: String,

    #[command(flatten)]
    pub fleet: FleetArgs,
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
        let cli = Cli::try_parse_from(["gangway", "list", "--tag", "Env=dev", "--tag", "Role=a=b"])
            .expect("valid tags");
        assert_eq!(
            cli.aws.tags,
            [("Env".into(), "dev".into()), ("Role".into(), "a=b".into())]
        );
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
        let cli = Cli::parse_from(["gangway", "--region", "ap-northeast-2,us-east-1", "list"]);
        assert_eq!(cli.aws.region, ["ap-northeast-2", "us-east-1"]);
    }
}
