//! Which process a session document asks for, read from the document's properties as the
//! real agent reads them (protocol.md §6.1, §6.2, §6.2.1, §8).

use std::collections::BTreeMap;

use serde_json::Value;

use super::port::{PortMap, PortSpec};
use super::process::{Program, Separators};
use super::words;
use crate::emulator::fleet::documents::SessionDocument;

pub const RUN_SHELL: &str = "SSM-SessionManagerRunShell";

/// What the agent does for a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPlan {
    pub program: Program,
    /// NonInteractiveCommands always handshakes (§4.1); shells never do here (no KMS).
    pub handshake_session_type: Option<&'static str>,
    /// Only NonInteractiveCommands with separateOutputStream sends PT 12 (quirk 27).
    pub sends_exit_code: bool,
}

impl SessionPlan {
    /// The SessionType action's Properties (§4.3): a Port session's rendered document
    /// properties, `null` for the shell and command types (the agent's GetPluginParameters).
    pub fn handshake_properties(&self) -> Value {
        match &self.program {
            Program::Port(spec) => spec.properties.clone(),
            _ => Value::Null,
        }
    }
}

/// Maps a StartSession document and its parameters to a plan, or a reason to refuse that is
/// sent to the client as the channel_closed Output. `document` is the command document of
/// that name, if the account has one (fleet or CreateDocument).
pub fn plan_for(
    document_name: &str,
    parameters: &BTreeMap<String, Vec<String>>,
    shell_path: &str,
    document: Option<&SessionDocument>,
) -> Result<SessionPlan, String> {
    if document_name.is_empty() || document_name == RUN_SHELL {
        // Standard_Stream always runs with empty shell properties: a plain shell (§6.1).
        return Ok(SessionPlan {
            program: Program::Shell {
                path: shell_path.to_string(),
            },
            handshake_session_type: None,
            sends_exit_code: false,
        });
    }
    let Some(document) = document else {
        return Err(format!(
            "The gangway emulator does not know the session document {document_name}."
        ));
    };
    let properties = document.rendered_properties(parameters);
    if document.session_type() == "Port" {
        // Checked by the port plugin after the handshake, as the agent does (port.go, func
        // initializeParameters); the instance's network comes from the fleet (setup.rs).
        return Ok(SessionPlan {
            program: Program::Port(PortSpec {
                properties: string_values(properties),
                map: PortMap::default(),
            }),
            handshake_session_type: Some("Port"),
            sends_exit_code: false,
        });
    }
    let linux = &properties["linux"];
    // Empty commands fail the session (agent: singlecommand_unix.go, func validateProperties).
    let commands = linux["commands"].as_str().unwrap_or_default();
    if commands.trim().is_empty() {
        return Err(format!(
            "{document_name}: the document's commands are empty."
        ));
    }
    match document.session_type() {
        "InteractiveCommands" => Ok(SessionPlan {
            program: Program::PtyCommand {
                command: commands.to_string(),
            },
            handshake_session_type: None,
            sends_exit_code: false,
        }),
        "NonInteractiveCommands" => {
            let separate = separate_output_stream(linux)?;
            let separators = separate.then(|| separators(linux)).transpose()?;
            // No shell: the words are exec'd directly (agent: shell_unix.go, func
            // StartCommandExecutor, through google/shlex Split).
            let argv =
                words::split(commands).map_err(|err| format!("Unable to start command: {err}"))?;
            if argv.is_empty() {
                return Err(format!(
                    "{document_name}: the document's commands are empty."
                ));
            }
            Ok(SessionPlan {
                program: Program::Exec { argv, separators },
                handshake_session_type: Some("NonInteractiveCommands"),
                sends_exit_code: separate,
            })
        }
        other => Err(format!(
            "The gangway emulator cannot run {other} sessions (document {document_name})."
        )),
    }
}

/// The properties as the agent hands them over: every value a string (§4.3; a number in a
/// custom document becomes its decimal text).
fn string_values(properties: Value) -> Value {
    match properties {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let text = match value {
                        Value::String(text) => Value::String(text),
                        Value::Object(_) | Value::Array(_) => value,
                        other => Value::String(other.to_string()),
                    };
                    (key, text)
                })
                .collect(),
        ),
        other => other,
    }
}

/// `separateOutputStream`: a bool or a string parsed as one; missing or "" is false, anything
/// else fails the session (agent: constants_unix.go, func GetSeparateOutputStream;
/// parameters.go, func ConvertToBool, which uses Go's strconv.ParseBool).
fn separate_output_stream(linux: &Value) -> Result<bool, String> {
    match &linux["separateOutputStream"] {
        Value::Null => Ok(false),
        Value::Bool(value) => Ok(*value),
        Value::String(text) => match text.as_str() {
            "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            other => Err(format!(
                "Failed to get separateOutputStream property: {other:?} is not a boolean."
            )),
        },
        other => Err(format!(
            "Failed to get separateOutputStream property: {other} is not a boolean."
        )),
    }
}

/// The stdout/stderr prefixes, checked against `^[0-9a-zA-Z\r\n_:-]{0,30}$` (agent: shell.go,
/// func setSeparateOutputStreamProperties).
fn separators(linux: &Value) -> Result<Separators, String> {
    let prefix = |key: &str| -> Result<String, String> {
        let text = linux[key].as_str().unwrap_or_default();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "\r\n_:-".contains(c);
        if text.chars().count() > 30 || !text.chars().all(allowed) {
            return Err(format!("Invalid {key}: {text:?}"));
        }
        Ok(text.to_string())
    };
    Ok(Separators {
        stdout_prefix: prefix("stdOutSeparatorPrefix")?,
        stderr_prefix: prefix("stdErrSeparatorPrefix")?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::emulator::fleet::Fleet;

    /// `plan_for` with the document looked up in `fleet`, as the session setup does.
    fn plan_in(
        name: &str,
        parameters: &BTreeMap<String, Vec<String>>,
        shell: &str,
        fleet: &Fleet,
    ) -> Result<SessionPlan, String> {
        plan_for(name, parameters, shell, fleet.session_document(name))
    }

    fn params(command: &str) -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([("command".to_string(), vec![command.to_string()])])
    }

    fn fleet_with(properties: &str) -> Fleet {
        let text = format!(
            "[[documents]]\nname = \"gangway-exec\"\nsessionType = \"NonInteractiveCommands\"\n\
             [documents.parameters.command]\ntype = \"String\"\n\
             [documents.properties.linux]\ncommands = \"{{{{ command }}}}\"\n{properties}\n"
        );
        Fleet::from_toml(&text, "inline").unwrap()
    }

    #[test]
    fn shell_is_the_default() {
        let plan = plan_in("", &BTreeMap::new(), "/bin/bash", &Fleet::generated(0)).unwrap();
        assert_eq!(
            plan.program,
            Program::Shell {
                path: "/bin/bash".into()
            }
        );
        assert_eq!(plan.handshake_session_type, None);
        assert!(!plan.sends_exit_code);
    }

    #[test]
    fn aws_non_interactive_command_is_split_and_merged_without_exit_code() {
        let fleet = Fleet::generated(0);
        let plan = plan_in(
            "AWS-StartNonInteractiveCommand",
            &params("sh -c 'exit 3'"),
            "/bin/sh",
            &fleet,
        )
        .unwrap();
        assert_eq!(plan.handshake_session_type, Some("NonInteractiveCommands"));
        assert!(!plan.sends_exit_code);
        assert_eq!(
            plan.program,
            Program::Exec {
                argv: vec!["sh".into(), "-c".into(), "exit 3".into()],
                separators: None
            }
        );
        let interactive = "AWS-StartInteractiveCommand";
        // (A missing parameter never gets here: StartSession refuses it.)
        assert!(plan_in(interactive, &params("  "), "/bin/sh", &fleet).is_err());
    }

    #[test]
    fn separate_output_stream_comes_from_the_document_properties() {
        let fleet = fleet_with("separateOutputStream = \"true\"\nstdErrSeparatorPrefix = \"E:\"");
        let plan = plan_in("gangway-exec", &params("date"), "/bin/sh", &fleet).unwrap();
        assert!(plan.sends_exit_code);
        let Program::Exec { separators, .. } = plan.program else {
            panic!("not exec");
        };
        assert_eq!(separators.unwrap().stderr_prefix, "E:");
        let bad = fleet_with("separateOutputStream = \"yes\"");
        let err = plan_in("gangway-exec", &params("date"), "/bin/sh", &bad).unwrap_err();
        assert!(err.contains("separateOutputStream"), "{err}");
        let bad = fleet_with("separateOutputStream = true\nstdOutSeparatorPrefix = \"a b\"");
        assert!(plan_in("gangway-exec", &params("date"), "/bin/sh", &bad).is_err());
    }

    #[test]
    fn port_documents_hand_their_rendered_properties_to_the_handshake() {
        let fleet = Fleet::generated(0);
        let given = BTreeMap::from([("portNumber".to_string(), vec!["8080".to_string()])]);
        let plan = plan_in("AWS-StartPortForwardingSession", &given, "/bin/sh", &fleet).unwrap();
        assert_eq!(plan.handshake_session_type, Some("Port"));
        assert_eq!(
            plan.handshake_properties(),
            serde_json::json!({"portNumber": "8080", "type": "LocalPortForwarding", "localPortNumber": "0"})
        );
        let ssh = plan_in("AWS-StartSSHSession", &BTreeMap::new(), "/bin/sh", &fleet).unwrap();
        assert_eq!(
            ssh.handshake_properties(),
            serde_json::json!({"portNumber": "22"})
        );
    }
}
