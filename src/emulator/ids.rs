//! The identifier formats the emulator checks requests and fleet files against, written from
//! AWS's documentation. Deliberately not shared with the client layer (`src/aws/`): if the
//! client builds or accepts a wrong id, the emulator must answer as AWS would instead of
//! agreeing with the same bug.
//!
//! - EC2 instance ids: `i-` and 8 hex digits (ids issued before 2016) or 17 (since).
//! - Managed (hybrid) node ids, registered with an SSM activation: `mi-` and 17 hex digits.
//! - SSM's `InstanceId` accepts both; its service model spells it
//!   `(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)`. AWS only ever issues lower-case hex there, and a
//!   fleet or request using anything else is a mistake worth an error.

/// Which kind of node an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// `i-…`: an EC2 instance, known to EC2 and (when managed) to SSM.
    Ec2Instance,
    /// `mi-…`: a hybrid managed node, known to SSM only.
    ManagedNode,
}

/// The kind of node `id` names, or `None` when it is not a well-formed id of either kind.
pub fn node_kind(id: &str) -> Option<NodeKind> {
    if let Some(digits) = id.strip_prefix("i-") {
        return (matches!(digits.len(), 8 | 17) && is_lower_hex(digits))
            .then_some(NodeKind::Ec2Instance);
    }
    let digits = id.strip_prefix("mi-")?;
    (digits.len() == 17 && is_lower_hex(digits)).then_some(NodeKind::ManagedNode)
}

/// A well-formed EC2 instance id (what `DescribeInstances` takes).
pub fn is_ec2_instance_id(id: &str) -> bool {
    node_kind(id) == Some(NodeKind::Ec2Instance)
}

/// A well-formed SSM instance id: an EC2 instance or a managed node (what
/// `DescribeInstanceInformation`'s `InstanceIds` filter and StartSession's `Target` take).
pub fn is_ssm_instance_id(id: &str) -> bool {
    node_kind(id).is_some()
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_ids_have_8_or_17_lower_case_hex_digits() {
        assert_eq!(
            node_kind("i-0123456789abcdef0"),
            Some(NodeKind::Ec2Instance)
        );
        assert_eq!(node_kind("i-1234abcd"), Some(NodeKind::Ec2Instance));
        for bad in [
            "i-",
            "i-1234abc",            // 7
            "i-1234abcde",          // 9
            "i-0123456789abcdef",   // 16
            "i-0123456789abcdef01", // 18
            "i-0123456789ABCDEF0",  // upper case
            "i-0123456789abcdeg0",  // not hex
            "I-0123456789abcdef0",
            " i-0123456789abcdef0",
            "i-0123456789abcdef0 ",
            "web-1",
            "",
        ] {
            assert_eq!(node_kind(bad), None, "{bad:?}");
            assert!(!is_ec2_instance_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn managed_node_ids_have_17_hex_digits_and_are_not_ec2() {
        let node = "mi-0123456789abcdef0";
        assert_eq!(node_kind(node), Some(NodeKind::ManagedNode));
        assert!(is_ssm_instance_id(node));
        assert!(!is_ec2_instance_id(node));
        // The 8-digit form exists for EC2 ids only.
        assert_eq!(node_kind("mi-1234abcd"), None);
        assert_eq!(node_kind("mi-0123456789abcdef"), None);
        assert_eq!(node_kind("mi-0123456789ABCDEF0"), None);
        assert_eq!(node_kind("m-0123456789abcdef0"), None);
    }

    #[test]
    fn ssm_takes_both_kinds() {
        assert!(is_ssm_instance_id("i-0123456789abcdef0"));
        assert!(is_ssm_instance_id("i-1234abcd"));
        assert!(is_ssm_instance_id("mi-0123456789abcdef0"));
        assert!(!is_ssm_instance_id("i-00000000000000bad0"));
        assert!(!is_ssm_instance_id("ecs:cluster_task_container"));
    }

    #[test]
    fn the_bundled_fleets_use_well_formed_ids() {
        let generated = crate::emulator::Fleet::generated(20);
        let demo = crate::emulator::Fleet::demo();
        for instance in generated.instances.iter().chain(&demo.instances) {
            let kind = node_kind(&instance.id);
            assert!(kind.is_some(), "{}", instance.id);
            assert_eq!(
                kind == Some(NodeKind::ManagedNode),
                instance.is_hybrid(),
                "{}",
                instance.id
            );
        }
    }
}
