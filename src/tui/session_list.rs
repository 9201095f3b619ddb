//! What the sessions and history tables show of their lists: a filter (`/`, fuzzy like the
//! fleet's, over the session id, the target's Name and id, the owner, the status, the reason
//! and why it ended) and a sort column (`s` next column, `S` reverse). The data stays whole in
//! `items`; `rows` are the indexes shown, in order, and the cursor moves over them.

use std::cmp::Ordering;

use crate::aws::types::SessionInfo;
use crate::tui::fleet_list::{FIELD_SEPARATOR, fuzzy_match};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSort {
    Started,
    Owner,
    Target,
    Status,
    Reason,
}

impl SessionSort {
    const ALL: [SessionSort; 5] = [
        Self::Started,
        Self::Owner,
        Self::Target,
        Self::Status,
        Self::Reason,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Owner => "owner",
            Self::Target => "target",
            Self::Status => "status",
            Self::Reason => "reason",
        }
    }

    pub fn next(self) -> Self {
        let at = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(at + 1) % Self::ALL.len()]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub filter: String,
    pub sort: SessionSort,
    /// Started: newest first when `true` (the default); other columns A→Z when `false`.
    pub descending: bool,
    /// Indexes into the items, in display order, filtered.
    pub rows: Vec<usize>,
}

impl Default for SessionView {
    fn default() -> Self {
        Self {
            filter: String::new(),
            sort: SessionSort::Started,
            descending: true,
            rows: Vec::new(),
        }
    }
}

impl SessionView {
    /// The item on row `at`.
    pub fn item<'a>(&self, items: &'a [SessionInfo], at: usize) -> Option<&'a SessionInfo> {
        self.rows.get(at).and_then(|i| items.get(*i))
    }

    /// The next sort column; a new column starts newest (or A) first.
    pub fn sort_next(&mut self) {
        self.sort = self.sort.next();
        self.descending = self.sort == SessionSort::Started;
    }

    /// Recomputes the rows after the items, the filter or the sort changed. `name_of` gives
    /// the fleet's Name of a target, so both can be searched and sorted by.
    pub fn rebuild<'a>(
        &mut self,
        items: &'a [SessionInfo],
        name_of: impl Fn(&str) -> Option<&'a str>,
    ) {
        let terms: Vec<Vec<char>> = self
            .filter
            .to_lowercase()
            .split_whitespace()
            .map(|term| term.chars().collect())
            .collect();
        let mut rows: Vec<usize> = (0..items.len())
            .filter(|at| {
                terms.is_empty() || {
                    let text = haystack(&items[*at], name_of(&items[*at].target));
                    terms.iter().all(|term| fuzzy_match(&text, term))
                }
            })
            .collect();
        let key = self.sort;
        rows.sort_by(|a, b| {
            let (a, b) = (&items[*a], &items[*b]);
            let order = compare(a, b, key, &name_of).then_with(|| a.session_id.cmp(&b.session_id));
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        self.rows = rows;
    }
}

fn compare<'a>(
    a: &SessionInfo,
    b: &SessionInfo,
    key: SessionSort,
    name_of: &impl Fn(&str) -> Option<&'a str>,
) -> Ordering {
    match key {
        SessionSort::Started => a.start.cmp(&b.start),
        SessionSort::Owner => a.owner.cmp(&b.owner),
        SessionSort::Target => name_of(&a.target)
            .cmp(&name_of(&b.target))
            .then_with(|| a.target.cmp(&b.target)),
        SessionSort::Status => a.status.label().cmp(b.status.label()),
        SessionSort::Reason => a.reason.cmp(&b.reason),
    }
}

/// The searchable fields of a session, lower-cased, one field apart from the next.
fn haystack(session: &SessionInfo, name: Option<&str>) -> String {
    let owner = session.owner.rsplit('/').next().unwrap_or(&session.owner);
    let fields = [
        session.session_id.as_str(),
        name.unwrap_or(""),
        session.target.as_str(),
        owner,
        session.status.label(),
        session.reason.as_deref().unwrap_or(""),
        session.end_reason.as_deref().unwrap_or(""),
    ];
    let mut text = String::with_capacity(128);
    for field in fields {
        text.push_str(field);
        text.push(FIELD_SEPARATOR);
    }
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    fn ids(view: &SessionView, items: &[SessionInfo]) -> Vec<String> {
        view.rows
            .iter()
            .map(|at| items[*at].session_id.clone())
            .collect()
    }

    #[test]
    fn filter_by_owner_name_reason_and_sort_by_column() {
        let items = fixtures::active_sessions();
        let names = |target: &str| (target == "i-a1b2c3d4e5f600005").then_some("db-1");
        let mut view = SessionView::default();
        view.rebuild(&items, names);
        // Newest first by default.
        assert_eq!(
            ids(&view, &items),
            [
                "dev-0a1b2c3d4e5f60001",
                "admin-0a1b2c3d4e5f60003",
                "dev-0a1b2c3d4e5f60002"
            ]
        );
        view.filter = "admin".into();
        view.rebuild(&items, names);
        assert_eq!(ids(&view, &items), ["admin-0a1b2c3d4e5f60003"]);
        view.filter = "db-1".into();
        view.rebuild(&items, names);
        assert_eq!(ids(&view, &items), ["admin-0a1b2c3d4e5f60003"]);
        view.filter = "jira".into();
        view.rebuild(&items, names);
        assert_eq!(ids(&view, &items), ["dev-0a1b2c3d4e5f60001"]);
        view.filter.clear();
        view.sort_next();
        assert_eq!(view.sort, SessionSort::Owner);
        view.rebuild(&items, names);
        assert_eq!(ids(&view, &items)[0], "admin-0a1b2c3d4e5f60003");
        view.descending = true;
        view.rebuild(&items, names);
        assert_eq!(ids(&view, &items)[2], "admin-0a1b2c3d4e5f60003");
    }
}
