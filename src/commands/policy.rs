//! `gangway policy`: write (`new`), explain and simulate IAM identity policies for Session
//! Manager access. No AWS call: everything is decided by `crate::iam`, the evaluator the
//! emulator authorises with, so a simulation answers what the emulator (and, as far as the
//! emulator is faithful, AWS) does.

mod explain;
mod generate;

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use super::exit;
use crate::cli::{
    PolicyArgs, PolicyCommand, PolicyExplainArgs, PolicyNewArgs, PolicyOutput, PolicySimulateArgs,
};
use crate::iam::{self, Context, Decision, Policy};
use crate::text::escape_for_terminal;

pub use explain::{Explanation, explain};
pub use generate::{NewPolicy, policy as generate};

/// A policy file larger than this is refused before it is read whole (IAM's own limit is
/// 6,144 characters without white space; generous room for indentation).
const MAX_FILE_BYTES: u64 = 64 * 1024;

pub fn run(args: &PolicyArgs) -> ExitCode {
    let result = match &args.command {
        PolicyCommand::New(args) => new(args),
        PolicyCommand::Explain(args) => explain_file(args),
        PolicyCommand::Simulate(args) => simulate(args),
    };
    match result {
        Ok((text, status)) => {
            // A reader that went away (`| head`) is not an error of ours, as in `list`.
            let written = std::io::stdout().lock().write_all(text.as_bytes());
            if let Err(err) = written
                && err.kind() != std::io::ErrorKind::BrokenPipe
            {
                eprintln!("gangway policy: cannot write the output: {err}");
                return ExitCode::from(exit::OTHER);
            }
            ExitCode::from(status)
        }
        Err(message) => {
            eprintln!("gangway policy: {}", escape_for_terminal(&message));
            ExitCode::from(exit::USAGE)
        }
    }
}

/// What a subcommand prints on stdout, and its exit status.
type Outcome = Result<(String, u8), String>;

/// An ISO 8601 time as RFC 3339 UTC, or a clear error naming the option.
pub fn iso_time(option: &str, text: &str) -> Result<String, String> {
    let time = iam::parse_date(text).ok_or_else(|| {
        format!("{option}: `{text}` is not an ISO 8601 time (like 2026-12-31T18:00:00Z)")
    })?;
    time.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{option}: {e}"))
}

fn new(args: &PolicyNewArgs) -> Outcome {
    let until = iso_time("--until", &args.until)?;
    let from = args
        .from
        .as_deref()
        .map(|from| iso_time("--from", from))
        .transpose()?;
    if let Some(from) = &from
        && iam::parse_date(from) >= iam::parse_date(&until)
    {
        return Err(format!("--from {from} is not before --until {until}"));
    }
    let account = args.account.as_deref().unwrap_or("*");
    if account != "*" && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!(
            "--account: `{account}` is not a 12-digit account id"
        ));
    }
    for region in &args.regions {
        let plain = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plain {
            return Err(format!("--region: `{region}` is not a region name"));
        }
    }
    if let Some(key) = &args.kms_key
        && !key.starts_with("arn:")
    {
        return Err(format!(
            "--kms-key: `{key}` is not a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"
        ));
    }
    let regions = if args.regions.is_empty() {
        vec!["*"]
    } else {
        args.regions.iter().map(String::as_str).collect()
    };
    let document = generate(&NewPolicy {
        tags: &args.tags,
        until,
        from,
        allow: &args.allow,
        account,
        regions,
        kms_key: args.kms_key.as_deref(),
    });
    // What gangway writes must be what it reads: a generated policy always parses.
    Policy::from_value(&document).map_err(|e| format!("internal error: {e}"))?;
    let text = match args.output {
        PolicyOutput::Json => serde_json::to_string_pretty(&document),
        PolicyOutput::Cloudformation => {
            serde_json::to_string_pretty(&cloudformation(&document, args.user.as_deref()))
        }
        PolicyOutput::Terraform => serde_json::to_string_pretty(&document)
            .map(|json| terraform(&json, args.user.as_deref())),
    }
    .map_err(|e| e.to_string())?;
    if let (Some(user), PolicyOutput::Json) = (&args.user, args.output) {
        eprintln!(
            "attach it with: aws iam put-user-policy --user-name {} --policy-name {POLICY_NAME} --policy-document file://POLICY.json",
            escape_for_terminal(user)
        );
    }
    Ok((format!("{text}\n"), exit::OK))
}

const POLICY_NAME: &str = "gangway-session-access";
const DESCRIPTION: &str =
    "Session Manager access on tagged instances until a set time (gangway policy new)";

/// A CloudFormation template creating the policy as a managed policy (attached to `user`).
/// Plain strings are not interpolated by CloudFormation, so `${aws:username}` stays as is.
fn cloudformation(document: &serde_json::Value, user: Option<&str>) -> serde_json::Value {
    let mut properties = serde_json::json!({
        "ManagedPolicyName": POLICY_NAME,
        "Description": DESCRIPTION,
        "PolicyDocument": document,
    });
    if let Some(user) = user {
        properties["Users"] = serde_json::json!([user]);
    }
    serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": DESCRIPTION,
        "Resources": {
            "GangwaySessionAccess": {"Type": "AWS::IAM::ManagedPolicy", "Properties": properties}
        }
    })
}

/// A Terraform configuration creating the policy (and attaching it to `user`). Terraform
/// interpolates `${…}` and `%{…}` in heredocs, so they are written `$${…}` and `%%{…}`.
fn terraform(json: &str, user: Option<&str>) -> String {
    let escaped = json.replace("${", "$${").replace("%{", "%%{");
    let mut text = format!(
        "resource \"aws_iam_policy\" \"gangway_session_access\" {{\n  name        = \"{POLICY_NAME}\"\n  description = \"{DESCRIPTION}\"\n  policy      = <<-POLICY\n{escaped}\n  POLICY\n}}\n"
    );
    if let Some(user) = user {
        let user = serde_json::Value::String(user.to_owned());
        text.push_str(&format!(
            "\nresource \"aws_iam_user_policy_attachment\" \"gangway_session_access\" {{\n  user       = {user}\n  policy_arn = aws_iam_policy.gangway_session_access.arn\n}}\n"
        ));
    }
    text
}

/// Reads and parses a policy file (`-`: stdin); errors name the file and the place.
pub fn load(path: &Path) -> Result<Policy, String> {
    let shown = path.display().to_string();
    let mut text = String::new();
    let read = if shown == "-" {
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
    };
    read.map_err(|e| format!("cannot read {shown}: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{shown}: larger than {MAX_FILE_BYTES} bytes: not a policy"
        ));
    }
    Policy::parse(&text).map_err(|e| format!("{shown}: {e}"))
}

fn explain_file(args: &PolicyExplainArgs) -> Outcome {
    let policy = load(&args.file)?;
    let Explanation {
        until,
        statements,
        warnings,
    } = explain(&policy);
    let mut out = String::from("Who: the IAM user or role it is attached to (\"the caller\").\n");
    out.push_str(&format!("Until: {}.\n", escape_for_terminal(&until)));
    for text in statements {
        for line in text.lines() {
            out.push_str(&escape_for_terminal(line));
            out.push('\n');
        }
    }
    if warnings.is_empty() {
        out.push_str("Warnings: none.\n");
    } else {
        out.push_str("Warnings:\n");
        for warning in warnings {
            out.push_str(&format!("  - {}\n", escape_for_terminal(&warning)));
        }
    }
    Ok((out, exit::OK))
}

fn simulate(args: &PolicySimulateArgs) -> Outcome {
    let policy = load(&args.file)?;
    let mut context = Context::new();
    let at = match &args.at {
        Some(at) => iso_time("--at", at)?,
        None => iso_time(
            "now",
            &time::OffsetDateTime::now_utc().unix_timestamp().to_string(),
        )?,
    };
    context.set("aws:CurrentTime", at);
    if let Some(user) = &args.user {
        context.set("aws:username", user.clone());
    }
    for (key, value) in &args.instance_tags {
        context.set(&format!("ssm:resourceTag/{key}"), value.clone());
        context.set(&format!("aws:ResourceTag/{key}"), value.clone());
    }
    for (key, value) in &args.context {
        context.set(key, value.clone());
    }
    let request = iam::Request {
        action: &args.action,
        resource: &args.resource,
        context: &context,
    };
    let decision = iam::evaluate(std::slice::from_ref(&policy), &request);
    let line = match decision {
        Decision::Allow(d) => format!("allow: {} allows it", d.statement.label()),
        Decision::ExplicitDeny(d) => format!("deny: {} denies it explicitly", d.statement.label()),
        Decision::ImplicitDeny => "deny: no statement allows it (implicit deny)".to_owned(),
    };
    let status = if decision.is_allowed() {
        exit::OK
    } else {
        exit::ACCESS_DENIED
    };
    Ok((format!("{}\n", escape_for_terminal(&line)), status))
}
