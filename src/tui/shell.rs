//! Opening a shell from the UI: the runtime has released the terminal; the native session
//! (`shell::run`, issue 5) runs here and its end is summarised in one
//! line for the status bar.

use std::time::SystemTime;

use crate::aws::{AwsClient, StartSessionRequest};
use crate::shell::{PumpMode, SessionRecords, ShellEnd, ShellOutcome};
use crate::tui::model::ShellTarget;
use crate::tui::msg::ShellReport;

/// Runs a shell on `target` and says how it ended; `Err` is the reason it could not start.
pub async fn run(
    client: &AwsClient,
    target: &ShellTarget,
    reason: Option<&str>,
    records: &SessionRecords,
) -> Result<ShellReport, String> {
    let request = StartSessionRequest {
        target: target.instance_id.to_string(),
        document_name: None,
        parameters: Default::default(),
        reason: reason.map(str::to_owned),
    };
    match crate::shell::run(client, &request, PumpMode::Terminal, records).await {
        Ok(outcome) => Ok(report(&outcome)),
        Err(error) => Err(error.to_string()),
    }
}

/// The end of a session in one line for the status bar and the tab.
pub fn report(outcome: &ShellOutcome) -> ShellReport {
    let summary = match (&outcome.end, outcome.remote_exit_code) {
        (ShellEnd::Exited, Some(code)) => {
            format!("session {} exited with status {code}", outcome.session_id)
        }
        (ShellEnd::Exited, None) => format!("session {} exited", outcome.session_id),
        _ => outcome.message(),
    };
    ShellReport {
        session_id: Some(outcome.session_id.clone()),
        summary,
        ended_at: SystemTime::now(),
        exit_code: outcome.remote_exit_code,
    }
}
