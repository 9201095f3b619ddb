//! "Why can't I connect?": the likely cause and the fix, in plain words, from what the fleet
//! list and GetConnectionStatus already say. Pure, so the TUI and `connect` share it.

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub cause: Cause,
    /// One sentence: what is wrong (or that all is well).
    pub summary: String,
    /// One sentence: what to do about it.
    pub fix: Option<String>,
    /// Things worth knowing that do not stop a shell (an outdated agent).
    pub warnings: Vec<String>,
}

impl Diagnosis {
    pub fn can_connect(&self) -> bool {
        self.cause == Cause::Ready
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
/// what Session Manager itself says. `connection_status` is GetConnectionStatus (`None`:
/// not asked yet); PingStatus can read Online for a while before sessions can start.
pub fn diagnose(
    instance: &Instance,
    connection_status: Option<bool>,
    scope: &AccessScope,
) -> Diagnosis {
    let cause = find_cause(instance, connection_status, scope);
    let (summary, fix) = explain(&cause);
    Diagnosis {
        cause,
        summary,
        fix,
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

fn find_cause(instance: &Instance, connection_status: Option<bool>, scope: &AccessScope) -> Cause {
    if scope.access_expired {
        return Cause::AccessExpired;
    }
    if let Some((key, wanted)) = scope
        .required_tags
        .iter()
        .find(|(key, value)| instance.tags.get(key) != Some(value))
    {
        return Cause::OutsideScope {
            key: key.clone(),
            wanted: wanted.clone(),
        };
    }
    match &instance.state {
        InstanceState::Running | InstanceState::Hybrid => {}
        InstanceState::Terminated => return Cause::Terminated,
        InstanceState::Stopped | InstanceState::Stopping => return Cause::Stopped,
        other => {
            return Cause::NotRunning {
                state: other.label().to_owned(),
            };
        }
    }
    match instance.ping_status {
        PingStatus::NotManaged => return Cause::NotManaged,
        PingStatus::ConnectionLost | PingStatus::Inactive => {
            return Cause::AgentOffline {
                ping_status: instance.ping_status,
            };
        }
        PingStatus::Online => {}
    }
    if let Some(version) = &instance.agent_version
        && version_older_than(version, MIN_SESSION_MANAGER_AGENT)
    {
        return Cause::AgentTooOld {
            version: version.clone(),
        };
    }
    if connection_status == Some(false) {
        return Cause::NotConnected;
    }
    Cause::Ready
}

fn explain(cause: &Cause) -> (String, Option<String>) {
    let (summary, fix): (String, Option<&str>) = match cause {
        Cause::Ready => ("Session Manager can open a shell here.".into(), None),
        Cause::AccessExpired => (
            "Your access has expired.".into(),
            Some("Ask an administrator to renew your access."),
        ),
        Cause::OutsideScope { key, wanted } => (
            format!("Outside your tag scope: your access needs the tag {key}={wanted}."),
            Some("Ask an administrator to widen your access, or tag the instance."),
        ),
        Cause::Terminated => (
            "The instance is terminated.".into(),
            Some("Pick another instance."),
        ),
        Cause::Stopped => (
            "The instance is stopped.".into(),
            Some("Start it (`aws ec2 start-instances`) and wait for the agent to come online."),
        ),
        Cause::NotRunning { state } => (
            format!("The instance is {state}, not running."),
            Some("Wait until it is running and try again."),
        ),
        Cause::NotManaged => (
            "The instance is not managed by Systems Manager: no SSM agent has registered.".into(),
            Some(
                "Install or start the SSM agent and give the instance profile AmazonSSMManagedInstanceCore.",
            ),
        ),
        Cause::AgentOffline { ping_status } => (
            format!("The SSM agent is offline ({}).", ping_status.label()),
            Some(
                "Check that the agent runs and can reach ssm/ssmmessages endpoints (VPC endpoints or NAT).",
            ),
        ),
        Cause::AgentTooOld { version } => (
            format!(
                "The SSM agent {version} is too old for Session Manager (needs {MIN_SESSION_MANAGER_AGENT} or later)."
            ),
            Some("Update the agent (AWS-UpdateSSMAgent)."),
        ),
        Cause::NotConnected => (
            "The agent reports Online but Session Manager cannot reach it yet.".into(),
            Some(
                "Wait a minute (a just-started agent needs time) and check the ssmmessages endpoint.",
            ),
        ),
    };
    (summary, fix.map(str::to_owned))
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
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::aws::types::InstanceId;

    fn online() -> Instance {
        Instance {
            id: InstanceId::from_aws("i-0123456789abcdef0"),
            name: Some("web-1".into()),
            tags: BTreeMap::from([("Env".to_owned(), "dev".to_owned())]),
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
            access_expired: false,
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
            access_expired: false,
        };
        assert_eq!(cause(&online(), Some(true), &in_scope), Cause::Ready);
        let expired = AccessScope {
            access_expired: true,
            ..AccessScope::default()
        };
        assert_eq!(cause(&online(), Some(true), &expired), Cause::AccessExpired);
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
