//! Turning what the user typed (`i-…`, a Name, `tag:KEY=VALUE`) into exactly one instance.

use std::fmt;

use super::types::{Instance, InstanceState};
use crate::text::{display_width, escape_and_fit};

/// How many candidates an error lists before saying "and N more".
const MAX_CANDIDATES_SHOWN: usize = 20;
/// Columns one value may take in an error line: a 10,000-character Name or target once made
/// a single line of that length (issue 17).
const MAX_VALUE_COLUMNS: usize = 40;

/// The escaped text as an error shows it: cut to [`MAX_VALUE_COLUMNS`].
fn shown(text: &str) -> String {
    escape_and_fit(text, MAX_VALUE_COLUMNS).into_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("`{}` is not a valid target: {reason}", shown(.target))]
    Invalid {
        target: String,
        reason: &'static str,
    },
    #[error("no instance matches `{}`{}", shown(.target), CandidateList(.similar))]
    NoMatch {
        target: String,
        similar: Vec<Candidate>,
    },
    #[error("`{}` matches {} instances; pick one by id:{}", shown(.target), .candidates.len(), CandidateList(.candidates))]
    Ambiguous {
        target: String,
        candidates: Vec<Candidate>,
    },
}

/// One line of a candidates list: id, Name, state, ping status (all escaped when shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub name: Option<String>,
    pub state: String,
    pub ping_status: String,
}

impl Candidate {
    fn of(instance: &Instance) -> Self {
        Self {
            id: instance.id.to_string(),
            name: instance.name.as_deref().map(str::to_owned),
            state: instance.state.label().to_owned(),
            ping_status: instance.ping_status.label().to_owned(),
        }
    }
}

impl Candidate {
    /// The cells of its line: id, Name, state, ping status, escaped and cut.
    fn cells(&self) -> [String; 4] {
        [
            shown(&self.id),
            self.name.as_deref().map_or_else(|| "-".to_owned(), shown),
            self.state.clone(),
            self.ping_status.clone(),
        ]
    }
}

struct CandidateList<'a>(&'a [Candidate]);

/// One candidate a line, columns aligned in terminal cells (wide characters included).
impl fmt::Display for CandidateList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        let rows: Vec<[String; 4]> = self
            .0
            .iter()
            .take(MAX_CANDIDATES_SHOWN)
            .map(Candidate::cells)
            .collect();
        let mut widths = [0usize; 4];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(display_width(cell));
            }
        }
        for row in &rows {
            let mut line = String::from("\n  ");
            for (column, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if column + 1 < row.len() {
                    let pad = widths[column] - display_width(cell) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            f.write_str(line.trim_end())?;
        }
        if self.0.len() > MAX_CANDIDATES_SHOWN {
            write!(f, "\n  … and {} more", self.0.len() - MAX_CANDIDATES_SHOWN)?;
        }
        Ok(())
    }
}

/// Finds the one instance `target` names: an instance id (`i-…`, `mi-…`), a `Name` tag value,
/// or `tag:KEY=VALUE`. Several matches are an error listing them, unless exactly one of them
/// is not terminated (an Auto Scaling group reuses Names; terminated ones linger for an hour).
pub fn resolve_target<'a>(
    instances: &'a [Instance],
    target: &str,
) -> Result<&'a Instance, ResolveError> {
    let target = target.trim();
    if target.is_empty() {
        return Err(ResolveError::Invalid {
            target: target.into(),
            reason: "it is empty",
        });
    }
    let matches: Vec<&Instance> = if let Some(pair) = target.strip_prefix("tag:") {
        let Ok((key, value)) = super::types::parse_key_value(pair) else {
            return Err(ResolveError::Invalid {
                target: target.into(),
                reason: "expected tag:KEY=VALUE",
            });
        };
        instances
            .iter()
            .filter(|i| i.tags.get(&key).is_some_and(|v| *v == value))
            .collect()
    } else {
        let by_id: Vec<&Instance> = instances
            .iter()
            .filter(|i| i.id.as_str() == target)
            .collect();
        if by_id.is_empty() {
            instances
                .iter()
                .filter(|i| i.name.as_deref() == Some(target))
                .collect()
        } else {
            by_id
        }
    };
    pick_one(target, matches, instances)
}

fn pick_one<'a>(
    target: &str,
    matches: Vec<&'a Instance>,
    all: &'a [Instance],
) -> Result<&'a Instance, ResolveError> {
    match matches.as_slice() {
        [only] => return Ok(only),
        [] => {
            return Err(ResolveError::NoMatch {
                target: target.into(),
                similar: similar_to(target, all),
            });
        }
        _ => {}
    }
    let alive: Vec<&&Instance> = matches
        .iter()
        .filter(|i| i.state != InstanceState::Terminated)
        .collect();
    if let [only] = alive.as_slice() {
        return Ok(only);
    }
    Err(ResolveError::Ambiguous {
        target: target.into(),
        candidates: matches.iter().map(|i| Candidate::of(i)).collect(),
    })
}

/// Instances whose id or Name contains the target, ignoring case: likely typos or prefixes.
fn similar_to(target: &str, all: &[Instance]) -> Vec<Candidate> {
    let needle = target.strip_prefix("tag:").unwrap_or(target).to_lowercase();
    all.iter()
        .filter(|i| {
            i.id.as_str().contains(&needle)
                || i.name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&needle))
        })
        .map(Candidate::of)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {

    use super::*;
    use crate::aws::types::{InstanceId, PingStatus, Tags};

    fn instance(id: &str, name: &str, env: &str, state: InstanceState) -> Instance {
        let tags: Tags = [("Env", env), ("Name", name)].into_iter().collect();
        Instance {
            id: InstanceId::from_aws(id),
            name: Some(name.into()),
            tags,
            state,
            ping_status: PingStatus::Online,
            agent_version: Some("3.3.0.0".into()),
            platform: Some("Linux".into()),
            platform_name: None,
            private_ip: None,
            image_id: None,
            image_name: None,
            region: "us-east-1".into(),
            last_ping: None,
            account: None,
            account_id: None,
            ec2: Default::default(),
        }
    }

    fn fleet() -> Vec<Instance> {
        vec![
            instance(
                "i-00000000000000001",
                "web-1",
                "prod",
                InstanceState::Running,
            ),
            instance(
                "i-00000000000000002",
                "web-2",
                "prod",
                InstanceState::Running,
            ),
            instance(
                "i-00000000000000003",
                "api-1",
                "dev",
                InstanceState::Running,
            ),
            instance(
                "i-00000000000000004",
                "api-1",
                "dev",
                InstanceState::Terminated,
            ),
            instance(
                "i-00000000000000005",
                "db\u{1b}[2J",
                "stg",
                InstanceState::Stopped,
            ),
        ]
    }

    #[test]
    fn resolves_by_id_name_and_tag() {
        let fleet = fleet();
        assert_eq!(
            resolve_target(&fleet, "i-00000000000000002")
                .unwrap()
                .name
                .as_deref(),
            Some("web-2")
        );
        assert_eq!(
            resolve_target(&fleet, "web-1").unwrap().id.as_str(),
            "i-00000000000000001"
        );
        assert_eq!(
            resolve_target(&fleet, "tag:Env=stg").unwrap().id.as_str(),
            "i-00000000000000005"
        );
    }

    #[test]
    fn a_terminated_twin_does_not_make_a_name_ambiguous() {
        let fleet = fleet();
        assert_eq!(
            resolve_target(&fleet, "api-1").unwrap().id.as_str(),
            "i-00000000000000003"
        );
    }

    #[test]
    fn ambiguous_targets_list_every_candidate() {
        let fleet = fleet();
        let err = resolve_target(&fleet, "tag:Env=prod").unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ResolveError::Ambiguous { ref candidates, .. } if candidates.len() == 2)
        );
        assert!(text.contains("matches 2 instances"), "{text}");
        assert!(
            text.contains("i-00000000000000001  web-1  running  Online"),
            "{text}"
        );
        assert!(
            text.contains("i-00000000000000002  web-2  running  Online"),
            "{text}"
        );
    }

    #[test]
    fn candidate_lines_are_aligned_and_long_values_cut() {
        let mut fleet = fleet();
        fleet[1].name = Some("웹-서버-이름".into());
        fleet[0].tags.insert("Env", "prod");
        let long = "n".repeat(10_000);
        fleet[0].name = Some(long.as_str().into());
        let err = resolve_target(&fleet, "tag:Env=prod")
            .unwrap_err()
            .to_string();
        let lines: Vec<&str> = err.lines().skip(1).collect();
        assert!(lines.len() >= 2, "{err}");
        assert!(err.lines().all(|l| display_width(l) < 120), "{err}");
        // The state column starts at the same screen column on every line.
        let state_at: Vec<usize> = lines
            .iter()
            .map(|l| display_width(&l[..l.find("running").or_else(|| l.find("stopped")).unwrap()]))
            .collect();
        assert!(state_at.windows(2).all(|w| w[0] == w[1]), "{err}");
        let huge_target = format!("tag:Env={long}");
        let err = resolve_target(&fleet, &huge_target)
            .unwrap_err()
            .to_string();
        assert!(display_width(&err) < 120, "{err}");
    }

    #[test]
    fn no_match_suggests_similar_names_escaped() {
        let fleet = fleet();
        let err = resolve_target(&fleet, "db").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("no instance matches `db`"), "{text}");
        assert!(text.contains("db\\e[2J  stopped"), "{text}");
        assert!(!text.contains('\u{1b}'));
        let err = resolve_target(&fleet, "nothing-like-it").unwrap_err();
        assert_eq!(err.to_string(), "no instance matches `nothing-like-it`");
    }

    #[test]
    fn malformed_targets_are_rejected() {
        let fleet = fleet();
        assert!(matches!(
            resolve_target(&fleet, "  "),
            Err(ResolveError::Invalid { .. })
        ));
        assert!(matches!(
            resolve_target(&fleet, "tag:Env"),
            Err(ResolveError::Invalid { .. })
        ));
        let err = resolve_target(&fleet, "x\u{1b}]0;pwned\u{7}").unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'));
    }
}
