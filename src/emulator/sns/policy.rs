//! SNS topic policies (the `Policy` attribute): who, besides the topic's own account's
//! identities, may do what to a topic, and whether EventBridge may publish to it.
//!
//! A topic policy is an IAM resource-based policy: each statement names a `Principal`
//! (`"*"`, `{"AWS": "*" | ACCOUNT | arn:aws:iam::ACCOUNT:root | a user or role ARN}`,
//! `{"Service": "events.amazonaws.com"}`). The statements whose principal covers the caller
//! are decided by `crate::iam` (action, resource, conditions) with the request's context:
//! `aws:SourceArn`/`aws:SourceAccount` (the rule, for EventBridge) and `AWS:SourceOwner`
//! (the caller's account, for IAM callers, as SNS's default policy expects). A topic created
//! without one gets SNS's default policy: every SNS action for principals of the topic's
//! account only (`AWS:SourceOwner`), which does not let EventBridge publish: on AWS the
//! delivery fails and counts in the rule's `FailedInvocations`.

use serde_json::{Map, Value, json};

use crate::emulator::fleet::{Principal, User};
use crate::iam::{self, Context, Effect, Policy};

/// The service principal EventBridge delivers as.
pub const EVENTS_SERVICE: &str = "events.amazonaws.com";
/// SNS's limit on a topic policy (the `Policy` attribute): 30 KiB.
pub const MAX_POLICY_BYTES: usize = 30 * 1024;

/// Who asks.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// An AWS service principal (`events.amazonaws.com`).
    Service(&'a str),
    /// An IAM user or role session.
    Identity(&'a User),
}

/// A statement's principals.
#[derive(Debug, Clone, PartialEq)]
enum Principals {
    Everyone,
    Listed {
        aws: Vec<String>,
        services: Vec<String>,
    },
}

impl Principals {
    fn covers(&self, who: Who<'_>) -> bool {
        let Principals::Listed { aws, services } = self else {
            return true;
        };
        match who {
            Who::Service(name) => services.iter().any(|s| s == name),
            Who::Identity(user) => aws.iter().any(|p| {
                p == "*"
                    || *p == user.account
                    || *p == format!("arn:aws:iam::{}:root", user.account)
                    || *p == user.arn()
                    || matches!(&user.principal, Principal::AssumedRole { role }
                        if *p == format!("arn:aws:iam::{}:role/{role}", user.account))
            }),
        }
    }
}

/// A parsed topic policy.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicPolicy {
    /// Each statement's principals, and the statement itself as IAM reads it (a policy of
    /// one statement: `crate::iam` decides identity policies, which have no principal).
    statements: Vec<(Principals, Policy)>,
}

/// The decision of a topic policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
    /// No statement covers the request.
    Silent,
}

impl TopicPolicy {
    /// Reads a policy as SetTopicAttributes does; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<TopicPolicy, String> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(format!(
                "the policy has {} bytes; SNS takes at most {MAX_POLICY_BYTES}",
                text.len()
            ));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|err| format!("not valid JSON: {err}"))?;
        let Value::Object(document) = &value else {
            return Err("a policy is a JSON object".to_owned());
        };
        let version = document.get("Version").cloned();
        let statements: Vec<&Value> = match document.get("Statement") {
            Some(Value::Array(many)) if !many.is_empty() => many.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Err("Statement: missing or empty".to_owned()),
        };
        let mut parsed = Vec::with_capacity(statements.len());
        for (at, statement) in statements.into_iter().enumerate() {
            let Value::Object(fields) = statement else {
                return Err(format!("Statement[{at}]: a statement is a JSON object"));
            };
            if fields.contains_key("NotPrincipal") {
                return Err(format!(
                    "Statement[{at}].NotPrincipal: not supported by the emulator"
                ));
            }
            let principals = principals(fields.get("Principal"))
                .map_err(|why| format!("Statement[{at}].Principal: {why}"))?;
            // The rest is an identity-policy statement (a Sid is free-form here, as SNS's
            // own `__default_statement_ID` shows).
            let rest: Map<String, Value> = fields
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "Principal" | "Sid"))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            let mut one = json!({ "Statement": [Value::Object(rest)] });
            if let Some(version) = &version {
                one["Version"] = version.clone();
            }
            let policy = Policy::from_value(&one).map_err(|err| {
                format!(
                    "Statement[{at}]{}",
                    err.to_string().trim_start_matches("Statement[0]")
                )
            })?;
            parsed.push((principals, policy));
        }
        Ok(TopicPolicy { statements: parsed })
    }

    /// Whether the policy lets `who` do `action` on `topic_arn` with these keys: a covering
    /// Deny wins, then a covering Allow.
    pub fn decide(
        &self,
        who: Who<'_>,
        action: &str,
        topic_arn: &str,
        context: &Context,
    ) -> Verdict {
        let request = iam::Request {
            action,
            resource: topic_arn,
            context,
        };
        let mut verdict = Verdict::Silent;
        for (principals, policy) in &self.statements {
            if !principals.covers(who) {
                continue;
            }
            for statement in &policy.statements {
                if !iam::applies(statement, &request) {
                    continue;
                }
                match statement.effect {
                    Effect::Deny => return Verdict::Deny,
                    Effect::Allow => verdict = Verdict::Allow,
                }
            }
        }
        verdict
    }
}

fn principals(value: Option<&Value>) -> Result<Principals, &'static str> {
    let strings = |value: &Value| -> Result<Vec<String>, &'static str> {
        match value {
            Value::String(one) => Ok(vec![one.clone()]),
            Value::Array(many) => many
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or("values are strings"))
                .collect(),
            _ => Err("values are strings"),
        }
    };
    match value {
        None => Err("missing (a topic policy names who each statement is for)"),
        Some(Value::String(star)) if star == "*" => Ok(Principals::Everyone),
        Some(Value::Object(kinds)) => {
            let mut aws = Vec::new();
            let mut services = Vec::new();
            for (kind, value) in kinds {
                match kind.as_str() {
                    "AWS" => aws.extend(strings(value)?),
                    "Service" => services.extend(strings(value)?),
                    _ => return Err("the emulator knows AWS and Service principals"),
                }
            }
            if aws.iter().any(|p| p == "*") && services.is_empty() {
                return Ok(Principals::Everyone);
            }
            Ok(Principals::Listed { aws, services })
        }
        Some(_) => Err("\"*\" or an object of AWS and Service principals"),
    }
}

/// The policy SNS gives a topic created without one: its own account may use and manage it.
pub fn default_policy(topic_arn: &str, account: &str) -> String {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
        }]
    })
    .to_string()
}

/// The keys SNS evaluates a topic policy with: the caller's account as `AWS:SourceOwner`
/// for an IAM caller; for EventBridge, the rule (`aws:SourceArn`) and its account
/// (`aws:SourceAccount`).
pub fn context(who: Who<'_>, source_arn: Option<&str>) -> Context {
    let mut context = Context::new();
    if let Who::Identity(user) = who {
        context
            .set("AWS:SourceOwner", user.account.clone())
            .set("aws:PrincipalArn", user.arn())
            .set("aws:PrincipalAccount", user.account.clone());
    }
    if let Some(arn) = source_arn {
        context.set("aws:SourceArn", arn);
        if let Some(account) = arn.split(':').nth(4) {
            context.set("aws:SourceAccount", account);
        }
    }
    context
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::emulator::fleet::Role;

    const TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:alerts";
    const RULE: &str = "arn:aws:events:us-east-1:111122223333:rule/starts";

    fn events(policy: &TopicPolicy) -> Verdict {
        let who = Who::Service(EVENTS_SERVICE);
        policy.decide(who, "sns:Publish", TOPIC, &context(who, Some(RULE)))
    }

    fn user(account: &str) -> User {
        let mut user = User::new("alice", "AKIAALICE", Role::Engineer);
        user.account = account.to_owned();
        user
    }

    #[test]
    fn the_default_policy_serves_its_account_and_not_eventbridge() {
        let policy = TopicPolicy::parse(&default_policy(TOPIC, "111122223333")).unwrap();
        assert_eq!(events(&policy), Verdict::Silent);
        let own = user("111122223333");
        let who = Who::Identity(&own);
        assert_eq!(
            policy.decide(who, "sns:Publish", TOPIC, &context(who, None)),
            Verdict::Allow
        );
        let other = user("444455556666");
        let who = Who::Identity(&other);
        assert_eq!(
            policy.decide(who, "sns:Publish", TOPIC, &context(who, None)),
            Verdict::Silent
        );
    }

    #[test]
    fn eventbridge_needs_a_statement_for_its_service_and_conditions_hold() {
        // The statement of the EventBridge user guide's "Permissions for Amazon SNS", with
        // the aws:SourceArn condition it recommends.
        let with_source = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublishEventsToMyTopic","Effect":"Allow","Principal":{{"Service":"events.amazonaws.com"}},"Action":"sns:Publish","Resource":"{TOPIC}","Condition":{{"ArnEquals":{{"aws:SourceArn":"{RULE}"}}}}}}]}}"#
        );
        assert_eq!(
            events(&TopicPolicy::parse(&with_source).unwrap()),
            Verdict::Allow
        );
        let other_rule = with_source.replace("rule/starts", "rule/other");
        assert_eq!(
            events(&TopicPolicy::parse(&other_rule).unwrap()),
            Verdict::Silent
        );
        let denied = with_source.replace("\"Allow\"", "\"Deny\"");
        assert_eq!(events(&TopicPolicy::parse(&denied).unwrap()), Verdict::Deny);
        // An account principal does not cover the service.
        let account_only = with_source.replace(
            r#"{"Service":"events.amazonaws.com"}"#,
            r#"{"AWS":"111122223333"}"#,
        );
        assert_eq!(
            events(&TopicPolicy::parse(&account_only).unwrap()),
            Verdict::Silent
        );
    }

    #[test]
    fn bad_policies_say_where() {
        assert!(
            TopicPolicy::parse("{")
                .unwrap_err()
                .starts_with("not valid JSON")
        );
        let no_principal =
            r#"{"Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}"#;
        assert!(
            TopicPolicy::parse(no_principal)
                .unwrap_err()
                .starts_with("Statement[0].Principal: missing")
        );
        let bad_effect = r#"{"Statement":[{"Effect":"Perhaps","Principal":"*","Action":"sns:Publish","Resource":"*"}]}"#;
        let err = TopicPolicy::parse(bad_effect).unwrap_err();
        assert!(err.starts_with("Statement[0].Effect"), "{err}");
    }
}
