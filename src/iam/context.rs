//! The request context: condition keys and their values. Key names are case-insensitive in
//! IAM ("Condition key names are not case-sensitive", IAM JSON policy elements: Condition),
//! so they are stored lowercased; values keep their case.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// A single-valued key (replaces an earlier value).
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.values.insert(key.to_lowercase(), vec![value.into()]);
        self
    }

    /// A multivalued key (`aws:TagKeys`, …); an empty list is a key with no values.
    pub fn set_multi(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.values.insert(key.to_lowercase(), values);
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values.get(&key.to_lowercase()).map(Vec::as_slice)
    }

    /// The key's value when it has exactly one (what a policy variable can be replaced by).
    pub fn single(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}
