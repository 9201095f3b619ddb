//! Session Manager calls: start, resume, terminate, list (active and history), preferences.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_ssm::types::{
    ConnectionStatus, DocumentFormat, SessionFilter, SessionFilterKey, SessionState,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::client::AwsClient;
use super::error::AwsError;
use super::types::{InstanceId, SessionInfo, SessionPreferences, SessionStatus};
use crate::secret::SecretString;

/// The session document that opens a shell and holds the account's preferences (§8).
pub const SHELL_DOCUMENT: &str = "SSM-SessionManagerRunShell";

/// Sessions per history page: a screenful or two, so scrolling loads as it goes.
const HISTORY_PAGE_SIZE: i32 = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartSessionRequest {
    pub target: String,
    /// `None` opens a shell (SSM-SessionManagerRunShell).
    pub document_name: Option<String>,
    pub parameters: BTreeMap<String, Vec<String>>,
    pub reason: Option<String>,
}

/// What StartSession returns. The token and stream URL are secrets (§1.1).
#[derive(Debug, Clone)]
pub struct StartedSession {
    pub session_id: String,
    pub token: SecretString,
    pub stream_url: SecretString,
}

/// Filters of session history (the UI's `:history target=… owner=… since=2h`); `None` means
/// "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub target: Option<String>,
    pub owner: Option<String>,
    pub after: Option<SystemTime>,
    pub before: Option<SystemTime>,
}

impl AwsClient {
    pub async fn start_session(
        &self,
        request: &StartSessionRequest,
    ) -> Result<StartedSession, AwsError> {
        let mut call = self.ssm.start_session().target(&request.target);
        if let Some(document) = &request.document_name {
            call = call.document_name(document);
        }
        for (key, values) in &request.parameters {
            call = call.parameters(key, values.clone());
        }
        if let Some(reason) = &request.reason {
            call = call.reason(reason);
        }
        let out = call.send().await.map_err(|e| self.errors.map(e))?;
        let missing =
            |what: &str| AwsError::BadResponse(format!("StartSession returned no {what}"));
        Ok(StartedSession {
            session_id: out.session_id.ok_or_else(|| missing("SessionId"))?,
            token: SecretString::new(out.token_value.ok_or_else(|| missing("TokenValue"))?),
            stream_url: SecretString::new(out.stream_url.ok_or_else(|| missing("StreamUrl"))?),
        })
    }

    /// A fresh token for a dropped websocket; `None` when the session has ended or timed
    /// out (an empty TokenValue, §7.2).
    pub async fn resume_session(&self, session_id: &str) -> Result<Option<SecretString>, AwsError> {
        let out = self
            .ssm
            .resume_session()
            .session_id(session_id)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        Ok(out
            .token_value
            .filter(|t| !t.is_empty())
            .map(SecretString::new))
    }

    pub async fn terminate_session(&self, session_id: &str) -> Result<(), AwsError> {
        self.ssm
            .terminate_session()
            .session_id(session_id)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        Ok(())
    }

    /// `true` when Session Manager can reach the instance's agent right now.
    pub async fn connection_status(&self, id: &InstanceId) -> Result<bool, AwsError> {
        let out = self
            .ssm
            .get_connection_status()
            .target(id.as_str())
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        Ok(out.status == Some(ConnectionStatus::Connected))
    }

    /// Every active session in the region (all pages).
    pub async fn active_sessions(&self) -> Result<Vec<SessionInfo>, AwsError> {
        let mut pages = self
            .ssm
            .describe_sessions()
            .state(SessionState::Active)
            .into_paginator()
            .send();
        let mut sessions = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.errors.map(e))?;
            sessions.extend(page.sessions().iter().filter_map(|s| self.session_info(s)));
        }
        Ok(sessions)
    }

    /// One page of ended sessions, newest first, and the token of the next page.
    pub async fn session_history(
        &self,
        filter: &HistoryFilter,
        next_token: Option<String>,
    ) -> Result<(Vec<SessionInfo>, Option<String>), AwsError> {
        let out = self
            .ssm
            .describe_sessions()
            .state(SessionState::History)
            .set_filters(history_filters(filter))
            .max_results(HISTORY_PAGE_SIZE)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        let mut sessions: Vec<SessionInfo> = out
            .sessions()
            .iter()
            .filter_map(|s| self.session_info(s))
            .collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.start));
        Ok((sessions, out.next_token.filter(|t| !t.is_empty())))
    }

    /// The account's preferences: the `inputs` of the SSM-SessionManagerRunShell document.
    pub async fn session_preferences(&self) -> Result<SessionPreferences, AwsError> {
        let out = self
            .ssm
            .get_document()
            .name(SHELL_DOCUMENT)
            .document_format(DocumentFormat::Json)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        let content = out.content.unwrap_or_default();
        parse_preferences(&content)
    }

    fn session_info(&self, s: &aws_sdk_ssm::types::Session) -> Option<SessionInfo> {
        Some(SessionInfo {
            session_id: s.session_id.clone()?,
            target: s.target.clone().unwrap_or_default(),
            status: SessionStatus::from_aws(s.status.as_ref()?.as_str())?,
            owner: s.owner.clone().unwrap_or_default(),
            start: s.start_date.and_then(|d| SystemTime::try_from(d).ok()),
            end: s.end_date.and_then(|d| SystemTime::try_from(d).ok()),
            reason: s.reason.clone().filter(|r| !r.is_empty()),
            end_reason: s.details.clone().filter(|d| !d.is_empty()),
            document_name: s.document_name.clone(),
            region: self.region().to_owned(),
        })
    }
}

fn history_filters(filter: &HistoryFilter) -> Option<Vec<SessionFilter>> {
    let time = |t: &SystemTime| DateTime::from(*t).fmt(Format::DateTime).ok();
    let pairs = [
        (SessionFilterKey::TargetId, filter.target.clone()),
        (SessionFilterKey::Owner, filter.owner.clone()),
        (
            SessionFilterKey::InvokedAfter,
            filter.after.as_ref().and_then(time),
        ),
        (
            SessionFilterKey::InvokedBefore,
            filter.before.as_ref().and_then(time),
        ),
    ];
    let filters: Vec<SessionFilter> = pairs
        .into_iter()
        .filter_map(|(key, value)| SessionFilter::builder().key(key).value(value?).build().ok())
        .collect();
    (!filters.is_empty()).then_some(filters)
}

/// Parses the preferences JSON. Numbers arrive as strings (`"20"`) in real documents; plain
/// numbers and empty strings ("not set") are accepted too.
pub fn parse_preferences(content: &str) -> Result<SessionPreferences, AwsError> {
    let doc: serde_json::Value = serde_json::from_str(content)
        .map_err(|e| AwsError::BadResponse(format!("{SHELL_DOCUMENT} is not valid JSON: {e}")))?;
    let inputs = doc.get("inputs").cloned().unwrap_or_default();
    let text = |key: &str| match inputs.get(key) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let minutes = |key: &str| text(key).and_then(|s| s.parse::<u32>().ok());
    let flag = |key: &str| match inputs.get(key) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    Ok(SessionPreferences {
        idle_session_timeout_minutes: minutes("idleSessionTimeout"),
        max_session_duration_minutes: minutes("maxSessionDuration"),
        s3_bucket_name: text("s3BucketName"),
        cloudwatch_log_group_name: text("cloudWatchLogGroupName"),
        kms_key_id: text("kmsKeyId"),
        run_as_enabled: flag("runAsEnabled"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_parse_strings_numbers_and_blanks() {
        let prefs = parse_preferences(
            r#"{"schemaVersion":"1.0","sessionType":"Standard_Stream","inputs":{
                "idleSessionTimeout":"20","maxSessionDuration":"","s3BucketName":"logs",
                "cloudWatchLogGroupName":"","kmsKeyId":"","runAsEnabled":true}}"#,
        )
        .expect("valid document");
        assert_eq!(prefs.idle_session_timeout_minutes, Some(20));
        assert_eq!(prefs.max_session_duration_minutes, None);
        assert_eq!(prefs.s3_bucket_name.as_deref(), Some("logs"));
        assert_eq!(prefs.cloudwatch_log_group_name, None);
        assert!(prefs.run_as_enabled);
        assert!(prefs.logging_enabled());
        let numeric = parse_preferences(r#"{"inputs":{"maxSessionDuration":60}}"#).expect("json");
        assert_eq!(numeric.max_session_duration_minutes, Some(60));
    }

    #[test]
    fn broken_preferences_are_an_error_not_a_panic() {
        assert!(matches!(
            parse_preferences("{"),
            Err(AwsError::BadResponse(_))
        ));
        assert_eq!(
            parse_preferences("{}").expect("empty doc"),
            SessionPreferences::default()
        );
    }

    #[test]
    fn history_filters_only_include_what_is_set() {
        assert!(history_filters(&HistoryFilter::default()).is_none());
        let filters = history_filters(&HistoryFilter {
            target: Some("i-0123456789abcdef0".into()),
            after: Some(SystemTime::UNIX_EPOCH),
            ..HistoryFilter::default()
        })
        .expect("two filters");
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[1].value(), "1970-01-01T00:00:00Z");
    }
}
