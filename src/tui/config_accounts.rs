//! `[[accounts]]` in the config file (issue 13): several accounts at once, each a profile or
//! a role ARN assumed from a base profile, with optional regions and a display name.
//! Problems are reported like every other setting (`FILE:LINE: accounts[N].FIELD: why`) and
//! cost only that account.
//!
//! ```toml
//! [[accounts]]
//! name = "prod"
//! profile = "prod-sso"
//! regions = ["us-east-1", "eu-west-1"]
//!
//! [[accounts]]
//! name = "ops"
//! role_arn = "arn:aws:iam::210987654321:role/gangway-readonly"
//! source_profile = "prod-sso"
//! ```

use std::collections::BTreeMap;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use crate::aws::AccountSpec;

/// A top-level entry of the file: a `[section]` with the span of every key and value, or
/// an array of tables (`[[accounts]]`), each with its span. Read straight from toml's
/// deserializer, so spans survive (serde's untagged enums would drop them).
pub(super) enum TopLevel {
    Section(BTreeMap<Spanned<String>, Spanned<toml::Value>>),
    Tables(Vec<Spanned<toml::Table>>),
    /// A plain value at the top (`x = 1`): not a section.
    Other,
}

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = TopLevel;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a [section] or an [[array]] of tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
                let mut section = BTreeMap::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<Spanned<toml::Value>>()?;
                    section.insert(key, value);
                }
                Ok(TopLevel::Section(section))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
                let mut tables = Vec::new();
                while let Some(table) = seq.next_element::<Spanned<toml::Table>>()? {
                    tables.push(table);
                }
                Ok(TopLevel::Tables(tables))
            }
            fn visit_bool<E>(self, _: bool) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<TopLevel, E> {
                Ok(TopLevel::Other)
            }
        }
        deserializer.deserialize_any(TopVisitor)
    }
}

/// At most this many accounts (each × its regions loads at once, bounded by the UI's
/// concurrency): a list longer than this is a mistake, not a fleet.
pub const MAX_ACCOUNTS: usize = 64;

/// The accounts of `[[accounts]]`; each problem as (offset, field, why).
pub(super) fn accounts(
    tables: &[Spanned<toml::Table>],
    problems: &mut Vec<(usize, String, String)>,
) -> Vec<AccountSpec> {
    let mut accounts = Vec::new();
    for (index, table) in tables.iter().enumerate() {
        let at = table.span().start;
        let field = |name: &str| format!("accounts[{index}].{name}");
        if index >= MAX_ACCOUNTS {
            problems.push((
                at,
                "accounts".into(),
                format!("more than {MAX_ACCOUNTS} accounts"),
            ));
            break;
        }
        let mut spec = AccountSpec::default();
        let mut ok = true;
        for (key, value) in table.get_ref() {
            let text = || {
                value
                    .as_str()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
            };
            match key.as_str() {
                "name" | "profile" | "role_arn" | "source_profile" => {
                    let Some(text) = text() else {
                        problems.push((at, field(key), "must be a non-empty string".into()));
                        ok = false;
                        continue;
                    };
                    match key.as_str() {
                        "name" => spec.name = Some(text),
                        "profile" => spec.profile = Some(text),
                        "role_arn" => spec.role_arn = Some(text),
                        _ => spec.source_profile = Some(text),
                    }
                }
                "regions" => match value.as_array().and_then(|list| {
                    list.iter()
                        .map(|r| {
                            r.as_str()
                                .map(str::trim)
                                .filter(|r| !r.is_empty())
                                .map(str::to_owned)
                        })
                        .collect::<Option<Vec<String>>>()
                }) {
                    Some(regions) => spec.regions = regions,
                    None => {
                        problems.push((
                            at,
                            field("regions"),
                            "must be a list of region names".into(),
                        ));
                        ok = false;
                    }
                },
                other => {
                    problems.push((
                        at,
                        field(other),
                        "unknown field (expected name, profile, role_arn, source_profile, regions)"
                            .into(),
                    ));
                    ok = false;
                }
            }
        }
        match (&spec.profile, &spec.role_arn) {
            (None, None) => {
                problems.push((at, field("profile"), "give a profile or a role_arn".into()));
                ok = false;
            }
            (Some(_), Some(_)) => {
                let why = "give a profile or a role_arn, not both (a role's base profile is source_profile)";
                problems.push((at, field("role_arn"), why.into()));
                ok = false;
            }
            (None, Some(arn)) if !arn.starts_with("arn:aws") || !arn.contains(":role/") => {
                problems.push((
                    at,
                    field("role_arn"),
                    "not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)".into(),
                ));
                ok = false;
            }
            _ => {}
        }
        if spec.source_profile.is_some() && spec.role_arn.is_none() {
            problems.push((at, field("source_profile"), "only with role_arn".into()));
            ok = false;
        }
        let label = spec.label();
        if ok
            && accounts
                .iter()
                .any(|known: &AccountSpec| known.label() == label)
        {
            problems.push((
                at,
                field("name"),
                format!("a second account named `{label}`"),
            ));
            ok = false;
        }
        if ok {
            accounts.push(spec);
        }
    }
    accounts
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use crate::tui::config::parse;

    #[test]
    fn accounts_are_read_beside_the_sections_and_mistakes_name_their_line() {
        let text = "[fleet]\ncolumns = [\"Env\"]\n\n\
                    [[accounts]]\nname = \"prod\"\nprofile = \"prod-sso\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n\n\
                    [[accounts]]\nrole_arn = \"arn:aws:iam::210987654321:role/ops\"\nsource_profile = \"prod-sso\"\n\n\
                    [[accounts]]\nname = \"broken\"\nregion = \"us-east-1\"\n";
        let loaded = parse(text, Path::new("c.toml"), false);
        let accounts = &loaded.settings.accounts;
        assert_eq!(accounts.len(), 2, "{accounts:?}");
        assert_eq!(accounts[0].label(), "prod");
        assert_eq!(accounts[0].regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(accounts[1].label(), "ops");
        assert_eq!(accounts[1].source_profile.as_deref(), Some("prod-sso"));
        assert_eq!(loaded.settings.tag_columns, ["Env"]);
        let warning = loaded.warning.unwrap();
        assert!(
            warning.contains("c.toml:13: accounts[2].region: unknown field"),
            "{warning}"
        );
        assert!(
            warning.contains("accounts[2].profile: give a profile or a role_arn"),
            "{warning}"
        );
    }

    #[test]
    fn a_profile_and_a_role_together_or_a_bad_arn_are_refused() {
        let text = "[[accounts]]\nprofile = \"a\"\nrole_arn = \"arn:aws:iam::1:role/x\"\n\n\
                    [[accounts]]\nrole_arn = \"ops\"\n\n[[accounts]]\nprofile = \"a\"\n";
        let loaded = parse(text, Path::new("c.toml"), false);
        assert_eq!(loaded.settings.accounts.len(), 1);
        let warning = loaded.warning.unwrap();
        assert!(warning.contains("not both"), "{warning}");
        assert!(warning.contains("not a role ARN"), "{warning}");
    }
}
