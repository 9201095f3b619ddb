//! The security groups of the emulated account's one (default) VPC, and the rule logic of
//! AuthorizeSecurityGroupIngress/Egress and RevokeSecurityGroupIngress/Egress: rules are kept
//! one per peer (a CIDR or a group), as EC2 keeps them (each has its own `sgr-` id), and
//! grouped back into `IpPermissions` by protocol and ports when described.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::emulator::ec2::Ec2Error;

/// The VPC every group (and every fleet instance) is in: the account's default VPC.
pub const DEFAULT_VPC: &str = "vpc-0d0e0fa0000000001";
/// The default VPC's `default` group: every EC2 instance of the fleet is in it, so the
/// groups DescribeInstances names exist in DescribeSecurityGroups.
pub const DEFAULT_GROUP_ID: &str = "sg-0d0e0fa0000000001";
pub const DEFAULT_GROUP_NAME: &str = "default";
/// Groups the store holds at most (EC2's quota is 2,500 per region; docs/emulator.md).
pub const MAX_GROUPS: usize = 1000;
/// Inbound rules per group, and outbound rules per group: EC2's default quota of 60 each.
pub const MAX_RULES_PER_DIRECTION: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

/// Who a rule lets in (ingress) or out to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    V4(String),
    V6(String),
    Group(String),
}

/// One rule: protocol (`tcp`, `udp`, `icmp`, `icmpv6`, `-1` or a number), ports (absent for
/// `-1`), one peer and its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub peer: Peer,
    pub description: Option<String>,
}

impl Rule {
    /// What makes two rules the same rule to EC2 (the description does not).
    fn key(&self) -> (&str, Option<i32>, Option<i32>, &Peer) {
        (&self.protocol, self.from_port, self.to_port, &self.peer)
    }

    /// EC2's wording of a rule in InvalidPermission.Duplicate:
    /// `peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW`.
    pub fn words(&self) -> String {
        let peer = match &self.peer {
            Peer::V4(cidr) | Peer::V6(cidr) => cidr.clone(),
            Peer::Group(id) => id.clone(),
        };
        let protocol = match self.protocol.as_str() {
            "-1" => "ALL".to_owned(),
            other => other.to_ascii_uppercase(),
        };
        match (self.from_port, self.to_port) {
            (Some(from), Some(to)) => {
                format!("peer: {peer}, {protocol}, from port: {from}, to port: {to}, ALLOW")
            }
            _ => format!("peer: {peer}, {protocol}, ALLOW"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub tags: BTreeMap<String, String>,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
}

impl SecurityGroup {
    pub fn rules(&self, direction: Direction) -> &[Rule] {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    fn rules_mut(&mut self, direction: Direction) -> &mut Vec<Rule> {
        match direction {
            Direction::Ingress => &mut self.ingress,
            Direction::Egress => &mut self.egress,
        }
    }
}

/// The outcome of a revoke: the rules removed and the requested ones that did not exist.
#[derive(Debug, Default)]
pub struct Revoked {
    pub removed: Vec<Rule>,
    pub unknown: Vec<Rule>,
}

/// Every security group of one account's region, behind one lock; calls hold it only for
/// their own change.
pub struct SecurityGroups {
    /// The account that owns them (`ownerId`, `groupOwnerId`, the ARNs).
    owner: String,
    groups: Mutex<Vec<SecurityGroup>>,
}

impl Default for SecurityGroups {
    fn default() -> Self {
        Self::new(crate::emulator::fleet::ACCOUNT_ID)
    }
}

impl SecurityGroups {
    /// The groups of a new (account, region): the default VPC's `default` group. Its id is
    /// the same in every place (fleet instances name it); real EC2 ids are unique.
    pub fn new(owner: &str) -> Self {
        let everyone_out = Rule {
            id: "sgr-0d0e0fa0000000001".to_owned(),
            protocol: "-1".to_owned(),
            from_port: None,
            to_port: None,
            peer: Peer::V4("0.0.0.0/0".to_owned()),
            description: None,
        };
        // AWS's default group: members may reach each other, everything may go out.
        let members_in = Rule {
            id: "sgr-0d0e0fa0000000002".to_owned(),
            peer: Peer::Group(DEFAULT_GROUP_ID.to_owned()),
            ..everyone_out.clone()
        };
        let default = SecurityGroup {
            id: DEFAULT_GROUP_ID.to_owned(),
            name: DEFAULT_GROUP_NAME.to_owned(),
            description: "default VPC security group".to_owned(),
            vpc_id: DEFAULT_VPC.to_owned(),
            tags: BTreeMap::new(),
            ingress: vec![members_in],
            egress: vec![everyone_out],
        };
        Self {
            owner: owner.to_owned(),
            groups: Mutex::new(vec![default]),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }
}

/// A fresh `sg-`/`sgr-` style id: the prefix and 17 lower-case hex digits.
pub fn new_id(prefix: &str) -> String {
    let digits = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &digits[..17])
}

/// `sg-` and 8 or 17 lower-case hex digits, the ids EC2 issues.
pub fn is_group_id(id: &str) -> bool {
    id.strip_prefix("sg-").is_some_and(|digits| {
        matches!(digits.len(), 8 | 17)
            && digits
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// How a request names a group: by id, or (default VPC) by name.
#[derive(Debug, Clone)]
pub enum GroupRef {
    Id(String),
    Name(String),
}

impl SecurityGroups {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SecurityGroup>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every group, in creation order.
    pub fn all(&self) -> Vec<SecurityGroup> {
        self.lock().clone()
    }

    /// The group a request names, or EC2's error for it.
    pub fn find(&self, group: &GroupRef) -> Result<SecurityGroup, Ec2Error> {
        let groups = self.lock();
        find_in(&groups, group).cloned()
    }

    pub fn create(
        &self,
        name: &str,
        description: &str,
        vpc_id: Option<&str>,
        tags: BTreeMap<String, String>,
    ) -> Result<SecurityGroup, Ec2Error> {
        if let Some(vpc) = vpc_id
            && vpc != DEFAULT_VPC
        {
            return Err(Ec2Error::new(
                "InvalidVpcID.NotFound",
                format!(
                    "The vpc ID '{}' does not exist",
                    super::super::query::printable(vpc)
                ),
            ));
        }
        let mut groups = self.lock();
        if groups.iter().any(|g| g.name == name) {
            return Err(Ec2Error::new(
                "InvalidGroup.Duplicate",
                format!("The security group '{name}' already exists for VPC '{DEFAULT_VPC}'"),
            ));
        }
        if groups.len() >= MAX_GROUPS {
            return Err(Ec2Error::new(
                "SecurityGroupLimitExceeded",
                "You have reached the maximum number of security groups.",
            ));
        }
        let group = SecurityGroup {
            id: new_id("sg"),
            name: name.to_owned(),
            description: description.to_owned(),
            vpc_id: DEFAULT_VPC.to_owned(),
            tags,
            ingress: Vec::new(),
            // A new VPC group lets everything out until told otherwise, as EC2's do.
            egress: vec![Rule {
                id: new_id("sgr"),
                protocol: "-1".to_owned(),
                from_port: None,
                to_port: None,
                peer: Peer::V4("0.0.0.0/0".to_owned()),
                description: None,
            }],
        };
        groups.push(group.clone());
        Ok(group)
    }

    /// Deletes a group nothing refers to. `in_use_by_instances`: fleet instances are in it.
    pub fn delete(
        &self,
        group: &GroupRef,
        in_use_by_instances: impl Fn(&str) -> bool,
    ) -> Result<SecurityGroup, Ec2Error> {
        let mut groups = self.lock();
        let found = find_in(&groups, group)?.clone();
        if found.name == DEFAULT_GROUP_NAME {
            return Err(Ec2Error::new(
                "CannotDelete",
                format!(
                    "the specified group: \"{}\" name: \"default\" cannot be deleted by a user",
                    found.id
                ),
            ));
        }
        let referenced = groups
            .iter()
            .filter(|other| other.id != found.id)
            .flat_map(|other| other.ingress.iter().chain(&other.egress))
            .any(|rule| rule.peer == Peer::Group(found.id.clone()));
        if referenced || in_use_by_instances(&found.id) {
            return Err(Ec2Error::new(
                "DependencyViolation",
                format!("resource {} has a dependent object", found.id),
            ));
        }
        groups.retain(|g| g.id != found.id);
        Ok(found)
    }

    /// Adds `rules` to the group, all or none: any that exists already is
    /// InvalidPermission.Duplicate, a peer group that does not exist InvalidGroup.NotFound.
    pub fn authorize(
        &self,
        group: &GroupRef,
        direction: Direction,
        rules: Vec<Rule>,
    ) -> Result<(SecurityGroup, Vec<Rule>), Ec2Error> {
        let mut groups = self.lock();
        for rule in &rules {
            if let Peer::Group(peer) = &rule.peer {
                find_in(&groups, &GroupRef::Id(peer.clone()))?;
            }
        }
        let index = index_in(&groups, group)?;
        let target = &mut groups[index];
        let existing = target.rules(direction);
        for (i, rule) in rules.iter().enumerate() {
            let repeated = rules[..i].iter().any(|earlier| earlier.key() == rule.key());
            if repeated || existing.iter().any(|have| have.key() == rule.key()) {
                return Err(Ec2Error::new(
                    "InvalidPermission.Duplicate",
                    format!("the specified rule \"{}\" already exists", rule.words()),
                ));
            }
        }
        if existing.len() + rules.len() > MAX_RULES_PER_DIRECTION {
            return Err(Ec2Error::new(
                "RulesPerSecurityGroupLimitExceeded",
                "The maximum number of rules per security group has been reached.",
            ));
        }
        target.rules_mut(direction).extend(rules.iter().cloned());
        Ok((target.clone(), rules))
    }

    /// Removes the rules that exist; when none of them does, InvalidPermission.NotFound.
    pub fn revoke(
        &self,
        group: &GroupRef,
        direction: Direction,
        rules: Vec<Rule>,
    ) -> Result<(SecurityGroup, Revoked), Ec2Error> {
        let mut groups = self.lock();
        let index = index_in(&groups, group)?;
        let target = &mut groups[index];
        let mut revoked = Revoked::default();
        for rule in rules {
            let have = target.rules_mut(direction);
            match have.iter().position(|h| h.key() == rule.key()) {
                Some(position) => revoked.removed.push(have.remove(position)),
                None => revoked.unknown.push(rule),
            }
        }
        if revoked.removed.is_empty() {
            return Err(Ec2Error::new(
                "InvalidPermission.NotFound",
                "The specified rule does not exist in this security group.",
            ));
        }
        Ok((target.clone(), revoked))
    }
}

fn index_in(groups: &[SecurityGroup], group: &GroupRef) -> Result<usize, Ec2Error> {
    let id = find_in(groups, group)?.id.clone();
    groups
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(|| not_found(group))
}

fn find_in<'g>(
    groups: &'g [SecurityGroup],
    group: &GroupRef,
) -> Result<&'g SecurityGroup, Ec2Error> {
    match group {
        GroupRef::Id(id) if !is_group_id(id) => Err(Ec2Error::new(
            "InvalidGroupId.Malformed",
            format!(
                "Invalid id: \"{}\" (expecting \"sg-...\")",
                super::super::query::printable(id)
            ),
        )),
        GroupRef::Id(id) => groups
            .iter()
            .find(|g| &g.id == id)
            .ok_or_else(|| not_found(group)),
        GroupRef::Name(name) => groups
            .iter()
            .find(|g| &g.name == name)
            .ok_or_else(|| not_found(group)),
    }
}

fn not_found(group: &GroupRef) -> Ec2Error {
    let message = match group {
        GroupRef::Id(id) => format!("The security group '{id}' does not exist"),
        GroupRef::Name(name) => format!(
            "The security group '{}' does not exist in default VPC '{DEFAULT_VPC}'",
            super::super::query::printable(name)
        ),
    };
    Ec2Error::new("InvalidGroup.NotFound", message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ssh_from(cidr: &str) -> Rule {
        Rule {
            id: new_id("sgr"),
            protocol: "tcp".to_owned(),
            from_port: Some(22),
            to_port: Some(22),
            peer: Peer::V4(cidr.to_owned()),
            description: None,
        }
    }

    #[test]
    fn rules_are_added_once_and_revoked_by_their_key() {
        let store = SecurityGroups::default();
        let group = store
            .create("web", "web servers", None, BTreeMap::new())
            .unwrap();
        let by_id = GroupRef::Id(group.id.clone());
        store
            .authorize(&by_id, Direction::Ingress, vec![ssh_from("10.0.0.0/8")])
            .unwrap();
        let err = store
            .authorize(&by_id, Direction::Ingress, vec![ssh_from("10.0.0.0/8")])
            .unwrap_err();
        assert_eq!(err.code, "InvalidPermission.Duplicate");
        assert_eq!(
            err.message,
            "the specified rule \"peer: 10.0.0.0/8, TCP, from port: 22, to port: 22, ALLOW\" already exists"
        );
        let (_, revoked) = store
            .revoke(
                &by_id,
                Direction::Ingress,
                vec![ssh_from("10.0.0.0/8"), ssh_from("192.0.2.0/24")],
            )
            .unwrap();
        assert_eq!(revoked.removed.len(), 1);
        assert_eq!(revoked.unknown.len(), 1);
        let err = store
            .revoke(&by_id, Direction::Ingress, vec![ssh_from("10.0.0.0/8")])
            .unwrap_err();
        assert_eq!(err.code, "InvalidPermission.NotFound");
    }

    #[test]
    fn the_default_group_and_referenced_groups_cannot_be_deleted() {
        let store = SecurityGroups::default();
        let err = store
            .delete(&GroupRef::Name("default".to_owned()), |_| false)
            .unwrap_err();
        assert_eq!(err.code, "CannotDelete");
        let db = store.create("db", "d", None, BTreeMap::new()).unwrap();
        let web = store.create("web", "w", None, BTreeMap::new()).unwrap();
        let from_web = Rule {
            peer: Peer::Group(web.id.clone()),
            ..ssh_from("x")
        };
        store
            .authorize(
                &GroupRef::Id(db.id.clone()),
                Direction::Ingress,
                vec![from_web],
            )
            .unwrap();
        let err = store
            .delete(&GroupRef::Id(web.id.clone()), |_| false)
            .unwrap_err();
        assert_eq!(err.code, "DependencyViolation");
        store
            .delete(&GroupRef::Id(db.id.clone()), |_| false)
            .unwrap();
        store.delete(&GroupRef::Id(web.id), |_| false).unwrap();
        assert_eq!(
            store.find(&GroupRef::Id(db.id)).unwrap_err().code,
            "InvalidGroup.NotFound"
        );
        assert_eq!(
            store
                .find(&GroupRef::Id("sg-nothex".to_owned()))
                .unwrap_err()
                .code,
            "InvalidGroupId.Malformed"
        );
    }

    #[test]
    fn names_are_unique_in_the_vpc() {
        let store = SecurityGroups::default();
        store.create("a", "d", None, BTreeMap::new()).unwrap();
        assert_eq!(
            store
                .create("a", "d", None, BTreeMap::new())
                .unwrap_err()
                .code,
            "InvalidGroup.Duplicate"
        );
        assert_eq!(
            store
                .create("b", "d", Some("vpc-12345678"), BTreeMap::new())
                .unwrap_err()
                .code,
            "InvalidVpcID.NotFound"
        );
    }
}
