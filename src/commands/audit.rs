//! `gangway audit`: who opened, resumed and terminated which sessions, when and from where,
//! from CloudTrail (`AwsClient::session_events`), joined with the fleet's Name tags. A
//! table or JSON, newest first; `--follow` then keeps polling and prints each new event as
//! it is recorded (so those come oldest first, like `tail -f`).

use std::collections::HashMap;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::exit;
use crate::aws::{AwsClient, AwsError, SessionEvent};
use crate::cli::{AuditArgs, OutputFormat};
use crate::text::{display_width, escape_and_fit};
use crate::tui::duration::{parse_span, parse_time};

/// How often `--follow` asks again: three LookupEvents calls per region each time, well
/// inside CloudTrail's limit of two calls a second per account and region.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(5);
/// How far back each `--follow` poll looks: CloudTrail delivers events about 5 minutes
/// (AWS says "typically within 5 minutes"; later under load) after the call they record.
const FOLLOW_LOOKBACK: Duration = Duration::from_secs(15 * 60);
/// Cells longer than this are cut in the table (JSON keeps them whole).
const MAX_CELL: usize = 40;
const HEADER: [&str; 9] = [
    "TIME",
    "EVENT",
    "USER",
    "TARGET",
    "NAME",
    "SOURCE IP",
    "SESSION",
    "RESULT",
    "REASON",
];
/// Column widths while following: rows are printed as they come, so they cannot be
/// measured first.
const FOLLOW_WIDTHS: [usize; 9] = [20, 9, 16, 19, 16, 15, 24, 6, 0];

pub fn run(args: &AuditArgs) -> ExitCode {
    let now = SystemTime::now();
    let since = match parse_span(&args.since)
        .map(|span| whole_seconds(now.checked_sub(span).unwrap_or(SystemTime::UNIX_EPOCH)))
        .or_else(|_| parse_time(&args.since))
    {
        Ok(since) => since,
        Err(_) => {
            eprintln!(
                "gangway audit: --since takes a span like 30m, 2h or 7d, or a time like 2026-11-29T08:00:00Z, not `{}`",
                crate::text::fit(&args.since, 40)
            );
            return ExitCode::from(exit::USAGE);
        }
    };
    let runtime = match super::command_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    ExitCode::from(runtime.block_on(audit(args, since)))
}

async fn audit(args: &AuditArgs, since: SystemTime) -> u8 {
    let clients = match AwsClient::from_options(&args.aws.options()).await {
        Ok(clients) => clients,
        Err(err) => return fail(&err),
    };
    let mut names = Names::default();
    let events = match fetch(&clients, since).await {
        Ok(events) => events,
        Err(err) => return fail(&err),
    };
    names.refresh_for(&clients, &events).await;
    let shown: Vec<Row> = events
        .iter()
        .map(|event| Row::new(event, &names))
        .filter(|row| row.wanted(args))
        .collect();
    let printed = match (args.output, args.follow) {
        (OutputFormat::Table, false) => print_table(&shown),
        (OutputFormat::Table, true) => print_follow_rows(&shown, true),
        (OutputFormat::Json, false) => print_json(&shown),
        (OutputFormat::Json, true) => print_json_each(&shown),
    };
    if let Err(status) = printed {
        return status;
    }
    if !args.follow {
        return exit::OK;
    }
    follow(args, &clients, names, events).await
}

/// Polls the last [`FOLLOW_LOOKBACK`] again and again and prints the events not printed
/// yet, oldest first: CloudTrail delivers an event minutes after its `eventTime`, so asking
/// only for times after the newest event seen would miss the late ones. Errors are reported
/// and the next poll tries again.
async fn follow(
    args: &AuditArgs,
    clients: &[AwsClient],
    mut names: Names,
    shown: Vec<SessionEvent>,
) -> u8 {
    // Event id → time; ids older than the window are forgotten, so this stays bounded.
    let mut seen: HashMap<String, SystemTime> = shown
        .into_iter()
        .map(|event| (event.event_id, event.time))
        .collect();
    loop {
        tokio::time::sleep(FOLLOW_INTERVAL).await;
        let window_start = whole_seconds(SystemTime::now())
            .checked_sub(FOLLOW_LOOKBACK)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        seen.retain(|_, time| *time >= window_start);
        let events = match fetch(clients, window_start).await {
            Ok(events) => events,
            Err(err) => {
                eprintln!("gangway audit: {}", err.to_line());
                continue;
            }
        };
        let mut fresh: Vec<SessionEvent> = events
            .into_iter()
            .filter(|event| !seen.contains_key(&event.event_id))
            .collect();
        if fresh.is_empty() {
            continue;
        }
        fresh.reverse();
        names.refresh_for(clients, &fresh).await;
        seen.extend(
            fresh
                .iter()
                .map(|event| (event.event_id.clone(), event.time)),
        );
        let rows: Vec<Row> = fresh
            .iter()
            .map(|event| Row::new(event, &names))
            .filter(|row| row.wanted(args))
            .collect();
        let printed = match args.output {
            OutputFormat::Table => print_follow_rows(&rows, false),
            OutputFormat::Json => print_json_each(&rows),
        };
        if let Err(status) = printed {
            return status;
        }
    }
}

/// CloudTrail's times have whole seconds; a StartTime with a fraction would skip its second.
fn whole_seconds(time: SystemTime) -> SystemTime {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// Every region's events, newest first.
async fn fetch(clients: &[AwsClient], since: SystemTime) -> Result<Vec<SessionEvent>, AwsError> {
    let results =
        futures_util::future::join_all(clients.iter().map(|c| c.session_events(Some(since)))).await;
    let mut events = Vec::new();
    for result in results {
        events.extend(result?);
    }
    Ok(crate::aws::audit::arrange(events))
}

fn fail(err: &AwsError) -> u8 {
    eprintln!("gangway audit: {}", err.to_line());
    exit::for_aws(err)
}

/// Instance id → Name tag, read from EC2 when an event names an instance not known yet.
#[derive(Default)]
struct Names {
    by_id: HashMap<String, Option<String>>,
    warned: bool,
}

impl Names {
    async fn refresh_for(&mut self, clients: &[AwsClient], events: &[SessionEvent]) {
        let missing = events
            .iter()
            .filter_map(|event| event.target.as_deref())
            .any(|target| !self.by_id.contains_key(target));
        if !missing {
            return;
        }
        for client in clients {
            match client.list_instances(&[]).await {
                Ok(instances) => {
                    for instance in instances {
                        self.by_id.insert(
                            instance.id.as_str().to_owned(),
                            instance.name.as_deref().map(str::to_owned),
                        );
                    }
                }
                // The audit still stands without names: say so once.
                Err(err) if !self.warned => {
                    self.warned = true;
                    eprintln!(
                        "gangway audit: instance names unavailable: {}",
                        err.to_line()
                    );
                }
                Err(_) => {}
            }
        }
        // Targets that no longer exist are not looked up again.
        for event in events {
            if let Some(target) = &event.target {
                self.by_id.entry(target.clone()).or_insert(None);
            }
        }
    }

    fn of(&self, target: &str) -> Option<&str> {
        self.by_id.get(target).and_then(Option::as_deref)
    }
}

/// One event as shown; strings are AWS's, escaped only when written.
#[derive(Debug, serde::Serialize)]
struct Row {
    time: String,
    event: &'static str,
    user: String,
    user_arn: Option<String>,
    target: Option<String>,
    name: Option<String>,
    source_ip: Option<String>,
    session_id: Option<String>,
    reason: Option<String>,
    error_code: Option<String>,
    region: String,
    event_id: String,
}

impl Row {
    fn new(event: &SessionEvent, names: &Names) -> Row {
        Row {
            time: OffsetDateTime::from(event.time)
                .format(&Rfc3339)
                .unwrap_or_default(),
            event: event.kind.label(),
            user: event.user.clone(),
            user_arn: event.user_arn.clone(),
            target: event.target.clone(),
            name: event
                .target
                .as_deref()
                .and_then(|t| names.of(t))
                .map(str::to_owned),
            source_ip: event.source_ip.clone(),
            session_id: event.session_id.clone(),
            reason: event.reason.clone(),
            error_code: event.error_code.clone(),
            region: event.region.clone(),
            event_id: event.event_id.clone(),
        }
    }

    fn wanted(&self, args: &AuditArgs) -> bool {
        let user_ok = args
            .user
            .as_deref()
            .is_none_or(|user| self.user == user || self.user_arn.as_deref() == Some(user));
        let target_ok = args.target.as_deref().is_none_or(|target| {
            self.target.as_deref() == Some(target) || self.name.as_deref() == Some(target)
        });
        user_ok && target_ok
    }

    fn cells(&self) -> [String; 9] {
        let fit = |text: Option<&str>| escape_and_fit(text.unwrap_or("-"), MAX_CELL).into_owned();
        [
            self.time.clone(),
            self.event.to_owned(),
            fit(Some(&self.user)),
            fit(self.target.as_deref()),
            fit(self.name.as_deref()),
            fit(self.source_ip.as_deref()),
            fit(self.session_id.as_deref()),
            fit(Some(self.error_code.as_deref().unwrap_or("ok"))),
            fit(self.reason.as_deref()),
        ]
    }
}

fn line(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    let last = cells.len() - 1;
    for (col, cell) in cells.iter().enumerate() {
        out.push_str(cell);
        if col < last {
            let pad = widths[col].saturating_sub(display_width(cell)) + 2;
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    out.truncate(out.trim_end_matches(' ').len());
    out.push('\n');
    out
}

fn header() -> Vec<String> {
    HEADER.iter().map(|h| (*h).to_owned()).collect()
}

/// An aligned table; every cell escaped, long ones cut, wide characters measured.
fn render_table(rows: &[Row]) -> String {
    let mut table: Vec<Vec<String>> = vec![header()];
    table.extend(rows.iter().map(|row| row.cells().to_vec()));
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|col| {
            table
                .iter()
                .map(|r| display_width(&r[col]))
                .max()
                .unwrap_or(0)
        })
        .collect();
    table.iter().map(|cells| line(cells, &widths)).collect()
}

fn write_out(text: &[u8]) -> Result<(), u8> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Err(exit::OK),
        Err(err) => {
            eprintln!("gangway audit: cannot write the output: {err}");
            Err(exit::OTHER)
        }
    }
}

fn print_table(rows: &[Row]) -> Result<(), u8> {
    write_out(render_table(rows).as_bytes())
}

fn print_follow_rows(rows: &[Row], with_header: bool) -> Result<(), u8> {
    let mut text = String::new();
    if with_header {
        text.push_str(&line(&header(), &FOLLOW_WIDTHS));
    }
    for row in rows {
        text.push_str(&line(&row.cells(), &FOLLOW_WIDTHS));
    }
    write_out(text.as_bytes())
}

/// An array, escaped by `text::write_json_pretty`.
fn print_json(rows: &[Row]) -> Result<(), u8> {
    let mut text = Vec::new();
    crate::text::write_json_pretty(&mut text, rows).map_err(|_| exit::OTHER)?;
    text.push(b'\n');
    write_out(&text)
}

/// While following: one object per event, each on its own lines, as they come.
fn print_json_each(rows: &[Row]) -> Result<(), u8> {
    let mut text = Vec::new();
    for row in rows {
        crate::text::write_json_pretty(&mut text, row).map_err(|_| exit::OTHER)?;
        text.push(b'\n');
    }
    write_out(&text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::aws::SessionEventKind;

    fn event(user: &str, reason: &str) -> SessionEvent {
        SessionEvent {
            event_id: "e".into(),
            kind: SessionEventKind::Start,
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            user: user.into(),
            user_arn: None,
            session_id: Some("s-1".into()),
            target: Some("i-0abc".into()),
            source_ip: Some("10.0.0.1".into()),
            reason: Some(reason.into()),
            error_code: None,
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn aws_text_is_escaped_in_the_table_and_the_json() {
        let mut names = Names::default();
        names
            .by_id
            .insert("i-0abc".into(), Some("web\u{1b}]0;pwned\u{7}".into()));
        let row = Row::new(&event("eve\u{1b}[2J", "fix\u{9b}31m"), &names);
        let table = render_table(std::slice::from_ref(&row));
        assert!(
            !table.contains('\u{1b}') && !table.contains('\u{9b}'),
            "{table}"
        );
        assert!(table.contains("2023-11-14T22:13:20Z"));
        let mut json = Vec::new();
        crate::text::write_json_pretty(&mut json, &[row]).unwrap();
        let json = String::from_utf8(json).unwrap();
        assert!(
            !json.contains('\u{1b}') && !json.contains('\u{9b}'),
            "{json}"
        );
        assert!(json.contains("\\u001b]0;pwned"));
    }

    #[test]
    fn user_and_target_filters_match_names_too() {
        let mut names = Names::default();
        names.by_id.insert("i-0abc".into(), Some("web".into()));
        let row = Row::new(&event("alice", "r"), &names);
        let args = |user: Option<&str>, target: Option<&str>| AuditArgs {
            since: "1d".into(),
            user: user.map(str::to_owned),
            target: target.map(str::to_owned),
            output: OutputFormat::Table,
            follow: false,
            aws: Default::default(),
        };
        assert!(row.wanted(&args(Some("alice"), Some("web"))));
        assert!(row.wanted(&args(None, Some("i-0abc"))));
        assert!(!row.wanted(&args(Some("bob"), None)));
        assert!(!row.wanted(&args(None, Some("db"))));
    }
}
