//! DescribeInstances filters: each filter matches if any of its values matches (values may
//! use `*` and `?`), and an instance must match every filter.

use super::Ec2Error;
use super::query::{Filter, printable};
use crate::emulator::fleet::FleetInstance;
use crate::emulator::wildcard::matches_wildcard;

pub enum InstanceFilter {
    Tag(String, Vec<String>),
    TagKey(Vec<String>),
    TagValue(Vec<String>),
    StateName(Vec<String>),
    InstanceId(Vec<String>),
    ImageId(Vec<String>),
    InstanceType(Vec<String>),
    AvailabilityZone(Vec<String>),
    PrivateIp(Vec<String>),
    ReservationId(Vec<String>),
}

impl InstanceFilter {
    /// An unknown filter name is an error, as in EC2, never silently ignored.
    pub fn parse(filter: Filter) -> Result<Self, Ec2Error> {
        let values = filter.values;
        Ok(match filter.name.as_str() {
            "tag-key" => Self::TagKey(values),
            "tag-value" => Self::TagValue(values),
            "instance-state-name" => Self::StateName(values),
            "instance-id" => Self::InstanceId(values),
            "image-id" => Self::ImageId(values),
            "instance-type" => Self::InstanceType(values),
            "availability-zone" => Self::AvailabilityZone(values),
            "private-ip-address" => Self::PrivateIp(values),
            "reservation-id" => Self::ReservationId(values),
            name => match name.strip_prefix("tag:") {
                Some(key) if !key.is_empty() => Self::Tag(key.to_owned(), values),
                _ => {
                    return Err(Ec2Error::invalid_parameter(format!(
                        "The filter '{}' is invalid",
                        printable(name)
                    )));
                }
            },
        })
    }

    pub fn matches(&self, instance: &FleetInstance) -> bool {
        let any = |patterns: &[String], actual: &str| {
            patterns
                .iter()
                .any(|pattern| matches_wildcard(pattern, actual))
        };
        match self {
            Self::Tag(key, patterns) => instance
                .tags
                .get(key)
                .is_some_and(|value| any(patterns, value)),
            Self::TagKey(patterns) => instance.tags.keys().any(|key| any(patterns, key)),
            Self::TagValue(patterns) => instance.tags.values().any(|value| any(patterns, value)),
            Self::StateName(patterns) => any(patterns, instance.state.as_str()),
            Self::InstanceId(patterns) => any(patterns, &instance.id),
            Self::ImageId(patterns) => any(patterns, &instance.image_id),
            Self::InstanceType(patterns) => any(patterns, &instance.instance_type),
            Self::AvailabilityZone(patterns) => any(patterns, &instance.availability_zone),
            Self::PrivateIp(patterns) => any(patterns, &instance.private_ip),
            Self::ReservationId(patterns) => any(patterns, &instance.reservation_id),
        }
    }
}
