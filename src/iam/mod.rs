//! IAM identity-policy evaluation, sans-IO: the policy grammar (`policy`), wildcards
//! (`pattern`), policy variables (`variables`), condition operators (`condition`) and the
//! decision (`evaluate`). No clock, no files: the caller puts the time and everything else
//! about a request in a `Context`. The emulator authorises with it and `gangway policy`
//! explains and simulates with it, so both give the same answers.
//!
//! Written here rather than taken from a crate: the one maintained Rust evaluator (iam-rs)
//! replaces no policy variables in condition values, knows no `${*}`/`${?}`/`${$}`, and
//! fails a whole decision on one odd value (see docs/emulator.md, "IAM policies").

mod condition;
mod context;
mod evaluate;
mod pattern;
mod policy;
mod variables;

pub use condition::{Base, Condition, Operator, SetQualifier, parse_date};
pub use context::Context;
pub use evaluate::{Decider, Decision, Request, applies, evaluate};
pub use pattern::Pattern;
pub use policy::{
    Action, Effect, MAX_POLICY_CHARS, Policy, PolicyError, Statement, Targets, Version,
};
pub use variables::{Piece, Template};

#[cfg(test)]
mod evaluate_tests;
