//! The decision for one request (IAM "Policy evaluation logic", "Determining whether a request
//! is allowed or denied within an account", identity-based policies only): a matching Deny
//! statement wins, else a matching Allow allows, else the request is implicitly denied.

use super::context::Context;
use super::policy::{Effect, Policy, Statement, Targets};

/// What is being asked: `ssm:StartSession` on `arn:aws:ec2:…:instance/i-…`, with its keys.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a Context,
}

/// Which statement of which policy decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decider<'p> {
    /// Position of the policy in the list evaluated.
    pub policy: usize,
    pub statement: &'p Statement,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision<'p> {
    Allow(Decider<'p>),
    /// A Deny statement matched: nothing can allow the request.
    ExplicitDeny(Decider<'p>),
    /// No statement allows it.
    ImplicitDeny,
}

impl Decision<'_> {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(_))
    }

    /// The end of IAM's AccessDenied message: "because …".
    pub fn reason(&self) -> String {
        match self {
            Self::Allow(_) => "because an identity-based policy allows it".to_owned(),
            Self::ExplicitDeny(_) => "with an explicit deny in an identity-based policy".to_owned(),
            Self::ImplicitDeny => String::new(),
        }
    }
}

/// The decision of `policies` (all attached to one identity) for `request`.
pub fn evaluate<'p>(
    policies: impl IntoIterator<Item = &'p Policy>,
    request: &Request<'_>,
) -> Decision<'p> {
    let mut allow = None;
    for (index, policy) in policies.into_iter().enumerate() {
        for statement in &policy.statements {
            if !applies(statement, request) {
                continue;
            }
            let decider = Decider {
                policy: index,
                statement,
            };
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny(decider),
                Effect::Allow => {
                    allow.get_or_insert(decider);
                }
            }
        }
    }
    allow.map_or(Decision::ImplicitDeny, Decision::Allow)
}

/// Whether the statement's action, resource and every condition match the request.
pub fn applies(statement: &Statement, request: &Request<'_>) -> bool {
    // Action names are case-insensitive in IAM; resources (ARNs) are case-sensitive.
    let action = |items: &[super::policy::Action]| {
        items
            .iter()
            .any(|a| a.pattern.matches(request.action, true))
    };
    let action_matches = match &statement.actions {
        Targets::Only(items) => action(items),
        Targets::AllBut(items) => !action(items),
    };
    if !action_matches {
        return false;
    }
    let resource = |items: &[super::variables::Template]| {
        items.iter().any(|template| {
            template
                .pattern(request.context)
                .is_some_and(|p| p.matches_arn(request.resource))
        })
    };
    let resource_matches = match &statement.resources {
        Targets::Only(items) => resource(items),
        Targets::AllBut(items) => !resource(items),
    };
    // Condition keys AND; values of one key OR (inside `Condition::holds`).
    resource_matches
        && statement
            .conditions
            .iter()
            .all(|c| c.holds(request.context))
}
