//! The rules of each region's default event bus and their targets, as PutRule, PutTargets
//! and the rest leave them. Patterns are parsed once, when the rule is put, with the same
//! parser `gangway alerts test` uses (`crate::alerts::Pattern`).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::alerts::Pattern;
use crate::alerts::rules::InputTransformer;

/// Rules per event bus: EventBridge's default quota (docs/emulator.md).
pub const MAX_RULES_PER_BUS: usize = 300;
/// Targets per rule: EventBridge's fixed quota.
pub const MAX_TARGETS_PER_RULE: usize = 5;

/// `ENABLED` rules see CloudTrail's mutating management events; read-only ones (Describe*,
/// Get*, List*) reach only rules in `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`, as on
/// EventBridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleState {
    Enabled,
    Disabled,
    EnabledWithAllManagementEvents,
}

impl RuleState {
    pub const NAMES: [&'static str; 3] = [
        "ENABLED",
        "DISABLED",
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
    ];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ENABLED" => Some(Self::Enabled),
            "DISABLED" => Some(Self::Disabled),
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" => {
                Some(Self::EnabledWithAllManagementEvents)
            }
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
            Self::EnabledWithAllManagementEvents => "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
        }
    }

    /// Whether a rule in this state sees an event that is (or is not) read-only.
    pub fn sees(self, read_only: bool) -> bool {
        match self {
            Self::Enabled => !read_only,
            Self::Disabled => false,
            Self::EnabledWithAllManagementEvents => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredTarget {
    pub id: String,
    pub arn: String,
    pub input: Option<String>,
    pub input_path: Option<String>,
    pub input_transformer: Option<InputTransformer>,
    pub role_arn: Option<String>,
}

/// What PutRule sets: every field of the rule but its targets (omitted ones are cleared,
/// as PutRule does: "the old values … are replaced with null values").
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDefinition {
    pub name: String,
    pub arn: String,
    /// The pattern as given (DescribeRule returns it unchanged) and parsed.
    pub event_pattern: Option<String>,
    pub pattern: Option<Pattern>,
    /// Accepted and described; the emulator never runs scheduled rules.
    pub schedule_expression: Option<String>,
    pub state: RuleState,
    pub description: Option<String>,
    pub role_arn: Option<String>,
}

/// A rule as the bus holds it: what PutRule set, and what PutTargets added. Reads as its
/// definition (`rule.name`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub definition: RuleDefinition,
    pub targets: Vec<StoredTarget>,
}

impl std::ops::Deref for StoredRule {
    type Target = RuleDefinition;
    fn deref(&self) -> &RuleDefinition {
        &self.definition
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NoSuchRule,
    TooManyRules,
    TooManyTargets,
    HasTargets,
}

/// The rules of one (account, region)'s default event bus, by name (ListRules is in name
/// order); `EmulatorState::rules` holds one per place.
#[derive(Default)]
pub struct RuleStore {
    rules: Mutex<BTreeMap<String, StoredRule>>,
}

impl RuleStore {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StoredRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates or replaces a rule; its targets stay.
    pub fn put(&self, definition: RuleDefinition) -> Result<(), StoreError> {
        let mut rules = self.lock();
        let targets = match rules.get(&definition.name) {
            Some(existing) => existing.targets.clone(),
            None if rules.len() >= MAX_RULES_PER_BUS => return Err(StoreError::TooManyRules),
            None => Vec::new(),
        };
        rules.insert(
            definition.name.clone(),
            StoredRule {
                definition,
                targets,
            },
        );
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<StoredRule> {
        self.lock().get(name).cloned()
    }

    /// The rules whose names start with `prefix`, in name order.
    pub fn list(&self, prefix: &str) -> Vec<StoredRule> {
        self.lock()
            .values()
            .filter(|rule| rule.name.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Deletes a rule without targets (a rule that does not exist is no error, as in
    /// EventBridge); `force` is for managed rules only and does not skip the target check.
    pub fn delete(&self, name: &str) -> Result<(), StoreError> {
        let mut rules = self.lock();
        match rules.get(name) {
            Some(rule) if !rule.targets.is_empty() => Err(StoreError::HasTargets),
            Some(_) => {
                rules.remove(name);
                Ok(())
            }
            None => Ok(()),
        }
    }

    pub fn set_state(&self, name: &str, state: RuleState) -> Result<(), StoreError> {
        let mut rules = self.lock();
        let rule = rules.get_mut(name).ok_or(StoreError::NoSuchRule)?;
        rule.definition.state = state;
        Ok(())
    }

    /// Adds or replaces targets by `Id`; all or none within the rule's quota.
    pub fn put_targets(&self, name: &str, targets: Vec<StoredTarget>) -> Result<(), StoreError> {
        let mut rules = self.lock();
        let rule = rules.get_mut(name).ok_or(StoreError::NoSuchRule)?;
        let mut merged = rule.targets.clone();
        for target in targets {
            match merged.iter_mut().find(|t| t.id == target.id) {
                Some(existing) => *existing = target,
                None => merged.push(target),
            }
        }
        if merged.len() > MAX_TARGETS_PER_RULE {
            return Err(StoreError::TooManyTargets);
        }
        rule.targets = merged;
        Ok(())
    }

    /// Removes the targets with these ids; ids the rule does not have are ignored.
    pub fn remove_targets(&self, name: &str, ids: &[String]) -> Result<(), StoreError> {
        let mut rules = self.lock();
        let rule = rules.get_mut(name).ok_or(StoreError::NoSuchRule)?;
        rule.targets.retain(|t| !ids.contains(&t.id));
        Ok(())
    }

    /// The rules that see an event (read-only or not) and whose pattern matches it, with
    /// their targets: what one delivery works on, copied out of the lock.
    pub fn matching(&self, read_only: bool, event: &serde_json::Value) -> Vec<StoredRule> {
        self.lock()
            .values()
            .filter(|rule| rule.state.sees(read_only))
            .filter(|rule| rule.pattern.as_ref().is_some_and(|p| p.matches(event)))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(name: &str, pattern: &str) -> RuleDefinition {
        RuleDefinition {
            name: name.to_owned(),
            arn: format!("arn:aws:events:us-east-1:123456789012:rule/{name}"),
            event_pattern: Some(pattern.to_owned()),
            pattern: Some(Pattern::parse(pattern).unwrap()),
            schedule_expression: None,
            state: RuleState::Enabled,
            description: None,
            role_arn: None,
        }
    }

    fn target(id: &str) -> StoredTarget {
        StoredTarget {
            id: id.to_owned(),
            arn: "arn:aws:sns:us-east-1:123456789012:t".to_owned(),
            input: None,
            input_path: None,
            input_transformer: None,
            role_arn: None,
        }
    }

    #[test]
    fn a_rule_with_targets_is_not_deleted_and_put_keeps_targets() {
        let store = RuleStore::default();
        store
            .put(definition("r", r#"{"source":["aws.ssm"]}"#))
            .unwrap();
        store.put_targets("r", vec![target("a")]).unwrap();
        store
            .put(definition("r", r#"{"source":["aws.ec2"]}"#))
            .unwrap();
        assert_eq!(store.get("r").unwrap().targets.len(), 1);
        assert_eq!(store.delete("r"), Err(StoreError::HasTargets));
        store.remove_targets("r", &["a".to_owned()]).unwrap();
        store.delete("r").unwrap();
        assert!(store.get("r").is_none());
        store.delete("r").unwrap();
    }

    #[test]
    fn targets_are_limited_to_five_per_rule() {
        let store = RuleStore::default();
        store
            .put(definition("r", r#"{"source":["aws.ssm"]}"#))
            .unwrap();
        let five: Vec<_> = (0..5).map(|i| target(&i.to_string())).collect();
        store.put_targets("r", five).unwrap();
        // Replacing by id is not adding.
        store.put_targets("r", vec![target("0")]).unwrap();
        assert_eq!(
            store.put_targets("r", vec![target("x")]),
            Err(StoreError::TooManyTargets)
        );
    }

    #[test]
    fn matching_respects_state_and_read_only() {
        let store = RuleStore::default();
        store
            .put(definition("r", r#"{"source":["aws.ssm"]}"#))
            .unwrap();
        let event = json!({"source": "aws.ssm"});
        assert_eq!(store.matching(false, &event).len(), 1);
        assert!(store.matching(true, &event).is_empty());
        store
            .set_state("r", RuleState::EnabledWithAllManagementEvents)
            .unwrap();
        assert_eq!(store.matching(true, &event).len(), 1);
        store.set_state("r", RuleState::Disabled).unwrap();
        assert!(store.matching(false, &event).is_empty());
    }
}
