//! DescribeSessions (Active and History, filters, order, pagination) through the real
//! aws-sdk-ssm client.

use std::collections::HashSet;

use aws_sdk_ssm::types::{SessionFilter, SessionFilterKey, SessionState, SessionStatus};
use gangway::emulator::Fleet;

use crate::support::aws_clients::{
    ADMIN, DEV, error_code, fleet_with_extra_engineers, id_of, session_on, ssm,
};
use crate::support::emulator::start_fleet;

fn filter(key: SessionFilterKey, value: &str) -> SessionFilter {
    SessionFilter::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap()
}

async fn session_ids(
    client: &aws_sdk_ssm::Client,
    state: SessionState,
    filters: Vec<SessionFilter>,
) -> Vec<String> {
    let output = client
        .describe_sessions()
        .state(state)
        .set_filters(Some(filters))
        .send()
        .await
        .unwrap();
    output
        .sessions()
        .iter()
        .map(|s| s.session_id().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn describe_sessions_lists_active_and_history_with_filters() {
    let fleet = fleet_with_extra_engineers();
    let emulator = start_fleet(fleet.clone()).await;
    let dev = ssm(&emulator, DEV);
    let admin = ssm(&emulator, ADMIN);
    let worker = id_of(&fleet, "worker-1");
    let web = id_of(&fleet, "web-1");
    let before = aws_smithy_types::DateTime::from(
        std::time::SystemTime::now() - std::time::Duration::from_secs(5),
    );
    let mine = dev
        .start_session()
        .target(&worker)
        .reason("deploy")
        .send()
        .await
        .unwrap()
        .session_id()
        .unwrap()
        .to_owned();
    let theirs = session_on(&admin, &web).await;
    let ended = session_on(&dev, &worker).await;
    dev.terminate_session()
        .session_id(&ended)
        .send()
        .await
        .unwrap();

    let active = dev
        .describe_sessions()
        .state(SessionState::Active)
        .send()
        .await
        .unwrap();
    let sessions = active.sessions();
    assert_eq!(
        sessions
            .iter()
            .map(|s| s.session_id().unwrap())
            .collect::<Vec<_>>(),
        [theirs.as_str(), mine.as_str()],
        "newest first"
    );
    let first = &sessions[1];
    assert_eq!(first.target(), Some(worker.as_str()));
    assert_eq!(first.owner(), Some("arn:aws:iam::123456789012:user/dev"));
    assert_eq!(first.status(), Some(&SessionStatus::Connecting));
    assert_eq!(first.document_name(), Some("SSM-SessionManagerRunShell"));
    assert_eq!(first.reason(), Some("deploy"));
    assert!(first.start_date().unwrap() >= &before);
    assert!(first.end_date().is_none());
    assert!(
        first.max_session_duration().is_none(),
        "the demo fleet sets no limit"
    );

    let history = dev
        .describe_sessions()
        .state(SessionState::History)
        .send()
        .await
        .unwrap();
    let gone = &history.sessions()[0];
    assert_eq!(gone.session_id(), Some(ended.as_str()));
    assert_eq!(gone.status(), Some(&SessionStatus::Terminated));
    assert!(gone.end_date().unwrap() >= gone.start_date().unwrap());

    let by = |key, value: &str| vec![filter(key, value)];
    let admin_arn = "arn:aws:iam::123456789012:user/admin";
    let cases = [
        (
            SessionState::Active,
            SessionFilterKey::TargetId,
            web.as_str(),
            vec![theirs.as_str()],
        ),
        (
            SessionState::Active,
            SessionFilterKey::Owner,
            admin_arn,
            vec![theirs.as_str()],
        ),
        (
            SessionState::Active,
            SessionFilterKey::SessionId,
            mine.as_str(),
            vec![mine.as_str()],
        ),
        (
            SessionState::History,
            SessionFilterKey::Status,
            "Terminated",
            vec![ended.as_str()],
        ),
        (
            SessionState::Active,
            SessionFilterKey::Status,
            "Connected",
            vec![],
        ),
        (
            SessionState::Active,
            SessionFilterKey::InvokedBefore,
            "2020-01-01T00:00:00Z",
            vec![],
        ),
    ];
    for (state, key, value, expected) in cases {
        let label = format!("{state:?} {key:?}={value}");
        assert_eq!(
            session_ids(&dev, state, by(key, value)).await,
            expected,
            "{label}"
        );
    }
    assert_eq!(
        session_ids(
            &dev,
            SessionState::Active,
            by(SessionFilterKey::InvokedAfter, "2020-01-01T00:00:00Z")
        )
        .await
        .len(),
        2
    );
    let bad_key = dev
        .describe_sessions()
        .state(SessionState::Active)
        .filters(filter(SessionFilterKey::from("Colour"), "x"))
        .send()
        .await;
    assert_eq!(error_code(bad_key), "InvalidFilterKey");
    let bad_date = dev
        .describe_sessions()
        .state(SessionState::Active)
        .filters(filter(SessionFilterKey::InvokedAfter, "yesterday"))
        .send()
        .await;
    assert_eq!(error_code(bad_date), "ValidationException");
    let bad_state = dev
        .describe_sessions()
        .state(SessionState::from("Paused"))
        .send()
        .await;
    assert_eq!(error_code(bad_state), "ValidationException");
}

#[tokio::test]
async fn describe_sessions_pages_200_at_a_time() {
    let fleet = Fleet::generated(30);
    let emulator = start_fleet(fleet.clone()).await;
    let admin = ssm(&emulator, ADMIN);
    let target = fleet.instances[0].id.clone();
    for _ in 0..450 {
        admin.start_session().target(&target).send().await.unwrap();
    }
    let mut pages = admin
        .describe_sessions()
        .state(SessionState::Active)
        .into_paginator()
        .send();
    let mut sizes = Vec::new();
    let mut ids = HashSet::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        sizes.push(page.sessions().len());
        ids.extend(
            page.sessions()
                .iter()
                .map(|s| s.session_id().unwrap().to_owned()),
        );
    }
    assert_eq!(sizes, [200, 200, 50]);
    assert_eq!(ids.len(), 450);
    let small = admin
        .describe_sessions()
        .state(SessionState::Active)
        .max_results(7)
        .send()
        .await
        .unwrap();
    assert_eq!(small.sessions().len(), 7);
    assert!(small.next_token().is_some());
    let too_many = admin
        .describe_sessions()
        .state(SessionState::Active)
        .max_results(201)
        .send()
        .await;
    assert_eq!(error_code(too_many), "ValidationException");
}

#[tokio::test]
async fn history_comes_newest_first_with_the_session_limit() {
    let mut fleet = Fleet::from_toml(
        "[preferences]\nmax_session_duration_minutes = 60\n",
        "inline",
    )
    .unwrap();
    fleet.instances = Fleet::generated(3).instances;
    let emulator = start_fleet(fleet.clone()).await;
    let admin = ssm(&emulator, ADMIN);
    let mut started = Vec::new();
    for _ in 0..3 {
        let output = admin
            .start_session()
            .target(&fleet.instances[0].id)
            .send()
            .await
            .unwrap();
        let id = output.session_id().unwrap().to_owned();
        admin
            .terminate_session()
            .session_id(&id)
            .send()
            .await
            .unwrap();
        started.push(id);
    }
    let history = admin
        .describe_sessions()
        .state(SessionState::History)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = history
        .sessions()
        .iter()
        .map(|s| s.session_id().unwrap())
        .collect();
    started.reverse();
    assert_eq!(ids, started.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(history.sessions()[0].max_session_duration(), Some("60"));
    let seven = (0..7).map(|_| filter(SessionFilterKey::TargetId, &fleet.instances[0].id));
    let too_many = admin
        .describe_sessions()
        .state(SessionState::History)
        .set_filters(Some(seven.collect()))
        .send()
        .await;
    assert_eq!(error_code(too_many), "ValidationException");
}
