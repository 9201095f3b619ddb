//! `gangway policy`: write (`new`), explain and simulate IAM identity policies for Session
//! Manager access. No AWS call: everything is decided by `crate::iam`, the evaluator the
//! emulator authorises with, so a simulation answers what the emulator (and, as far as the
//! emulator is faithful, AWS) does.

mod explain;
mod generate;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use super::exit;
use crate::cli::{PolicyArgs, PolicyCommand, PolicyExplainArgs, PolicyNewArgs, PolicySimulateArgs};
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
        Ok(status) => ExitCode::from(status),
        Err(message) => {
            eprintln!("gangway policy: {}", escape_for_terminal(&message));
            ExitCode::from(exit::USAGE)
        }
    }
}

/// An ISO 8601 time as RFC 3339 UTC, or a clear error naming the option.
pub fn iso_time(option: &str, text: &str) -> Result<String, String> {
    let time = iam::parse_date(text).ok_or_else(|| {
        format!("{option}: `{text}` is not an ISO 8601 time (like 2026-12-31T18:00:00Z)")
    })?;
    time.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{option}: {e}"))
}

fn new(args: &PolicyNewArgs) -> Result<u8, String> {
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
    let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
    println!("{text}");
    if let Some(user) = &args.user {
        eprintln!(
            "attach it with: aws iam put-user-policy --user-name {} --policy-name gangway-session-access --policy-document file://POLICY.json",
            escape_for_terminal(user)
        );
    }
    Ok(exit::OK)
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

fn explain_file(args: &PolicyExplainArgs) -> Result<u8, String> {
    let policy = load(&args.file)?;
    let Explanation {
        statements,
        warnings,
    } = explain(&policy);
    println!("Who: the IAM user or role it is attached to (\"the caller\").");
    for text in statements {
        for line in text.lines() {
            println!("{}", escape_for_terminal(line));
        }
    }
    if warnings.is_empty() {
        println!("Warnings: none.");
    } else {
        println!("Warnings:");
        for warning in warnings {
            println!("  - {}", escape_for_terminal(&warning));
        }
    }
    Ok(exit::OK)
}

fn simulate(args: &PolicySimulateArgs) -> Result<u8, String> {
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
    println!("{}", escape_for_terminal(&line));
    Ok(if decision.is_allowed() {
        exit::OK
    } else {
        exit::ACCESS_DENIED
    })
}
