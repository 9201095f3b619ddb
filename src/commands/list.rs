//! `gangway list`: the fleet as an aligned table or JSON, for people and scripts.

use std::io::{self, Write};
use std::process::ExitCode;

use super::exit;
use crate::aws::{
    AccessScope, AwsClient, AwsError, AwsOptions, Diagnosis, Instance, account_clients, diagnose,
};
use crate::cli::{ListArgs, OutputFormat};
use crate::text::{display_width, escape_and_fit};

/// Names and images longer than this are cut in the table (JSON keeps them whole).
const MAX_TEXT_COLUMNS: usize = 40;
/// How many account × region listings run at once: each is a handful of paged calls, and
/// twenty accounts in five regions must not open a hundred connections at the same moment.
pub const LIST_CONCURRENCY: usize = 8;

/// Runs the command; errors are one line on stderr and a distinct exit status.
pub fn run(args: &ListArgs) -> ExitCode {
    let loaded = match super::settings::load_config(args.config.as_deref(), false) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let mut options = args.aws.options();
    super::settings::with_config_accounts(&mut options, &loaded.settings.accounts);
    let filters = super::settings::scope_tags(loaded, &args.aws.tags);
    let runtime = match super::command_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    ExitCode::from(list(&runtime, args, &options, &filters))
}

fn list(
    runtime: &tokio::runtime::Runtime,
    args: &ListArgs,
    options: &AwsOptions,
    filters: &[(String, String)],
) -> u8 {
    let (instances, errors) = runtime.block_on(fetch_all(options, filters));
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
    let regions: std::collections::BTreeSet<&str> = instances.iter().map(|i| &*i.region).collect();
    let show_region = options.regions.len() > 1 || regions.len() > 1;
    let show_account = !options.accounts.is_empty();
    // Nothing fetched at all: print no empty table or `[]` a script could take for "no instances".
    let total_failure = instances.is_empty() && !errors.is_empty();
    if !total_failure
        && let Err(err) = print(&rows, args.output, show_region, show_account)
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

/// Lists every account × region concurrently (at most `LIST_CONCURRENCY` at once). One that
/// fails is reported, named, without hiding the others.
pub async fn fetch_all(
    opts: &AwsOptions,
    filters: &[(String, String)],
) -> (Vec<Instance>, Vec<(String, AwsError)>) {
    use futures_util::StreamExt;
    let mut errors = Vec::new();
    let clients = if opts.accounts.is_empty() {
        match AwsClient::from_options(opts).await {
            Ok(clients) => clients,
            Err(err) => return (Vec::new(), vec![(String::new(), err)]),
        }
    } else {
        let mut clients = Vec::new();
        for account in account_clients(opts).await {
            match account.clients {
                Ok(found) => clients.extend(found),
                Err(err) => errors.push((format!("{}: ", account.label), err)),
            }
        }
        clients
    };
    let several = clients.len() > 1 || !opts.accounts.is_empty();
    let mut results = futures_util::stream::iter(clients.iter().enumerate())
        .map(|(at, client)| async move { (at, client.list_instances(filters).await) })
        .buffer_unordered(LIST_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    // In the order the clients were given, whatever order they answered in.
    results.sort_by_key(|(at, _)| *at);
    let mut instances = Vec::new();
    for (at, result) in results {
        match result {
            Ok(found) => instances.extend(found),
            Err(err) if several => errors.push((format!("{}: ", clients[at].location()), err)),
            Err(err) => errors.push((String::new(), err)),
        }
    }
    (instances, errors)
}

fn print(
    instances: &[(&Instance, Diagnosis)],
    format: OutputFormat,
    show_region: bool,
    show_account: bool,
) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        OutputFormat::Json => {
            crate::text::write_json_pretty(&mut out, &json_rows(instances))?;
            writeln!(out)?;
        }
        OutputFormat::Table => {
            let table = render_table(instances, show_region, show_account);
            out.write_all(table.as_bytes())?;
        }
    }
    out.flush()
}

/// One JSON object per instance; `text::write_json_pretty` escapes what a terminal would act on.
#[derive(Debug, serde::Serialize)]
pub struct JsonRow<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub tags: &'a crate::aws::types::Tags,
    pub state: &'a str,
    pub ping_status: crate::aws::PingStatus,
    pub agent_version: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub platform_name: Option<&'a str>,
    pub private_ip: Option<&'a str>,
    pub image_id: Option<&'a str>,
    pub image_name: Option<&'a str>,
    pub region: &'a str,
    /// The account's name when several are listed (`--profile a,b`, `[[accounts]]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<&'a str>,
    /// The 12-digit account id (EC2's reservation owner), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<&'a str>,
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
            account: i.account.as_deref(),
            account_id: i.account_id.as_deref(),
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
pub fn render_table(
    instances: &[(&Instance, Diagnosis)],
    show_region: bool,
    show_account: bool,
) -> String {
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
    if show_account {
        header.insert(0, "ACCOUNT");
    }
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    rows.extend(
        instances
            .iter()
            .map(|(i, reach)| table_row(i, reach, show_region, show_account)),
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

fn table_row(
    i: &Instance,
    reach: &Diagnosis,
    show_region: bool,
    show_account: bool,
) -> Vec<String> {
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
    if show_account {
        row.insert(0, fit(i.account.as_deref()));
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
            tags: [("Name", name)].into_iter().collect(),
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
            account: None,
            account_id: None,
            ec2: Default::default(),
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
        let table = render_table(&diagnosed(&instances), false, false);
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
        let table = render_table(&rows, false, false);
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
        let table = render_table(&diagnosed(&instances), true, false);
        assert!(table.starts_with("REGION"));
        assert!(
            table
                .lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("us-east-1"))
        );
    }
}
