//! Session documents other than the preferences (protocol.md §8): AWS's own command documents
//! and the custom ones a fleet file defines under `[[documents]]`. Each is kept as the JSON
//! content SSM would store (GetDocument returns it; the agent reads its `properties`), so a
//! custom document is written exactly as one would write it for `CreateDocument`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub const INTERACTIVE_COMMAND: &str = "AWS-StartInteractiveCommand";
pub const NON_INTERACTIVE_COMMAND: &str = "AWS-StartNonInteractiveCommand";

/// The session types a fleet file's or CreateDocument's document may have (Standard_Stream
/// documents hold preferences, which the fleet's `[preferences]` give).
pub const CUSTOM_SESSION_TYPES: [&str; 3] =
    ["InteractiveCommands", "NonInteractiveCommands", "Port"];

/// What the agent needs in a custom document's `properties`, or why it cannot run it: a
/// command document needs a `linux` object (the emulator's agent runs the Linux commands),
/// a Port document a `portNumber` (agent: plugins/port/port.go, func validateParameters).
pub fn check_custom_document(session_type: &str, properties: &Value) -> Result<(), &'static str> {
    if !CUSTOM_SESSION_TYPES.contains(&session_type) {
        return Err(
            "sessionType must be InteractiveCommands, NonInteractiveCommands or Port (Standard_Stream documents hold preferences)",
        );
    }
    if session_type == "Port" {
        if !properties["portNumber"].is_string() {
            return Err("a Port document's properties need a `portNumber` string");
        }
    } else if !properties["linux"].is_object() {
        return Err("properties need a `linux` table (commands, separateOutputStream, …)");
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionDocument {
    pub name: String,
    /// `schemaVersion`, `sessionType`, `parameters`, `properties`, as in the SSM document.
    pub content: Value,
}

impl SessionDocument {
    pub fn session_type(&self) -> &str {
        self.content["sessionType"].as_str().unwrap_or_default()
    }

    /// Declared parameters and whether each must be given (it has no `default`).
    pub fn parameters(&self) -> BTreeMap<String, bool> {
        self.content["parameters"]
            .as_object()
            .map(|parameters| {
                parameters
                    .iter()
                    .map(|(name, spec)| (name.clone(), spec.get("default").is_none()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `properties` with every `{{ name }}` replaced by the parameter's value (several
    /// values joined by newlines) or its default, as the service does before the agent
    /// sees the document.
    pub fn rendered_properties(&self, parameters: &BTreeMap<String, Vec<String>>) -> Value {
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        if let Some(declared) = self.content["parameters"].as_object() {
            for (name, spec) in declared {
                if let Some(default) = spec.get("default") {
                    let text = default
                        .as_str()
                        .map_or_else(|| default.to_string(), str::to_owned);
                    values.insert(name.clone(), text);
                }
            }
        }
        for (name, given) in parameters {
            values.insert(name.clone(), given.join("\n"));
        }
        render(&self.content["properties"], &values)
    }
}

fn render(value: &Value, parameters: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(text) => Value::String(render_text(text, parameters)),
        Value::Array(items) => Value::Array(items.iter().map(|v| render(v, parameters)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| (key.clone(), render(v, parameters)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn render_text(text: &str, parameters: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(length) = rest[start..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + length].trim();
        out.push_str(&rest[..start]);
        match parameters.get(name) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + length + 2]),
        }
        rest = &rest[start + length + 2..];
    }
    out.push_str(rest);
    out
}

/// AWS's own command documents, as far as their bodies are known (protocol.md §8): `command`
/// goes into `commands`. AWS-StartNonInteractiveCommand also takes an optional
/// `separateOutputStream` parameter; without it the output is merged and no exit code is sent
/// (§6.2.1). That parameter is attested by users passing `separateOutputStream=true` to it and
/// getting `EXIT_CODE:` back (aws/session-manager-plugin issue 59); its default of false is
/// what a session without it shows. The prefix parameters are not attested and left out.
pub fn aws_command_documents() -> Vec<SessionDocument> {
    let command = json!({ "type": "String", "description": "The command to run on the instance" });
    let interactive = json!({ "commands": "{{ command }}", "runAsElevated": false });
    let non_interactive = json!({
        "commands": "{{ command }}",
        "runAsElevated": false,
        "separateOutputStream": "{{ separateOutputStream }}",
    });
    [
        (
            INTERACTIVE_COMMAND,
            "InteractiveCommands",
            json!({ "command": command }),
            interactive,
        ),
        (
            NON_INTERACTIVE_COMMAND,
            "NonInteractiveCommands",
            json!({
                "command": command,
                "separateOutputStream": {
                    "type": "String",
                    "description": "Send stderr apart and the exit code at the end",
                    "allowedValues": ["true", "false"],
                    "default": "false",
                },
            }),
            non_interactive,
        ),
    ]
    .into_iter()
    .map(
        |(name, session_type, parameters, properties)| SessionDocument {
            name: name.to_owned(),
            content: json!({
                "schemaVersion": "1.0",
                "description": "Document to run a single command on an instance",
                "sessionType": session_type,
                "parameters": parameters,
                "properties": {
                    "windows": properties,
                    "linux": properties,
                    "macos": properties,
                },
            }),
        },
    )
    .collect()
}

/// Every AWS-owned session document the emulator has: the command ones and the port ones.
pub fn aws_documents() -> Vec<SessionDocument> {
    let mut documents = aws_command_documents();
    documents.extend(aws_port_documents());
    documents
}

pub const PORT_FORWARDING: &str = "AWS-StartPortForwardingSession";
pub const PORT_FORWARDING_TO_REMOTE_HOST: &str = "AWS-StartPortForwardingSessionToRemoteHost";
pub const PORT_FORWARDING_TO_SOCKET: &str = "AWS-StartPortForwardingSessionToSocket";
pub const SSH: &str = "AWS-StartSSHSession";

/// A TCP port, 1-65535, as AWS's port documents constrain `portNumber`.
const PORT_PATTERN: &str = "^([1-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$";
/// The same with 0 allowed: `localPortNumber` 0 lets the client pick a free port.
const LOCAL_PORT_PATTERN: &str = "^([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$";

/// AWS's port documents (sessionType Port, protocol.md §6.3, §8). Parameters, defaults,
/// descriptions and patterns of AWS-StartPortForwardingSession and AWS-StartSSHSession are
/// those `aws ssm get-document` shows (quoted in public copies of the documents); the
/// properties are what the agent and the plugin read (§4.3: `portNumber`, `type`,
/// `localPortNumber`, `host`, `localUnixSocket`, `localConnectionType`). The `host` and
/// `localUnixSocket` parameters are recalled, not checked against AWS: they have no
/// allowedPattern here. AWS-StartPortForwardingSessionToSocket exists (AWS lists it among
/// the documents for macOS instances): the client listens on a local unix socket, the agent
/// still dials a TCP port.
pub fn aws_port_documents() -> Vec<SessionDocument> {
    let port_number = |default: &str, description: &str| {
        json!({
            "type": "String",
            "description": description,
            "allowedPattern": PORT_PATTERN,
            "default": default,
        })
    };
    let local_port_number = json!({
        "type": "String",
        "description": "(Optional) Port number on local machine to forward traffic to. An open port is chosen at run-time if not provided",
        "allowedPattern": LOCAL_PORT_PATTERN,
        "default": "0",
    });
    let server_port = "(Optional) Port number of the server on the instance";
    let document =
        |name: &str, description: &str, parameters: Value, properties: Value| SessionDocument {
            name: name.to_owned(),
            content: json!({
                "schemaVersion": "1.0",
                "description": description,
                "sessionType": "Port",
                "parameters": parameters,
                "properties": properties,
            }),
        };
    vec![
        document(
            PORT_FORWARDING,
            "Document to start port forwarding session over Session Manager",
            json!({
                "portNumber": port_number("80", server_port),
                "localPortNumber": local_port_number,
            }),
            json!({
                "portNumber": "{{ portNumber }}",
                "type": "LocalPortForwarding",
                "localPortNumber": "{{ localPortNumber }}",
            }),
        ),
        document(
            PORT_FORWARDING_TO_REMOTE_HOST,
            "Document to start port forwarding session over Session Manager to a remote host",
            json!({
                "host": {
                    "type": "String",
                    "description": "(Required) The IP address or DNS name of the remote host server",
                },
                "portNumber": port_number("80", "(Optional) Port number of the server on the remote host"),
                "localPortNumber": local_port_number,
            }),
            json!({
                "host": "{{ host }}",
                "portNumber": "{{ portNumber }}",
                "type": "LocalPortForwarding",
                "localPortNumber": "{{ localPortNumber }}",
            }),
        ),
        document(
            PORT_FORWARDING_TO_SOCKET,
            "Document to start port forwarding session over Session Manager to a local unix socket",
            json!({
                "portNumber": port_number("80", server_port),
                "localUnixSocket": {
                    "type": "String",
                    "description": "(Required) Path of the unix socket on the local machine to forward traffic from",
                },
            }),
            json!({
                "portNumber": "{{ portNumber }}",
                "type": "LocalPortForwarding",
                "localUnixSocket": "{{ localUnixSocket }}",
                "localConnectionType": "unix",
            }),
        ),
        document(
            SSH,
            "Document to start SSH session over Session Manager",
            json!({
                "portNumber": port_number("22", "(Optional) Port number of SSH server on the instance"),
            }),
            // No `type`: the client forwards stdin/stdout, the agent runs a basic session
            // that ends when the server closes the connection (§6.3).
            json!({ "portNumber": "{{ portNumber }}" }),
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parameters_fill_the_properties_template() {
        let document = SessionDocument {
            name: "x".into(),
            content: json!({
                "sessionType": "NonInteractiveCommands",
                "parameters": { "command": {}, "flag": { "default": "-n" } },
                "properties": { "linux": { "commands": "{{ command }} {{flag}} {{ other }}" } },
            }),
        };
        let given = BTreeMap::from([("command".to_string(), vec!["echo".to_string()])]);
        let rendered = document.rendered_properties(&given);
        assert_eq!(rendered["linux"]["commands"], "echo -n {{ other }}");
        assert_eq!(
            document.parameters(),
            BTreeMap::from([("command".into(), true), ("flag".into(), false)])
        );
    }

    fn document(name: &str, session_type: &str, properties: &str) -> String {
        format!(
            "[[documents]]\nname = \"{name}\"\nsessionType = \"{session_type}\"\n\
             [documents.parameters.command]\ntype = \"String\"\n\
             [documents.properties{properties}]\ncommands = \"{{{{ command }}}}\"\n"
        )
    }

    #[test]
    fn fleet_files_define_documents_and_name_what_is_wrong() {
        use crate::emulator::fleet::Fleet;
        let fleet = Fleet::from_toml(
            &document("gangway-exec", "NonInteractiveCommands", ".linux"),
            "inline",
        )
        .unwrap();
        let exec = fleet.session_document("gangway-exec").unwrap();
        assert_eq!(exec.session_type(), "NonInteractiveCommands");
        assert!(fleet.session_document(NON_INTERACTIVE_COMMAND).is_some());
        let error = |text: String| Fleet::from_toml(&text, "inline").unwrap_err().to_string();
        let reserved = error(document("AWS-Mine", "NonInteractiveCommands", ".linux"));
        assert!(
            reserved.contains("`name`") && reserved.contains("AWS-"),
            "{reserved}"
        );
        let port = error(document("fwd", "Port", ".linux"));
        assert!(port.contains("portNumber"), "{port}");
        let shell = error(document("shell", "Standard_Stream", ".linux"));
        assert!(shell.contains("`sessionType`"), "{shell}");
        let no_linux = error(document("w-only", "InteractiveCommands", ".windows"));
        assert!(no_linux.contains("`properties`"), "{no_linux}");
        let twice = document("twice", "InteractiveCommands", ".linux").repeat(2);
        assert!(error(twice).contains("duplicate"));
    }
}
