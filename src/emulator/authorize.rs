//! IAM authorisation of every API call (docs/emulator.md, "IAM policies"): the caller's
//! identity policies (`fleet::policies`) evaluated by `crate::iam` for the call's action and
//! resource, with the request context AWS would build (time from the emulator's clock, the
//! caller's name and tags, the resource's tags). Denials carry IAM's message.

use std::collections::{BTreeMap, HashMap};

use crate::iam::{self, Context, Decision, Policy};

use super::fleet::policies::{AttachedPolicy, attached_policies, rfc3339};
use super::fleet::{Fleet, FleetInstance, Principal, User};
use super::state::EmulatorState;

/// Every user's attached policies, parsed or generated once when the emulator starts.
#[derive(Debug, Default)]
pub struct Authorizer {
    by_user: HashMap<String, Vec<AttachedPolicy>>,
}

impl Authorizer {
    pub fn new(fleet: &Fleet) -> Self {
        let users = fleet.users.iter();
        let roles = fleet.roles.iter().map(|role| &role.identity);
        let by_user = users
            .chain(roles)
            .map(|user| (user.policy_key(), attached_policies(user)))
            .collect();
        Self { by_user }
    }

    /// The policies of a user (by name) or a role (`fleet::role_policy_key`): what
    /// `User::policy_key` gives.
    pub fn attached(&self, key: &str) -> &[AttachedPolicy] {
        self.by_user.get(key).map_or(&[], Vec::as_slice)
    }
}

/// What a call asks to do.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// `ssm:StartSession`
    pub action: &'a str,
    /// The resource's ARN, or `*` for actions without resource-level permissions.
    pub resource: String,
    /// The resource's tags (`aws:ResourceTag/*`, `ssm:resourceTag/*`), when it has any.
    pub tags: Option<&'a BTreeMap<String, String>>,
    /// Further keys the action carries.
    pub extra: Vec<(&'static str, String)>,
}

impl<'a> Ask<'a> {
    pub fn new(action: &'a str, resource: impl Into<String>) -> Self {
        Self {
            action,
            resource: resource.into(),
            tags: None,
            extra: Vec::new(),
        }
    }

    pub fn tagged(mut self, tags: &'a BTreeMap<String, String>) -> Self {
        self.tags = Some(tags);
        self
    }
}

/// A refused call: IAM's words, ready for the service's AccessDenied error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub message: String,
    /// A Deny statement matched (rather than no Allow).
    pub explicit: bool,
}

/// An allowed call: the statements that allowed it, for callers that look further
/// (`ssm:SessionDocumentAccessCheck`).
pub struct Allowed<'s> {
    pub statement: &'s iam::Statement,
}

/// The request context of a call by `caller` (IAM's global condition keys the emulator
/// knows) plus the resource's tags and the action's own keys.
pub fn context(state: &EmulatorState, caller: &User, region: &str, ask: &Ask<'_>) -> Context {
    let now = state.clock.now();
    let mut context = Context::new();
    context
        .set("aws:CurrentTime", rfc3339(now))
        .set(
            "aws:EpochTime",
            now.duration_since(std::time::SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .to_string(),
        )
        .set("aws:username", caller.name.clone())
        .set("aws:PrincipalArn", caller.arn())
        .set("aws:PrincipalAccount", caller.account.clone())
        .set(
            "aws:PrincipalType",
            match caller.principal {
                Principal::IamUser => "User",
                Principal::AssumedRole { .. } => "AssumedRole",
            },
        )
        .set("aws:RequestedRegion", region);
    for (key, value) in &caller.tags {
        context.set(&format!("aws:PrincipalTag/{key}"), value.clone());
    }
    if let Some(tags) = ask.tags {
        for (key, value) in tags {
            context.set(&format!("aws:ResourceTag/{key}"), value.clone());
            context.set(&format!("ssm:resourceTag/{key}"), value.clone());
        }
    }
    for (key, value) in &ask.extra {
        context.set(key, value.clone());
    }
    context
}

/// Decides `ask` for `caller`: Ok with the allowing statement, or IAM's denial.
pub fn check<'s>(
    state: &'s EmulatorState,
    caller: &User,
    region: &str,
    ask: &Ask<'_>,
) -> Result<Allowed<'s>, Denial> {
    let attached = state.authorizer.attached(&caller.policy_key());
    let policies: Vec<&Policy> = attached.iter().map(|a| &a.policy).collect();
    let context = context(state, caller, region, ask);
    let request = iam::Request {
        action: ask.action,
        resource: &ask.resource,
        context: &context,
    };
    match iam::evaluate(policies.iter().copied(), &request) {
        Decision::Allow(decider) => Ok(Allowed {
            statement: decider.statement,
        }),
        Decision::ExplicitDeny(decider) => {
            let arn = attached.get(decider.policy).and_then(|a| a.arn.as_deref());
            let why = match arn {
                // IAM names the denying policy when it has an ARN (same account).
                Some(arn) => format!("with an explicit deny in an identity-based policy: {arn}"),
                None => "with an explicit deny in an identity-based policy".to_owned(),
            };
            Err(Denial {
                explicit: true,
                ..denial(caller, ask, &why)
            })
        }
        Decision::ImplicitDeny => {
            let why = format!(
                "because no identity-based policy allows the {} action",
                ask.action
            );
            Err(denial(caller, ask, &why))
        }
    }
}

/// Whether `user` may open a shell on `instance` now, as StartSession's first question
/// decides it: for the demo's seeding, which must pick what a real call would allow.
pub fn may_start_session(
    state: &EmulatorState,
    user: &User,
    region: &str,
    instance: &FleetInstance,
) -> bool {
    let resource = arn::instance(&instance.account, region, &instance.id);
    let ask = Ask::new("ssm:StartSession", resource).tagged(&instance.tags);
    check(state, user, region, &ask).is_ok()
}

/// "User: ARN is not authorized to perform: ACTION on resource: RESOURCE because …"; the
/// "on resource" part is left out for actions without resource-level permissions, as AWS
/// does.
pub fn denial(caller: &User, ask: &Ask<'_>, why: &str) -> Denial {
    let on = if ask.resource == "*" {
        String::new()
    } else {
        format!(" on resource: {}", ask.resource)
    };
    Denial {
        message: format!(
            "User: {} is not authorized to perform: {}{on} {why}",
            caller.arn(),
            ask.action
        ),
        explicit: false,
    }
}

/// ARNs of the resources the emulator authorises on, in the account the request lands in
/// (the caller's: a caller reaches only its own account's resources).
pub mod arn {
    /// An EC2 instance, or a hybrid node (`mi-`: SSM's managed-instance).
    pub fn instance(account: &str, region: &str, id: &str) -> String {
        if id.starts_with("mi-") {
            format!("arn:aws:ssm:{region}:{account}:managed-instance/{id}")
        } else {
            format!("arn:aws:ec2:{region}:{account}:instance/{id}")
        }
    }

    /// A session document: AWS's own (`AWS-…`) have no account in their ARN.
    pub fn document(account: &str, region: &str, name: &str) -> String {
        if name.starts_with("AWS-") {
            format!("arn:aws:ssm:{region}::document/{name}")
        } else {
            format!("arn:aws:ssm:{region}:{account}:document/{name}")
        }
    }

    pub fn session(account: &str, region: &str, id: &str) -> String {
        format!("arn:aws:ssm:{region}:{account}:session/{id}")
    }
}
