//! The OpenDataChannel text frame, protocol.md §1.4: the first and only text frame the
//! client sends, right after the websocket upgrade.

use std::sync::OnceLock;

use serde::Serialize;
use uuid::Uuid;

use super::SecretString;

/// The version we announce: the protocol core's, because the agent reads the one in the
/// HandshakeResponse and both must be the same string, as the plugin sends them (§4.4.1).
pub use crate::proto::CLIENT_VERSION;

/// ClientId is made once per process and reused on every reconnect (§1.4, verified).
pub fn process_client_id() -> Uuid {
    static CLIENT_ID: OnceLock<Uuid> = OnceLock::new();
    *CLIENT_ID.get_or_init(Uuid::new_v4)
}

/// Field order is the reference's declaration order (Go `encoding/json`).
#[derive(Serialize)]
struct OpenDataChannel<'a> {
    #[serde(rename = "MessageSchemaVersion")]
    message_schema_version: &'a str,
    #[serde(rename = "RequestId")]
    request_id: String,
    #[serde(rename = "TokenValue")]
    token_value: &'a str,
    #[serde(rename = "ClientId")]
    client_id: String,
    #[serde(rename = "ClientVersion")]
    client_version: &'a str,
}

/// The JSON text; `request_id` must be fresh for every (re)connect (§1.4).
pub fn open_data_channel_json(token: &SecretString, request_id: Uuid, client_id: Uuid) -> String {
    let frame = OpenDataChannel {
        message_schema_version: "1.0",
        request_id: request_id.hyphenated().to_string(),
        token_value: token.expose(),
        client_id: client_id.hyphenated().to_string(),
        client_version: CLIENT_VERSION,
    };
    // Serialising plain strings into JSON cannot fail.
    serde_json::to_string(&frame).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_layout() {
        let request = Uuid::parse_str("5184645d-36a7-4499-ae7c-49ac075b30eb").expect("uuid");
        let client = Uuid::parse_str("c329d795-aced-4c1a-badd-bc50de221c4d").expect("uuid");
        let json = open_data_channel_json(&SecretString::new("token-1"), request, client);
        assert_eq!(
            json,
            r#"{"MessageSchemaVersion":"1.0","RequestId":"5184645d-36a7-4499-ae7c-49ac075b30eb","TokenValue":"token-1","ClientId":"c329d795-aced-4c1a-badd-bc50de221c4d","ClientVersion":"1.2.677.0"}"#
        );
    }

    #[test]
    fn client_id_is_stable_within_a_process() {
        assert_eq!(process_client_id(), process_client_id());
    }
}
