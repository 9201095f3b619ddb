//! Which instances a Run Command goes to, which cannot take it and why, and which document
//! fits them: shared by `gangway run` and the TUI so both decide alike.

use crate::aws::commands::{POWERSHELL_SCRIPT_DOCUMENT, SHELL_SCRIPT_DOCUMENT};
use crate::aws::{AccessScope, Cause, Instance, diagnose};

/// The instances a run was asked for, split.
#[derive(Debug, Default)]
pub struct Selection {
    pub runnable: Vec<Instance>,
    /// Instances that cannot run it, with the reason (one line, escaped).
    pub skipped: Vec<(Instance, String)>,
}

/// Run Command needs what a session needs, a running instance whose agent is online, except
/// a recent agent: any agent runs AWS-RunShellScript.
pub fn classify(instances: Vec<Instance>) -> Selection {
    let mut selection = Selection::default();
    for instance in instances {
        let diagnosis = diagnose(&instance, None, &AccessScope::default());
        match diagnosis.cause {
            Cause::Ready | Cause::AgentTooOld { .. } => selection.runnable.push(instance),
            _ => selection.skipped.push((instance, diagnosis.line())),
        }
    }
    selection
}

/// The document to send: the one given, else the shell document for the platform, and a
/// refusal when Windows and other instances are mixed.
pub fn document(given: Option<&str>, runnable: &[Instance]) -> Result<String, String> {
    if let Some(name) = given {
        return Ok(name.to_owned());
    }
    let windows = runnable
        .iter()
        .filter(|i| i.platform.as_deref() == Some("Windows"))
        .count();
    match windows {
        0 => Ok(SHELL_SCRIPT_DOCUMENT.to_owned()),
        n if n == runnable.len() => Ok(POWERSHELL_SCRIPT_DOCUMENT.to_owned()),
        n => Err(format!(
            "{n} of the {} instances are Windows and the rest are not: one script cannot run on both; select them apart (--tag) or give --document",
            runnable.len()
        )),
    }
}

/// The instance as a person names it: `Name (id)`, or the id.
pub fn label(instance: &Instance) -> String {
    match &instance.name {
        Some(name) => format!(
            "{} ({})",
            crate::text::escape_and_fit(name, 40),
            instance.id
        ),
        None => instance.id.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::aws::{InstanceId, InstanceState, PingStatus};

    fn instance(id: &str, platform: &str, state: InstanceState, ping: PingStatus) -> Instance {
        Instance {
            id: InstanceId::from_aws(id),
            name: Some(format!("host-{id}").into()),
            tags: Default::default(),
            state,
            ping_status: ping,
            agent_version: Some("3.3.1142.0".into()),
            platform: Some(platform.into()),
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

    #[test]
    fn stopped_and_offline_instances_are_skipped_with_a_reason() {
        let selection = classify(vec![
            instance("i-1", "Linux", InstanceState::Running, PingStatus::Online),
            instance(
                "i-2",
                "Linux",
                InstanceState::Stopped,
                PingStatus::ConnectionLost,
            ),
            instance(
                "i-3",
                "Linux",
                InstanceState::Running,
                PingStatus::NotManaged,
            ),
        ]);
        assert_eq!(selection.runnable.len(), 1);
        assert_eq!(selection.skipped.len(), 2);
        assert!(
            selection.skipped[0].1.contains("stopped"),
            "{}",
            selection.skipped[0].1
        );
    }

    #[test]
    fn the_document_follows_the_platform_and_mixed_ones_are_refused() {
        let linux = instance("i-1", "Linux", InstanceState::Running, PingStatus::Online);
        let windows = instance("i-2", "Windows", InstanceState::Running, PingStatus::Online);
        assert_eq!(
            document(None, std::slice::from_ref(&linux)).unwrap(),
            SHELL_SCRIPT_DOCUMENT
        );
        assert_eq!(
            document(None, std::slice::from_ref(&windows)).unwrap(),
            POWERSHELL_SCRIPT_DOCUMENT
        );
        assert!(document(None, &[linux.clone(), windows]).is_err());
        assert_eq!(document(Some("X"), &[linux]).unwrap(), "X");
    }
}
