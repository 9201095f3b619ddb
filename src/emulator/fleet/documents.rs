//! Session documents other than the preferences (protocol.md §8): AWS's own command documents
//! and the custom ones a fleet file defines under `[[documents]]`. Each is kept as the JSON
//! content SSM would store (GetDocument returns it; the agent reads its `properties`), so a
//! custom document is written exactly as one would write it for `CreateDocument`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

pub const INTERACTIVE_COMMAND: &str = "AWS-StartInteractiveCommand";
pub const NON_INTERACTIVE_COMMAND: &str = "AWS-StartNonInteractiveCommand";

/// The session types a command document may have here. Port documents are refused: the
/// emulator's agent does not forward ports.
pub const COMMAND_SESSION_TYPES: [&str; 2] = ["InteractiveCommands", "NonInteractiveCommands"];

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
        assert!(port.contains("`sessionType`"), "{port}");
        let no_linux = error(document("w-only", "InteractiveCommands", ".windows"));
        assert!(no_linux.contains("`properties`"), "{no_linux}");
        let twice = document("twice", "InteractiveCommands", ".linux").repeat(2);
        assert!(error(twice).contains("duplicate"));
    }
}
