//! "Why can't I connect?": every cause that applies and what to do about each, in plain
//! words, from what the fleet list and GetConnectionStatus already say. Pure, so the TUI,
//! `connect` and `list` share it (the UI's reach column, `list --reachable`).

use super::types::{Instance, InstanceState, PingStatus};

/// The oldest SSM agent that supports Session Manager shells.
pub const MIN_SESSION_MANAGER_AGENT: &str = "2.3.68.0";
/// Agents below this still open shells, but miss later Session Manager features (port
/// forwarding to remote hosts, the smux keepalive fix of protocol.md §6.4): worth a warning.
pub const RECOMMENDED_AGENT: &str = "3.0.0.0";

/// The tag scope the user works in and what is known about their access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessScope {
    /// Tags the user's access is limited to (from `--tag` or the config file).
    pub required_tags: Vec<(String, String)>,
    /// AWS answered "access denied … expired" for this identity.
    pub access_expired: bool,
    /// The identity is known to be limited to a tag scope (an engineer, not an administrator):
    /// the advice then says whom to ask instead of what to change on the instance.
    pub limited: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    Ready,
    AccessExpired,
    OutsideScope { key: String, wanted: String },
    Terminated,
    Stopped,
    NotRunning { state: String },
    NotManaged,
    AgentOffline { ping_status: PingStatus },
    AgentTooOld { version: String },
    NotConnected,
}

impl Cause {
    /// A few words for a table cell (the UI's reach column, `gangway list`).
    pub fn short(&self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::AccessExpired => "access expired",
            Self::OutsideScope { .. } => "out of scope",
            Self::Terminated => "terminated",
            Self::Stopped => "stopped",
            Self::NotRunning { .. } => "not running",
            Self::NotManaged => "not managed",
            Self::AgentOffline { .. } => "agent offline",
            Self::AgentTooOld { .. } => "agent too old",
            Self::NotConnected => "not connected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The first cause, in the order a person checks (access, machine, agent, service).
    pub cause: Cause,
    /// Every further cause that also stands in the way (stopped *and* out of scope).
    pub more: Vec<Cause>,
    /// What is wrong (or that all is well): one sentence per cause.
    pub summary: String,
    /// What to do about it: one sentence per cause, commands ready to paste.
    pub fix: Option<String>,
    /// Things worth knowing that do not stop a shell (an outdated agent).
    pub warnings: Vec<String>,
}

impl Diagnosis {
    pub fn can_connect(&self) -> bool {
        self.cause == Cause::Ready
    }

    /// Every cause, the first one first.
    pub fn causes(&self) -> impl Iterator<Item = &Cause> {
        std::iter::once(&self.cause).chain(&self.more)
    }

    /// The reach column's text: `✓`, or `✗` with every cause in a few words
    /// (`✗ stopped, out of scope`).
    pub fn reach(&self) -> String {
        if self.can_connect() {
            return "✓".to_owned();
        }
        format!("✗ {}", self.reasons())
    }

    /// The reach column's text where room is short: the first cause and how many more
    /// (`✗ out of scope +1`); the detail pane names them all.
    pub fn reach_brief(&self) -> String {
        match self.more.len() {
            _ if self.can_connect() => "✓".to_owned(),
            0 => format!("✗ {}", self.cause.short()),
            more => format!("✗ {} +{more}", self.cause.short()),
        }
    }

    /// The causes in a few words each, `stopped, out of scope`; `ready` when there is none.
    pub fn reasons(&self) -> String {
        self.causes()
            .map(Cause::short)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What is wrong, followed by the warnings: the words the detail pane shows before the fix.
    pub fn headline(&self) -> String {
        let mut text = self.summary.clone();
        for warning in &self.warnings {
            text.push(' ');
            text.push_str(warning);
        }
        text
    }

    /// The whole diagnosis as one line, `headline → fix`: the one way it is put into words
    /// wherever a single line is shown (`gangway connect`, the UI's status line).
    pub fn line(&self) -> String {
        match &self.fix {
            Some(fix) => format!("{} → {fix}", self.headline()),
            None => self.headline(),
        }
    }
}

/// Checks in the order a person would: your access, then the machine, then its agent, then
/// what Session Manager itself says, and keeps every cause that applies, so that fixing the
/// first does not only reveal the next. `connection_status` is GetConnectionStatus (`None`:
/// not asked yet); PingStatus can read Online for a while before sessions can start.
pub fn diagnose(
    instance: &Instance,
    connection_status: Option<bool>,
    scope: &AccessScope,
) -> Diagnosis {
    let mut causes = find_causes(instance, connection_status, scope);
    let explained: Vec<(String, Option<String>)> = causes
        .iter()
        .map(|cause| explain(cause, instance, scope.limited))
        .collect();
    let summary = explained
        .iter()
        .map(|(summary, _)| summary.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let fixes: Vec<&str> = explained.iter().filter_map(|(_, f)| f.as_deref()).collect();
    let cause = causes.remove(0);
    Diagnosis {
        cause,
        more: causes,
        summary,
        fix: (!fixes.is_empty()).then(|| fixes.join(" ")),
        warnings: warnings(instance),
    }
}

fn warnings(instance: &Instance) -> Vec<String> {
    match &instance.agent_version {
        Some(version)
            if version_older_than(version, RECOMMENDED_AGENT)
                && !version_older_than(version, MIN_SESSION_MANAGER_AGENT) =>
        {
            vec![format!(
                "The SSM agent {version} is outdated (older than {RECOMMENDED_AGENT}): shells work, newer Session Manager features may not. Update it with AWS-UpdateSSMAgent."
            )]
        }
        _ => Vec::new(),
    }
}

/// Every cause, never empty (`Ready` alone when nothing stands in the way). The agent's
/// status is only a cause on a running machine: a stopped one's agent is offline because
/// the machine is, and saying both would send the user looking twice.
fn find_causes(
    instance: &Instance,
    connection_status: Option<bool>,
    scope: &AccessScope,
) -> Vec<Cause> {
    let mut causes = Vec::new();
    if scope.access_expired {
        causes.push(Cause::AccessExpired);
    }
    if let Some((key, wanted)) = scope
        .required_tags
        .iter()
        .find(|(key, value)| instance.tags.get(key) != Some(value))
    {
        causes.push(Cause::OutsideScope {
            key: key.clone(),
            wanted: wanted.clone(),
        });
    }
    let running = match &instance.state {
        InstanceState::Running | InstanceState::Hybrid => true,
        InstanceState::Terminated => {
            // Nothing else about a terminated instance can be fixed.
            causes.push(Cause::Terminated);
            return causes;
        }
        InstanceState::Stopped | InstanceState::Stopping => {
            causes.push(Cause::Stopped);
            false
        }
        other => {
            causes.push(Cause::NotRunning {
                state: other.label().to_owned(),
            });
            false
        }
    };
    if running {
        match instance.ping_status {
            PingStatus::NotManaged => causes.push(Cause::NotManaged),
            PingStatus::ConnectionLost | PingStatus::Inactive => {
                causes.push(Cause::AgentOffline {
                    ping_status: instance.ping_status,
                });
            }
            PingStatus::Online => {}
        }
    }
    if let Some(version) = &instance.agent_version
        && version_older_than(version, MIN_SESSION_MANAGER_AGENT)
    {
        causes.push(Cause::AgentTooOld {
            version: version.to_string(),
        });
    }
    // "Not connected" means the agent says Online and Session Manager still cannot reach it:
    // only when nothing else explains it.
    if causes.is_empty() && connection_status == Some(false) {
        causes.push(Cause::NotConnected);
    }
    if causes.is_empty() {
        causes.push(Cause::Ready);
    }
    causes
}

/// The sentence for a cause and the sentence of advice. A `limited` user (an engineer inside
/// a tag scope) is told whom to ask; others get the command to run, with the instance's id
/// and region filled in so it can be pasted as it is.
fn explain(cause: &Cause, instance: &Instance, limited: bool) -> (String, Option<String>) {
    let id = crate::text::escape_for_terminal(instance.id.as_str());
    let region = crate::text::escape_for_terminal(&instance.region);
    let (summary, fix): (String, Option<String>) = match cause {
        Cause::Ready => ("Session Manager can open a shell here.".into(), None),
        Cause::AccessExpired => (
            "Your access has expired.".into(),
            Some("Ask an administrator to renew your access.".into()),
        ),
        Cause::OutsideScope { key, wanted } => (
            format!("Outside your tag scope: your access needs the tag {key}={wanted}."),
            Some(format!(
                "Ask an administrator for access to {id}; your access covers instances tagged {key}={wanted}."
            )),
        ),
        Cause::Terminated => (
            "The instance is terminated.".into(),
            Some("Pick another instance.".into()),
        ),
        Cause::Stopped if limited => (
            "The instance is stopped.".into(),
            Some(format!(
                "Ask its owner or an administrator to start it (`aws ec2 start-instances --region {region} --instance-ids {id}`)."
            )),
        ),
        Cause::Stopped => (
            "The instance is stopped.".into(),
            Some(format!(
                "Start it with `aws ec2 start-instances --region {region} --instance-ids {id}` and wait for the agent to come online."
            )),
        ),
        Cause::NotRunning { state } => (
            format!("The instance is {state}, not running."),
            Some("Wait until it is running and try again.".into()),
        ),
        Cause::NotManaged if limited => (
            "The instance is not managed by Systems Manager: no SSM agent has registered.".into(),
            Some("Ask its owner to install or start the SSM agent and attach an instance profile with AmazonSSMManagedInstanceCore.".into()),
        ),
        Cause::NotManaged => (
            "The instance is not managed by Systems Manager: no SSM agent has registered.".into(),
            Some(format!(
                "Install or start the SSM agent and attach an instance profile with AmazonSSMManagedInstanceCore; see the current one with `aws ec2 describe-iam-instance-profile-associations --region {region} --filters Name=instance-id,Values={id}`."
            )),
        ),
        Cause::AgentOffline { ping_status } => (
            format!("The SSM agent is offline ({}).", ping_status.label()),
            Some(if limited {
                "Ask the instance's owner to check that its SSM agent runs and can reach the ssm and ssmmessages endpoints.".into()
            } else {
                format!(
                    "Check that the agent runs (`sudo systemctl status amazon-ssm-agent` on the instance) and can reach the ssm and ssmmessages endpoints (VPC endpoints or NAT); its last report: `aws ssm describe-instance-information --region {region} --filters Key=InstanceIds,Values={id}`."
                )
            }),
        ),
        Cause::AgentTooOld { version } => (
            format!(
                "The SSM agent {version} is too old for Session Manager (needs {MIN_SESSION_MANAGER_AGENT} or later)."
            ),
            Some(if limited {
                "Ask the instance's owner to update the agent (AWS-UpdateSSMAgent).".into()
            } else {
                format!(
                    "Update the agent: `aws ssm send-command --region {region} --document-name AWS-UpdateSSMAgent --instance-ids {id}`."
                )
            }),
        ),
        Cause::NotConnected => (
            "The agent reports Online but Session Manager cannot reach it yet.".into(),
            Some(
                "Wait a minute (a just-started agent needs time) and check the ssmmessages endpoint.".into(),
            ),
        ),
    };
    (summary, fix)
}

/// Numeric, part-by-part comparison ("2.3.9" < "2.3.68"); missing parts count as 0 and a
/// version that does not parse is not called old.
pub fn version_older_than(version: &str, minimum: &str) -> bool {
    let parse = |text: &str| -> Option<Vec<u64>> {
        text.trim().split('.').map(|p| p.parse().ok()).collect()
    };
    let (Some(mut have), Some(mut need)) = (parse(version), parse(minimum)) else {
        return false;
    };
    let len = have.len().max(need.len());
    have.resize(len, 0);
    need.resize(len, 0);
    have < need
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {

    use super::*;
    use crate::aws::types::InstanceId;

    fn online() -> Instance {
        Instance {
            id: InstanceId::from_aws("i-0123456789abcdef0"),
            name: Some("web-1".into()),
            tags: [("Env", "dev")].into_iter().collect(),
            state: InstanceState::Running,
            ping_status: PingStatus::Online,
            agent_version: Some("3.3.987.0".into()),
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

    fn cause(instance: &Instance, status: Option<bool>, scope: &AccessScope) -> Cause {
        diagnose(instance, status, scope).cause
    }

    #[test]
    fn a_healthy_instance_is_ready() {
        let d = diagnose(&online(), Some(true), &AccessScope::default());
        assert!(d.can_connect());
        assert_eq!(d.fix, None);
        assert_eq!(
            cause(&online(), None, &AccessScope::default()),
            Cause::Ready
        );
    }

    #[test]
    fn machine_state_comes_before_the_agent() {
        let none = AccessScope::default();
        let mut i = online();
        i.state = InstanceState::Stopped;
        i.ping_status = PingStatus::ConnectionLost;
        assert_eq!(cause(&i, None, &none), Cause::Stopped);
        i.state = InstanceState::Pending;
        assert_eq!(
            cause(&i, None, &none),
            Cause::NotRunning {
                state: "pending".into()
            }
        );
        i.state = InstanceState::Terminated;
        assert_eq!(cause(&i, None, &none), Cause::Terminated);
    }

    #[test]
    fn agent_problems_are_named() {
        let none = AccessScope::default();
        let mut i = online();
        i.ping_status = PingStatus::NotManaged;
        assert_eq!(cause(&i, None, &none), Cause::NotManaged);
        i.ping_status = PingStatus::Inactive;
        assert_eq!(
            cause(&i, None, &none),
            Cause::AgentOffline {
                ping_status: PingStatus::Inactive
            }
        );
        i.ping_status = PingStatus::Online;
        i.agent_version = Some("2.3.9.0".into());
        let d = diagnose(&i, Some(true), &none);
        assert_eq!(
            d.cause,
            Cause::AgentTooOld {
                version: "2.3.9.0".into()
            }
        );
        assert!(d.summary.contains("2.3.68.0"), "{}", d.summary);
        assert!(d.warnings.is_empty());
        i.agent_version = Some("2.3.1319.0".into());
        let d = diagnose(&i, Some(true), &none);
        assert!(d.can_connect());
        assert!(d.warnings[0].contains("outdated"), "{:?}", d.warnings);
        assert!(diagnose(&online(), None, &none).warnings.is_empty());
    }

    #[test]
    fn online_but_not_connected_is_its_own_cause() {
        assert_eq!(
            cause(&online(), Some(false), &AccessScope::default()),
            Cause::NotConnected
        );
    }

    #[test]
    fn access_problems_come_first() {
        let scope = AccessScope {
            required_tags: vec![("Env".into(), "prod".into())],
            ..AccessScope::default()
        };
        assert_eq!(
            cause(&online(), Some(true), &scope),
            Cause::OutsideScope {
                key: "Env".into(),
                wanted: "prod".into()
            }
        );
        let in_scope = AccessScope {
            required_tags: vec![("Env".into(), "dev".into())],
            ..AccessScope::default()
        };
        assert_eq!(cause(&online(), Some(true), &in_scope), Cause::Ready);
        let expired = AccessScope {
            access_expired: true,
            ..AccessScope::default()
        };
        assert_eq!(cause(&online(), Some(true), &expired), Cause::AccessExpired);
    }

    #[test]
    fn every_cause_is_listed_not_only_the_first() {
        let scope = AccessScope {
            required_tags: vec![("Env".into(), "prod".into())],
            ..AccessScope::default()
        };
        let mut i = online();
        i.state = InstanceState::Stopped;
        i.ping_status = PingStatus::ConnectionLost;
        i.agent_version = Some("2.3.9.0".into());
        let d = diagnose(&i, None, &scope);
        let causes: Vec<&Cause> = d.causes().collect();
        assert_eq!(
            causes,
            [
                &Cause::OutsideScope {
                    key: "Env".into(),
                    wanted: "prod".into()
                },
                &Cause::Stopped,
                &Cause::AgentTooOld {
                    version: "2.3.9.0".into()
                },
            ],
            "a stopped machine's agent is not called offline as well"
        );
        assert_eq!(d.reach(), "✗ out of scope, stopped, agent too old");
        assert_eq!(d.reach_brief(), "✗ out of scope +2");
        assert!(
            d.summary.contains("Outside your tag scope"),
            "{}",
            d.summary
        );
        assert!(d.summary.contains("stopped"), "{}", d.summary);
        assert!(d.summary.contains("too old"), "{}", d.summary);
        assert_eq!(
            diagnose(&online(), Some(true), &AccessScope::default()).reach(),
            "✓"
        );
    }

    #[test]
    fn not_connected_only_when_nothing_else_explains_it() {
        let mut i = online();
        i.ping_status = PingStatus::Inactive;
        let d = diagnose(&i, Some(false), &AccessScope::default());
        assert_eq!(d.reasons(), "agent offline");
    }

    #[test]
    fn advice_fits_the_role_and_commands_paste_as_they_are() {
        let mut i = online();
        i.state = InstanceState::Stopped;
        let admin = diagnose(&i, None, &AccessScope::default());
        let fix = admin.fix.unwrap();
        assert!(
            fix.contains(
                "`aws ec2 start-instances --region us-east-1 --instance-ids i-0123456789abcdef0`"
            ),
            "{fix}"
        );
        assert!(fix.starts_with("Start it"), "{fix}");
        let engineer = AccessScope {
            required_tags: vec![("Env".into(), "prod".into())],
            limited: true,
            ..AccessScope::default()
        };
        let fix = diagnose(&i, None, &engineer).fix.unwrap();
        assert!(
            fix.contains("Ask its owner or an administrator to start it"),
            "{fix}"
        );
        assert!(
            !fix.to_lowercase().contains("tag the instance"),
            "an engineer is not told to retag: {fix}"
        );
        let mut old = online();
        old.agent_version = Some("2.3.9.0".into());
        let fix = diagnose(&old, None, &AccessScope::default()).fix.unwrap();
        assert!(
            fix.contains("`aws ssm send-command --region us-east-1 --document-name AWS-UpdateSSMAgent --instance-ids i-0123456789abcdef0`"),
            "{fix}"
        );
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_older_than("2.3.9.0", "2.3.68.0"));
        assert!(version_older_than("2.3", "2.3.68.0"));
        assert!(!version_older_than("2.3.68.0", "2.3.68.0"));
        assert!(!version_older_than("3.0.0.0", "2.3.68.0"));
        assert!(!version_older_than("weird", "2.3.68.0"));
    }
}
