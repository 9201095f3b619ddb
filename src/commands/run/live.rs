//! What `gangway run` shows while it follows: a table redrawn in place on a terminal
//! (progress bar, counts, the instances still moving first), one JSON line per state change
//! with `--output json`, or nothing but the notices when stderr is not a terminal.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::json;

use super::follow::{Sink, Tracked};
use crate::text::{escape_and_fit, escape_for_terminal};

/// Columns of the progress bar.
const BAR_WIDTH: usize = 30;

/// The statuses in the order the counts line shows them.
const ORDER: [&str; 12] = [
    "Pending",
    "InProgress",
    "Delayed",
    "Cancelling",
    "Success",
    "Failed",
    "ExecutionTimedOut",
    "DeliveryTimedOut",
    "Cancelled",
    "Undeliverable",
    "Terminated",
    "AccessDenied",
];

/// `Success 48  Failed 2`: the invocations counted by StatusDetails.
pub fn counts_line(all: &[&Tracked]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for tracked in all {
        *counts
            .entry(tracked.info.status_details.as_str())
            .or_default() += 1;
    }
    let mut parts: Vec<String> = ORDER
        .iter()
        .filter_map(|status| counts.remove(status).map(|n| format!("{status} {n}")))
        .collect();
    parts.extend(
        counts
            .iter()
            .map(|(status, n)| format!("{} {n}", escape_for_terminal(status))),
    );
    parts.join("  ")
}

/// The live table on stderr, redrawn after every round.
pub struct LiveTable {
    drawn_lines: usize,
    total: usize,
}

impl LiveTable {
    pub fn new(total: usize) -> Self {
        Self {
            drawn_lines: 0,
            total,
        }
    }

    fn draw(&mut self, all: &[&Tracked]) {
        let (cols, rows) = crate::shell::terminal::terminal_size().unwrap_or((80, 24));
        let width = usize::from(cols).max(40);
        let room = usize::from(rows).saturating_sub(4).max(3);
        let finished = all.iter().filter(|t| t.info.is_finished()).count();
        let total = self.total.max(all.len()).max(1);
        let filled = finished * BAR_WIDTH / total;
        let mut lines = vec![format!(
            "[{}{}] {finished}/{total}  {}",
            "#".repeat(filled),
            "-".repeat(BAR_WIDTH - filled),
            counts_line(all)
        )];
        // Moving ones first, then the finished ones that did not succeed, then the rest.
        let mut shown: Vec<&&Tracked> = all.iter().collect();
        shown.sort_by_key(|t| match (t.info.is_finished(), t.info.status.as_str()) {
            (false, _) => 0,
            (true, "Success") => 2,
            (true, _) => 1,
        });
        for tracked in shown.iter().take(room) {
            let code = tracked
                .info
                .response_code
                .map_or_else(String::new, |c| format!(" ({c})"));
            let line = format!(
                "  {:<18} {}{code}",
                escape_for_terminal(&tracked.info.status_details),
                tracked.label()
            );
            lines.push(escape_and_fit(&line, width).into_owned());
        }
        if all.len() > room {
            lines.push(format!("  … and {} more", all.len() - room));
        }
        let mut err = std::io::stderr().lock();
        if self.drawn_lines > 0 {
            let _ = write!(err, "\x1b[{}A\x1b[J", self.drawn_lines);
        }
        for line in &lines {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
        self.drawn_lines = lines.len();
    }
}

impl Sink for LiveTable {
    fn changed(&mut self, _tracked: &Tracked) {}

    fn round(&mut self, all: &[&Tracked]) {
        self.draw(all);
    }

    fn notice(&self, line: &str) {
        eprintln!("gangway run: {line}");
    }
}

/// No terminal on stderr, table output: nothing live, the notices only.
pub struct Quiet;

impl Sink for Quiet {
    fn changed(&mut self, _tracked: &Tracked) {}
    fn round(&mut self, _all: &[&Tracked]) {}
    fn notice(&self, line: &str) {
        eprintln!("gangway run: {line}");
    }
}

/// `--output json`: one line per state change on stdout.
pub struct JsonLines;

impl JsonLines {
    pub fn emit(value: &serde_json::Value) {
        let mut out = std::io::stdout().lock();
        if crate::text::write_json_line(&mut out, value).is_ok() {
            let _ = out.flush();
        }
    }
}

/// An invocation's state as a JSON object; its output once it has finished.
pub fn invocation_json(tracked: &Tracked) -> serde_json::Value {
    let info = &tracked.info;
    let mut value = json!({
        "event": "status",
        "command_id": info.command_id,
        "instance_id": info.instance_id,
        "name": tracked.name,
        "status": info.status,
        "status_details": info.status_details,
        "response_code": info.response_code,
    });
    if let Some(output) = &tracked.output {
        value["stdout"] = json!(output.stdout);
        value["stderr"] = json!(output.stderr);
        value["stdout_truncated"] = json!(output.stdout_truncated());
        value["stderr_truncated"] = json!(output.stderr_truncated());
        value["stdout_url"] = json!(output.stdout_url);
        value["stderr_url"] = json!(output.stderr_url);
    }
    value
}

impl Sink for JsonLines {
    fn changed(&mut self, tracked: &Tracked) {
        Self::emit(&invocation_json(tracked));
    }

    fn round(&mut self, _all: &[&Tracked]) {}

    fn notice(&self, line: &str) {
        eprintln!("gangway run: {line}");
    }
}
