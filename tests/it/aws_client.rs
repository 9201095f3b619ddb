//! `AwsClient` against the in-process emulator: the real SDK over HTTP on 127.0.0.1:0,
//! static dummy credentials, no ~/.aws.
use gangway::aws::{
    AccessScope, AwsError, Cause, HistoryFilter, Instance, InstanceState, PingStatus, ResolveError,
    StartSessionRequest, diagnose, resolve_target,
};
use gangway::emulator::fleet::Fleet;

use crate::support::aws_clients::{ADMIN, DEV, aws_client};
use crate::support::emulator::start_fleet;
use crate::support::unreachable_endpoint;

fn by_name<'a>(instances: &'a [Instance], name: &str) -> &'a Instance {
    instances
        .iter()
        .find(|i| i.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{name} missing from {instances:#?}"))
}

#[tokio::test]
async fn list_instances_joins_ec2_with_ssm_for_the_demo_fleet() {
    let emulator = start_fleet(Fleet::demo()).await;
    let fleet = aws_client(&emulator.endpoint, ADMIN)
        .list_instances(&[])
        .await
        .unwrap();
    assert_eq!(fleet.len(), 12, "{fleet:#?}");

    let web = by_name(&fleet, "web-1");
    assert_eq!(web.state, InstanceState::Running);
    assert_eq!(web.ping_status, PingStatus::Online);
    assert_eq!(web.agent_version.as_deref(), Some("3.3.1142.0"));
    assert_eq!(web.platform.as_deref(), Some("Linux"));
    assert_eq!(web.platform_name.as_deref(), Some("Amazon Linux 2023"));
    assert_eq!(web.tags.get("Env"), Some("prod"));
    assert!(web.private_ip.is_some() && web.image_id.is_some() && web.last_ping.is_some());
    assert!(web.image_name.is_some(), "DescribeImages names the AMI");
    assert_eq!(&*web.region, "us-east-1");

    assert_eq!(
        by_name(&fleet, "db-1").ping_status,
        PingStatus::ConnectionLost
    );
    assert_eq!(by_name(&fleet, "cache-1").ping_status, PingStatus::Inactive);
    assert_eq!(by_name(&fleet, "worker-2").state, InstanceState::Stopped);
    let unmanaged = by_name(&fleet, "unmanaged-1");
    assert_eq!(unmanaged.ping_status, PingStatus::NotManaged);
    assert_eq!(unmanaged.agent_version, None);
    assert_eq!(
        by_name(&fleet, "legacy-batch").agent_version.as_deref(),
        Some("2.3.1319.0")
    );

    let hybrid = fleet
        .iter()
        .find(|i| i.id.as_str().starts_with("mi-"))
        .unwrap();
    assert_eq!(hybrid.state, InstanceState::Hybrid);
    assert_eq!(hybrid.ping_status, PingStatus::Online);

    // Tag text arrives byte for byte; escaping is the printer's job.
    let hostile = by_name(&fleet, "worker-1").tags.get("Note").unwrap();
    assert!(hostile.contains('\u{9b}') && hostile.contains("\r\n"));
    assert!(
        fleet
            .iter()
            .any(|i| i.name.as_deref() == Some("결제-api-1"))
    );
}

#[tokio::test]
async fn tag_filters_are_applied_as_ec2_filters() {
    let emulator = start_fleet(Fleet::demo()).await;
    let aws = aws_client(&emulator.endpoint, ADMIN);
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());

    let prod = aws.list_instances(&[pair("Env", "prod")]).await.unwrap();
    let names: Vec<&str> = prod.iter().filter_map(|i| i.name.as_deref()).collect();
    assert_eq!(names, ["db-1", "web-1", "web-2"]);

    let web_prod = aws
        .list_instances(&[pair("Env", "prod"), pair("Team", "web")])
        .await
        .unwrap();
    assert_eq!(web_prod.len(), 2);

    let either = aws
        .list_instances(&[pair("Env", "prod"), pair("Env", "stg")])
        .await
        .unwrap();
    assert_eq!(either.len(), 5, "{either:#?}");
    assert!(
        either
            .iter()
            .all(|i| ["prod", "stg"].contains(&i.tags.get("Env").unwrap()))
    );

    assert!(
        aws.list_instances(&[pair("Env", "nowhere")])
            .await
            .unwrap()
            .is_empty()
    );

    // The hybrid node has no EC2 record; SSM's own tag filter decides whether it is listed.
    let dev = aws.list_instances(&[pair("Env", "dev")]).await.unwrap();
    assert!(
        dev.iter().any(|i| i.state == InstanceState::Hybrid),
        "{dev:#?}"
    );
    assert!(
        dev.iter()
            .all(|i| i.state == InstanceState::Hybrid || i.tags.get("Env") == Some("dev"))
    );
    assert!(!prod.iter().any(|i| i.state == InstanceState::Hybrid));
}

#[tokio::test]
async fn filtered_and_by_id_listings_join_exactly_as_the_full_one() {
    let emulator = start_fleet(Fleet::demo()).await;
    let aws = aws_client(&emulator.endpoint, ADMIN);
    let everything = aws.list_instances(&[]).await.unwrap();
    // The narrow paths ask SSM only about the instances they found; the rows must be the
    // same as in the full listing (agent state, platform, image name included). The last
    // ping is relative to the emulator's clock at each call, so it is left out.
    let same = |mut a: Instance, mut b: Instance| {
        a.last_ping = None;
        b.last_ping = None;
        assert_eq!(a, b);
    };
    let prod = aws
        .list_instances(&[("Env".to_owned(), "prod".to_owned())])
        .await
        .unwrap();
    assert_eq!(prod.len(), 3);
    for instance in &prod {
        let full = everything.iter().find(|i| i.id == instance.id).unwrap();
        same(instance.clone(), full.clone());
    }
    for wanted in &everything {
        let mut found = aws
            .instances_by_id(std::slice::from_ref(&wanted.id))
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{}", wanted.id);
        same(found.remove(0), wanted.clone());
    }
    let unknown = gangway::aws::InstanceId::parse("i-0123456789abcdef0").unwrap();
    assert!(aws.instances_by_id(&[unknown]).await.unwrap().is_empty());
}

#[tokio::test]
async fn targets_resolve_and_diagnoses_name_the_cause() {
    let emulator = start_fleet(Fleet::demo()).await;
    let aws = aws_client(&emulator.endpoint, ADMIN);
    let fleet = aws.list_instances(&[]).await.unwrap();
    let none = AccessScope::default();

    let web = resolve_target(&fleet, "web-1").unwrap();
    assert_eq!(resolve_target(&fleet, web.id.as_str()).unwrap(), web);
    assert!(matches!(
        resolve_target(&fleet, "tag:Team=data"),
        Err(ResolveError::Ambiguous { .. })
    ));
    assert!(
        resolve_target(&fleet, "tag:Env=prod")
            .unwrap_err()
            .to_string()
            .contains("matches 3")
    );

    // The machine facts the UI's detail pane shows, from DescribeInstances.
    assert_eq!(web.ec2.instance_type.as_deref(), Some("t3.small"));
    assert_eq!(web.ec2.availability_zone.as_deref(), Some("us-east-1a"));
    assert!(web.ec2.launch_time.is_some(), "{:?}", web.ec2);
    assert_eq!(
        by_name(&fleet, "db-1").ec2.instance_type.as_deref(),
        Some("r7g.large")
    );

    let status = aws.connection_status(&web.id).await.unwrap();
    assert!(status);
    assert!(diagnose(web, Some(status), &none).can_connect());

    let cause_of = |name: &str| diagnose(by_name(&fleet, name), None, &none).cause;
    assert_eq!(cause_of("worker-2"), Cause::Stopped);
    assert_eq!(
        cause_of("db-1"),
        Cause::AgentOffline {
            ping_status: PingStatus::ConnectionLost
        }
    );
    assert_eq!(cause_of("unmanaged-1"), Cause::NotManaged);
    let legacy = diagnose(by_name(&fleet, "legacy-batch"), None, &none);
    assert!(legacy.can_connect() && !legacy.warnings.is_empty());

    let db = by_name(&fleet, "db-1");
    assert!(!aws.connection_status(&db.id).await.unwrap());
    let dev_scope = AccessScope {
        required_tags: vec![("Env".into(), "dev".into())],
        ..AccessScope::default()
    };
    assert!(matches!(
        diagnose(web, Some(true), &dev_scope).cause,
        Cause::OutsideScope { .. }
    ));
}

#[tokio::test]
async fn sessions_start_list_terminate_and_reach_history() {
    let emulator = start_fleet(Fleet::demo()).await;
    let dev = aws_client(&emulator.endpoint, DEV);
    let fleet = dev.list_instances(&[]).await.unwrap();
    let worker = by_name(&fleet, "worker-1");

    let request = StartSessionRequest {
        target: worker.id.to_string(),
        reason: Some("ticket OPS-1".into()),
        ..StartSessionRequest::default()
    };
    let started = dev.start_session(&request).await.unwrap();
    assert!(
        started.session_id.starts_with("dev-"),
        "{}",
        started.session_id
    );
    assert!(started.stream_url.expose().starts_with("ws://127.0.0.1:"));
    let shown = format!("{started:?}");
    assert!(
        !shown.contains(started.token.expose()) && !shown.contains("ws://"),
        "{shown}"
    );

    let active = dev.active_sessions().await.unwrap();
    let mine = active
        .iter()
        .find(|s| s.session_id == started.session_id)
        .unwrap();
    assert_eq!(mine.target, worker.id.as_str());
    assert_eq!(mine.reason.as_deref(), Some("ticket OPS-1"));
    assert!(mine.owner.ends_with("user/dev"), "{}", mine.owner);

    let resumed = dev.resume_session(&started.session_id).await.unwrap();
    assert!(resumed.is_some_and(|token| !token.is_empty()));

    dev.terminate_session(&started.session_id).await.unwrap();
    let filter = HistoryFilter {
        target: Some(worker.id.to_string()),
        ..HistoryFilter::default()
    };
    let (history, _next) = dev.session_history(&filter, None).await.unwrap();
    let ended = history
        .iter()
        .find(|s| s.session_id == started.session_id)
        .unwrap();
    assert!(ended.end.is_some());
    // Why it ended, from DescribeSessions' Details (the history view's ENDED BECAUSE).
    assert_eq!(
        ended.end_reason.as_deref(),
        Some("Session terminated by dev.")
    );
    assert!(
        !dev.active_sessions()
            .await
            .unwrap()
            .iter()
            .any(|s| s.session_id == started.session_id)
    );
    assert_eq!(
        dev.resume_session(&started.session_id).await.ok().flatten(),
        None
    );
}

#[tokio::test]
async fn preferences_come_from_the_shell_document() {
    let emulator = start_fleet(Fleet::demo()).await;
    let prefs = aws_client(&emulator.endpoint, DEV)
        .session_preferences()
        .await
        .unwrap();
    assert_eq!(prefs.idle_session_timeout_minutes, Some(20));
    assert!(!prefs.logging_enabled());
}

#[tokio::test]
async fn aws_errors_become_clear_lines_with_hints() {
    let emulator = start_fleet(Fleet::demo()).await;
    let fleet = aws_client(&emulator.endpoint, ADMIN)
        .list_instances(&[])
        .await
        .unwrap();

    let unknown = aws_client(&emulator.endpoint, "AKIANOSUCHKEY00000")
        .list_instances(&[])
        .await
        .unwrap_err();
    assert!(unknown.is_credentials_error(), "{unknown:?}");
    assert!(unknown.hint().unwrap().contains("AWS_PROFILE"));
    assert_eq!(gangway::commands::exit::for_aws(&unknown), 3);

    let dev = aws_client(&emulator.endpoint, DEV);
    let outside = StartSessionRequest {
        target: by_name(&fleet, "web-1").id.to_string(),
        ..Default::default()
    };
    let denied = dev.start_session(&outside).await.unwrap_err();
    assert!(matches!(denied, AwsError::AccessDenied(_)), "{denied:?}");
    assert_eq!(gangway::commands::exit::for_aws(&denied), 5);

    let admin = aws_client(&emulator.endpoint, ADMIN);
    let offline = StartSessionRequest {
        target: by_name(&fleet, "db-1").id.to_string(),
        ..Default::default()
    };
    let not_connected = admin.start_session(&offline).await.unwrap_err();
    assert!(
        matches!(not_connected, AwsError::TargetNotConnected(_)),
        "{not_connected:?}"
    );

    let missing = admin
        .connection_status(&gangway::aws::InstanceId::from_aws("i-0000000000000dead"))
        .await;
    assert_eq!(
        missing,
        Ok(false),
        "AWS answers NotConnected for unknown targets"
    );

    for line in [unknown.to_line(), denied.to_line(), not_connected.to_line()] {
        assert!(
            !line.contains('\n') && !line.contains("gangway\""),
            "{line}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_one_clear_line() {
    let endpoint = unreachable_endpoint();
    let aws = aws_client(&endpoint, ADMIN);
    let err = aws.list_instances(&[]).await.unwrap_err();
    assert!(matches!(err, AwsError::Unreachable { .. }), "{err:?}");
    let line = err.to_line();
    assert!(
        line.starts_with(&format!("cannot reach AWS at {endpoint}")),
        "{line}"
    );
    assert!(!line.contains('\n'));
    assert_eq!(gangway::commands::exit::for_aws(&err), 4);
}

#[tokio::test]
async fn expired_access_is_told_apart_from_other_denials() {
    use gangway::emulator::fleet::{Role, User};
    let mut fleet = Fleet::demo();
    fleet.users.push(User {
        expires: Some(std::time::SystemTime::UNIX_EPOCH),
        ..User::new("contractor", "AKIAGANGWAYCONTRACT", Role::Engineer)
    });
    let emulator = start_fleet(fleet).await;
    let contractor = aws_client(&emulator.endpoint, "AKIAGANGWAYCONTRACT");
    let instances = contractor.list_instances(&[]).await.unwrap();
    let request = StartSessionRequest {
        target: by_name(&instances, "worker-1").id.to_string(),
        ..StartSessionRequest::default()
    };
    let err = contractor.start_session(&request).await.unwrap_err();
    assert!(err.is_access_expired(), "{err:?}");
    assert!(err.to_line().contains("renew"), "{}", err.to_line());
    let scope = AccessScope {
        access_expired: err.is_access_expired(),
        ..AccessScope::default()
    };
    assert_eq!(
        diagnose(by_name(&instances, "worker-1"), None, &scope).cause,
        Cause::AccessExpired
    );
}

#[tokio::test]
async fn history_pages_chain_without_loss_or_duplicates() {
    let emulator = start_fleet(Fleet::demo()).await;
    let admin = aws_client(&emulator.endpoint, ADMIN);
    let fleet = admin.list_instances(&[]).await.unwrap();
    let target = by_name(&fleet, "web-2").id.to_string();
    let request = StartSessionRequest {
        target: target.clone(),
        ..StartSessionRequest::default()
    };
    let mut started = std::collections::HashSet::new();
    for _ in 0..120 {
        let session = admin.start_session(&request).await.unwrap();
        admin.terminate_session(&session.session_id).await.unwrap();
        started.insert(session.session_id);
    }

    let filter = HistoryFilter {
        target: Some(target),
        ..HistoryFilter::default()
    };
    let mut seen = std::collections::HashSet::new();
    let mut pages = 0;
    let mut next = None;
    loop {
        let (page, token) = admin.session_history(&filter, next).await.unwrap();
        pages += 1;
        assert!(
            page.windows(2).all(|w| w[0].start >= w[1].start),
            "newest first"
        );
        for session in page {
            assert!(
                seen.insert(session.session_id),
                "no duplicates across pages"
            );
        }
        match token {
            Some(token) => next = Some(token),
            None => break,
        }
    }
    assert_eq!(seen, started);
    assert!(
        pages >= 3,
        "120 sessions take several pages of 50, got {pages}"
    );
}

/// Hybrid nodes carry the tags SSM holds for them, in every listing, so the scope check, a
/// `tag:` target and the JSON output agree with what `connect` reaches (issue 16, bug 1).
#[tokio::test]
async fn hybrid_nodes_carry_their_tags_and_pass_the_scope_they_are_in() {
    let emulator = start_fleet(Fleet::demo()).await;
    let dev = aws_client(&emulator.endpoint, DEV);
    let env_dev = [("Env".to_owned(), "dev".to_owned())];
    let full = dev.list_instances(&[]).await.unwrap();
    let filtered = dev.list_instances(&env_dev).await.unwrap();
    let by_id = dev
        .instances_by_id(&[by_name(&full, "onprem-1").id.clone()])
        .await
        .unwrap();
    for listing in [&full, &filtered, &by_id] {
        let node = by_name(listing, "onprem-1");
        assert!(node.id.as_str().starts_with("mi-"));
        assert_eq!(node.tags.get("Env"), Some("dev"), "{node:?}");
        assert_eq!(node.tags.get("Name"), Some("onprem-1"));
    }
    let node = by_name(&filtered, "onprem-1");
    let scope = AccessScope {
        required_tags: env_dev.to_vec(),
        ..AccessScope::default()
    };
    let diagnosis = diagnose(node, Some(true), &scope);
    assert!(diagnosis.can_connect(), "{diagnosis:?}");
    // A tag target sees it among the candidates, as connect's listing does.
    let Err(ResolveError::Ambiguous { candidates, .. }) = resolve_target(&filtered, "tag:Env=dev")
    else {
        panic!("several dev instances");
    };
    assert!(
        candidates.iter().any(|c| c.id == node.id.as_str()),
        "{candidates:?}"
    );
}

/// STS GetCallerIdentity names the caller by the ARN DescribeSessions uses for owners, so the
/// UI can show who the user is and mark their own sessions from the start (issue 16).
#[tokio::test]
async fn the_caller_is_named_by_the_arn_sessions_carry() {
    let emulator = start_fleet(Fleet::demo()).await;
    let dev = aws_client(&emulator.endpoint, DEV);
    let arn = dev.caller_arn().await.unwrap();
    assert_eq!(arn, "arn:aws:iam::123456789012:user/dev");
    let target = dev
        .list_instances(&[("Env".to_owned(), "dev".to_owned())])
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.ping_status == PingStatus::Online && i.state == InstanceState::Running)
        .unwrap();
    let request = StartSessionRequest {
        target: target.id.to_string(),
        document_name: None,
        parameters: Default::default(),
        reason: None,
    };
    let started = dev.start_session(&request).await.unwrap();
    let sessions = dev.active_sessions().await.unwrap();
    let mine = sessions
        .iter()
        .find(|s| s.session_id == started.session_id)
        .unwrap();
    assert_eq!(mine.owner, arn);
    let stranger = aws_client(&emulator.endpoint, "AKIANOBODY");
    let err = stranger.caller_arn().await.unwrap_err();
    assert!(err.is_credentials_error(), "{err:?}");
}
