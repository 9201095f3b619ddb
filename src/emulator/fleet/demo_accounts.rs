//! The demo's second account and second region (issue 13): the built-in demo fleet pinned
//! to `us-east-1` of the default account, a few instances of that account in `eu-west-1`,
//! and an operations account with instances in both regions, reached by assuming
//! `DEMO_ROLE` from the default account. `gangway demo` serves it when given no fleet.

use super::policies::generated_documents;
use super::{
    ACCOUNT_ID, Fleet, FleetInstance, FleetRole, InstanceState, PingStatus, Principal, Role, User,
};

/// The demo's second account.
pub const DEMO_OTHER_ACCOUNT: &str = "210987654321";
/// The role in `DEMO_OTHER_ACCOUNT` the demo's users assume; it trusts the default account.
pub const DEMO_ROLE: &str = "gangway-demo-ops";
/// The demo's two regions, the first the one every older fleet lives in.
pub const DEMO_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// (account, region, id suffix, name, Env tag, running)
const EXTRA: [(&str, &str, u64, &str, &str, bool); 7] = [
    (ACCOUNT_ID, "eu-west-1", 0x21, "eu-web-1", "prod", true),
    (ACCOUNT_ID, "eu-west-1", 0x22, "eu-batch-1", "dev", true),
    (
        DEMO_OTHER_ACCOUNT,
        "us-east-1",
        0x31,
        "ops-bastion",
        "ops",
        true,
    ),
    (
        DEMO_OTHER_ACCOUNT,
        "us-east-1",
        0x32,
        "ops-ci-1",
        "ops",
        true,
    ),
    (
        DEMO_OTHER_ACCOUNT,
        "us-east-1",
        0x33,
        "ops-backup",
        "ops",
        false,
    ),
    (
        DEMO_OTHER_ACCOUNT,
        "eu-west-1",
        0x41,
        "ops-eu-bastion",
        "ops",
        true,
    ),
    (
        DEMO_OTHER_ACCOUNT,
        "eu-west-1",
        0x42,
        "ops-eu-metrics",
        "ops",
        true,
    ),
];

impl Fleet {
    /// The demo fleet across two accounts and two regions (module comment).
    pub fn demo_accounts() -> Fleet {
        let mut fleet = Fleet::demo();
        for instance in &mut fleet.instances {
            instance.region = Some(DEMO_REGIONS[0].to_owned());
        }
        let template = fleet.instances[0].clone();
        for (index, (account, region, suffix, name, env, running)) in EXTRA.iter().enumerate() {
            let mut instance: FleetInstance = template.clone();
            instance.id = format!("i-{:017x}", 0x0de_0000_0000_0000u64 + suffix);
            instance.reservation_id = format!("r-{:017x}", 0x0de_0000_0000_0000u64 + suffix);
            instance.tags = [("Name", *name), ("Env", *env), ("Team", "platform")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            instance.account = (*account).to_owned();
            instance.region = Some((*region).to_owned());
            instance.availability_zone = format!("{region}a");
            instance.private_ip = format!("10.{}.0.{}", 30 + index / 4, 10 + index);
            if !running {
                instance.state = InstanceState::Stopped;
                instance.ping_status = Some(PingStatus::ConnectionLost);
            }
            fleet.instances.push(instance);
        }
        let mut identity = User::new(DEMO_ROLE, "", Role::Engineer);
        identity.account = DEMO_OTHER_ACCOUNT.to_owned();
        identity.principal = Principal::AssumedRole {
            role: DEMO_ROLE.to_owned(),
        };
        fleet.roles.push(FleetRole {
            name: DEMO_ROLE.to_owned(),
            account: DEMO_OTHER_ACCOUNT.to_owned(),
            trusted: vec![format!("arn:aws:iam::{ACCOUNT_ID}:root")],
            identity,
        });
        // Cross-account, the caller's own policies must allow sts:AssumeRole as well: the
        // engineers keep their generated policies and gain one that allows the demo role.
        let assume = crate::iam::Policy::from_value(&serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AssumeTheDemoOpsRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": format!("arn:aws:iam::{DEMO_OTHER_ACCOUNT}:role/{DEMO_ROLE}"),
            }]
        }));
        for user in &mut fleet.users {
            if user.role != Role::Engineer || !user.policies.is_empty() {
                continue;
            }
            let mut policies: Vec<crate::iam::Policy> = generated_documents(user)
                .iter()
                .filter_map(|(_, _, document)| crate::iam::Policy::from_value(document).ok())
                .collect();
            if let Ok(assume) = &assume {
                policies.push(assume.clone());
                user.policies = policies;
            }
        }
        fleet
    }
}
