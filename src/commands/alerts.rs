//! `gangway alerts`: the EventBridge rules the security team wants (`new`), and a local try of
//! a rule on a CloudTrail event (`test`) with the matcher and input transformer the emulator's
//! EventBridge uses (`crate::alerts`), so what `test` prints is what the emulator delivers.

mod apply;
mod templates;
mod test;

use std::io::Write;
use std::process::ExitCode;

use super::exit;
use crate::alerts::rules::{self, Rule};
use crate::aws::AwsClient;
use crate::cli::{AlertsArgs, AlertsCommand, AlertsNewArgs, PolicyOutput};
use crate::text::escape_for_terminal;

pub fn run(args: &AlertsArgs) -> ExitCode {
    let result = match &args.command {
        AlertsCommand::New(args) => new(args),
        AlertsCommand::Test(args) => test::run(args),
        AlertsCommand::Apply(args) => apply::run(args),
    };
    match result {
        Ok((text, status)) => {
            // A reader that went away (`| head`) is not an error of ours, as in `list`.
            let written = std::io::stdout().lock().write_all(text.as_bytes());
            if let Err(err) = written
                && err.kind() != std::io::ErrorKind::BrokenPipe
            {
                eprintln!("gangway alerts: cannot write the output: {err}");
                return ExitCode::from(exit::OTHER);
            }
            ExitCode::from(status)
        }
        Err((message, status)) => {
            for line in message.lines() {
                eprintln!("gangway alerts: {}", escape_for_terminal(line));
            }
            ExitCode::from(status)
        }
    }
}

/// What a subcommand prints on stdout and its exit status, or the error and its status.
type Outcome = Result<(String, u8), (String, u8)>;

fn usage(message: String) -> (String, u8) {
    (message, exit::USAGE)
}

/// The topic the rules deliver to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    /// An existing topic.
    Arn(String),
    /// A topic to create (CloudFormation, Terraform) or that `alerts apply` creates; `arn`
    /// is where it lives, when the account and region are known.
    Named { name: String, arn: Option<String> },
}

impl Topic {
    /// The ARN the JSON output's targets carry.
    fn arn(&self) -> Option<&str> {
        match self {
            Topic::Arn(arn) => Some(arn),
            Topic::Named { arn, .. } => arn.as_deref(),
        }
    }
}

/// An SNS topic name: 1 to 256 letters, digits, `-` and `_` (`.fifo` for FIFO topics, which
/// EventBridge cannot target with these rules).
pub fn check_topic_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(format!(
            "--topic: `{name}` is neither a topic name (letters, digits, - and _, at most 256) nor an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
        ))
    }
}

/// `arn:PARTITION:sns:REGION:ACCOUNT:NAME`.
pub fn check_topic_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let well_formed = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && check_region(parts[3]).is_ok()
        && check_account(parts[4]).is_ok()
        && check_topic_name(parts[5]).is_ok();
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "--topic: `{arn}` is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
        ))
    }
}

fn check_account(account: &str) -> Result<(), String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("`{account}` is not a 12-digit account id"))
    }
}

fn check_region(region: &str) -> Result<(), String> {
    let plain = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if plain {
        Ok(())
    } else {
        Err(format!("`{region}` is not a region name"))
    }
}

/// The account in an IAM ARN (`arn:aws:iam::123456789012:user/alice`).
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| check_account(a).is_ok())
}

fn new(args: &AlertsNewArgs) -> Outcome {
    let topic = resolve_topic(args)?;
    let arn = topic
        .arn()
        .map_or_else(|| templates::TOPIC_PLACEHOLDER.to_owned(), str::to_owned);
    let rules = rules::security_rules(&arn);
    let text = match args.output {
        PolicyOutput::Json => {
            serde_json::to_string_pretty(&rules).map_err(|e| usage(e.to_string()))?
        }
        PolicyOutput::Cloudformation => {
            serde_json::to_string_pretty(&templates::cloudformation(&rules, &topic))
                .map_err(|e| usage(e.to_string()))?
        }
        PolicyOutput::Terraform => templates::terraform(&rules, &topic),
    };
    if args.output == PolicyOutput::Json {
        eprintln!(
            "create them with gangway alerts apply, or per rule with aws events put-rule and aws events put-targets"
        );
    }
    Ok((format!("{text}\n"), exit::OK))
}

/// A topic ARN as given, or a name made an ARN with `--account`/`--region`, asking STS and the
/// AWS configuration for what is missing. CloudFormation and Terraform create a named topic
/// themselves, so they need neither.
fn resolve_topic(args: &AlertsNewArgs) -> Result<Topic, (String, u8)> {
    if args.topic.starts_with("arn:") {
        check_topic_arn(&args.topic).map_err(usage)?;
        return Ok(Topic::Arn(args.topic.clone()));
    }
    check_topic_name(&args.topic).map_err(usage)?;
    if let Some(account) = &args.account {
        check_account(account).map_err(|e| usage(format!("--account: {e}")))?;
    }
    let options = args.aws.options();
    if let Some(region) = options.regions.first() {
        check_region(region).map_err(|e| usage(format!("--region: {e}")))?;
    }
    let name = args.topic.clone();
    if args.output != PolicyOutput::Json {
        let arn = match (&args.account, options.regions.first()) {
            (Some(account), Some(region)) => Some(format!("arn:aws:sns:{region}:{account}:{name}")),
            _ => None,
        };
        return Ok(Topic::Named { name, arn });
    }
    let (account, region) = match (&args.account, options.regions.first()) {
        (Some(account), Some(region)) => (account.clone(), region.clone()),
        (account, _) => {
            let (found_account, region) = caller_account_and_region(args, account.is_none())?;
            (
                account.clone().or(found_account).unwrap_or_default(),
                region,
            )
        }
    };
    Ok(Topic::Named {
        arn: Some(format!("arn:aws:sns:{region}:{account}:{name}")),
        name,
    })
}

/// The configured region, and the caller's account when `want_account` (GetCallerIdentity).
fn caller_account_and_region(
    args: &AlertsNewArgs,
    want_account: bool,
) -> Result<(Option<String>, String), (String, u8)> {
    let runtime = super::command_runtime()
        .map_err(|_| ("cannot start the async runtime".to_owned(), exit::OTHER))?;
    let explain = |error: &crate::aws::AwsError| {
        let mut text = format!(
            "cannot tell the topic's {} ({}): give --account ID and --region REGION, or --topic ARN",
            if want_account {
                "account and region"
            } else {
                "region"
            },
            error.to_line()
        );
        if let Some(hint) = error.hint() {
            text.push('\n');
            text.push_str(&hint);
        }
        (text, exit::for_aws(error))
    };
    runtime.block_on(async {
        let clients = AwsClient::from_options(&args.aws.options())
            .await
            .map_err(|e| explain(&e))?;
        let Some(client) = clients.first() else {
            return Err(usage("no region".to_owned()));
        };
        let region = client.region().to_owned();
        if !want_account {
            return Ok((None, region));
        }
        let caller = client.caller_arn().await.map_err(|e| explain(&e))?;
        let account = account_of(&caller).map(str::to_owned).ok_or_else(|| {
            (
                format!("GetCallerIdentity answered an ARN without an account: {caller}"),
                exit::OTHER,
            )
        })?;
        Ok((Some(account), region))
    })
}

/// The generated rules by name, with a placeholder topic (the message does not depend on
/// it): what `alerts test NAME` tries.
fn generated(name: &str) -> Option<Rule> {
    rules::security_rules(templates::TOPIC_PLACEHOLDER)
        .into_iter()
        .find(|rule| rule.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_and_arns_are_checked() {
        assert!(check_topic_name("gangway-security-alerts").is_ok());
        assert!(check_topic_name("a b").is_err());
        assert!(check_topic_name("").is_err());
        assert!(check_topic_arn("arn:aws:sns:eu-west-1:123456789012:alerts").is_ok());
        assert!(check_topic_arn("arn:aws-cn:sns:cn-north-1:123456789012:alerts").is_ok());
        for bad in [
            "arn:aws:sqs:eu-west-1:123456789012:alerts",
            "arn:aws:sns:eu-west-1:1234:alerts",
            "arn:aws:sns:eu-west-1:123456789012",
            "arn:aws:sns::123456789012:alerts",
        ] {
            assert!(check_topic_arn(bad).is_err(), "{bad}");
        }
        assert_eq!(
            account_of("arn:aws:iam::123456789012:user/alice"),
            Some("123456789012")
        );
        assert_eq!(account_of("arn:aws:iam:::user/alice"), None);
    }
}
