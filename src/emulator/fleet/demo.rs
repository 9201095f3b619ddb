//! The built-in demo fleet: a dozen instances chosen to show every case the product must
//! handle — offline agents, a stopped instance, an old agent, a node SSM does not manage, a
//! hybrid `mi-` node, Korean text and a tag value full of terminal control characters.

use crate::emulator::faults::FaultSpec;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::generated::{AMAZON_LINUX, DEBIAN, UBUNTU, standard_images};
use super::{Fleet, FleetInstance, InstanceState, PingStatus, Preferences};

/// A tag value that would repaint a terminal if printed raw: the 8-bit CSI (U+009B) "2J"
/// (clear screen), DEL, CR LF and TAB. All are legal XML 1.0 characters, so every EC2 client
/// (the Rust SDK, botocore's expat) can parse the response; 7-bit ESC is not legal XML 1.0.
pub const HOSTILE_TAG_VALUE: &str = "ops\u{9b}2J\u{7f}\r\nrm -rf /\tnote";

struct Spec {
    id_suffix: u64,
    name: &'static str,
    env: &'static str,
    team: &'static str,
    state: InstanceState,
    ping: Option<PingStatus>,
    image_id: &'static str,
    agent_version: &'static str,
}

const fn spec(
    id_suffix: u64,
    name: &'static str,
    env: &'static str,
    team: &'static str,
    state: InstanceState,
    ping: Option<PingStatus>,
) -> Spec {
    Spec {
        id_suffix,
        name,
        env,
        team,
        state,
        ping,
        image_id: AMAZON_LINUX,
        agent_version: "3.3.1142.0",
    }
}

use InstanceState::{Running, Stopped};
use PingStatus::{ConnectionLost, Inactive, Online};

const SPECS: [Spec; 12] = [
    spec(0x01, "web-1", "prod", "web", Running, Some(Online)),
    spec(0x02, "web-2", "prod", "web", Running, Some(Online)),
    spec(0x03, "api-1", "stg", "api", Running, Some(Online)),
    spec(0x04, "db-1", "prod", "data", Running, Some(ConnectionLost)),
    spec(0x05, "worker-1", "dev", "platform", Running, Some(Online)),
    spec(
        0x06,
        "worker-2",
        "dev",
        "platform",
        Stopped,
        Some(ConnectionLost),
    ),
    Spec {
        agent_version: "2.3.1319.0",
        image_id: DEBIAN,
        ..spec(0x07, "legacy-batch", "dev", "data", Running, Some(Online))
    },
    Spec {
        image_id: UBUNTU,
        ..spec(0x08, "build-1", "dev", "platform", Running, Some(Online))
    },
    spec(0x09, "결제-api-1", "dev", "결제팀", Running, Some(Online)),
    spec(0x0a, "cache-1", "stg", "web", Running, Some(Inactive)),
    spec(0x0b, "unmanaged-1", "dev", "web", Running, None),
    spec(0x0c, "onprem-1", "dev", "platform", Running, Some(Online)),
];

impl Fleet {
    /// The fleet `gangway emulator` and `gangway demo` serve when given no fleet.
    pub fn demo() -> Fleet {
        Fleet {
            users: Vec::new(),
            preferences: Preferences::default(),
            images: standard_images(),
            instances: SPECS.iter().enumerate().map(demo_instance).collect(),
            documents: super::documents::aws_documents(),
            faults: FaultSpec::default(),
            kms_keys: Vec::new(),
            roles: Vec::new(),
        }
        .with_default_users()
    }
}

fn demo_instance((index, spec): (usize, &Spec)) -> FleetInstance {
    let hybrid = spec.name == "onprem-1";
    let mut tags = BTreeMap::from([
        ("Name".to_owned(), spec.name.to_owned()),
        ("Env".to_owned(), spec.env.to_owned()),
        ("Team".to_owned(), spec.team.to_owned()),
    ]);
    if spec.name == "worker-1" {
        tags.insert("Note".to_owned(), HOSTILE_TAG_VALUE.to_owned());
    }
    if spec.name.starts_with("결제") {
        tags.insert("설명".to_owned(), "결제 서비스 API 서버".to_owned());
    }
    let (platform_name, platform_version) = match spec.image_id {
        UBUNTU => ("Ubuntu", "24.04"),
        DEBIAN => ("Debian GNU/Linux", "12"),
        _ => ("Amazon Linux", "2023"),
    };
    let online = spec.ping == Some(Online);
    FleetInstance {
        id: format!(
            "{}{:017x}",
            if hybrid { "mi-" } else { "i-" },
            0x0de_0000_0000_0000u64 + spec.id_suffix
        ),
        reservation_id: format!("r-{:017x}", 0x0de_0000_0000_0000u64 + (index / 2) as u64),
        tags,
        state: spec.state,
        image_id: spec.image_id.to_owned(),
        instance_type: if spec.name.starts_with("db") {
            "r7g.large"
        } else {
            "t3.small"
        }
        .to_owned(),
        availability_zone: ["us-east-1a", "us-east-1b"][index % 2].to_owned(),
        launch_time: SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_767_225_600 - (index as u64) * 86_400),
        platform_type: "Linux".to_owned(),
        platform_name: platform_name.to_owned(),
        platform_version: platform_version.to_owned(),
        private_ip: format!("10.20.{}.{}", index / 4, 10 + index),
        ping_status: spec.ping,
        agent_version: spec.agent_version.to_owned(),
        last_ping_age: Duration::from_secs(if online { 20 } else { 26 * 3_600 }),
        shell: if spec.name == "build-1" {
            "bash"
        } else {
            "/bin/sh"
        }
        .to_owned(),
        ports: BTreeMap::new(),
        hosts: BTreeMap::new(),
        account: super::ACCOUNT_ID.to_owned(),
        region: None,
    }
}
