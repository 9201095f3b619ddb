//! `--instances N`: a deterministic fleet for scale tests. The same N always gives the same
//! ids, names, tags and states, so tests can assert on them.

use crate::emulator::faults::FaultSpec;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::{Fleet, FleetInstance, Image, InstanceState, PingStatus, Preferences};

const ENVIRONMENTS: [&str; 3] = ["dev", "stg", "prod"];
const TEAMS: [&str; 4] = ["payments", "search", "platform", "data"];
const ROLES: [&str; 5] = ["web", "api", "worker", "cache", "batch"];
const INSTANCE_TYPES: [&str; 4] = ["t3.micro", "t3.small", "m7g.large", "c7i.xlarge"];
const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];
/// Instances launched together share a reservation, as with `RunInstances --count 5`.
const INSTANCES_PER_RESERVATION: usize = 5;
/// 2026-01-01T00:00:00Z: a fixed launch epoch keeps the fleet deterministic.
const LAUNCH_EPOCH_SECS: u64 = 1_767_225_600;

pub(super) const AMAZON_LINUX: &str = "ami-0a1b2c3d4e5f60001";
pub(super) const UBUNTU: &str = "ami-0a1b2c3d4e5f60002";
pub(super) const DEBIAN: &str = "ami-0a1b2c3d4e5f60003";

/// The AMIs every built-in fleet uses.
pub(super) fn standard_images() -> Vec<Image> {
    let image = |id: &str, name: &str, description: &str, created: &str| Image {
        id: id.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        platform_details: "Linux/UNIX".to_owned(),
        architecture: "x86_64".to_owned(),
        creation_date: created.to_owned(),
    };
    vec![
        image(
            AMAZON_LINUX,
            "al2023-ami-2023.6.20250101.0-kernel-6.1-x86_64",
            "Amazon Linux 2023 AMI",
            "2025-01-01T00:00:00.000Z",
        ),
        image(
            UBUNTU,
            "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101",
            "Canonical, Ubuntu, 24.04 LTS",
            "2025-01-02T00:00:00.000Z",
        ),
        image(
            DEBIAN,
            "debian-12-amd64-20250101-1000",
            "Debian 12 (20250101-1000)",
            "2025-01-03T00:00:00.000Z",
        ),
    ]
}

impl Fleet {
    /// `count` instances named `host-00001`…, `Env` cycling dev, stg, prod; nine in ten
    /// Online and running, the tenth stopped with its agent's connection lost.
    pub fn generated(count: usize) -> Fleet {
        Fleet {
            users: Vec::new(),
            preferences: Preferences::default(),
            images: standard_images(),
            instances: (0..count).map(generated_instance).collect(),
            documents: super::documents::aws_documents(),
            faults: FaultSpec::default(),
            kms_keys: Vec::new(),
            roles: Vec::new(),
        }
        .with_default_users()
    }
}

fn generated_instance(index: usize) -> FleetInstance {
    let number = index + 1;
    let healthy = index % 10 != 9;
    let (image_id, platform_name, platform_version) = match index % 3 {
        0 => (AMAZON_LINUX, "Amazon Linux", "2023"),
        1 => (UBUNTU, "Ubuntu", "24.04"),
        _ => (DEBIAN, "Debian GNU/Linux", "12"),
    };
    let tags = BTreeMap::from([
        ("Name".to_owned(), format!("host-{number:05}")),
        ("Env".to_owned(), ENVIRONMENTS[index % 3].to_owned()),
        ("Team".to_owned(), TEAMS[index % 4].to_owned()),
        ("Role".to_owned(), ROLES[index % 5].to_owned()),
    ]);
    let index_u64 = index as u64;
    FleetInstance {
        id: format!("i-{:017x}", 0x0e0_0000_0000_0000u64 + index_u64),
        reservation_id: format!(
            "r-{:017x}",
            0x0e0_0000_0000_0000u64 + (index / INSTANCES_PER_RESERVATION) as u64
        ),
        tags,
        state: if healthy {
            InstanceState::Running
        } else {
            InstanceState::Stopped
        },
        image_id: image_id.to_owned(),
        instance_type: INSTANCE_TYPES[index % 4].to_owned(),
        availability_zone: ZONES[index % 3].to_owned(),
        launch_time: SystemTime::UNIX_EPOCH
            + Duration::from_secs(LAUNCH_EPOCH_SECS + index_u64 * 60),
        platform_type: "Linux".to_owned(),
        platform_name: platform_name.to_owned(),
        platform_version: platform_version.to_owned(),
        private_ip: private_ip(index),
        ping_status: Some(if healthy {
            PingStatus::Online
        } else {
            PingStatus::ConnectionLost
        }),
        agent_version: if index % 7 == 3 {
            "3.2.2303.0"
        } else {
            "3.3.1142.0"
        }
        .to_owned(),
        last_ping_age: Duration::from_secs(if healthy { 30 } else { 3 * 86_400 }),
        shell: "/bin/sh".to_owned(),
        ports: BTreeMap::new(),
        hosts: BTreeMap::new(),
        account: super::ACCOUNT_ID.to_owned(),
        region: None,
    }
}

/// `10.x.y.z`, unique for up to ~16 million instances, never a network or broadcast address.
fn private_ip(index: usize) -> String {
    let host = index / 250 * 256 + index % 250 + 1;
    format!(
        "10.{}.{}.{}",
        (host >> 16) & 255,
        (host >> 8) & 255,
        host & 255
    )
}
