//! The identity policies of a fleet user: the fleet file's own `policies`, or, for users
//! described by `role`, `scope` and `expires` (the built-in ones, older fleet files), IAM
//! policies generated from those, so that every call is decided by the same IAM evaluation.
//! The generated documents are what an administrator would attach for the same intent.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{Role, User};
use crate::iam::Policy;

/// A policy attached to a user, with what IAM's messages name it by.
#[derive(Debug, Clone)]
pub struct AttachedPolicy {
    /// Managed policy name, or `inline-N` for the fleet file's inline policies.
    pub name: String,
    /// A managed policy's ARN: IAM appends it to an explicit-deny message (same account).
    pub arn: Option<String>,
    pub policy: Policy,
}

/// What a generated engineer may always do: look, and use the session plumbing.
const READ_ACTIONS: &[&str] = &[
    "ec2:DescribeInstances",
    "ec2:DescribeImages",
    "ec2:DescribeSecurityGroups",
    "ssm:DescribeInstanceInformation",
    "ssm:GetConnectionStatus",
    "ssm:ListTagsForResource",
    "ssm:DescribeSessions",
    "ssm:GetDocument",
    "ssm:DescribeDocument",
    "ssm:ListDocuments",
    "ssm:ListCommands",
    "ssm:ListCommandInvocations",
    "ssm:GetCommandInvocation",
    "kms:GenerateDataKey",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:CreateKey",
    "kms:CreateAlias",
    "kms:ListAliases",
    // Every user could read the trail before LookupEvents was authorised (`gangway audit`).
    "cloudtrail:LookupEvents",
];

/// The name of the generated policy that ends a user's access at `expires`. IAM names a
/// denying managed policy in its message; gangway's client reads "expired" in it.
pub const EXPIRED_POLICY_NAME: &str = "gangway-expired-access";

pub fn attached_policies(user: &User) -> Vec<AttachedPolicy> {
    if !user.policies.is_empty() {
        return user
            .policies
            .iter()
            .enumerate()
            .map(|(i, policy)| AttachedPolicy {
                name: format!("inline-{}", i + 1),
                arn: None,
                policy: policy.clone(),
            })
            .collect();
    }
    generated_documents(user)
        .into_iter()
        .filter_map(
            |(name, arn, document)| match Policy::from_value(&document) {
                Ok(policy) => Some(AttachedPolicy {
                    name,
                    arn: Some(arn),
                    policy,
                }),
                // Built through serde_json with `$` escaped: cannot happen, and if it did the
                // user would be denied (fail closed), never allowed more.
                Err(err) => {
                    tracing::error!(
                        "generated policy {name} for {} is invalid: {err}",
                        user.name
                    );
                    None
                }
            },
        )
        .collect()
}

/// (name, ARN, document) of each generated policy.
pub fn generated_documents(user: &User) -> Vec<(String, String, Value)> {
    if user.role == Role::Admin {
        return vec![(
            "AdministratorAccess".to_owned(),
            "arn:aws:iam::aws:policy/AdministratorAccess".to_owned(),
            json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
            }),
        )];
    }
    let account = &user.account;
    // The tag scope as IAM conditions on the instance's tags (StringLike keeps `*`/`?`).
    let scope: serde_json::Map<String, Value> = user
        .scope
        .iter()
        // `$` written as `${$}`: a tag value is never a policy variable.
        .map(|(key, pattern)| {
            (
                format!("ssm:resourceTag/{key}"),
                json!(pattern.replace('$', "${$}")),
            )
        })
        .collect();
    let mut on_instances = json!({
        "Sid": "StartSessionOnInstancesInScope",
        "Effect": "Allow",
        // Run Command reaches exactly the instances a shell may (issue 14).
        "Action": ["ssm:StartSession", "ssm:SendCommand"],
        "Resource": [
            format!("arn:aws:ec2:*:{account}:instance/*"),
            format!("arn:aws:ssm:*:{account}:managed-instance/*"),
        ],
    });
    if !scope.is_empty() {
        on_instances["Condition"] = json!({ "StringLike": scope });
    }
    let engineer = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": READ_ACTIONS, "Resource": "*"},
            on_instances,
            {
                "Sid": "StartSessionDocuments",
                "Effect": "Allow",
                "Action": ["ssm:StartSession", "ssm:SendCommand"],
                "Resource": ["arn:aws:ssm:*::document/*", format!("arn:aws:ssm:*:{account}:document/*")],
            },
            // CancelCommand has no resource-level permissions on AWS.
            {"Sid": "CancelCommands", "Effect": "Allow", "Action": "ssm:CancelCommand", "Resource": "*"},
            {
                "Sid": "OwnSessions",
                "Effect": "Allow",
                "Action": ["ssm:ResumeSession", "ssm:TerminateSession"],
                "Resource": format!("arn:aws:ssm:*:{account}:session/${{aws:username}}-*"),
            },
        ]
    });
    let mut documents = vec![(
        format!("gangway-engineer-{}", user.name),
        format!(
            "arn:aws:iam::{account}:policy/gangway-engineer-{}",
            user.name
        ),
        engineer,
    )];
    if let Some(expires) = user.expires {
        documents.push((
            EXPIRED_POLICY_NAME.to_owned(),
            format!("arn:aws:iam::{account}:policy/{EXPIRED_POLICY_NAME}"),
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "AccessExpired",
                    "Effect": "Deny",
                    "Action": ["ssm:StartSession", "ssm:SendCommand"],
                    "Resource": "*",
                    "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": rfc3339(expires)}}
                }]
            }),
        ));
    }
    documents
}

pub fn rfc3339(time: SystemTime) -> String {
    time::OffsetDateTime::from(time)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
