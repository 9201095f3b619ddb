//! Handshake payloads (§4.3–§4.5).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{from_json, to_json};
use crate::proto::error::DecodeError;

/// HandshakeRequest (PT 5, agent → client, §4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandshakeRequest {
    #[serde(rename = "AgentVersion", default)]
    pub agent_version: String,
    #[serde(
        rename = "RequestedClientActions",
        default,
        deserialize_with = "null_as_empty"
    )]
    pub requested_client_actions: Vec<RequestedClientAction>,
}

/// One requested action; `action_parameters` stays generic JSON because its shape depends on
/// the action type (SessionType vs KMSEncryption).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestedClientAction {
    #[serde(rename = "ActionType", default)]
    pub action_type: String,
    #[serde(rename = "ActionParameters", default)]
    pub action_parameters: Value,
}

impl RequestedClientAction {
    pub const SESSION_TYPE: &'static str = "SessionType";
    pub const KMS_ENCRYPTION: &'static str = "KMSEncryption";

    /// A SessionType action (§4.3) with its Properties object (null for shell types).
    pub fn session_type(session_type: &str, properties: Value) -> Self {
        Self {
            action_type: Self::SESSION_TYPE.to_owned(),
            action_parameters: serde_json::json!({
                "SessionType": session_type,
                "Properties": properties,
            }),
        }
    }

    /// `ActionParameters.SessionType` of a SessionType action.
    pub fn requested_session_type(&self) -> Option<&str> {
        self.action_parameters.get("SessionType")?.as_str()
    }

    /// `ActionParameters.Properties` of a SessionType action (null for shells).
    pub fn properties(&self) -> Option<&Value> {
        self.action_parameters.get("Properties")
    }
}

/// ActionStatus of a processed action (§4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    Success,
    Failed,
    Unsupported,
}

impl ActionStatus {
    pub fn as_u32(self) -> u32 {
        match self {
            Self::Success => 1,
            Self::Failed => 2,
            Self::Unsupported => 3,
        }
    }
}

/// HandshakeResponse (PT 6, client → agent, §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandshakeResponse {
    #[serde(rename = "ClientVersion", default)]
    pub client_version: String,
    #[serde(
        rename = "ProcessedClientActions",
        default,
        deserialize_with = "null_as_empty"
    )]
    pub processed_client_actions: Vec<ProcessedClientAction>,
    /// Go writes a nil slice as `null` (§3), so `None` means "no errors".
    #[serde(rename = "Errors", default)]
    pub errors: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessedClientAction {
    #[serde(rename = "ActionType", default)]
    pub action_type: String,
    /// 1 Success, 2 Failed, 3 Unsupported (see [`ActionStatus`]); kept numeric because the
    /// reference plugin writes other values too (§4.4 quirk).
    #[serde(rename = "ActionStatus", default)]
    pub action_status: u32,
    #[serde(rename = "ActionResult", default)]
    pub action_result: Value,
    #[serde(rename = "Error", default)]
    pub error: String,
}

impl HandshakeResponse {
    /// The agent fails the session unless every action succeeded (§4.4).
    pub fn all_succeeded(&self) -> bool {
        self.processed_client_actions
            .iter()
            .all(|action| action.action_status == ActionStatus::Success.as_u32())
    }
}

/// HandshakeComplete (PT 7, agent → client, §4.5). The duration is in nanoseconds (quirk 21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakeComplete {
    #[serde(rename = "HandshakeTimeToComplete", default)]
    pub handshake_time_to_complete: u64,
    #[serde(rename = "CustomerMessage", default)]
    pub customer_message: String,
}

macro_rules! json_payload {
    ($type:ty, $field:literal) => {
        impl $type {
            pub fn to_json(&self) -> Vec<u8> {
                to_json(self)
            }

            pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
                from_json($field, bytes)
            }
        }
    };
}

json_payload!(HandshakeRequest, "handshake request");
json_payload!(HandshakeResponse, "handshake response");
json_payload!(HandshakeComplete, "handshake complete");

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn response_matches_the_reference_bytes() {
        let response = HandshakeResponse {
            client_version: "1.2.677.0".into(),
            processed_client_actions: vec![ProcessedClientAction {
                action_type: "SessionType".into(),
                action_status: 1,
                action_result: Value::Null,
                error: String::new(),
            }],
            errors: None,
        };
        let expected = r#"{"ClientVersion":"1.2.677.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}"#;
        assert_eq!(String::from_utf8(response.to_json()).unwrap(), expected);
        assert_eq!(
            HandshakeResponse::from_json(expected.as_bytes()).unwrap(),
            response
        );
    }

    #[test]
    fn request_parses_the_captured_payload() {
        let text = r#"{"AgentVersion": "3.3.0.0", "RequestedClientActions": [{"ActionType": "SessionType", "ActionParameters": {"SessionType": "Port", "Properties": {"portNumber": "80", "type": "LocalPortForwarding", "localPortNumber": "45124"}}}]}"#;
        let request = HandshakeRequest::from_json(text.as_bytes()).unwrap();
        assert_eq!(request.agent_version, "3.3.0.0");
        let action = &request.requested_client_actions[0];
        assert_eq!(action.requested_session_type(), Some("Port"));
        assert_eq!(action.properties().unwrap()["portNumber"], "80");
    }

    #[test]
    fn complete_round_trips() {
        let text = br#"{"HandshakeTimeToComplete":1500000,"CustomerMessage":""}"#;
        let complete = HandshakeComplete::from_json(text).unwrap();
        assert_eq!(complete.handshake_time_to_complete, 1_500_000);
        assert_eq!(complete.to_json(), text.to_vec());
    }
}
