//! `gangway policy explain`: each statement of a policy in plain words, then the classic
//! holes of Session Manager policies (issue 15). Statements are read through the same parsed
//! form the evaluator uses, and the holes are found by asking the evaluator's matchers, so
//! what is said is what `simulate` and the emulator do.

use crate::iam::{
    Base, Condition, Context, Effect, Operator, Pattern, Piece, Policy, SetQualifier, Statement,
    Targets, Template,
};

/// The explanation: one paragraph per statement, then warnings.
pub struct Explanation {
    pub statements: Vec<String>,
    pub warnings: Vec<String>,
}

pub fn explain(policy: &Policy) -> Explanation {
    let statements = policy.statements.iter().map(statement).collect();
    let mut warnings = Vec::new();
    if policy.version != crate::iam::Version::V2012 {
        warnings.push(
            "the policy has no \"Version\": \"2012-10-17\", so ${...} policy variables are taken literally"
                .to_owned(),
        );
    }
    for s in policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
    {
        holes(s, &mut warnings);
    }
    Explanation {
        statements,
        warnings,
    }
}

fn statement(s: &Statement) -> String {
    let verb = match s.effect {
        Effect::Allow => "allows",
        Effect::Deny => "DENIES (whatever else allows it)",
    };
    let actions: Vec<&str> = s
        .actions
        .items()
        .iter()
        .map(|a| a.source.as_str())
        .collect();
    let actions = match &s.actions {
        Targets::Only(_) => actions.join(", "),
        Targets::AllBut(_) => format!("every action except {}", actions.join(", ")),
    };
    let resources: Vec<String> = s.resources.items().iter().map(resource).collect();
    let resources = match &s.resources {
        Targets::Only(_) => resources.join("; "),
        Targets::AllBut(_) => format!("every resource except {}", resources.join("; ")),
    };
    let mut text = format!("{}: {verb} {actions}\n  on {resources}", s.label());
    if s.conditions.is_empty() {
        text.push_str("\n  always (no conditions)");
    } else {
        for c in &s.conditions {
            text.push_str("\n  only if ");
            text.push_str(&condition(c));
        }
    }
    text
}

/// A resource ARN pattern as people say it.
fn resource(template: &Template) -> String {
    let source = template.source.as_str();
    if source == "*" {
        return "every resource (*)".to_owned();
    }
    let parts: Vec<&str> = source.splitn(6, ':').collect();
    let [_, _, service, region, account, rest] = parts[..] else {
        return source.to_owned();
    };
    let place = |region: &str, account: &str| {
        let region = if region == "*" || region.is_empty() {
            if region.is_empty() {
                String::new()
            } else {
                "any region".to_owned()
            }
        } else {
            format!("region {region}")
        };
        let account = match account {
            "*" => "any account".to_owned(),
            "" => "owned by AWS".to_owned(),
            id => format!("account {id}"),
        };
        [region, account]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let where_ = place(region, account);
    match (service, rest.split_once('/')) {
        ("ec2", Some(("instance", "*"))) => format!("every EC2 instance ({where_})"),
        ("ec2", Some(("instance", id))) => format!("EC2 instance {id} ({where_})"),
        ("ssm", Some(("managed-instance", id))) => format!("managed node(s) {id} ({where_})"),
        ("ssm", Some(("document", "*"))) => format!("every session document ({where_})"),
        ("ssm", Some(("document", name))) => format!("the document {name} ({where_})"),
        ("ssm", Some(("session", _))) if own_sessions(template) => {
            format!("only the caller's own sessions (ids starting with their user name; {where_})")
        }
        ("ssm", Some(("session", id))) => format!("sessions {id} ({where_})"),
        ("kms", Some(("key", id))) => format!("the KMS key {id} ({where_})"),
        _ => source.to_owned(),
    }
}

/// `session/${aws:username}-*`: a session id pattern that starts with the caller's name.
fn own_sessions(template: &Template) -> bool {
    let mut pieces = template.pieces.iter();
    let starts_with_session =
        matches!(pieces.next(), Some(Piece::Text(t)) if t.ends_with(":session/"));
    let then_name = matches!(pieces.next(), Some(Piece::Variable { key, .. }) if key.eq_ignore_ascii_case("aws:username"));
    let then_dash = matches!(pieces.next(), Some(Piece::Text(t)) if t.starts_with('-'));
    starts_with_session && then_name && then_dash
}

fn key(name: &str) -> String {
    let lower = name.to_lowercase();
    if lower == "aws:currenttime" {
        return "the time".to_owned();
    }
    if lower == "aws:username" {
        return "the caller's user name".to_owned();
    }
    if lower == "ssm:sessiondocumentaccesscheck" {
        return "ssm:SessionDocumentAccessCheck (documents are checked too)".to_owned();
    }
    for prefix in ["ssm:resourcetag/", "aws:resourcetag/"] {
        if let Some(tag) = lower.strip_prefix(prefix).map(|_| &name[prefix.len()..]) {
            return format!("the instance's tag {tag}");
        }
    }
    if let Some(tag) = lower
        .strip_prefix("aws:principaltag/")
        .map(|_| &name["aws:principaltag/".len()..])
    {
        return format!("the caller's tag {tag}");
    }
    name.to_owned()
}

fn verb(operator: Operator) -> &'static str {
    match operator.base {
        Base::StringEquals | Base::ArnEquals => "is",
        Base::StringNotEquals | Base::ArnNotEquals => "is not",
        Base::StringEqualsIgnoreCase => "is (in any case)",
        Base::StringNotEqualsIgnoreCase => "is not (in any case)",
        Base::StringLike | Base::ArnLike => "matches",
        Base::StringNotLike | Base::ArnNotLike => "does not match",
        Base::NumericEquals => "=",
        Base::NumericNotEquals => "≠",
        Base::NumericLessThan => "<",
        Base::NumericLessThanEquals => "≤",
        Base::NumericGreaterThan => ">",
        Base::NumericGreaterThanEquals => "≥",
        Base::DateEquals => "is exactly",
        Base::DateNotEquals => "is not",
        Base::DateLessThan => "is before",
        Base::DateLessThanEquals => "is at or before",
        Base::DateGreaterThan => "is after",
        Base::DateGreaterThanEquals => "is at or after",
        Base::Bool => "is",
        Base::Null => "is",
    }
}

fn condition(c: &Condition) -> String {
    let values: Vec<String> = c.values.iter().map(value).collect();
    let subject = match c.operator.set {
        Some(SetQualifier::ForAllValues) => format!("every value of {}", key(&c.key)),
        Some(SetQualifier::ForAnyValue) => format!("some value of {}", key(&c.key)),
        None => key(&c.key),
    };
    if c.operator.base == Base::Null {
        let absent = c
            .values
            .iter()
            .any(|v| v.source.eq_ignore_ascii_case("true"));
        return format!("{subject} is {}", if absent { "absent" } else { "present" });
    }
    let mut text = format!("{subject} {} {}", verb(c.operator), values.join(" or "));
    if c.operator.if_exists {
        text.push_str(" (or is absent)");
    }
    text
}

fn value(template: &Template) -> String {
    let mut out = String::new();
    for piece in &template.pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Escape(c) => out.push(*c),
            Piece::Variable { key: k, .. } => out.push_str(&format!("<{}>", key(k))),
        }
    }
    format!("\"{out}\"")
}

/// Whether the statement's resources (as written, variables filled for a caller named `me`)
/// cover `arn`.
fn covers(s: &Statement, arn: &str) -> bool {
    let context = Context::new().with("aws:username", "me");
    let hit = s
        .resources
        .items()
        .iter()
        .any(|t| t.pattern(&context).is_some_and(|p| p.matches_arn(arn)));
    hit != s.resources.is_negated()
}

fn allows_action(s: &Statement, action: &str) -> bool {
    let hit = s
        .actions
        .items()
        .iter()
        .any(|a| a.pattern.matches(action, true));
    hit != s.actions.is_negated()
}

fn has_end_time(s: &Statement) -> bool {
    s.conditions.iter().any(|c| {
        c.key.eq_ignore_ascii_case("aws:CurrentTime")
            && matches!(
                c.operator.base,
                Base::DateLessThan | Base::DateLessThanEquals
            )
            && !c.operator.if_exists
    })
}

fn holes(s: &Statement, warnings: &mut Vec<String>) {
    let label = s.label();
    let starts = allows_action(s, "ssm:StartSession");
    let any_instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0";
    let port_document =
        "arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost";
    if starts && covers(s, port_document) {
        warnings.push(format!(
            "{label} allows StartSession with every document, AWS-StartPortForwardingSessionToRemoteHost included: port forwarding to any host the instance can reach"
        ));
    }
    if starts && covers(s, any_instance) && !has_end_time(s) {
        warnings.push(format!(
            "{label} allows StartSession with no end time (no DateLessThan on aws:CurrentTime): the access never expires"
        ));
    }
    let other_session = "arn:aws:ssm:us-east-1:123456789012:session/other-0123456789abcdef0";
    for action in ["ssm:TerminateSession", "ssm:ResumeSession"] {
        if allows_action(s, action) && covers(s, other_session) {
            warnings.push(format!(
                "{label} allows {action} on other users' sessions, not only the caller's own (use arn:aws:ssm:*:ACCOUNT:session/${{aws:username}}-*)"
            ));
        }
    }
    let star = s.resources.items().iter().any(|t| {
        t.pattern(&Context::new())
            .is_some_and(|p: Pattern| p.is_any())
    });
    let resource_level = [
        "ssm:StartSession",
        "ssm:TerminateSession",
        "ssm:ResumeSession",
        "ssm:SendCommand",
    ]
    .iter()
    .any(|a| allows_action(s, a));
    if (star && resource_level) || s.resources.is_negated() || s.actions.is_negated() {
        warnings.push(format!(
            "{label} allows session actions on `*` resources or through NotAction/NotResource: every instance, document and session of every account it reaches"
        ));
    }
}
