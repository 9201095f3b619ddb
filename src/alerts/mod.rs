//! EventBridge on the client side, **sans-IO**: event patterns (`pattern`: EventBridge's
//! grammar, its validation errors and its matching rules), input transformers (`transform`:
//! the short message a target receives), CloudTrail records as EventBridge delivers them
//! (`event`: validation and the "AWS API Call via CloudTrail" envelope) and the security
//! team's rules (`rules`). `gangway alerts` and the emulator's EventBridge both use these, so
//! `alerts test` and a delivery in the emulator decide and word a message alike.

pub mod event;
pub mod pattern;
pub mod rules;
pub mod transform;

pub use event::{EventError, envelope, parse_event};
pub use pattern::{Pattern, PatternError};
pub use rules::{InputTransformer, Rule, Target, security_rules};
pub use transform::{TransformError, apply};
