//! The fleet table's data: instances from every region, a fuzzy filter, a sort column and the
//! group-by-image toggle. Filtering runs on every keystroke over up to 100,000 instances (issue
//! 13's fleets across accounts), so each instance's searchable text is lower-cased, and the set
//! of its ASCII bytes taken, once when the data arrives.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::aws::types::{Instance, InstanceId};
use crate::aws::{AccessScope, Diagnosis, diagnose};
use crate::tui::model::{Connectivity, Cursor, Load};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Id,
    State,
    Ping,
    Agent,
    Platform,
    Ip,
    Image,
    Region,
}

impl SortKey {
    pub const ALL: [SortKey; 9] = [
        Self::Name,
        Self::Id,
        Self::State,
        Self::Ping,
        Self::Agent,
        Self::Platform,
        Self::Ip,
        Self::Image,
        Self::Region,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Id => "id",
            Self::State => "state",
            Self::Ping => "ping",
            Self::Agent => "agent",
            Self::Platform => "platform",
            Self::Ip => "ip",
            Self::Image => "image",
            Self::Region => "region",
        }
    }

    pub fn next(self) -> Self {
        let at = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(at + 1) % Self::ALL.len()]
    }
}

/// One visible line of the fleet table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetRow {
    /// A group header in group-by-image mode: index of the first instance of the group, count.
    Group {
        first: usize,
        count: usize,
    },
    Instance(usize),
}

#[derive(Debug, Clone)]
pub struct FleetState {
    /// The locations (region, or `ACCOUNT/REGION`) that have answered, in order of arrival.
    origins: Vec<String>,
    pub instances: Vec<Instance>,
    /// Beside `instances`, row for row: the searchable text, the ASCII bytes it holds
    /// (`ascii_set`) and the index in `origins`.
    haystacks: Vec<Box<str>>,
    ascii_sets: Vec<u128>,
    origin: Vec<u32>,
    /// Indices of `instances` in the order of their ids: finding an instance by id is a
    /// binary search, without a second copy of each id in a map.
    by_id: Vec<u32>,
    pub rows: Vec<FleetRow>,
    pub shown: usize,
    pub filter: String,
    pub sort: SortKey,
    pub descending: bool,
    pub group_by_image: bool,
    pub show_detail: bool,
    /// Only the instances the user can open a shell on now, judged with this scope.
    pub reachable_only: Option<AccessScope>,
    pub tag_columns: Vec<String>,
    pub cursor: Cursor,
    pub load: Load,
    pub connectivity: HashMap<InstanceId, Connectivity>,
    /// Instances marked for a command (`space`); kept across refreshes and filters.
    pub marked: std::collections::BTreeSet<InstanceId>,
    /// The locations (`ACCOUNT/REGION`) whose last fleet load failed, with why: the banner
    /// names them while the others' rows stay (issue 13).
    pub failures: BTreeMap<String, crate::tui::model::LoadError>,
}

impl FleetState {
    pub fn new(tag_columns: Vec<String>) -> Self {
        Self {
            origins: Vec::new(),
            instances: Vec::new(),
            haystacks: Vec::new(),
            ascii_sets: Vec::new(),
            origin: Vec::new(),
            by_id: Vec::new(),
            rows: Vec::new(),
            shown: 0,
            filter: String::new(),
            sort: SortKey::Name,
            descending: false,
            group_by_image: false,
            show_detail: false,
            reachable_only: None,
            tag_columns,
            cursor: Cursor::default(),
            load: Load::Idle,
            connectivity: HashMap::new(),
            failures: BTreeMap::new(),
            marked: std::collections::BTreeSet::new(),
        }
    }

    /// Replaces one region's instances, keeping the selection on the same instance.
    pub fn set_region(&mut self, region: &str, instances: Vec<Instance>) {
        let selected = self.selected().map(|i| i.id.clone());
        let origin = match self.origins.iter().position(|o| o == region) {
            Some(at) => at,
            None => {
                self.origins.push(region.to_owned());
                self.origins.len() - 1
            }
        } as u32;
        // One copy of each instance, moved, never cloned (issue 13: 100,000 across accounts
        // must stay under 300 MB): the location's old rows leave, its new ones join, and
        // only the new ones are lower-cased.
        let keep: Vec<bool> = self.origin.iter().map(|o| *o != origin).collect();
        retain_by(&mut self.instances, &keep);
        retain_by(&mut self.haystacks, &keep);
        retain_by(&mut self.ascii_sets, &keep);
        retain_by(&mut self.origin, &keep);
        // Exactly as much room as the rows need: a doubled 100,000-row vector would hold
        // tens of megabytes of nothing.
        self.instances.reserve_exact(instances.len());
        self.haystacks.reserve_exact(instances.len());
        self.ascii_sets.reserve_exact(instances.len());
        self.origin.reserve_exact(instances.len());
        let first_new = self.haystacks.len();
        self.haystacks.extend(instances.iter().map(haystack));
        self.ascii_sets.extend(
            self.haystacks[first_new..]
                .iter()
                .map(|text| ascii_set(text)),
        );
        self.origin
            .extend(std::iter::repeat_n(origin, instances.len()));
        self.instances.extend(instances);
        self.sort_instances();
        self.rebuild_rows();
        match selected {
            Some(id) => self.select_id(&id),
            None => self.cursor.selected = self.first_instance_row_from(0, true),
        }
    }

    /// What a command runs on: the marked instances, or when none is marked every instance
    /// the current filter shows.
    pub fn run_targets(&self) -> Vec<Instance> {
        if self.marked.is_empty() {
            self.rows
                .iter()
                .filter_map(|row| match row {
                    FleetRow::Instance(at) => Some(self.instances[*at].clone()),
                    FleetRow::Group { .. } => None,
                })
                .collect()
        } else {
            self.instances
                .iter()
                .filter(|i| self.marked.contains(&i.id))
                .cloned()
                .collect()
        }
    }

    pub fn get(&self, id: &InstanceId) -> Option<&Instance> {
        self.position(id.as_str()).map(|at| &self.instances[at])
    }

    /// The Name tag of an instance id, for the sessions and history tables.
    pub fn name_of(&self, target: &str) -> Option<&str> {
        self.position(target)
            .and_then(|at| self.instances[at].name.as_deref())
    }

    /// Where the instance `id` is in `instances`.
    fn position(&self, id: &str) -> Option<usize> {
        let found = self
            .by_id
            .binary_search_by(|at| self.instances[*at as usize].id.as_str().cmp(id))
            .ok()?;
        Some(self.by_id[found] as usize)
    }

    pub fn selected(&self) -> Option<&Instance> {
        match self.rows.get(self.cursor.selected)? {
            FleetRow::Instance(at) => self.instances.get(*at),
            FleetRow::Group { .. } => None,
        }
    }

    pub fn select_id(&mut self, id: &InstanceId) {
        let found = self
            .rows
            .iter()
            .position(|row| matches!(row, FleetRow::Instance(at) if self.instances[*at].id == *id));
        if let Some(at) = found {
            self.cursor.selected = at;
        }
    }

    pub fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.rebuild_rows();
        self.cursor.selected = self.first_instance_row_from(0, true);
    }

    pub fn set_sort(&mut self, key: SortKey, descending: bool) {
        let selected = self.selected().map(|i| i.id.clone());
        self.sort = key;
        self.descending = descending;
        self.sort_instances();
        self.rebuild_rows();
        if let Some(id) = selected {
            self.select_id(&id);
        }
    }

    /// Shows only the instances a shell can open on now (`scope`), or all of them again.
    pub fn toggle_reachable_only(&mut self, scope: AccessScope) {
        let selected = self.selected().map(|i| i.id.clone());
        self.reachable_only = match self.reachable_only {
            Some(_) => None,
            None => Some(scope),
        };
        self.rebuild_rows();
        match selected {
            Some(id) => self.select_id(&id),
            None => self.cursor.selected = self.first_instance_row_from(0, true),
        }
        if self.selected().is_none() {
            self.cursor.selected = self.first_instance_row_from(0, true);
        }
    }

    /// What the reach column and the detail pane say about an instance: the connectivity
    /// check when one has answered, else the diagnosis from what the listing says.
    pub fn reach(&self, instance: &Instance, scope: &AccessScope) -> Diagnosis {
        match self.connectivity.get(&instance.id) {
            Some(Connectivity::Known(diagnosis)) => diagnosis.clone(),
            _ => diagnose(instance, None, scope),
        }
    }

    pub fn toggle_group(&mut self) {
        let selected = self.selected().map(|i| i.id.clone());
        self.group_by_image = !self.group_by_image;
        self.sort_instances();
        self.rebuild_rows();
        match selected {
            Some(id) => self.select_id(&id),
            None => self.cursor.selected = self.first_instance_row_from(0, true),
        }
    }

    /// The nearest instance row from `from`, searching forward or backward (group headers are
    /// not selectable).
    pub fn first_instance_row_from(&self, from: usize, forward: bool) -> usize {
        let is_instance = |at: &usize| matches!(self.rows.get(*at), Some(FleetRow::Instance(_)));
        let found = if forward {
            (from..self.rows.len()).find(is_instance)
        } else {
            (0..=from.min(self.rows.len().saturating_sub(1)))
                .rev()
                .find(is_instance)
        };
        found.unwrap_or(from.min(self.rows.len().saturating_sub(1)))
    }

    fn sort_instances(&mut self) {
        let (key, descending, grouped) = (self.sort, self.descending, self.group_by_image);
        let mut order: Vec<usize> = (0..self.instances.len()).collect();
        order.sort_by(|a, b| {
            let (a, b) = (&self.instances[*a], &self.instances[*b]);
            let by_group = if grouped {
                a.image_id.cmp(&b.image_id)
            } else {
                Ordering::Equal
            };
            let by_key = compare(a, b, key).then_with(|| a.id.cmp(&b.id));
            by_group.then(if descending { by_key.reverse() } else { by_key })
        });
        apply_order(&mut self.instances, &order);
        apply_order(&mut self.haystacks, &order);
        apply_order(&mut self.ascii_sets, &order);
        apply_order(&mut self.origin, &order);
        let mut by_id = std::mem::take(&mut self.by_id);
        by_id.clear();
        by_id.extend(0..self.instances.len() as u32);
        by_id.sort_unstable_by(|a, b| {
            self.instances[*a as usize]
                .id
                .cmp(&self.instances[*b as usize].id)
        });
        self.by_id = by_id;
    }

    fn rebuild_rows(&mut self) {
        let terms: Vec<Vec<char>> = self
            .filter
            .to_lowercase()
            .split_whitespace()
            .map(|term| term.chars().collect())
            .collect();
        let needed = terms
            .iter()
            .flatten()
            .filter(|c| c.is_ascii())
            .fold(0u128, |set, c| set | 1u128 << (*c as u32));
        let matching: Vec<usize> = (0..self.instances.len())
            // A row whose text lacks an ASCII character of the filter cannot match (fuzzy
            // or as an address): passed over without a scan.
            .filter(|at| needed & !self.ascii_sets[*at] == 0)
            .filter(|at| {
                terms
                    .iter()
                    .all(|term| term_matches(&self.haystacks[*at], term))
            })
            .filter(|at| match &self.reachable_only {
                Some(scope) => self.reach(&self.instances[*at], scope).can_connect(),
                None => true,
            })
            .collect();
        self.shown = matching.len();
        self.rows = if self.group_by_image {
            self.grouped(&matching)
        } else {
            matching.into_iter().map(FleetRow::Instance).collect()
        };
    }

    fn grouped(&self, matching: &[usize]) -> Vec<FleetRow> {
        let mut rows = Vec::with_capacity(matching.len() + 8);
        let mut start = 0;
        while start < matching.len() {
            let image = &self.instances[matching[start]].image_id;
            let count = matching[start..]
                .iter()
                .take_while(|at| self.instances[**at].image_id == *image)
                .count();
            rows.push(FleetRow::Group {
                first: matching[start],
                count,
            });
            rows.extend(
                matching[start..start + count]
                    .iter()
                    .map(|at| FleetRow::Instance(*at)),
            );
            start += count;
        }
        rows
    }
}

/// Keeps the items whose `keep` is true (`keep` is row for row with `items`).
fn retain_by<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut at = 0;
    // `retain` visits every element once, in order.
    items.retain(|_| {
        at += 1;
        keep[at - 1]
    });
}

/// Reorders `items` in place so that the item at `i` is the one that was at `order[i]`
/// (`order` a permutation of its indices): by following each cycle with swaps, so sorting
/// 100,000 instances neither clones nor allocates them.
fn apply_order<T>(items: &mut [T], order: &[usize]) {
    let mut placed = vec![false; order.len()];
    for start in 0..order.len() {
        let mut at = start;
        // Along the cycle, the item first at `start` moves on while each position gets its own.
        while !placed[at] {
            placed[at] = true;
            let from = order[at];
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

fn compare(a: &Instance, b: &Instance, key: SortKey) -> Ordering {
    match key {
        SortKey::Name => a.name.cmp(&b.name),
        SortKey::Id => a.id.cmp(&b.id),
        SortKey::State => a.state.cmp(&b.state),
        SortKey::Ping => a.ping_status.cmp(&b.ping_status),
        SortKey::Agent => version_key(&a.agent_version).cmp(&version_key(&b.agent_version)),
        SortKey::Platform => a.platform_name.cmp(&b.platform_name),
        SortKey::Ip => ip_key(&a.private_ip).cmp(&ip_key(&b.private_ip)),
        SortKey::Image => a.image_id.cmp(&b.image_id),
        SortKey::Region => (&a.account, &a.region).cmp(&(&b.account, &b.region)),
    }
}

/// `3.2.582.0` sorts after `3.2.9.0`: compare numerically, part by part.
fn version_key(version: &Option<Arc<str>>) -> Vec<u64> {
    version
        .as_deref()
        .unwrap_or("")
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

fn ip_key(ip: &Option<Arc<str>>) -> Option<std::net::Ipv4Addr> {
    ip.as_deref().and_then(|text| text.parse().ok())
}

/// The ASCII bytes of `text`, one bit each.
fn ascii_set(text: &str) -> u128 {
    text.bytes()
        .filter(u8::is_ascii)
        .fold(0, |set, byte| set | 1u128 << byte)
}

/// Separates the fields of a haystack; a match never spans two fields.
pub const FIELD_SEPARATOR: char = '\u{1f}';

/// Name, id, every tag `key=value` and the IP, lower-cased, as one searchable string.
fn haystack(instance: &Instance) -> Box<str> {
    let mut text = String::with_capacity(96);
    text.push_str(instance.name.as_deref().unwrap_or(""));
    text.push(FIELD_SEPARATOR);
    text.push_str(instance.id.as_str());
    for (key, value) in instance.tags.iter() {
        text.push(FIELD_SEPARATOR);
        text.push_str(key);
        text.push('=');
        text.push_str(value);
    }
    text.push(FIELD_SEPARATOR);
    text.push_str(instance.private_ip.as_deref().unwrap_or(""));
    // The account's name and id: a filter of `prod` or `210987654321` finds its rows.
    for account in [&instance.account, &instance.account_id]
        .into_iter()
        .flatten()
    {
        text.push(FIELD_SEPARATOR);
        text.push_str(account);
    }
    text.to_lowercase().into_boxed_str()
}

/// A term of digits and dots with at least one dot is an address: it matches a field that
/// starts with it (`10.20.1` finds `10.20.1.5`, not `10.20.0.15` as a subsequence would);
/// any other term matches fuzzily.
fn term_matches(haystack: &str, term: &[char]) -> bool {
    let address = term.contains(&'.') && term.iter().all(|c| c.is_ascii_digit() || *c == '.');
    if address {
        let prefix: String = term.iter().collect();
        haystack
            .split(FIELD_SEPARATOR)
            .any(|field| field.starts_with(&prefix))
    } else {
        fuzzy_match(haystack, term)
    }
}

/// Subsequence match inside one field (fzf-style, without scoring): `wb2` matches `web-2`.
/// Several terms separated by spaces must all match.
pub fn fuzzy_match(haystack: &str, needle: &[char]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if needle.iter().all(char::is_ascii) {
        // Byte by byte, without decoding: a byte of a multi-byte character is never ASCII,
        // so it equals neither an ASCII needle character nor the separator. Every keystroke
        // runs this over each instance (100,000 across accounts, issue 13).
        let mut matched = 0;
        for &byte in haystack.as_bytes() {
            if byte == FIELD_SEPARATOR as u8 {
                matched = 0;
            } else if byte == needle[matched] as u8 {
                matched += 1;
                if matched == needle.len() {
                    return true;
                }
            }
        }
        return false;
    }
    let mut matched = 0;
    for ch in haystack.chars() {
        if ch == FIELD_SEPARATOR {
            matched = 0;
        } else if ch == needle[matched] {
            matched += 1;
            if matched == needle.len() {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    fn state() -> FleetState {
        let mut fleet = FleetState::new(vec![]);
        fleet.set_region("us-east-1", fixtures::demo_instances());
        fleet
    }

    fn names(fleet: &FleetState) -> Vec<String> {
        fleet
            .rows
            .iter()
            .filter_map(|r| match r {
                FleetRow::Instance(at) => Some(
                    fleet.instances[*at]
                        .name
                        .as_deref()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                FleetRow::Group { .. } => None,
            })
            .collect()
    }

    #[test]
    fn fuzzy_filter_matches_subsequences_of_name_id_tags_and_ip() {
        let mut fleet = state();
        fleet.set_filter("wb2".into());
        assert_eq!(names(&fleet), ["web-2"]);
        fleet.set_filter("env=prod".into());
        assert!(names(&fleet).iter().all(|n| !n.is_empty()));
        assert!(fleet.shown >= 2);
        fleet.set_filter("10.0.1.12".into());
        assert_eq!(fleet.shown, 1);
        fleet.set_filter("서울".into());
        assert_eq!(fleet.shown, 1);
        fleet.set_filter("zzzz".into());
        assert_eq!(fleet.shown, 0);
        assert!(fleet.selected().is_none());
    }

    #[test]
    fn an_address_matches_by_prefix_not_as_a_subsequence() {
        let mut fleet = state();
        // 10.0.1.10 … 10.0.1.21: "10.0.1.1" is a prefix of 10.0.1.1x only.
        fleet.set_filter("10.0.1.1".into());
        assert_eq!(fleet.shown, 10, "10.0.1.10 to 10.0.1.19");
        fleet.set_filter("10.0.1.2".into());
        assert_eq!(fleet.shown, 2, "10.0.1.20 and 10.0.1.21");
        // As a subsequence "10.0.2" would match 10.0.1.12 (1,0,.,0,…,2); as a prefix nothing.
        fleet.set_filter("10.0.2".into());
        assert_eq!(fleet.shown, 0);
        fleet.set_filter("10.0.1.".into());
        assert_eq!(fleet.shown, fleet.instances.len());
    }

    #[test]
    fn sorting_keeps_the_selected_instance() {
        let mut fleet = state();
        fleet.set_filter(String::new());
        let before = fleet.selected().unwrap().id.clone();
        fleet.set_sort(SortKey::Ip, true);
        assert_eq!(fleet.selected().unwrap().id, before);
        let ips: Vec<_> = fleet
            .instances
            .iter()
            .filter_map(|i| ip_key(&i.private_ip))
            .collect();
        assert!(ips.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn grouping_by_image_puts_a_header_before_each_image() {
        let mut fleet = state();
        fleet.toggle_group();
        assert!(matches!(fleet.rows[0], FleetRow::Group { .. }));
        let total: usize = fleet
            .rows
            .iter()
            .map(|r| match r {
                FleetRow::Group { count, .. } => *count,
                FleetRow::Instance(_) => 0,
            })
            .sum();
        assert_eq!(total, fleet.instances.len());
        assert!(
            fleet.selected().is_some(),
            "a header is never the selection"
        );
    }

    #[test]
    fn fuzzy_match_agrees_for_ascii_and_other_needles() {
        let hay = format!("café-wéb-2{FIELD_SEPARATOR}i-0abc{FIELD_SEPARATOR}env=prod");
        let needle = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(fuzzy_match(&hay, &needle("cfwb2")));
        assert!(fuzzy_match(&hay, &needle("éwé")));
        assert!(fuzzy_match(&hay, &needle("env=prod")));
        // Never across two fields, ASCII or not.
        assert!(!fuzzy_match(&hay, &needle("2i")));
        assert!(!fuzzy_match(&hay, &needle("é2i")));
        assert!(!fuzzy_match(&hay, &needle("zz")));
    }

    #[test]
    fn filtering_with_the_ascii_sets_finds_what_a_scan_of_every_row_finds() {
        let mut fleet = state();
        for filter in [
            "",
            "w",
            "wb2",
            "web",
            "prod",
            "env=prod",
            "10.0.1",
            "10.0.1.12",
            "i-0",
            "zzz",
            "web prod",
            "x9",
            "é",
            "-",
            "1 2 3",
        ] {
            fleet.set_filter(filter.into());
            let terms: Vec<Vec<char>> = filter
                .split_whitespace()
                .map(|term| term.chars().collect())
                .collect();
            let expected: Vec<usize> = (0..fleet.instances.len())
                .filter(|at| {
                    terms
                        .iter()
                        .all(|term| term_matches(&fleet.haystacks[*at], term))
                })
                .collect();
            let shown: Vec<usize> = fleet
                .rows
                .iter()
                .filter_map(|row| match row {
                    FleetRow::Instance(at) => Some(*at),
                    FleetRow::Group { .. } => None,
                })
                .collect();
            assert_eq!(shown, expected, "filter {filter:?}");
        }
        assert_eq!(ascii_set("ab"), 1u128 << b'a' | 1u128 << b'b');
        assert_eq!(ascii_set("é"), 0);
    }

    #[test]
    fn apply_order_moves_each_item_to_its_place() {
        let mut items = vec!['a', 'b', 'c', 'd', 'e'];
        apply_order(&mut items, &[2, 0, 1, 4, 3]);
        assert_eq!(items, ['c', 'a', 'b', 'e', 'd']);
        let mut same = vec![1, 2, 3];
        apply_order(&mut same, &[0, 1, 2]);
        assert_eq!(same, [1, 2, 3]);
    }

    #[test]
    fn a_location_that_answers_again_replaces_only_its_own_rows() {
        let mut fleet = FleetState::new(vec![]);
        let mut west = fixtures::demo_instances();
        for (at, instance) in west.iter_mut().enumerate() {
            instance.id = InstanceId::parse(&format!("i-0ffff0000000000{at:02}")).unwrap();
            instance.name = Some(format!("west-{at:02}").into());
            instance.region = "eu-west-1".into();
        }
        fleet.set_region("us-east-1", fixtures::demo_instances());
        fleet.set_region("eu-west-1", west.clone());
        let demo = fixtures::demo_instances().len();
        assert_eq!(fleet.instances.len(), demo + west.len());
        // us-east-1 answers again with one instance fewer: the west rows stay, once each.
        let mut east = fixtures::demo_instances();
        let gone = east.pop().unwrap();
        fleet.set_region("us-east-1", east);
        assert_eq!(fleet.instances.len(), demo - 1 + west.len());
        assert!(fleet.get(&gone.id).is_none());
        assert_eq!(fleet.name_of(west[3].id.as_str()), Some("west-03"));
        // Still sorted by name, and the searchable text went along with each row.
        let shown = names(&fleet);
        let mut sorted = shown.clone();
        sorted.sort();
        assert_eq!(shown, sorted);
        fleet.set_filter("west-03".into());
        assert_eq!(names(&fleet), ["west-03"]);
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_key(&Some("3.2.582.0".into())) > version_key(&Some("3.2.9.0".into())));
    }
}
