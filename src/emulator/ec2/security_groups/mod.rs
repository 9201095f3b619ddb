//! EC2 security-group calls (Query protocol): CreateSecurityGroup, DeleteSecurityGroup,
//! DescribeSecurityGroups, AuthorizeSecurityGroupIngress/Egress and
//! RevokeSecurityGroupIngress/Egress, with the response shapes aws-sdk-ec2 parses and EC2's
//! error codes. Each call also gives the trail its CloudTrail `requestParameters` and
//! `responseElements` in CloudTrail's nested EC2 shape (`ipPermissions.items[].ipRanges.items`),
//! which is what EventBridge rules on security-group changes read.

pub mod store;

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde_json::{Map, Value, json};

use super::Ec2Error;
use super::query::{Query, printable};
use super::xml::XmlWriter;
use crate::emulator::authorize::{self, Ask};
use crate::emulator::fleet::User;
use crate::emulator::pagination;
use crate::emulator::places::TooManyPlaces;
use crate::emulator::state::EmulatorState;
use crate::emulator::trail::record::TrailElements;
use crate::emulator::wildcard::matches_wildcard;
use store::{Direction, GroupRef, Peer, Revoked, Rule, SecurityGroup, new_id};

pub use store::SecurityGroups;

/// The Query actions served here.
pub const ACTIONS: [&str; 7] = [
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
    "DescribeSecurityGroups",
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
];

/// Group names and descriptions: at most 255 characters (EC2's constraint).
const MAX_NAME: usize = 255;

/// Answers one security-group call; the trail elements are given whether it succeeded or
/// not (`responseElements` only on success), as CloudTrail records them.
pub fn handle(
    state: &EmulatorState,
    caller: &User,
    region: &str,
    query: &Query,
    request_id: &str,
) -> (Result<String, Ec2Error>, TrailElements) {
    let action = query.get("Action").unwrap_or_default();
    let request_parameters = request_parameters(action, query);
    let answer = answer(state, caller, region, action, query, request_id);
    let response_elements = match &answer {
        Ok((_, elements)) => elements.clone(),
        Err(_) => Value::Null,
    };
    let trail = TrailElements {
        request_parameters,
        response_elements,
    };
    (answer.map(|(xml, _)| xml), trail)
}

fn answer(
    state: &EmulatorState,
    caller: &User,
    region: &str,
    action: &str,
    query: &Query,
    request_id: &str,
) -> Result<(String, Value), Ec2Error> {
    let place = caller.place(region);
    let groups = state
        .security_groups
        .at_or(place, || SecurityGroups::new(place.account))
        .map_err(|TooManyPlaces| {
            Ec2Error::new(
                "RequestLimitExceeded",
                "The emulator keeps security groups for at most 1000 (account, region) pairs.",
            )
        })?;
    let groups = groups.as_ref();
    let account = place.account;
    let check = |ask: Ask<'_>| -> Result<(), Ec2Error> {
        authorize::check(state, caller, region, &ask).map_err(|denial| Ec2Error {
            status: StatusCode::FORBIDDEN,
            code: "UnauthorizedOperation",
            message: format!(
                "You are not authorized to perform this operation. {}",
                denial.message
            ),
        })?;
        if query.get("DryRun") == Some("true") {
            return Err(Ec2Error {
                status: StatusCode::PRECONDITION_FAILED,
                code: "DryRunOperation",
                message: "Request would have succeeded, but DryRun flag is set.".to_owned(),
            });
        }
        Ok(())
    };
    let iam_action = format!("ec2:{action}");
    match action {
        "DescribeSecurityGroups" => {
            check(Ask::new(&iam_action, "*"))?;
            Ok((describe(groups, query, request_id)?, Value::Null))
        }
        "CreateSecurityGroup" => {
            let name = required(query, "GroupName")?;
            let description = query.get("GroupDescription").ok_or_else(|| {
                Ec2Error::new(
                    "MissingParameter",
                    "The request must contain the parameter groupDescription",
                )
            })?;
            check_name(name, description)?;
            let tags = tag_specifications(query)?;
            check(Ask::new(
                &iam_action,
                format!("arn:aws:ec2:{region}:{account}:security-group/*"),
            ))?;
            let group = groups.create(name, description, query.get("VpcId"), tags)?;
            let mut xml = XmlWriter::new("CreateSecurityGroupResponse");
            xml.leaf("requestId", request_id);
            xml.leaf("return", "true");
            xml.leaf("groupId", &group.id);
            xml.leaf("securityGroupArn", &arn(account, region, &group.id));
            write_tags(&mut xml, &group.tags);
            let elements = json!({"requestId": request_id, "_return": true, "groupId": group.id});
            Ok((xml.finish("CreateSecurityGroupResponse"), elements))
        }
        "DeleteSecurityGroup" => {
            let target = group_ref(query)?;
            let group = groups.find(&target)?;
            check(Ask::new(&iam_action, arn(account, region, &group.id)).tagged(&group.tags))?;
            // Every EC2 instance of the fleet is in the default group, which cannot go anyway.
            let deleted = groups.delete(&GroupRef::Id(group.id), |_| false)?;
            let mut xml = XmlWriter::new("DeleteSecurityGroupResponse");
            xml.leaf("requestId", request_id);
            xml.leaf("return", "true");
            xml.leaf("groupId", &deleted.id);
            let elements = json!({"requestId": request_id, "_return": true, "groupId": deleted.id});
            Ok((xml.finish("DeleteSecurityGroupResponse"), elements))
        }
        "AuthorizeSecurityGroupIngress"
        | "AuthorizeSecurityGroupEgress"
        | "RevokeSecurityGroupIngress"
        | "RevokeSecurityGroupEgress" => {
            let direction = if action.ends_with("Egress") {
                Direction::Egress
            } else {
                Direction::Ingress
            };
            let target = group_ref(query)?;
            let group = groups.find(&target)?;
            let rules = permissions(groups, query)?;
            check(Ask::new(&iam_action, arn(account, region, &group.id)).tagged(&group.tags))?;
            let by_id = GroupRef::Id(group.id.clone());
            if action.starts_with("Authorize") {
                let (group, added) = groups.authorize(&by_id, direction, rules)?;
                Ok(authorized(
                    action, request_id, account, &group, direction, &added,
                ))
            } else {
                let (_, revoked) = groups.revoke(&by_id, direction, rules)?;
                Ok(revoked_answer(action, request_id, account, &revoked))
            }
        }
        other => Err(Ec2Error::new(
            "InvalidAction",
            format!(
                "The action {} is not valid for this web service.",
                printable(other)
            ),
        )),
    }
}

fn arn(account: &str, region: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}:{account}:security-group/{id}")
}

fn required<'q>(query: &'q Query, name: &str) -> Result<&'q str, Ec2Error> {
    query.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
        Ec2Error::new(
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    })
}

fn check_name(name: &str, description: &str) -> Result<(), Ec2Error> {
    if name.chars().count() > MAX_NAME {
        return Err(Ec2Error::invalid_parameter(
            "Value for parameter groupName is invalid. Length exceeds 255 characters.",
        ));
    }
    if name.starts_with("sg-") {
        return Err(Ec2Error::invalid_parameter(
            "Group names may not be in the format sg-*.",
        ));
    }
    if description.chars().count() > MAX_NAME {
        return Err(Ec2Error::invalid_parameter(
            "Value for parameter groupDescription is invalid. Length exceeds 255 characters.",
        ));
    }
    Ok(())
}

/// `GroupId` or (default VPC) `GroupName`; one of them is required.
fn group_ref(query: &Query) -> Result<GroupRef, Ec2Error> {
    match (query.get("GroupId"), query.get("GroupName")) {
        (Some(id), _) => Ok(GroupRef::Id(id.to_owned())),
        (None, Some(name)) => Ok(GroupRef::Name(name.to_owned())),
        (None, None) => Err(Ec2Error::new(
            "MissingParameter",
            "The request must contain the parameter groupName or groupId",
        )),
    }
}

/// `TagSpecification.N.ResourceType=security-group` with `Tag.M.Key`/`Value`.
fn tag_specifications(query: &Query) -> Result<BTreeMap<String, String>, Ec2Error> {
    let mut tags = BTreeMap::new();
    for spec in query.structs("TagSpecification") {
        if spec.get("ResourceType") != Some("security-group") {
            return Err(Ec2Error::invalid_parameter(format!(
                "'{}' is not a valid taggable resource type for this operation.",
                printable(spec.get("ResourceType").unwrap_or_default())
            )));
        }
        for tag in spec.structs("Tag") {
            let key = tag.get("Key").unwrap_or_default();
            if key.is_empty() || key.starts_with("aws:") {
                return Err(Ec2Error::invalid_parameter(
                    "Tag keys must be non-empty and may not start with 'aws:'.",
                ));
            }
            tags.insert(
                key.to_owned(),
                tag.get("Value").unwrap_or_default().to_owned(),
            );
        }
    }
    Ok(tags)
}

/// The rules a call names: `IpPermissions.N` (one rule per peer), or the older top-level
/// `IpProtocol`/`FromPort`/`ToPort`/`CidrIp`/`SourceSecurityGroupName` form.
fn permissions(groups: &SecurityGroups, query: &Query) -> Result<Vec<Rule>, Ec2Error> {
    let structs = query.structs("IpPermissions");
    let mut rules = Vec::new();
    if structs.is_empty() {
        let protocol = protocol(query.get("IpProtocol"))?;
        let (from, to) = ports(&protocol, query)?;
        let peer = match (query.get("CidrIp"), query.get("SourceSecurityGroupName")) {
            (Some(cidr), _) => Peer::V4(ipv4_cidr(cidr)?),
            (None, Some(name)) => Peer::Group(groups.find(&GroupRef::Name(name.to_owned()))?.id),
            (None, None) => {
                return Err(Ec2Error::new(
                    "MissingParameter",
                    "The request must contain the parameter ipPermissions",
                ));
            }
        };
        rules.push(rule(protocol, from, to, peer, None));
        return Ok(rules);
    }
    for permission in structs {
        let protocol = protocol(permission.get("IpProtocol"))?;
        let (from, to) = ports(&protocol, &permission)?;
        let before = rules.len();
        for range in permission.structs("IpRanges") {
            let cidr = ipv4_cidr(range.get("CidrIp").unwrap_or_default())?;
            let description = range.get("Description").map(str::to_owned);
            rules.push(rule(
                protocol.clone(),
                from,
                to,
                Peer::V4(cidr),
                description,
            ));
        }
        for range in permission.structs("Ipv6Ranges") {
            let cidr = ipv6_cidr(range.get("CidrIpv6").unwrap_or_default())?;
            let description = range.get("Description").map(str::to_owned);
            rules.push(rule(
                protocol.clone(),
                from,
                to,
                Peer::V6(cidr),
                description,
            ));
        }
        for pair in permission.structs("Groups") {
            let id = match (pair.get("GroupId"), pair.get("GroupName")) {
                (Some(id), _) => groups.find(&GroupRef::Id(id.to_owned()))?.id,
                (None, Some(name)) => groups.find(&GroupRef::Name(name.to_owned()))?.id,
                (None, None) => {
                    return Err(Ec2Error::new(
                        "MissingParameter",
                        "The request must contain the parameter groupId",
                    ));
                }
            };
            let description = pair.get("Description").map(str::to_owned);
            rules.push(rule(
                protocol.clone(),
                from,
                to,
                Peer::Group(id),
                description,
            ));
        }
        if let Some(list) = permission.structs("PrefixListIds").first() {
            return Err(Ec2Error::new(
                "InvalidPrefixListId.NotFound",
                format!(
                    "The prefix list '{}' does not exist.",
                    printable(list.get("PrefixListId").unwrap_or_default())
                ),
            ));
        }
        if rules.len() == before {
            // The emulator's wording: EC2 has no rule without a peer in a VPC group.
            return Err(Ec2Error::new(
                "MissingParameter",
                "Each permission must name an IP range, an IPv6 range or a security group",
            ));
        }
    }
    Ok(rules)
}

fn rule(
    protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    peer: Peer,
    description: Option<String>,
) -> Rule {
    Rule {
        id: new_id("sgr"),
        protocol,
        from_port,
        to_port,
        peer,
        description,
    }
}

/// EC2's protocol names, or numbers 0-255 (the common ones become their names); `-1` is all.
fn protocol(given: Option<&str>) -> Result<String, Ec2Error> {
    let given = given.unwrap_or_default();
    let lowered = given.to_ascii_lowercase();
    let named = match lowered.as_str() {
        "tcp" | "6" => "tcp",
        "udp" | "17" => "udp",
        "icmp" | "1" => "icmp",
        "icmpv6" | "58" => "icmpv6",
        "-1" => "-1",
        number => match number.parse::<u8>() {
            Ok(n) => return Ok(n.to_string()),
            Err(_) => {
                return Err(Ec2Error::invalid_parameter(format!(
                    "Invalid value '{}' for IP protocol. Unknown protocol.",
                    printable(if given.is_empty() { "null" } else { given })
                )));
            }
        },
    };
    Ok(named.to_owned())
}

/// Ports for TCP/UDP (both required, 0-65535, from ≤ to), type and code for ICMP (-1 for
/// any), none for every other protocol.
fn ports(protocol: &str, query: &Query) -> Result<(Option<i32>, Option<i32>), Ec2Error> {
    let number = |name: &str| -> Result<Option<i32>, Ec2Error> {
        query
            .get(name)
            .map(|text| {
                text.parse::<i32>().map_err(|_| {
                    Ec2Error::invalid_parameter(format!(
                        "Invalid value '{}' for {}.",
                        printable(text),
                        name
                    ))
                })
            })
            .transpose()
    };
    let (from, to) = (number("FromPort")?, number("ToPort")?);
    match protocol {
        "tcp" | "udp" => match (from, to) {
            (Some(from), Some(to))
                if (0..=65535).contains(&from) && (from..=65535).contains(&to) =>
            {
                Ok((Some(from), Some(to)))
            }
            (Some(_), Some(_)) => Err(Ec2Error::invalid_parameter(
                "Invalid value 'Ports must be in the range 0-65535, from port at most to port.' for portRange.",
            )),
            _ => Err(Ec2Error::invalid_parameter(
                "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.",
            )),
        },
        "icmp" | "icmpv6" => {
            let (from, to) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(-1..=255).contains(&from) || !(-1..=255).contains(&to) {
                return Err(Ec2Error::invalid_parameter(
                    "Invalid value for ICMP type or code: they are -1 to 255.",
                ));
            }
            Ok((Some(from), Some(to)))
        }
        _ => Ok((None, None)),
    }
}

fn ipv4_cidr(text: &str) -> Result<String, Ec2Error> {
    let valid = text.split_once('/').is_some_and(|(address, bits)| {
        address.parse::<std::net::Ipv4Addr>().is_ok()
            && bits.parse::<u8>().is_ok_and(|b| b <= 32)
            && !bits.starts_with('+')
    });
    if valid {
        Ok(text.to_owned())
    } else {
        Err(Ec2Error::invalid_parameter(format!(
            "CIDR block {} is malformed",
            printable(text)
        )))
    }
}

fn ipv6_cidr(text: &str) -> Result<String, Ec2Error> {
    let valid = text.split_once('/').is_some_and(|(address, bits)| {
        address.parse::<std::net::Ipv6Addr>().is_ok()
            && bits.parse::<u8>().is_ok_and(|b| b <= 128)
            && !bits.starts_with('+')
    });
    if valid {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(Ec2Error::invalid_parameter(format!(
            "CIDR block {} is malformed",
            printable(text)
        )))
    }
}

fn authorized(
    action: &str,
    request_id: &str,
    account: &str,
    group: &SecurityGroup,
    direction: Direction,
    added: &[Rule],
) -> (String, Value) {
    let root = format!("{action}Response");
    let mut xml = XmlWriter::new(&root);
    xml.leaf("requestId", request_id);
    xml.leaf("return", "true");
    xml.open("securityGroupRuleSet");
    let mut listed = Vec::new();
    for rule in added {
        xml.open("item");
        xml.leaf("securityGroupRuleId", &rule.id);
        xml.leaf("groupId", &group.id);
        xml.leaf("groupOwnerId", account);
        xml.leaf(
            "isEgress",
            if direction == Direction::Egress {
                "true"
            } else {
                "false"
            },
        );
        xml.leaf("ipProtocol", &rule.protocol);
        let (from, to) = (rule.from_port.unwrap_or(-1), rule.to_port.unwrap_or(-1));
        xml.leaf("fromPort", &from.to_string());
        xml.leaf("toPort", &to.to_string());
        let mut item = json!({
            "groupOwnerId": account,
            "groupId": group.id,
            "securityGroupRuleId": rule.id,
            "isEgress": direction == Direction::Egress,
            "ipProtocol": rule.protocol,
            "fromPort": from,
            "toPort": to,
        });
        match &rule.peer {
            Peer::V4(cidr) => {
                xml.leaf("cidrIpv4", cidr);
                item["cidrIpv4"] = json!(cidr);
            }
            Peer::V6(cidr) => {
                xml.leaf("cidrIpv6", cidr);
                item["cidrIpv6"] = json!(cidr);
            }
            Peer::Group(id) => {
                xml.open("referencedGroupInfo");
                xml.leaf("groupId", id);
                xml.leaf("userId", account);
                xml.close("referencedGroupInfo");
                item["referencedGroupInfo"] = json!({"groupId": id, "userId": account});
            }
        }
        if let Some(description) = &rule.description {
            xml.leaf("description", description);
            item["description"] = json!(description);
        }
        xml.close("item");
        listed.push(item);
    }
    xml.close("securityGroupRuleSet");
    let elements = json!({
        "requestId": request_id,
        "_return": true,
        "securityGroupRuleSet": {"items": listed},
    });
    (xml.finish(&root), elements)
}

fn revoked_answer(
    action: &str,
    request_id: &str,
    account: &str,
    revoked: &Revoked,
) -> (String, Value) {
    let root = format!("{action}Response");
    let mut xml = XmlWriter::new(&root);
    xml.leaf("requestId", request_id);
    xml.leaf("return", "true");
    let mut elements = json!({"requestId": request_id, "_return": true});
    if !revoked.unknown.is_empty() {
        xml.open("unknownIpPermissionSet");
        write_permissions(&mut xml, account, &revoked.unknown);
        xml.close("unknownIpPermissionSet");
        elements["unknownIpPermissionSet"] = json!({"items": permissions_json(&revoked.unknown)});
    }
    xml.open("revokedSecurityGroupRuleSet");
    for rule in &revoked.removed {
        xml.open("item");
        xml.leaf("securityGroupRuleId", &rule.id);
        xml.close("item");
    }
    xml.close("revokedSecurityGroupRuleSet");
    (xml.finish(&root), elements)
}

fn describe(groups: &SecurityGroups, query: &Query, request_id: &str) -> Result<String, Ec2Error> {
    let ids = query.list("GroupId");
    let names = query.list("GroupName");
    let max = query.max_results(5..=1000)?;
    if (!ids.is_empty() || !names.is_empty()) && max.is_some() {
        return Err(Ec2Error::new(
            "InvalidParameterCombination",
            "The parameter groupIdSet cannot be used with the parameter maxResults",
        ));
    }
    let start = query.start_offset()?;
    let filters = query.filters()?;
    for filter in &filters {
        let known = matches!(
            filter.name.as_str(),
            "group-id" | "group-name" | "vpc-id" | "description" | "owner-id" | "tag-key"
        ) || filter
            .name
            .strip_prefix("tag:")
            .is_some_and(|k| !k.is_empty());
        if !known {
            return Err(Ec2Error::invalid_parameter(format!(
                "The filter '{}' is invalid",
                printable(&filter.name)
            )));
        }
    }
    for id in &ids {
        groups.find(&GroupRef::Id(id.clone()))?;
    }
    for name in &names {
        groups.find(&GroupRef::Name(name.clone()))?;
    }
    let any =
        |patterns: &[String], actual: &str| patterns.iter().any(|p| matches_wildcard(p, actual));
    let selected: Vec<SecurityGroup> = groups
        .all()
        .into_iter()
        .filter(|g| ids.is_empty() || ids.contains(&g.id))
        .filter(|g| names.is_empty() || names.contains(&g.name))
        .filter(|g| {
            filters.iter().all(|f| match f.name.as_str() {
                "group-id" => any(&f.values, &g.id),
                "group-name" => any(&f.values, &g.name),
                "vpc-id" => any(&f.values, &g.vpc_id),
                "description" => any(&f.values, &g.description),
                "owner-id" => any(&f.values, groups.owner()),
                "tag-key" => g.tags.keys().any(|k| any(&f.values, k)),
                name => name
                    .strip_prefix("tag:")
                    .and_then(|key| g.tags.get(key))
                    .is_some_and(|v| any(&f.values, v)),
            })
        })
        .collect();
    let (page, next) = pagination::page(&selected, start, max.unwrap_or(usize::MAX));
    let mut xml = XmlWriter::new("DescribeSecurityGroupsResponse");
    xml.leaf("requestId", request_id);
    xml.open("securityGroupInfo");
    for group in page {
        xml.open("item");
        xml.leaf("ownerId", groups.owner());
        xml.leaf("groupId", &group.id);
        xml.leaf("groupName", &group.name);
        xml.leaf("groupDescription", &group.description);
        xml.leaf("vpcId", &group.vpc_id);
        xml.open("ipPermissions");
        write_permissions(&mut xml, groups.owner(), &group.ingress);
        xml.close("ipPermissions");
        xml.open("ipPermissionsEgress");
        write_permissions(&mut xml, groups.owner(), &group.egress);
        xml.close("ipPermissionsEgress");
        write_tags(&mut xml, &group.tags);
        xml.close("item");
    }
    xml.close("securityGroupInfo");
    if let Some(token) = next {
        xml.leaf("nextToken", &token);
    }
    Ok(xml.finish("DescribeSecurityGroupsResponse"))
}

fn write_tags(xml: &mut XmlWriter, tags: &BTreeMap<String, String>) {
    if tags.is_empty() {
        return;
    }
    xml.open("tagSet");
    for (key, value) in tags {
        xml.open("item");
        xml.leaf("key", key);
        xml.leaf("value", value);
        xml.close("item");
    }
    xml.close("tagSet");
}

/// Rules grouped back into IpPermissions by protocol and ports, in first-seen order.
fn grouped(rules: &[Rule]) -> Vec<Vec<&Rule>> {
    let mut out: Vec<Vec<&Rule>> = Vec::new();
    for rule in rules {
        let same = |r: &&Rule| {
            r.protocol == rule.protocol
                && r.from_port == rule.from_port
                && r.to_port == rule.to_port
        };
        match out.iter_mut().find(|g| g.first().is_some_and(same)) {
            Some(group) => group.push(rule),
            None => out.push(vec![rule]),
        }
    }
    out
}

fn write_permissions(xml: &mut XmlWriter, account: &str, rules: &[Rule]) {
    for permission in grouped(rules) {
        let Some(first) = permission.first() else {
            continue;
        };
        xml.open("item");
        xml.leaf("ipProtocol", &first.protocol);
        if let (Some(from), Some(to)) = (first.from_port, first.to_port) {
            xml.leaf("fromPort", &from.to_string());
            xml.leaf("toPort", &to.to_string());
        }
        xml.open("groups");
        for rule in &permission {
            if let Peer::Group(id) = &rule.peer {
                xml.open("item");
                xml.leaf("userId", account);
                xml.leaf("groupId", id);
                if let Some(d) = &rule.description {
                    xml.leaf("description", d);
                }
                xml.close("item");
            }
        }
        xml.close("groups");
        xml.open("ipRanges");
        for rule in &permission {
            if let Peer::V4(cidr) = &rule.peer {
                xml.open("item");
                xml.leaf("cidrIp", cidr);
                if let Some(d) = &rule.description {
                    xml.leaf("description", d);
                }
                xml.close("item");
            }
        }
        xml.close("ipRanges");
        xml.open("ipv6Ranges");
        for rule in &permission {
            if let Peer::V6(cidr) = &rule.peer {
                xml.open("item");
                xml.leaf("cidrIpv6", cidr);
                if let Some(d) = &rule.description {
                    xml.leaf("description", d);
                }
                xml.close("item");
            }
        }
        xml.close("ipv6Ranges");
        xml.open("prefixListIds");
        xml.close("prefixListIds");
        xml.close("item");
    }
}

fn permissions_json(rules: &[Rule]) -> Vec<Value> {
    grouped(rules)
        .into_iter()
        .filter_map(|permission| {
            let first = permission.first()?;
            let items = |pick: &dyn Fn(&Rule) -> Option<Value>| -> Value {
                let listed: Vec<Value> = permission.iter().filter_map(|r| pick(r)).collect();
                if listed.is_empty() {
                    json!({})
                } else {
                    json!({ "items": listed })
                }
            };
            let mut item = json!({"ipProtocol": first.protocol});
            if let (Some(from), Some(to)) = (first.from_port, first.to_port) {
                item["fromPort"] = json!(from);
                item["toPort"] = json!(to);
            }
            item["groups"] = items(&|r| match &r.peer {
                Peer::Group(id) => Some(json!({"groupId": id})),
                _ => None,
            });
            item["ipRanges"] = items(&|r| match &r.peer {
                Peer::V4(cidr) => Some(json!({"cidrIp": cidr})),
                _ => None,
            });
            item["ipv6Ranges"] = items(&|r| match &r.peer {
                Peer::V6(cidr) => Some(json!({"cidrIpv6": cidr})),
                _ => None,
            });
            item["prefixListIds"] = json!({});
            Some(item)
        })
        .collect()
}

/// CloudTrail's `requestParameters` for a security-group call, from the request as sent
/// (so a failed call has them too): lowerCamelCase names, lists as `{"items": [...]}`,
/// empty lists as `{}`, ports as numbers, the shape of CloudTrail's EC2 records.
pub fn request_parameters(action: &str, query: &Query) -> Value {
    let mut fields = Map::new();
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            fields.insert(key.to_owned(), json!(value));
        }
    };
    match action {
        "CreateSecurityGroup" => {
            put("groupName", query.get("GroupName"));
            put("groupDescription", query.get("GroupDescription"));
            put("vpcId", query.get("VpcId"));
        }
        "DeleteSecurityGroup" => {
            put("groupId", query.get("GroupId"));
            put("groupName", query.get("GroupName"));
        }
        "DescribeSecurityGroups" => {
            let set = |items: Vec<Value>| {
                if items.is_empty() {
                    json!({})
                } else {
                    json!({ "items": items })
                }
            };
            let ids = query
                .list("GroupId")
                .into_iter()
                .map(|id| json!({"groupId": id}));
            let names = query
                .list("GroupName")
                .into_iter()
                .map(|name| json!({"groupName": name}));
            let filters = query.structs("Filter").into_iter().map(|f| {
                let values: Vec<Value> = f
                    .list("Value")
                    .into_iter()
                    .map(|v| json!({"value": v}))
                    .collect();
                json!({"name": f.get("Name"), "valueSet": set(values)})
            });
            fields.insert("securityGroupSet".to_owned(), set(names.collect()));
            fields.insert("securityGroupIdSet".to_owned(), set(ids.collect()));
            fields.insert("filterSet".to_owned(), set(filters.collect()));
        }
        _ => {
            put("groupId", query.get("GroupId"));
            put("groupName", query.get("GroupName"));
            let structs = query.structs("IpPermissions");
            if structs.is_empty() {
                put("ipProtocol", query.get("IpProtocol"));
                put("cidrIp", query.get("CidrIp"));
                put(
                    "sourceSecurityGroupName",
                    query.get("SourceSecurityGroupName"),
                );
                for port in ["FromPort", "ToPort"] {
                    if let Some(number) = query.get(port).and_then(|p| p.parse::<i64>().ok()) {
                        let mut key = port.to_owned();
                        key[..1].make_ascii_lowercase();
                        fields.insert(key, json!(number));
                    }
                }
            } else {
                let items: Vec<Value> = structs.iter().map(permission_json).collect();
                fields.insert("ipPermissions".to_owned(), json!({ "items": items }));
            }
        }
    }
    if fields.is_empty() {
        Value::Null
    } else {
        Value::Object(fields)
    }
}

/// One `IpPermissions.N` as sent, in CloudTrail's shape.
fn permission_json(permission: &Query) -> Value {
    let mut item = Map::new();
    if let Some(protocol) = permission.get("IpProtocol") {
        item.insert("ipProtocol".to_owned(), json!(protocol));
    }
    for (given, key) in [("FromPort", "fromPort"), ("ToPort", "toPort")] {
        if let Some(number) = permission.get(given).and_then(|p| p.parse::<i64>().ok()) {
            item.insert(key.to_owned(), json!(number));
        }
    }
    let list = |prefix: &str, fields: &[(&str, &str)]| -> Value {
        let items: Vec<Value> = permission
            .structs(prefix)
            .iter()
            .map(|entry| {
                let object: Map<String, Value> = fields
                    .iter()
                    .filter_map(|(given, key)| {
                        entry.get(given).map(|v| ((*key).to_owned(), json!(v)))
                    })
                    .collect();
                Value::Object(object)
            })
            .collect();
        if items.is_empty() {
            json!({})
        } else {
            json!({ "items": items })
        }
    };
    item.insert(
        "groups".to_owned(),
        list(
            "Groups",
            &[
                ("GroupId", "groupId"),
                ("GroupName", "groupName"),
                ("Description", "description"),
            ],
        ),
    );
    item.insert(
        "ipRanges".to_owned(),
        list(
            "IpRanges",
            &[("CidrIp", "cidrIp"), ("Description", "description")],
        ),
    );
    item.insert(
        "ipv6Ranges".to_owned(),
        list(
            "Ipv6Ranges",
            &[("CidrIpv6", "cidrIpv6"), ("Description", "description")],
        ),
    );
    item.insert(
        "prefixListIds".to_owned(),
        list("PrefixListIds", &[("PrefixListId", "prefixListId")]),
    );
    Value::Object(item)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn request_parameters_nest_as_cloudtrail_records_them() {
        let query = Query::parse(
            b"Action=AuthorizeSecurityGroupIngress&GroupId=sg-0123456789abcdef0\
              &IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22\
              &IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0&IpPermissions.1.IpRanges.1.Description=ssh",
        );
        let value = request_parameters("AuthorizeSecurityGroupIngress", &query);
        assert_eq!(
            value,
            json!({
                "groupId": "sg-0123456789abcdef0",
                "ipPermissions": {"items": [{
                    "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                    "groups": {},
                    "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": "ssh"}]},
                    "ipv6Ranges": {},
                    "prefixListIds": {}
                }]}
            })
        );
    }

    #[test]
    fn protocols_and_ports_are_checked_as_ec2_does() {
        assert_eq!(protocol(Some("TCP")).unwrap(), "tcp");
        assert_eq!(protocol(Some("6")).unwrap(), "tcp");
        assert_eq!(protocol(Some("-1")).unwrap(), "-1");
        assert_eq!(protocol(Some("47")).unwrap(), "47");
        assert_eq!(
            protocol(Some("tcpp")).unwrap_err().code,
            "InvalidParameterValue"
        );
        let query = Query::parse(b"FromPort=22");
        assert!(ports("tcp", &query).is_err());
        let query = Query::parse(b"FromPort=30&ToPort=20");
        assert!(ports("tcp", &query).is_err());
        assert_eq!(ports("-1", &query).unwrap(), (None, None));
        assert!(ipv4_cidr("10.0.0/8").is_err());
        assert!(ipv4_cidr("10.0.0.0/33").is_err());
        assert_eq!(ipv4_cidr("10.0.0.0/8").unwrap(), "10.0.0.0/8");
        assert!(ipv6_cidr("::/0").is_ok());
    }
}
