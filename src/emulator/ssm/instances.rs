//! DescribeInstanceInformation, GetConnectionStatus and ListTagsForResource: the SSM agent's
//! view of the fleet.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::requests::{
    DescribeInstanceInformationRequest, GetConnectionStatusRequest, ListTagsForResourceRequest,
};
use super::{Call, SsmError, epoch_seconds, max_results, start_offset};
use crate::emulator::fleet::FleetInstance;
use crate::emulator::{ids, pagination};

/// The agent version the emulator calls "latest" (`IsLatestVersion`).
pub const LATEST_AGENT_VERSION: &str = "3.3.1142.0";

enum Criterion {
    InstanceIds(Vec<String>),
    AgentVersion(Vec<String>),
    PingStatus(Vec<String>),
    PlatformTypes(Vec<String>),
    ResourceType(Vec<String>),
    Tag(String, Vec<String>),
    TagKey(Vec<String>),
}

impl Criterion {
    /// Only the keys AWS documents for these filters; `tag:` and `tag-key` only in `Filters`.
    fn parse(key: &str, values: Vec<String>, allow_tags: bool) -> Result<Self, SsmError> {
        if values.is_empty() {
            return Err(SsmError::validation(format!(
                "filter {key} needs at least one value"
            )));
        }
        Ok(match key {
            "InstanceIds" => {
                if let Some(bad) = values.iter().find(|id| !ids::is_ssm_instance_id(id)) {
                    return Err(SsmError::new(
                        "InvalidInstanceId",
                        format!("Instance Id {} is not valid.", bad.escape_debug()),
                    ));
                }
                Self::InstanceIds(values)
            }
            "AgentVersion" => Self::AgentVersion(values),
            "PingStatus" => Self::PingStatus(enum_values(
                key,
                values,
                &["Online", "ConnectionLost", "Inactive"],
            )?),
            "PlatformTypes" => {
                Self::PlatformTypes(enum_values(key, values, &["Windows", "Linux", "MacOS"])?)
            }
            "ResourceType" => Self::ResourceType(enum_values(
                key,
                values,
                &["EC2Instance", "ManagedInstance"],
            )?),
            "tag-key" if allow_tags => Self::TagKey(values),
            _ => match key.strip_prefix("tag:") {
                Some(tag) if allow_tags && !tag.is_empty() => Self::Tag(tag.to_owned(), values),
                _ => return Err(SsmError::invalid_filter_key(key)),
            },
        })
    }

    fn matches(&self, instance: &FleetInstance) -> bool {
        let any = |values: &[String], actual: &str| values.iter().any(|value| value == actual);
        match self {
            Self::InstanceIds(values) => any(values, &instance.id),
            Self::AgentVersion(values) => any(values, &instance.agent_version),
            Self::PingStatus(values) => instance
                .ping_status
                .is_some_and(|ping| any(values, ping.as_str())),
            Self::PlatformTypes(values) => any(values, &instance.platform_type),
            Self::ResourceType(values) => any(values, resource_type(instance)),
            Self::Tag(key, values) => instance
                .tags
                .get(key)
                .is_some_and(|actual| any(values, actual)),
            Self::TagKey(keys) => keys.iter().any(|key| instance.tags.contains_key(key)),
        }
    }
}

/// AWS answers `InvalidInstanceId` for ids that are not the account's; an instance that
/// exists but has no agent is simply absent from the list.
fn reject_unknown_ids(call: &Call<'_>, criteria: &[Criterion]) -> Result<(), SsmError> {
    let fleet = call.state.fleet();
    for criterion in criteria {
        if let Criterion::InstanceIds(ids) = criterion
            && let Some(unknown) = ids
                .iter()
                .find(|id| fleet.instance_in(id, call.place()).is_none())
        {
            return Err(SsmError::new(
                "InvalidInstanceId",
                format!("Instance Id {unknown} is not valid or not in this account."),
            ));
        }
    }
    Ok(())
}

/// Values of enumerated filter keys must be ones AWS knows.
fn enum_values(key: &str, values: Vec<String>, allowed: &[&str]) -> Result<Vec<String>, SsmError> {
    match values
        .iter()
        .find(|value| !allowed.contains(&value.as_str()))
    {
        Some(bad) => Err(SsmError::new(
            "InvalidInstanceInformationFilterValue",
            format!(
                "{} is not a valid value for filter {key}; expected one of {}",
                bad.escape_debug(),
                allowed.join(", ")
            ),
        )),
        None => Ok(values),
    }
}

fn resource_type(instance: &FleetInstance) -> &'static str {
    if instance.is_hybrid() {
        "ManagedInstance"
    } else {
        "EC2Instance"
    }
}

pub fn describe_instance_information(
    call: &Call<'_>,
    request: DescribeInstanceInformationRequest,
) -> Result<Value, SsmError> {
    let max = max_results(request.max_results, 5..=50, 50)?;
    let start = start_offset(request.next_token.as_deref())?;
    if !request.instance_information_filter_list.is_empty() && !request.filters.is_empty() {
        return Err(SsmError::validation(
            "InstanceInformationFilterList and Filters cannot be used together; use Filters",
        ));
    }
    let mut criteria = Vec::new();
    for filter in request.instance_information_filter_list {
        criteria.push(Criterion::parse(&filter.key, filter.value_set, false)?);
    }
    for filter in request.filters {
        criteria.push(Criterion::parse(&filter.key, filter.values, true)?);
    }
    reject_unknown_ids(call, &criteria)?;
    let matching: Vec<&FleetInstance> = call
        .state
        .fleet()
        .managed_instances(call.place())
        .filter(|instance| criteria.iter().all(|criterion| criterion.matches(instance)))
        .collect();
    let (page, next_token) = pagination::page(&matching, start, max);
    let now = SystemTime::now();
    let list: Vec<Value> = page
        .iter()
        .map(|instance| information(instance, now))
        .collect();
    let mut response = json!({ "InstanceInformationList": list });
    if let Some(token) = next_token {
        response["NextToken"] = Value::String(token);
    }
    Ok(response)
}

fn information(instance: &FleetInstance, now: SystemTime) -> Value {
    let last_ping = now.checked_sub(instance.last_ping_age).unwrap_or(now);
    let mut info = json!({
        "InstanceId": instance.id,
        "PingStatus": instance.ping_status.map_or("Inactive", |ping| ping.as_str()),
        "LastPingDateTime": epoch_seconds(last_ping),
        "AgentVersion": instance.agent_version,
        "IsLatestVersion": instance.agent_version == LATEST_AGENT_VERSION,
        "PlatformType": instance.platform_type,
        "PlatformName": instance.platform_name,
        "PlatformVersion": instance.platform_version,
        "ResourceType": resource_type(instance),
        "IPAddress": instance.private_ip,
        "ComputerName": instance.computer_name(),
        "AssociationStatus": "Success",
        "SourceId": instance.id,
        "SourceType": if instance.is_hybrid() { "AWS::SSM::ManagedInstance" } else { "AWS::EC2::Instance" },
    });
    // Hybrid nodes carry their name in SSM itself (EC2 has no tags for them).
    if instance.is_hybrid()
        && let Some(name) = instance.name()
    {
        info["Name"] = Value::String(name.to_owned());
        info["RegistrationDate"] = json!(epoch_seconds(instance.launch_time));
    }
    info
}

/// The tags of a hybrid (`mi-`) node: EC2 does not know those nodes, so SSM is where their
/// tags live (AWS: ListTagsForResource with ResourceType ManagedInstance). Other resource types
/// the emulator does not model are refused the way AWS refuses a type it does not know.
pub fn list_tags_for_resource(
    call: &Call<'_>,
    request: ListTagsForResourceRequest,
) -> Result<Value, SsmError> {
    if request.resource_type != "ManagedInstance" {
        return Err(SsmError::new(
            "InvalidResourceType",
            format!(
                "The resource type {} is not valid for this operation.",
                request.resource_type
            ),
        ));
    }
    let node = call
        .state
        .fleet()
        .instance_in(&request.resource_id, call.place())
        .filter(|instance| instance.is_hybrid());
    let arn = crate::emulator::authorize::arn::instance(
        &call.caller.account,
        &call.region,
        &request.resource_id,
    );
    let mut ask = crate::emulator::authorize::Ask::new("ssm:ListTagsForResource", arn);
    if let Some(node) = node {
        ask = ask.tagged(&node.tags);
    }
    call.authorize(&ask)?;
    let Some(node) = node else {
        return Err(SsmError::new(
            "InvalidResourceId",
            "The resource ID is not valid. Verify that you entered the correct ID and try again.",
        ));
    };
    let tags: Vec<Value> = node
        .tags
        .iter()
        .map(|(key, value)| json!({ "Key": key, "Value": value }))
        .collect();
    Ok(json!({ "TagList": tags }))
}

pub fn get_connection_status(
    call: &Call<'_>,
    request: GetConnectionStatusRequest,
) -> Result<Value, SsmError> {
    let connected = call
        .state
        .fleet()
        .instance_in(&request.target, call.place())
        .is_some_and(FleetInstance::is_connectable);
    Ok(json!({
        "Target": request.target,
        "Status": if connected { "connected" } else { "notconnected" },
    }))
}
