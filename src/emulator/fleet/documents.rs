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

/// AWS's own command documents, with the properties AWS gives them: `command` goes into
/// `commands`, and AWS-StartNonInteractiveCommand sets no `separateOutputStream`, so its
/// output is merged and it sends no exit code (§6.2.1).
pub fn aws_command_documents() -> Vec<SessionDocument> {
    [
        (INTERACTIVE_COMMAND, "InteractiveCommands"),
        (NON_INTERACTIVE_COMMAND, "NonInteractiveCommands"),
    ]
    .into_iter()
    .map(|(name, session_type)| {
        let properties = json!({ "commands": "{{ command }}", "runAsElevated": false });
        SessionDocument {
            name: name.to_owned(),
            content: json!({
                "schemaVersion": "1.0",
                "description": "Document to run single interactive command on an instance",
                "sessionType": session_type,
                "parameters": {
                    "command": { "type": "String", "description": "The command to run on the instance" },
                },
                "properties": {
                    "windows": properties,
                    "linux": properties,
                    "macos": properties,
                },
            }),
        }
    })
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
}
