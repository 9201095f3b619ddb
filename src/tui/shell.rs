//! Opening a shell from the UI: the terminal has been released by the runtime; the native
//! session runs here and its end is summarised in one line for the status bar.

use crate::aws::AwsClient;
use crate::tui::model::ShellTarget;
use crate::tui::msg::ShellReport;

/// Runs a shell on `target` and says how it ended; `Err` is the reason it could not start.
pub async fn run(
    _client: &AwsClient,
    _target: &ShellTarget,
    _reason: Option<&str>,
) -> Result<ShellReport, String> {
    // Replaced by the call into `connect::shell::run_interactive` once issue 5 lands on main.
    Err("opening shells from the UI needs `gangway connect` (issue 5), not on main yet".to_owned())
}
