//! DescribeInstances: ids or filters, pagination by instance count, reservations grouped.

use std::collections::HashSet;

use super::filters::InstanceFilter;
use super::query::{Query, printable};
use super::security_groups::store::{DEFAULT_GROUP_ID, DEFAULT_GROUP_NAME, DEFAULT_VPC};
use super::xml::XmlWriter;
use super::{Ec2Error, iso8601};
use crate::emulator::fleet::{Fleet, FleetInstance, InstanceState, Place};
use crate::emulator::{ids, pagination};

const ROOT: &str = "DescribeInstancesResponse";

pub fn describe_instances(
    fleet: &Fleet,
    place: Place<'_>,
    query: &Query,
    request_id: &str,
) -> Result<String, Ec2Error> {
    let ids = query.list("InstanceId");
    let max = query.max_results(5..=1000)?;
    if !ids.is_empty() && max.is_some() {
        return Err(Ec2Error::new(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    let start = query.start_offset()?;
    let filters = query
        .filters()?
        .into_iter()
        .map(InstanceFilter::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let selected = select_by_ids(fleet, place, &ids)?;
    let matching: Vec<&FleetInstance> = selected
        .into_iter()
        .filter(|instance| filters.iter().all(|filter| filter.matches(instance)))
        .collect();
    let (page, next_token) = pagination::page(&matching, start, max.unwrap_or(usize::MAX));
    let mut xml = XmlWriter::new(ROOT);
    xml.leaf("requestId", request_id);
    xml.open("reservationSet");
    for reservation in page.chunk_by(|a, b| a.reservation_id == b.reservation_id) {
        write_reservation(&mut xml, reservation);
    }
    xml.close("reservationSet");
    if let Some(token) = next_token {
        xml.leaf("nextToken", &token);
    }
    Ok(xml.finish(ROOT))
}

/// With no ids, every EC2 instance. Otherwise the named ones, each id checked: a malformed
/// id and an unknown id are different errors, and all unknown ids are named at once.
fn select_by_ids<'f>(
    fleet: &'f Fleet,
    place: Place<'f>,
    ids: &[String],
) -> Result<Vec<&'f FleetInstance>, Ec2Error> {
    if ids.is_empty() {
        return Ok(fleet.ec2_instances(place).collect());
    }
    if let Some(bad) = ids.iter().find(|id| !ids::is_ec2_instance_id(id)) {
        return Err(Ec2Error::new(
            "InvalidInstanceID.Malformed",
            format!("Invalid id: \"{}\"", printable(bad)),
        ));
    }
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| fleet.instance_in(id, place).is_none())
        .map(String::as_str)
        .collect();
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    match missing.as_slice() {
        [] => Ok(fleet
            .ec2_instances(place)
            .filter(|instance| wanted.contains(instance.id.as_str()))
            .collect()),
        [one] => Err(Ec2Error::new(
            "InvalidInstanceID.NotFound",
            format!("The instance ID '{one}' does not exist"),
        )),
        many => Err(Ec2Error::new(
            "InvalidInstanceID.NotFound",
            format!("The instance IDs '{}' do not exist", many.join(", ")),
        )),
    }
}

fn write_reservation(xml: &mut XmlWriter, instances: &[&FleetInstance]) {
    let Some(first) = instances.first() else {
        return;
    };
    xml.open("item");
    xml.leaf("reservationId", &first.reservation_id);
    xml.leaf("ownerId", &first.account);
    xml.open("groupSet");
    xml.close("groupSet");
    xml.open("instancesSet");
    for instance in instances {
        write_instance(xml, instance);
    }
    xml.close("instancesSet");
    xml.close("item");
}

fn write_instance(xml: &mut XmlWriter, instance: &FleetInstance) {
    xml.open("item");
    xml.leaf("instanceId", &instance.id);
    xml.leaf("imageId", &instance.image_id);
    xml.open("instanceState");
    xml.leaf("code", &instance.state.code().to_string());
    xml.leaf("name", instance.state.as_str());
    xml.close("instanceState");
    xml.leaf("privateDnsName", &instance.computer_name());
    xml.leaf("amiLaunchIndex", "0");
    xml.leaf("instanceType", &instance.instance_type);
    xml.leaf("launchTime", &iso8601(instance.launch_time));
    xml.open("placement");
    xml.leaf("availabilityZone", &instance.availability_zone);
    xml.leaf("tenancy", "default");
    xml.close("placement");
    xml.open("monitoring");
    xml.leaf("state", "disabled");
    xml.close("monitoring");
    xml.leaf("privateIpAddress", &instance.private_ip);
    xml.leaf("architecture", "x86_64");
    xml.leaf("rootDeviceType", "ebs");
    xml.leaf("rootDeviceName", "/dev/xvda");
    xml.leaf("virtualizationType", "hvm");
    xml.leaf("hypervisor", "xen");
    xml.leaf("platformDetails", "Linux/UNIX");
    xml.leaf("vpcId", DEFAULT_VPC);
    // Every fleet instance is in the default VPC's default group, which
    // DescribeSecurityGroups lists and which cannot be deleted.
    xml.open("groupSet");
    xml.open("item");
    xml.leaf("groupId", DEFAULT_GROUP_ID);
    xml.leaf("groupName", DEFAULT_GROUP_NAME);
    xml.close("item");
    xml.close("groupSet");
    if instance.state == InstanceState::Stopped {
        xml.open("stateReason");
        xml.leaf("code", "Client.UserInitiatedShutdown");
        xml.leaf(
            "message",
            "Client.UserInitiatedShutdown: User initiated shutdown",
        );
        xml.close("stateReason");
    }
    if !instance.tags.is_empty() {
        xml.open("tagSet");
        for (key, value) in &instance.tags {
            xml.open("item");
            xml.leaf("key", key);
            xml.leaf("value", value);
            xml.close("item");
        }
        xml.close("tagSet");
    }
    xml.close("item");
}
