//! `gangway policy new`: the identity policy teams write by hand to replace a bastion
//! (issue 15): StartSession on instances with given tags and with the allowed documents only,
//! between two times; the calls that show instances and sessions time-boxed the same way;
//! resume within the time and terminate at any time, both on the user's own sessions only
//! (session ids start with the user name, `session/${aws:username}-*`).

use serde_json::{Value, json};

use crate::cli::SessionKind;

/// A validated request for a policy: times already normalised to RFC 3339 UTC.
pub struct NewPolicy<'a> {
    pub tags: &'a [(String, String)],
    pub until: String,
    pub from: Option<String>,
    pub allow: &'a [SessionKind],
    /// `*` when not given.
    pub account: &'a str,
    /// `["*"]` when not given.
    pub regions: Vec<&'a str>,
    pub kms_key: Option<&'a str>,
}

/// The session documents each kind of session needs, and whether AWS owns them (AWS-owned
/// documents have no account in their ARN).
fn documents(kind: SessionKind) -> &'static [(&'static str, bool)] {
    match kind {
        SessionKind::Shell => &[("SSM-SessionManagerRunShell", false)],
        SessionKind::Port => &[
            ("AWS-StartPortForwardingSession", true),
            ("AWS-StartPortForwardingSessionToRemoteHost", true),
        ],
        SessionKind::Ssh => &[("AWS-StartSSHSession", true)],
        SessionKind::Run => &[
            ("AWS-StartInteractiveCommand", true),
            ("AWS-StartNonInteractiveCommand", true),
            (crate::aws::documents::EXEC_DOCUMENT, false),
        ],
    }
}

/// The policy document.
pub fn policy(spec: &NewPolicy<'_>) -> Value {
    let mut time = serde_json::Map::new();
    time.insert(
        "DateLessThan".to_owned(),
        json!({ "aws:CurrentTime": spec.until }),
    );
    if let Some(from) = &spec.from {
        time.insert(
            "DateGreaterThan".to_owned(),
            json!({ "aws:CurrentTime": from }),
        );
    }
    let mut on_instances = time.clone();
    let tags: serde_json::Map<String, Value> = spec
        .tags
        .iter()
        // `$` as `${$}`: a tag value is never a policy variable.
        .map(|(k, v)| {
            (
                format!("ssm:resourceTag/{k}"),
                json!(v.replace('$', "${$}")),
            )
        })
        .collect();
    on_instances.insert("StringEquals".to_owned(), Value::Object(tags));
    // Session Manager then also checks the default shell document against the documents
    // statement, so a shell is possible only when `shell` is allowed.
    on_instances.insert(
        "BoolIfExists".to_owned(),
        json!({ "ssm:SessionDocumentAccessCheck": "true" }),
    );
    let each_region = |make: &dyn Fn(&str) -> String| -> Vec<String> {
        spec.regions.iter().map(|r| make(r)).collect()
    };
    let account = spec.account;
    let instances = each_region(&|r| format!("arn:aws:ec2:{r}:{account}:instance/*"));
    let mut kinds: Vec<SessionKind> = spec.allow.to_vec();
    kinds.dedup();
    let mut document_arns = Vec::new();
    for kind in kinds {
        for (name, aws_owned) in documents(kind) {
            let owner = if *aws_owned { "" } else { account };
            for region in &spec.regions {
                let arn = format!("arn:aws:ssm:{region}:{owner}:document/{name}");
                if !document_arns.contains(&arn) {
                    document_arns.push(arn);
                }
            }
        }
    }
    let sessions =
        each_region(&|r| format!("arn:aws:ssm:{r}:{account}:session/${{aws:username}}-*"));
    let mut statements = vec![
        json!({
            "Sid": "StartSessionOnTaggedInstances",
            "Effect": "Allow",
            "Action": "ssm:StartSession",
            "Resource": instances,
            "Condition": on_instances,
        }),
        json!({
            "Sid": "StartSessionWithTheseDocuments",
            "Effect": "Allow",
            "Action": "ssm:StartSession",
            "Resource": document_arns,
            "Condition": time.clone(),
        }),
        json!({
            "Sid": "SeeInstancesAndSessions",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeInstances",
                "ssm:DescribeInstanceInformation",
                "ssm:GetConnectionStatus",
                "ssm:DescribeSessions",
                "ssm:GetDocument"
            ],
            "Resource": "*",
            "Condition": time.clone(),
        }),
        json!({
            "Sid": "ResumeOwnSessions",
            "Effect": "Allow",
            "Action": "ssm:ResumeSession",
            "Resource": sessions,
            "Condition": time.clone(),
        }),
        json!({
            "Sid": "TerminateOwnSessions",
            "Effect": "Allow",
            "Action": "ssm:TerminateSession",
            "Resource": sessions,
        }),
    ];
    if let Some(key) = spec.kms_key {
        statements.push(json!({
            "Sid": "EncryptSessions",
            "Effect": "Allow",
            "Action": "kms:GenerateDataKey",
            "Resource": key,
            "Condition": time,
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}
