//! `gangway list`: the fleet as an aligned table or JSON, for people and scripts.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use super::exit;
use crate::aws::{AccessScope, AwsClient, AwsError, AwsOptions, Diagnosis, Instance, diagnose};
use crate::cli::{ListArgs, OutputFormat};
use crate::text::{display_width, escape_and_fit};

/// Names and images longer than this are cut in the table (JSON keeps them whole).
const MAX_TEXT_COLUMNS: usize = 40;
/// Runs the command; errors are one line on stderr and a distinct exit status.
pub fn run(args: &ListArgs) -> ExitCode {
    let filters = match super::settings::scope(args.config.as_deref(), &args.aws.tags) {
        Ok(filters) => filters,
        Err(status) => return status,
    };
    let runtime = match super::command_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    ExitCode::from(list(&runtime, args, &filters))
}

fn list(runtime: &tokio::runtime::Runtime, args: &ListArgs, filters: &[(String, String)]) -> u8 {
    let aws = &args.aws;
    let (instances, errors) = runtime.block_on(fetch_all(&aws.options(), filters));
    // The same diagnosis as the UI's reach column and `connect`'s check.
    let scope = AccessScope {
        required_tags: filters.to_vec(),
        ..AccessScope::default()
    };
    let rows: Vec<(&Instance, Diagnosis)> = instances
        .iter()
        .map(|i| (i, diagnose(i, None, &scope)))
        .filter(|(_, reach)| !args.reachable || reach.can_connect())
        .collect();
    let show_region = aws.region.len() > 1;
    // Nothing fetched at all: print no empty table or `[]` a script could take for "no instances".
    let total_failure = instances.is_empty() && !errors.is_empty();
    if !total_failure
        && let Err(err) = print(&rows, args.output, show_region)
        && err.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("gangway list: cannot write the output: {err}");
        return exit::OTHER;
    }
    for (region, err) in &errors {
        eprintln!("gangway list: {region}{}", err.to_line());
    }
    errors
        .first()
        .map_or(exit::OK, |(_, err)| exit::for_aws(err))
}

/// Lists every region concurrently. A region that fails is reported without hiding the others.
pub async fn fetch_all(
    opts: &AwsOptions,
    filters: &[(String, String)],
) -> (Vec<Instance>, Vec<(String, AwsError)>) {
    let clients = match AwsClient::from_options(opts).await {
        Ok(clients) => clients,
        Err(err) => return (Vec::new(), vec![(String::new(), err)]),
    };
    let several = clients.len() > 1;
    let results =
        futures_util::future::join_all(clients.iter().map(|c| c.list_instances(filters))).await;
    let mut instances = Vec::new();
    let mut errors = Vec::new();
    for (client, result) in clients.iter().zip(results) {
        match result {
            Ok(found) => instances.extend(found),
            Err(err) if several => errors.push((format!("{}: ", client.region()), err)),
            Err(err) => errors.push((String::new(), err)),
        }
    }
    (instances, errors)
}

fn print(
    instances: &[(&Instance, Diagnosis)],
    format: OutputFormat,
    show_region: bool,
) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        OutputFormat::Json => {
            crate::text::write_json_pretty(&mut out, &json_rows(instances))?;
            writeln!(out)?;
        }
        OutputFormat::Table => out.write_all(render_table(instances, show_region).as_bytes())?,
    }
    out.flush()
}

/// One JSON object per instance; `text::write_json_pretty` escapes what a terminal would act on.
#[derive(Debug, serde::Serialize)]
pub struct JsonRow<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub tags: &'a BTreeMap<String, String>,
    pub state: &'a str,
    pub ping_status: crate::aws::PingStatus,
    pub agent_version: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub platform_name: Option<&'a str>,
    pub private_ip: Option<&'a str>,
    pub image_id: Option<&'a str>,
    pub image_name: Option<&'a str>,
    pub region: &'a str,
    /// Whether a shell can open there now, by the same diagnosis as the UI's reach column.
    pub reachable: bool,
    /// Why not, a few words per cause (`["stopped", "out of scope"]`); empty when reachable.
    pub unreachable_because: Vec<&'static str>,
}

pub fn json_rows<'a>(instances: &'a [(&'a Instance, Diagnosis)]) -> Vec<JsonRow<'a>> {
    instances
        .iter()
        .map(|(i, reach)| JsonRow {
            id: i.id.as_str(),
            name: i.name.as_deref(),
            tags: &i.tags,
            state: i.state.label(),
            ping_status: i.ping_status,
            agent_version: i.agent_version.as_deref(),
            platform: i.platform.as_deref(),
            platform_name: i.platform_name.as_deref(),
            private_ip: i.private_ip.as_deref(),
            image_id: i.image_id.as_deref(),
            image_name: i.image_name.as_deref(),
            region: &i.region,
            reachable: reach.can_connect(),
            unreachable_because: if reach.can_connect() {
                Vec::new()
            } else {
                reach.causes().map(crate::aws::Cause::short).collect()
            },
        })
        .collect()
}

/// An aligned table; every cell is escaped, long ones cut, wide characters measured.
pub fn render_table(instances: &[(&Instance, Diagnosis)], show_region: bool) -> String {
    let mut header = vec![
        "NAME",
        "REACH",
        "ID",
        "STATE",
        "PING",
        "AGENT",
        "PLATFORM",
        "PRIVATE IP",
        "IMAGE",
    ];
    if show_region {
        header.insert(0, "REGION");
    }
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    rows.extend(
        instances
            .iter()
            .map(|(i, reach)| table_row(i, reach, show_region)),
    );
    let widths: Vec<usize> = (0..header.len())
        .map(|col| {
            rows.iter()
                .map(|row| display_width(&row[col]))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let last = row.len() - 1;
        for (col, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if col < last {
                let pad = widths[col] - display_width(cell) + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.truncate(out.trim_end_matches(' ').len());
        out.push('\n');
    }
    out
}

fn table_row(i: &Instance, reach: &Diagnosis, show_region: bool) -> Vec<String> {
    let fit =
        |text: Option<&str>| escape_and_fit(text.unwrap_or("-"), MAX_TEXT_COLUMNS).into_owned();
    let image = i.image_name.as_deref().or(i.image_id.as_deref());
    let mut row = vec![
        fit(i.name.as_deref()),
        reach.reach(),
        fit(Some(i.id.as_str())),
        i.state.label().to_owned(),
        i.ping_status.label().to_owned(),
        fit(i.agent_version.as_deref()),
        fit(i.platform_name.as_deref().or(i.platform.as_deref())),
        fit(i.private_ip.as_deref()),
        fit(image),
    ];
    if show_region {
        row.insert(0, fit(Some(&i.region)));
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{InstanceId, InstanceState, PingStatus};

    fn instance(name: &str, ip: &str) -> Instance {
        Instance {
            id: InstanceId::from_aws("i-0123456789abcdef0"),
            name: Some(name.into()),
            tags: BTreeMap::from([("Name".to_owned(), name.to_owned())]),
            state: InstanceState::Running,
            ping_status: PingStatus::Online,
            agent_version: Some("3.3.0.0".into()),
            platform: Some("Linux".into()),
            platform_name: None,
            private_ip: Some(ip.into()),
            image_id: Some("ami-0abc".into()),
            image_name: None,
            region: "us-east-1".into(),
            last_ping: None,
        }
    }

    fn diagnosed(instances: &[Instance]) -> Vec<(&Instance, Diagnosis)> {
        instances
            .iter()
            .map(|i| (i, diagnose(i, None, &AccessScope::default())))
            .collect()
    }

    #[test]
    fn columns_align_with_wide_characters_and_escapes() {
        let instances = [
            instance("웹-서버", "10.0.0.1"),
            instance("evil\u{1b}[2J", "10.0.0.2"),
        ];
        let table = render_table(&diagnosed(&instances), false);
        assert!(!table.contains('\u{1b}'));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        // The ID column starts at the same screen column on every line.
        let id_columns: Vec<usize> = lines
            .iter()
            .map(|line| {
                let prefix = &line[..line.find("i-0").or_else(|| line.find("ID")).unwrap_or(0)];
                display_width(prefix)
            })
            .collect();
        assert!(id_columns.windows(2).all(|w| w[0] == w[1]), "{table}");
        assert!(lines[2].starts_with("evil\\e[2J"), "{table}");
    }

    #[test]
    fn the_reach_column_and_json_say_why_not() {
        let mut stopped = instance("batch-1", "10.0.0.3");
        stopped.state = InstanceState::Stopped;
        let instances = [instance("web-1", "10.0.0.1"), stopped];
        let rows = diagnosed(&instances);
        let table = render_table(&rows, false);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("NAME     REACH"), "{table}");
        assert!(lines[1].starts_with("web-1    ✓ "), "{table}");
        assert!(lines[2].starts_with("batch-1  ✗ stopped "), "{table}");
        let json = json_rows(&rows);
        assert!(json[0].reachable && json[0].unreachable_because.is_empty());
        assert!(!json[1].reachable);
        assert_eq!(json[1].unreachable_because, ["stopped"]);
    }

    #[test]
    fn region_column_appears_for_several_regions() {
        let instances = [instance("web-1", "10.0.0.1")];
        let table = render_table(&diagnosed(&instances), true);
        assert!(table.starts_with("REGION"));
        assert!(
            table
                .lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("us-east-1"))
        );
    }
}
