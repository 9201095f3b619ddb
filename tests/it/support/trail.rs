//! The emulator's CloudTrail read back through the real aws-sdk-cloudtrail: LookupEvents by
//! one attribute, each event's record parsed from its `CloudTrailEvent` JSON string.

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde_json::Value;

/// The one lookup attribute LookupEvents takes.
pub fn attribute(key: LookupAttributeKey, value: &str) -> LookupAttribute {
    LookupAttribute::builder()
        .attribute_key(key)
        .attribute_value(value)
        .build()
        .unwrap()
}

/// The records (first page) whose `key` is `value`, newest first.
pub async fn records(
    trail: &aws_sdk_cloudtrail::Client,
    key: LookupAttributeKey,
    value: &str,
) -> Vec<Value> {
    let out = trail
        .lookup_events()
        .lookup_attributes(attribute(key, value))
        .send()
        .await
        .unwrap();
    out.events()
        .iter()
        .map(|e| serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap())
        .collect()
}
