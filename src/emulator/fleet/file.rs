//! The fleet file (`--fleet FILE`, TOML; format in docs/emulator.md). Every mistake is
//! reported with the line and the field, from the spans toml keeps: a typo in a fleet file
//! must never silently produce a different fleet, hence `deny_unknown_fields` everywhere.

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use toml::Spanned;

use super::documents::{SessionDocument, aws_documents, check_custom_document};
use super::file_schema::{
    DocumentFile, FleetFile, InstanceFile, KmsKeyFile, PingFile, PreferencesFile, RoleDefFile,
    RoleFile, ShellFile, StateFile, UserFile,
};
use super::generated::{AMAZON_LINUX, standard_images};
use super::{
    ACCOUNT_ID, Fleet, FleetInstance, FleetRole, Image, InstanceState, KmsKey, PingStatus,
    Preferences, Principal, Role, User,
};
use crate::emulator::faults::FaultSpec;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot read fleet file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fleet file {origin}, line {line}, field `{field}`: {message}")]
    Invalid {
        origin: String,
        line: usize,
        field: String,
        message: String,
    },
}

/// Turns a byte span into a 1-based line and the field named on that line.
struct Locator<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Locator<'_> {
    fn error(&self, span: Option<Range<usize>>, field: Option<&str>, message: &str) -> FleetError {
        let start = span.map_or(0, |span| span.start.min(self.text.len()));
        // Counted on bytes: a span never has to fall on a char boundary for this to work.
        let newlines = self.text.as_bytes()[..start]
            .iter()
            .filter(|&&b| b == b'\n');
        let line = newlines.count() + 1;
        let line_text = self.text.lines().nth(line - 1).unwrap_or_default();
        let field = field
            .map(str::to_owned)
            .or_else(|| field_on_line(line_text))
            .unwrap_or_else(|| "?".to_owned());
        FleetError::Invalid {
            origin: self.origin.to_owned(),
            line,
            field,
            message: message.to_owned(),
        }
    }
}

/// `key = value` → `key`; `[[instances]]` → `instances`.
fn field_on_line(line: &str) -> Option<String> {
    let line = line.trim();
    if let Some(table) = line.strip_prefix('[') {
        return Some(table.trim_matches(['[', ']', ' ']).to_owned());
    }
    let (key, _) = line.split_once('=')?;
    Some(key.trim().trim_matches('"').to_owned())
}

impl Fleet {
    /// Reads and validates a fleet file.
    pub fn load(path: &Path) -> Result<Fleet, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
            path: path.to_owned(),
            source,
        })?;
        Fleet::from_toml(&text, &path.display().to_string())
    }

    /// Parses fleet TOML; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Fleet, FleetError> {
        let locator = Locator { origin, text };
        let file: FleetFile =
            toml::from_str(text).map_err(|err| locator.error(err.span(), None, err.message()))?;
        build(file, &locator).map(Fleet::with_default_users)
    }
}

fn build(file: FleetFile, locator: &Locator<'_>) -> Result<Fleet, FleetError> {
    let preferences = preferences(file.preferences, locator)?;
    let faults = match &file.faults {
        Some(spec) => FaultSpec::parse(spec.get_ref())
            .map_err(|err| locator.error(Some(spec.span()), Some("faults"), &err.to_string()))?,
        None => FaultSpec::default(),
    };
    let users = users(file.users, locator)?;
    let mut images = standard_images();
    for image in file.images {
        if images.iter().any(|known| known.id == *image.id.get_ref()) {
            return Err(locator.error(Some(image.id.span()), Some("id"), "duplicate image id"));
        }
        images.push(Image {
            id: image.id.into_inner(),
            name: image.name,
            description: image.description,
            platform_details: image.platform_details,
            architecture: image.architecture,
            creation_date: image.creation_date,
        });
    }
    let mut seen = HashSet::new();
    let mut instances = Vec::with_capacity(file.instances.len());
    for (index, mut instance) in file.instances.into_iter().enumerate() {
        if !seen.insert(instance.id.get_ref().0.clone()) {
            let span = Some(instance.id.span());
            return Err(locator.error(span, Some("id"), "duplicate instance id"));
        }
        if let Some(image_id) = &instance.image_id
            && !images.iter().any(|image| image.id == *image_id.get_ref())
        {
            let message = "unknown image (add it under [[images]])";
            return Err(locator.error(Some(image_id.span()), Some("image_id"), message));
        }
        let ports = port_map(instance.ports.take(), "ports", locator, parse_port_key)?;
        let hosts = port_map(instance.hosts.take(), "hosts", locator, parse_host_key)?;
        let account = account(instance.account.take(), locator)?;
        let region = match instance.region.take() {
            None => None,
            Some(region) => Some(check_region(region, locator)?),
        };
        let mut instance = instance_from_file(index, instance);
        instance.ports = ports;
        instance.hosts = hosts;
        instance.account = account;
        instance.region = region;
        instances.push(instance);
    }
    let kms_keys = kms_keys(file.kms_keys, locator)?;
    let documents = documents(file.documents, locator)?;
    let roles = roles(file.roles, locator)?;
    Ok(Fleet {
        roles,
        users,
        preferences,
        images,
        instances,
        documents,
        faults,
        kms_keys,
    })
}

/// AWS's command documents plus the file's own. Names AWS reserves (`AWS-`, `SSM-`, `Amazon`)
/// cannot be redefined, as CreateDocument refuses them too.
fn documents(
    files: Vec<DocumentFile>,
    locator: &Locator<'_>,
) -> Result<Vec<SessionDocument>, FleetError> {
    let mut documents = aws_documents();
    for file in files {
        let name = file.name.get_ref();
        let reserved = ["AWS-", "SSM-", "Amazon"]
            .iter()
            .any(|prefix| name.starts_with(prefix));
        let valid_name = (3..=128).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if reserved || !valid_name {
            let message = "a document name is 3-128 of a-z A-Z 0-9 _ . - and may not start with AWS-, SSM- or Amazon";
            return Err(locator.error(Some(file.name.span()), Some("name"), message));
        }
        if documents.iter().any(|known| known.name == *name) {
            let message = "duplicate document name";
            return Err(locator.error(Some(file.name.span()), Some("name"), message));
        }
        let session_type = file.session_type.get_ref();
        if let Err(message) = check_custom_document(session_type, &serde_json::Value::Null)
            && message.starts_with("sessionType")
        {
            let span = Some(file.session_type.span());
            return Err(locator.error(span, Some("sessionType"), message));
        }
        let span = file.properties.span();
        let to_json = |table: toml::Table| serde_json::to_value(table).unwrap_or_default();
        let properties = to_json(file.properties.into_inner());
        if let Err(message) = check_custom_document(session_type, &properties) {
            return Err(locator.error(Some(span), Some("properties"), message));
        }
        documents.push(SessionDocument {
            name: file.name.into_inner(),
            content: serde_json::json!({
                "schemaVersion": "1.0",
                "description": file.description,
                "sessionType": file.session_type.into_inner(),
                "parameters": to_json(file.parameters),
                "properties": properties,
            }),
        });
    }
    Ok(documents)
}

fn kms_keys(files: Vec<KmsKeyFile>, locator: &Locator<'_>) -> Result<Vec<KmsKey>, FleetError> {
    let mut keys: Vec<KmsKey> = Vec::new();
    for key in files {
        let id = key.id.get_ref();
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            let message = "a key id is letters, digits and `-` (e.g. a UUID)";
            return Err(locator.error(Some(key.id.span()), Some("id"), message));
        }
        if keys.iter().any(|known| known.id == *id) {
            return Err(locator.error(Some(key.id.span()), Some("id"), "duplicate key id"));
        }
        if let Some(alias) = &key.alias {
            let name = alias.get_ref();
            let valid = name.strip_prefix("alias/").is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.starts_with("aws/")
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
            });
            if !valid {
                let message =
                    "an alias is `alias/` and a name (letters, digits, / _ -), not alias/aws/…";
                return Err(locator.error(Some(alias.span()), Some("alias"), message));
            }
            if keys.iter().any(|known| known.aliases.contains(name)) {
                return Err(locator.error(Some(alias.span()), Some("alias"), "duplicate alias"));
            }
        }
        keys.push(KmsKey {
            id: key.id.into_inner(),
            aliases: key.alias.map(Spanned::into_inner).into_iter().collect(),
            users: key.users,
            enabled: key.enabled,
            description: key.description,
        });
    }
    Ok(keys)
}

fn preferences(file: PreferencesFile, locator: &Locator<'_>) -> Result<Preferences, FleetError> {
    let in_range = |value: &Spanned<u32>, range: Range<u32>, field: &str| {
        if range.contains(value.get_ref()) {
            Ok(*value.get_ref())
        } else {
            let message = format!("must be {} to {} minutes", range.start, range.end - 1);
            Err(locator.error(Some(value.span()), Some(field), &message))
        }
    };
    let idle = match &file.idle_session_timeout_minutes {
        Some(value) => in_range(value, 1..61, "idle_session_timeout_minutes")?,
        None => Preferences::default().idle_session_timeout_minutes,
    };
    let max = match &file.max_session_duration_minutes {
        Some(value) => Some(in_range(value, 1..1441, "max_session_duration_minutes")?),
        None => None,
    };
    Ok(Preferences {
        idle_session_timeout_minutes: idle,
        max_session_duration_minutes: max,
        s3_bucket_name: file.s3_bucket_name,
        s3_key_prefix: file.s3_key_prefix,
        cloudwatch_log_group_name: file.cloudwatch_log_group_name,
        kms_key_id: file.kms_key_id,
        run_as_enabled: file.run_as_enabled,
        run_as_default_user: file.run_as_default_user,
        shell_profile_linux: file.shell_profile_linux,
    })
}

fn users(files: Vec<UserFile>, locator: &Locator<'_>) -> Result<Vec<User>, FleetError> {
    let mut users: Vec<User> = Vec::new();
    for user in files {
        let key_span = Some(user.access_key_id.span());
        if users
            .iter()
            .any(|known| known.access_key_id == *user.access_key_id.get_ref())
        {
            return Err(locator.error(key_span, Some("access_key_id"), "duplicate access key id"));
        }
        if let Err(why) = check_user_name(user.name.get_ref()) {
            return Err(locator.error(Some(user.name.span()), Some("name"), why));
        }
        let expires = instant(user.expires.as_ref(), "expires", locator)?;
        let credentials_expire = instant(
            user.credentials_expire.as_ref(),
            "credentials_expire",
            locator,
        )?;
        let policies = match &user.policies {
            None => Vec::new(),
            Some(texts) => user_policies(texts, &user, locator)?,
        };
        let account = account(user.account.clone(), locator)?;
        let role = match user.role.map(Spanned::into_inner) {
            None if policies.is_empty() => {
                return Err(locator.error(
                    Some(user.name.span()),
                    Some("role"),
                    "missing: give a role (engineer or admin) or IAM `policies`",
                ));
            }
            Some(RoleFile::Admin) => Role::Admin,
            None | Some(RoleFile::Engineer) => Role::Engineer,
        };
        users.push(User {
            name: user.name.into_inner(),
            access_key_id: user.access_key_id.into_inner(),
            account,
            principal: Principal::IamUser,
            role,
            scope: user.scope.map(Spanned::into_inner).unwrap_or_default(),
            expires,
            credentials_expire,
            policies,
            tags: user.tags,
        });
    }
    Ok(users)
}

/// The user's `policies`, each parsed by the IAM grammar. They replace the generated policies
/// of `role`, `scope` and `expires`, so giving both would leave one side silently unused.
fn user_policies(
    texts: &[Spanned<String>],
    user: &UserFile,
    locator: &Locator<'_>,
) -> Result<Vec<crate::iam::Policy>, FleetError> {
    if let Some(expires) = user
        .expires
        .as_ref()
        .filter(|_| user.role.is_none() && user.scope.is_none())
    {
        return Err(locator.error(
            Some(expires.span()),
            Some("expires"),
            "`policies` replace role, scope and expires: give one or the other",
        ));
    }
    parse_policies(
        texts,
        user.role.as_ref(),
        user.scope.as_ref(),
        &user.name,
        locator,
    )
}

/// `policies` of a user or a role, refused beside `role` or `scope`, each parsed.
fn parse_policies(
    texts: &[Spanned<String>],
    role: Option<&Spanned<RoleFile>>,
    scope: Option<&Spanned<BTreeMap<String, String>>>,
    name: &Spanned<String>,
    locator: &Locator<'_>,
) -> Result<Vec<crate::iam::Policy>, FleetError> {
    let both = |span: Range<usize>, field: &str| {
        locator.error(
            Some(span),
            Some(field),
            "`policies` replace role, scope and expires: give one or the other",
        )
    };
    if let Some(role) = role {
        return Err(both(role.span(), "role"));
    }
    if let Some(scope) = scope {
        return Err(both(scope.span(), "scope"));
    }
    if texts.is_empty() {
        return Err(locator.error(
            Some(name.span()),
            Some("policies"),
            "an empty list: a user with no policy may do nothing",
        ));
    }
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            crate::iam::Policy::parse(text.get_ref()).map_err(|err| {
                locator.error(
                    Some(text.span()),
                    Some("policies"),
                    &format!("policy {}: {err}", i + 1),
                )
            })
        })
        .collect()
}

/// `[[roles]]`: unique (account, name), principals that look like IAM ARNs, and the role's
/// permissions as a user's (`role`/`scope`, or `policies`).
fn roles(files: Vec<RoleDefFile>, locator: &Locator<'_>) -> Result<Vec<FleetRole>, FleetError> {
    let mut roles: Vec<FleetRole> = Vec::new();
    for file in files {
        if let Err(why) = check_user_name(file.name.get_ref()) {
            let why = why.replace("user name", "role name");
            return Err(locator.error(Some(file.name.span()), Some("name"), &why));
        }
        let account = account(file.account.clone(), locator)?;
        if roles
            .iter()
            .any(|known| known.account == account && known.name == *file.name.get_ref())
        {
            let message = "duplicate role in this account";
            return Err(locator.error(Some(file.name.span()), Some("name"), message));
        }
        let principal_ok = |arn: &String| {
            arn.strip_prefix("arn:aws:iam::").is_some_and(|rest| {
                rest.split_once(':').is_some_and(|(account, what)| {
                    is_account_id(account)
                        && (what == "root"
                            || what.strip_prefix("user/").is_some_and(|n| !n.is_empty()))
                })
            })
        };
        if let Some(bad) = file.trust.get_ref().iter().find(|arn| !principal_ok(arn)) {
            let message = format!(
                "`{}` is not a principal ARN (arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME)",
                bad.escape_debug()
            );
            return Err(locator.error(Some(file.trust.span()), Some("trust"), &message));
        }
        let policies = match &file.policies {
            None => Vec::new(),
            Some(texts) => parse_policies(
                texts,
                file.role.as_ref(),
                file.scope.as_ref(),
                &file.name,
                locator,
            )?,
        };
        let role = match file.role.map(Spanned::into_inner) {
            None if policies.is_empty() => {
                let message = "missing: give a role (engineer or admin) or IAM `policies`";
                return Err(locator.error(Some(file.name.span()), Some("role"), message));
            }
            Some(RoleFile::Admin) => Role::Admin,
            None | Some(RoleFile::Engineer) => Role::Engineer,
        };
        let name = file.name.into_inner();
        let mut identity = User::new(&name, "", role);
        identity.account = account.clone();
        identity.principal = Principal::AssumedRole { role: name.clone() };
        identity.scope = file.scope.map(Spanned::into_inner).unwrap_or_default();
        identity.policies = policies;
        roles.push(FleetRole {
            name,
            account,
            trusted: file.trust.into_inner(),
            identity,
        });
    }
    Ok(roles)
}

/// An account id is 12 digits.
pub(crate) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An `account` field: 12 digits, the default account when absent.
fn account(field: Option<Spanned<String>>, locator: &Locator<'_>) -> Result<String, FleetError> {
    match field {
        None => Ok(ACCOUNT_ID.to_owned()),
        Some(account) if is_account_id(account.get_ref()) => Ok(account.into_inner()),
        Some(account) => Err(locator.error(
            Some(account.span()),
            Some("account"),
            "an account id is 12 digits, e.g. \"210987654321\"",
        )),
    }
}

/// A `region` field: a region name as the SigV4 scope carries it (`eu-west-1`).
fn check_region(region: Spanned<String>, locator: &Locator<'_>) -> Result<String, FleetError> {
    let name = region.get_ref();
    let valid = (1..=32).contains(&name.len())
        && name.contains('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(region.into_inner())
    } else {
        let message = "a region is lower-case letters, digits and `-`, e.g. \"eu-west-1\"";
        Err(locator.error(Some(region.span()), Some("region"), message))
    }
}

/// IAM's rule for user names (CreateUser's `UserName`: pattern `[\w+=,.@-]+`, 1 to 64
/// characters, `\w` being ASCII letters, digits and `_`). The name becomes the prefix of
/// session ids and of the data-channel path, so a name outside it could start sessions that
/// never open.
fn check_user_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 64 {
        return Err("a user name is 1 to 64 characters (IAM's rule)");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if !name.chars().all(allowed) {
        return Err(
            "a user name may hold only ASCII letters, digits and _+=,.@- (IAM's rule for user names)",
        );
    }
    Ok(())
}

fn instant(
    field: Option<&Spanned<toml::value::Datetime>>,
    name: &str,
    locator: &Locator<'_>,
) -> Result<Option<SystemTime>, FleetError> {
    let Some(datetime) = field else {
        return Ok(None);
    };
    let message = "must be a date-time with offset, e.g. 2030-01-01T00:00:00Z";
    to_system_time(datetime.get_ref())
        .map(Some)
        .ok_or_else(|| locator.error(Some(datetime.span()), Some(name), message))
}

fn to_system_time(datetime: &toml::value::Datetime) -> Option<SystemTime> {
    datetime.offset?;
    let parsed = time::OffsetDateTime::parse(
        &datetime.to_string(),
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    let since_epoch = parsed.unix_timestamp_nanos();
    let since_epoch = u64::try_from(since_epoch).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(since_epoch))
}

fn instance_from_file(index: usize, file: InstanceFile) -> FleetInstance {
    let id = file.id.into_inner().0;
    let mut tags = file.tags;
    if let Some(name) = file.name {
        tags.insert("Name".to_owned(), name);
    }
    let ping_status = match file.ping_status {
        PingFile::Online => Some(PingStatus::Online),
        PingFile::ConnectionLost => Some(PingStatus::ConnectionLost),
        PingFile::Inactive => Some(PingStatus::Inactive),
        PingFile::NotManaged => None,
    };
    let online = ping_status == Some(PingStatus::Online);
    let suffix = id.split_once('-').map_or("", |(_, hex)| hex).to_owned();
    FleetInstance {
        reservation_id: file.reservation_id.unwrap_or_else(|| format!("r-{suffix}")),
        id,
        tags,
        state: state_from_file(file.state),
        image_id: file
            .image_id
            .map_or_else(|| AMAZON_LINUX.to_owned(), Spanned::into_inner),
        instance_type: file.instance_type,
        availability_zone: file.availability_zone,
        launch_time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
        platform_type: file.platform,
        platform_name: file.platform_name,
        platform_version: file.platform_version,
        private_ip: file
            .private_ip
            .unwrap_or(Ipv4Addr::new(
                10,
                0,
                (index / 250) as u8,
                (index % 250) as u8 + 1,
            ))
            .to_string(),
        ping_status,
        agent_version: file.agent_version,
        last_ping_age: Duration::from_secs(if online { 30 } else { 86_400 }),
        ports: BTreeMap::new(),
        hosts: BTreeMap::new(),
        account: ACCOUNT_ID.to_owned(),
        region: None,
        shell: match file.shell {
            ShellFile::Sh => "/bin/sh",
            ShellFile::Bash => "bash",
        }
        .to_owned(),
    }
}

/// `ports` or `hosts` of an instance: every key through `parse_key`, every value a loopback
/// `IP:PORT` (a port session must never leave the emulator's machine: tests point instances
/// at their own servers).
fn port_map<K: Ord>(
    table: Option<Spanned<BTreeMap<String, String>>>,
    field: &str,
    locator: &Locator<'_>,
    parse_key: fn(&str) -> Result<K, String>,
) -> Result<BTreeMap<K, SocketAddr>, FleetError> {
    let Some(table) = table else {
        return Ok(BTreeMap::new());
    };
    let span = Some(table.span());
    let mut map = BTreeMap::new();
    for (key, value) in table.into_inner() {
        let key = parse_key(&key)
            .map_err(|message| locator.error(span.clone(), Some(field), &message))?;
        let address = value
            .parse::<SocketAddr>()
            .ok()
            .filter(|address| address.ip().is_loopback() && address.port() != 0)
            .ok_or_else(|| {
                let message = format!(
                    "`{}` is not a loopback address with a port (e.g. \"127.0.0.1:8080\")",
                    value.escape_debug()
                );
                locator.error(span.clone(), Some(field), &message)
            })?;
        map.insert(key, address);
    }
    Ok(map)
}

fn parse_port_key(key: &str) -> Result<u16, String> {
    key.parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("`{}` is not a port number (1-65535)", key.escape_debug()))
}

/// `"name:port"`: a host name or IP address (as the document's `host` parameter names it)
/// and a port; names compare without case, as DNS does.
fn parse_host_key(key: &str) -> Result<String, String> {
    let invalid = || {
        format!(
            "`{}` is not `host:port` (e.g. \"db.internal:5432\")",
            key.escape_debug()
        )
    };
    let (host, port) = key.rsplit_once(':').ok_or_else(invalid)?;
    let port = parse_port_key(port).map_err(|_| invalid())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let valid_host = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
    if !valid_host {
        return Err(invalid());
    }
    Ok(FleetInstance::host_key(host, port))
}

fn state_from_file(state: StateFile) -> InstanceState {
    match state {
        StateFile::Pending => InstanceState::Pending,
        StateFile::Running => InstanceState::Running,
        StateFile::ShuttingDown => InstanceState::ShuttingDown,
        StateFile::Terminated => InstanceState::Terminated,
        StateFile::Stopping => InstanceState::Stopping,
        StateFile::Stopped => InstanceState::Stopped,
    }
}
