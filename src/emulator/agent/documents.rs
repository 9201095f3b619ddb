//! Which process a session document asks for (protocol.md §6.1, §6.2, §8).

use std::collections::BTreeMap;

use super::process::Program;

pub const RUN_SHELL: &str = "SSM-SessionManagerRunShell";
pub const INTERACTIVE_COMMAND: &str = "AWS-StartInteractiveCommand";
pub const NON_INTERACTIVE_COMMAND: &str = "AWS-StartNonInteractiveCommand";

/// What the agent does for a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPlan {
    pub program: Program,
    /// NonInteractiveCommands always handshakes (§4.1); shells never do here (no KMS).
    pub handshake_session_type: Option<&'static str>,
}

/// Maps a StartSession document and its parameters to a plan, or a reason to refuse that is
/// sent to the client as the channel_closed Output.
pub fn plan_for(
    document_name: &str,
    parameters: &BTreeMap<String, Vec<String>>,
    shell_path: &str,
) -> Result<SessionPlan, String> {
    match document_name {
        "" | RUN_SHELL => Ok(SessionPlan {
            program: Program::Shell {
                path: shell_path.to_string(),
            },
            handshake_session_type: None,
        }),
        INTERACTIVE_COMMAND => Ok(SessionPlan {
            program: Program::PtyCommand {
                command: command_parameter(document_name, parameters)?,
            },
            handshake_session_type: None,
        }),
        NON_INTERACTIVE_COMMAND => Ok(SessionPlan {
            program: Program::PipedCommand {
                command: command_parameter(document_name, parameters)?,
            },
            handshake_session_type: Some("NonInteractiveCommands"),
        }),
        name if name.contains("PortForwarding") || name == "AWS-StartSSHSession" => Err(format!(
            "The gangway emulator does not support port forwarding yet (document {name})."
        )),
        name => Err(format!(
            "The gangway emulator does not know the session document {name}."
        )),
    }
}

/// The `command` parameter; several values are joined by newlines as the agent does.
fn command_parameter(
    document_name: &str,
    parameters: &BTreeMap<String, Vec<String>>,
) -> Result<String, String> {
    parameters
        .get("command")
        .filter(|values| values.iter().any(|value| !value.trim().is_empty()))
        .map(|values| values.join("\n"))
        .ok_or_else(|| format!("{document_name} needs a non-empty `command` parameter."))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn params(command: &str) -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([("command".to_string(), vec![command.to_string()])])
    }

    #[test]
    fn shell_is_the_default() {
        let plan = plan_for("", &BTreeMap::new(), "/bin/bash").unwrap();
        assert_eq!(
            plan.program,
            Program::Shell {
                path: "/bin/bash".into()
            }
        );
        assert_eq!(plan.handshake_session_type, None);
    }

    #[test]
    fn commands_need_their_parameter() {
        let plan = plan_for(NON_INTERACTIVE_COMMAND, &params("date"), "/bin/sh").unwrap();
        assert_eq!(plan.handshake_session_type, Some("NonInteractiveCommands"));
        assert!(plan_for(INTERACTIVE_COMMAND, &BTreeMap::new(), "/bin/sh").is_err());
        assert!(plan_for(INTERACTIVE_COMMAND, &params("  "), "/bin/sh").is_err());
    }

    #[test]
    fn port_forwarding_is_refused_with_a_reason() {
        let err = plan_for(
            "AWS-StartPortForwardingSession",
            &BTreeMap::new(),
            "/bin/sh",
        );
        assert!(err.unwrap_err().contains("port forwarding"));
    }
}
