#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn every_fleet_has_the_default_identities() {
    for fleet in [
        Fleet::demo(),
        Fleet::generated(3),
        Fleet::from_toml("", "empty").unwrap(),
    ] {
        let admin = fleet.user_by_access_key("AKIAGANGWAYADMIN").unwrap();
        assert_eq!((admin.name.as_str(), admin.role), ("admin", Role::Admin));
        assert!(admin.scope.is_empty());
        let dev = fleet.user_by_access_key("AKIAGANGWAYDEV").unwrap();
        assert_eq!((dev.name.as_str(), dev.role), ("dev", Role::Engineer));
        assert_eq!(dev.scope.get("Env").map(String::as_str), Some("dev"));
    }
}

#[test]
fn generated_fleets_are_deterministic_and_mostly_healthy() {
    let fleet = Fleet::generated(1000);
    assert_eq!(fleet, Fleet::generated(1000));
    assert_eq!(fleet.instances[0].name(), Some("host-00001"));
    assert_eq!(fleet.instances[999].name(), Some("host-01000"));
    let envs: Vec<&str> = fleet.instances[..4]
        .iter()
        .map(|i| i.tags["Env"].as_str())
        .collect();
    assert_eq!(envs, ["dev", "stg", "prod", "dev"]);
    let healthy = fleet
        .instances
        .iter()
        .filter(|i| i.is_connectable())
        .count();
    assert_eq!(healthy, 900);
    let mut ids: Vec<&str> = fleet.instances.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1000);
    assert!(
        ids.iter()
            .all(|id| crate::emulator::ids::is_ec2_instance_id(id))
    );
    let mut ips: Vec<&str> = fleet
        .instances
        .iter()
        .map(|i| i.private_ip.as_str())
        .collect();
    ips.sort_unstable();
    ips.dedup();
    assert_eq!(ips.len(), 1000);
}

#[test]
fn the_demo_fleet_covers_the_awkward_cases() {
    let fleet = Fleet::demo();
    let by_name = |name: &str| {
        fleet
            .instances
            .iter()
            .find(|i| i.name() == Some(name))
            .unwrap()
    };
    assert!(fleet.instances.len() >= 12);
    assert_eq!(by_name("worker-2").state, InstanceState::Stopped);
    assert_eq!(
        by_name("db-1").ping_status,
        Some(PingStatus::ConnectionLost)
    );
    assert!(by_name("legacy-batch").agent_version.starts_with("2."));
    assert_eq!(by_name("unmanaged-1").ping_status, None);
    assert!(by_name("onprem-1").is_hybrid());
    assert_eq!(by_name("build-1").shell, "bash");
    assert!(
        fleet
            .instances
            .iter()
            .any(|i| i.tags.values().any(|v| v.chars().any(char::is_control)))
    );
    assert!(
        fleet
            .instances
            .iter()
            .any(|i| i.tags.values().any(|v| v.contains('결')))
    );
    let dev = fleet.user_by_access_key("AKIAGANGWAYDEV").unwrap();
    let now = SystemTime::now();
    assert!(may_start(dev, by_name("worker-1"), now));
    assert!(!may_start(dev, by_name("web-1"), now));
}

/// What the user's IAM policies (generated from role, scope and expires) decide for
/// StartSession on `instance` at `at`.
fn may_start(user: &User, instance: &FleetInstance, at: SystemTime) -> bool {
    use crate::iam::{Context, Request, evaluate};
    let policies: Vec<_> = super::policies::attached_policies(user)
        .into_iter()
        .map(|a| a.policy)
        .collect();
    let mut context = Context::new()
        .with("aws:username", user.name.clone())
        .with("aws:CurrentTime", super::policies::rfc3339(at));
    for (key, value) in &instance.tags {
        context.set(&format!("ssm:resourceTag/{key}"), value.clone());
    }
    let resource = format!(
        "arn:aws:ec2:us-east-1:{ACCOUNT_ID}:instance/{}",
        instance.id
    );
    evaluate(
        &policies,
        &Request {
            action: "ssm:StartSession",
            resource: &resource,
            context: &context,
        },
    )
    .is_allowed()
}

#[test]
fn users_expire_and_scopes_take_wildcards() {
    let fleet = Fleet::from_toml(
        r#"
[[users]]
name = "contractor"
access_key_id = "AKIACONTRACTOR"
role = "engineer"
scope = { Env = "st?", Team = "*" }
expires = 2020-01-01T00:00:00Z
"#,
        "inline",
    )
    .unwrap();
    let user = fleet.user_by_access_key("AKIACONTRACTOR").unwrap();
    let generated = Fleet::generated(3);
    let before = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    assert!(!may_start(user, &generated.instances[1], SystemTime::now()));
    assert!(may_start(user, &generated.instances[1], before));
    assert!(!may_start(user, &generated.instances[0], before));
}

fn fleet_error(text: &str) -> (usize, String, String) {
    match Fleet::from_toml(text, "bad.toml").unwrap_err() {
        FleetError::Invalid {
            line,
            field,
            message,
            ..
        } => (line, field, message),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn broken_fleet_files_name_the_line_and_field() {
    let (line, field, message) =
        fleet_error("[[instances]]\nid = \"i-0123456789abcdef0\"\nping_status = \"Onlin\"\n");
    assert_eq!((line, field.as_str()), (3, "ping_status"));
    assert!(message.contains("Onlin"), "{message}");

    let (line, field, _) = fleet_error("[[instances]]\nid = \"web-1\"\n");
    assert_eq!((line, field.as_str()), (2, "id"));
    // 12 digits is no length AWS issues; a hybrid node's id always has 17.
    for id in ["i-0123456789ab", "mi-1234abcd"] {
        let (line, field, message) = fleet_error(&format!("[[instances]]\nid = \"{id}\"\n"));
        assert_eq!((line, field.as_str()), (2, "id"), "{id}");
        assert!(message.contains("not an instance id"), "{message}");
    }

    let (line, field, message) =
        fleet_error("\n[[instances]]\nid = \"i-0123456789abcdef0\"\nnmae = \"x\"\n");
    assert_eq!((line, field.as_str()), (4, "nmae"));
    assert!(message.contains("unknown field"), "{message}");

    let (line, field, _) = fleet_error(
        "[[instances]]\nid = \"i-0123456789abcdef0\"\n[[instances]]\nid = \"i-0123456789abcdef0\"\n",
    );
    assert_eq!((line, field.as_str()), (4, "id"));

    let (line, field, _) = fleet_error("[preferences]\nidle_session_timeout_minutes = 0\n");
    assert_eq!((line, field.as_str()), (2, "idle_session_timeout_minutes"));

    let (line, field, _) = fleet_error(
        "[[instances]]\nid = \"i-0123456789abcdef0\"\nimage_id = \"ami-0ffffffffffffffff\"\n",
    );
    assert_eq!((line, field.as_str()), (3, "image_id"));

    let (line, _, message) = fleet_error("[[users]]\nname = \"x\"\n");
    assert_eq!(line, 1);
    assert!(message.contains("access_key_id"), "{message}");
}

#[test]
fn the_fleet_file_can_turn_on_fault_injection() {
    let fleet = Fleet::from_toml("faults = \"drop=0.05,cut-every=10s\"\n", "inline").unwrap();
    assert_eq!(fleet.faults.drop, 0.05);
    assert_eq!(
        fleet.faults.cut_every,
        Some(std::time::Duration::from_secs(10))
    );
    let config = crate::emulator::EmulatorConfig::new(fleet);
    assert_eq!(
        config.faults.drop, 0.05,
        "the config starts from the fleet's faults"
    );
    assert_eq!(
        Fleet::demo().faults,
        crate::emulator::faults::FaultSpec::default()
    );

    let (line, field, message) = fleet_error("\nfaults = \"drop=2\"\n");
    assert_eq!((line, field.as_str()), (2, "faults"));
    assert!(message.contains("drop"), "{message}");
}

#[test]
fn instance_defaults_fill_what_the_file_leaves_out() {
    let fleet = Fleet::from_toml(
        "[[instances]]\nid = \"i-0123456789abcdef0\"\nname = \"box\"\nshell = \"bash\"\n",
        "inline",
    )
    .unwrap();
    let instance = &fleet.instances[0];
    assert_eq!(instance.name(), Some("box"));
    assert_eq!(instance.state, InstanceState::Running);
    assert_eq!(instance.ping_status, Some(PingStatus::Online));
    assert_eq!(instance.shell, "bash");
    assert!(instance.is_connectable());
    assert!(fleet.image(&instance.image_id).is_some());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_a_fleet_or_an_error_on_a_real_line(text in "\\PC{0,200}") {
            if let Err(FleetError::Invalid { line, .. }) = Fleet::from_toml(&text, "fuzz") {
                prop_assert!(line >= 1 && line <= text.lines().count() + 1);
            }
        }

        #[test]
        fn mangled_fleet_files_never_panic(cut in 0usize..600, junk in "[\\[\\]={}\"#a-z0-9 \\n]{0,20}") {
            let valid = include_str!("../../../examples/fleet.toml");
            let mut cut = cut.min(valid.len());
            while !valid.is_char_boundary(cut) {
                cut -= 1;
            }
            let text = format!("{}{junk}{}", &valid[..cut], &valid[cut..]);
            let _ = Fleet::from_toml(&text, "fuzz");
        }
    }
}

/// IAM's rule for user names: a name with a space, a slash, an escape or non-ASCII letters,
/// an empty one or one over 64 characters is refused with its line.
#[test]
fn user_names_follow_iam_rules() {
    let user = |name: &str| {
        format!("\n[[users]]\nname = \"{name}\"\naccess_key_id = \"AKIAX\"\nrole = \"engineer\"\n")
    };
    let long = "a".repeat(65);
    for bad in ["a b", "a/b", "a\\u001bb", "한국어", "", long.as_str()] {
        let (line, field, message) = fleet_error(&user(bad));
        assert_eq!((line, field.as_str()), (3, "name"), "{bad:?}");
        assert!(message.contains("IAM"), "{message}");
    }
    let good = "a".repeat(64);
    for name in ["Jane.Doe+ops=x,y@corp_1-2", good.as_str()] {
        let fleet = Fleet::from_toml(&user(name), "inline").unwrap();
        assert!(fleet.users.iter().any(|u| u.name == name), "{name}");
    }
}

#[test]
fn instances_map_ports_and_remote_hosts_to_loopback_only() {
    let fleet = Fleet::from_toml(
        "[[instances]]\nid = \"i-0123456789abcdef0\"\n\
         ports = { 80 = \"127.0.0.1:8080\", 22 = \"[::1]:2222\" }\n\
         hosts = { \"DB.internal:5432\" = \"127.0.0.1:15432\" }\n",
        "inline",
    )
    .unwrap();
    let instance = &fleet.instances[0];
    assert_eq!(instance.ports[&80], "127.0.0.1:8080".parse().unwrap());
    assert_eq!(instance.ports[&22], "[::1]:2222".parse().unwrap());
    assert_eq!(
        instance.hosts["db.internal:5432"],
        "127.0.0.1:15432".parse().unwrap()
    );
    let error = |line: &str| {
        Fleet::from_toml(
            &format!("[[instances]]\nid = \"i-0123456789abcdef0\"\n{line}\n"),
            "inline",
        )
        .unwrap_err()
        .to_string()
    };
    let remote = error("ports = { 80 = \"10.0.0.5:80\" }");
    assert!(
        remote.contains("line 3") && remote.contains("loopback"),
        "{remote}"
    );
    assert!(error("ports = { 0 = \"127.0.0.1:80\" }").contains("port number"));
    assert!(error("ports = { 80 = \"127.0.0.1\" }").contains("loopback"));
    assert!(error("hosts = { \"db.internal\" = \"127.0.0.1:1\" }").contains("host:port"));
}

/// `policies` are IAM documents checked at load (errors with the line and the place in the
/// policy); they replace role, scope and expires, so those cannot come with them.
#[test]
fn user_policies_are_parsed_at_load_and_replace_the_role() {
    let head = "[[users]]\nname = \"p\"\naccess_key_id = \"AKIAP\"\n";
    let ok = r#"'{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:StartSession","Resource":"*"}}'"#;
    let fleet = Fleet::from_toml(
        &format!("{head}tags = {{ team = \"web\" }}\npolicies = [{ok}]\n"),
        "inline",
    )
    .unwrap();
    let user = fleet.users.iter().find(|u| u.name == "p").unwrap();
    assert_eq!(user.policies.len(), 1);
    assert_eq!(user.tags["team"], "web");
    let attached = super::policies::attached_policies(user);
    assert_eq!(attached[0].name, "inline-1");

    let (line, field, message) = fleet_error(&format!(
        "{head}policies = [\n  {ok},\n  '{{\"Statement\":{{\"Effect\":\"Allow\",\"Action\":\"*\"}}}}',\n]\n"
    ));
    assert_eq!((line, field.as_str()), (6, "policies"));
    assert_eq!(
        message,
        "policy 2: Statement: needs Resource or NotResource (an identity-based policy names its resources)"
    );
    let (line, field, _) = fleet_error(&format!("{head}role = \"admin\"\npolicies = [{ok}]\n"));
    assert_eq!((line, field.as_str()), (4, "role"));
    let (_, field, message) = fleet_error(&format!("{head}policies = []\n"));
    assert_eq!(field, "policies");
    assert!(message.contains("empty"), "{message}");
    let (_, field, message) = fleet_error(head);
    assert_eq!(field, "role");
    assert!(message.contains("policies"), "{message}");
}

/// The generated policies keep the role model: admins may do anything, engineers what their
/// scope and expiry allow; a `$` in a scope value stays literal.
#[test]
fn role_scope_and_expiry_become_policies() {
    use crate::iam::{Context, Request, evaluate};
    let fleet = Fleet::from_toml(
        "[[users]]\nname = \"e\"\naccess_key_id = \"AKIAE\"\nrole = \"engineer\"\nscope = { Env = \"d${x}*\" }\nexpires = 2030-01-01T00:00:00Z\n",
        "inline",
    )
    .unwrap();
    let engineer = fleet.users.iter().find(|u| u.name == "e").unwrap();
    let policies: Vec<_> = super::policies::attached_policies(engineer)
        .into_iter()
        .map(|a| a.policy)
        .collect();
    let ask = |env: &str, time: &str| {
        let context = Context::new()
            .with("ssm:resourceTag/Env", env)
            .with("aws:CurrentTime", time)
            .with("aws:username", "e");
        evaluate(
            &policies,
            &Request {
                action: "ssm:StartSession",
                resource: "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
                context: &context,
            },
        )
        .is_allowed()
    };
    assert!(ask("d${x}-1", "2029-01-01T00:00:00Z"));
    assert!(!ask("dev", "2029-01-01T00:00:00Z"));
    assert!(!ask("d${x}-1", "2030-01-01T00:00:00Z"));
    let admin = fleet.users.iter().find(|u| u.name == "admin").unwrap();
    assert_eq!(
        super::policies::attached_policies(admin)[0].name,
        "AdministratorAccess"
    );
}
