//! The emulator's SSM inventory, documents and error handling through the real aws-sdk-ssm
//! client (and raw HTTP for requests no SDK would send).

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_ssm::types::{
    InstanceInformation, InstanceInformationFilter, InstanceInformationFilterKey,
    InstanceInformationStringFilter,
};
use gangway::emulator::{EmulatorConfig, Fleet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::aws_clients::{ADMIN, DEV, error_code, id_of, ssm};
use crate::support::emulator::start_fleet;

fn info_filter(key: InstanceInformationFilterKey, values: &[&str]) -> InstanceInformationFilter {
    let mut builder = InstanceInformationFilter::builder().key(key);
    for value in values {
        builder = builder.value_set(*value);
    }
    builder.build().unwrap()
}

fn string_filter(key: &str, values: &[&str]) -> InstanceInformationStringFilter {
    let mut builder = InstanceInformationStringFilter::builder().key(key);
    for value in values {
        builder = builder.values(*value);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn instance_information_reports_the_agents_view() {
    let fleet = Fleet::demo();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, DEV);
    let output = client.describe_instance_information().send().await.unwrap();
    let list = output.instance_information_list();
    // Everything with an agent: the demo's twelve minus the unmanaged one, hybrid included.
    assert_eq!(list.len(), 11);
    assert!(output.next_token().is_none());
    let find = |name: &str| -> &InstanceInformation {
        let id = id_of(&fleet, name);
        list.iter()
            .find(|i| i.instance_id() == Some(id.as_str()))
            .unwrap()
    };
    let web = find("web-1");
    assert_eq!(web.ping_status().unwrap().as_str(), "Online");
    assert_eq!(web.platform_type().unwrap().as_str(), "Linux");
    assert_eq!(web.platform_name(), Some("Amazon Linux"));
    assert_eq!(web.resource_type().map(|r| r.as_str()), Some("EC2Instance"));
    assert_eq!(web.is_latest_version(), Some(true));
    assert!(web.ip_address().unwrap().starts_with("10."));
    assert!(web.computer_name().unwrap().starts_with("ip-10-"));
    let pinged = web.last_ping_date_time().unwrap().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - 3_600..=now + 60).contains(&pinged),
        "recent ping for an Online agent"
    );
    assert_eq!(
        find("db-1").ping_status().unwrap().as_str(),
        "ConnectionLost"
    );
    assert_eq!(find("cache-1").ping_status().unwrap().as_str(), "Inactive");
    let legacy = find("legacy-batch");
    assert_eq!(legacy.is_latest_version(), Some(false));
    assert!(legacy.agent_version().unwrap().starts_with("2."));
    let onprem = find("onprem-1");
    assert_eq!(
        onprem.resource_type().map(|r| r.as_str()),
        Some("ManagedInstance")
    );
    assert_eq!(onprem.name(), Some("onprem-1"));
}

#[tokio::test]
async fn instance_information_filters() {
    let fleet = Fleet::demo();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, DEV);
    let count = |output: aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput| {
        output.instance_information_list().len()
    };
    let online = client
        .describe_instance_information()
        .instance_information_filter_list(info_filter(
            InstanceInformationFilterKey::PingStatus,
            &["Online"],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(count(online), 8);
    let dev = client
        .describe_instance_information()
        .filters(string_filter("tag:Env", &["dev"]))
        .send()
        .await
        .unwrap();
    assert_eq!(count(dev), 6);
    let ids = [id_of(&fleet, "web-1"), id_of(&fleet, "db-1")];
    let by_id = client
        .describe_instance_information()
        .filters(string_filter("InstanceIds", &[&ids[0], &ids[1]]))
        .send()
        .await
        .unwrap();
    let got: HashSet<&str> = by_id
        .instance_information_list()
        .iter()
        .filter_map(|i| i.instance_id())
        .collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect());
    let hybrid = client
        .describe_instance_information()
        .filters(string_filter("ResourceType", &["ManagedInstance"]))
        .filters(string_filter("tag-key", &["Team"]))
        .send()
        .await
        .unwrap();
    assert_eq!(count(hybrid), 1);
    let unknown_key = client
        .describe_instance_information()
        .filters(string_filter("Colour", &["blue"]))
        .send()
        .await;
    assert_eq!(error_code(unknown_key), "InvalidFilterKey");
    let bad_id = client
        .describe_instance_information()
        .instance_information_filter_list(info_filter(
            InstanceInformationFilterKey::InstanceIds,
            &["web-1"],
        ))
        .send()
        .await;
    assert_eq!(error_code(bad_id), "InvalidInstanceId");
    let unknown_id = client
        .describe_instance_information()
        .filters(string_filter("InstanceIds", &["i-00000000000000bad"]))
        .send()
        .await;
    assert_eq!(error_code(unknown_id), "InvalidInstanceId");
    let unmanaged = client
        .describe_instance_information()
        .filters(string_filter(
            "InstanceIds",
            &[&id_of(&fleet, "unmanaged-1")],
        ))
        .send()
        .await
        .unwrap();
    assert!(unmanaged.instance_information_list().is_empty());
    let bad_value = client
        .describe_instance_information()
        .filters(string_filter("PingStatus", &["Sleepy"]))
        .send()
        .await;
    assert_eq!(
        error_code(bad_value),
        "InvalidInstanceInformationFilterValue"
    );
    let both_kinds = client
        .describe_instance_information()
        .filters(string_filter("tag:Env", &["dev"]))
        .instance_information_filter_list(info_filter(
            InstanceInformationFilterKey::PingStatus,
            &["Online"],
        ))
        .send()
        .await;
    assert_eq!(error_code(both_kinds), "ValidationException");
}

#[tokio::test]
async fn instance_information_pages_50_at_a_time_over_5000_instances() {
    let emulator = start_fleet(Fleet::generated(5_000)).await;
    let client = ssm(&emulator, ADMIN);
    let mut pages = client
        .describe_instance_information()
        .max_results(50)
        .into_paginator()
        .send();
    let mut ids = Vec::new();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert!(page.instance_information_list().len() <= 50);
        page_count += 1;
        ids.extend(
            page.instance_information_list()
                .iter()
                .map(|i| i.instance_id().unwrap().to_owned()),
        );
    }
    assert_eq!(page_count, 100);
    assert_eq!(ids.len(), 5_000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 5_000);
    let too_many = client
        .describe_instance_information()
        .max_results(51)
        .send()
        .await;
    assert_eq!(error_code(too_many), "ValidationException");
    let bad_token = client
        .describe_instance_information()
        .next_token("not-a-token")
        .send()
        .await;
    assert_eq!(error_code(bad_token), "InvalidNextToken");
}

#[tokio::test]
async fn connection_status_follows_ping_and_state() {
    let fleet = Fleet::demo();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, DEV);
    for (name, expected) in [
        ("web-1", "connected"),
        ("db-1", "notconnected"),
        ("worker-2", "notconnected"),
        ("unmanaged-1", "notconnected"),
        ("onprem-1", "connected"),
    ] {
        let output = client
            .get_connection_status()
            .target(id_of(&fleet, name))
            .send()
            .await
            .unwrap();
        assert_eq!(output.status().unwrap().as_str(), expected, "{name}");
        assert_eq!(output.target(), Some(id_of(&fleet, name).as_str()));
    }
    let unknown = client
        .get_connection_status()
        .target("i-00000000000000bad")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().unwrap().as_str(), "notconnected");
}

#[tokio::test]
async fn the_run_shell_document_carries_the_preferences() {
    let fleet = Fleet::from_toml(
        "[preferences]\nidle_session_timeout_minutes = 15\nmax_session_duration_minutes = 120\ns3_bucket_name = \"audit-logs\"\nkms_key_id = \"alias/sessions\"\n",
        "inline",
    )
    .unwrap();
    let emulator = start_fleet(fleet).await;
    let client = ssm(&emulator, DEV);
    let document = client
        .get_document()
        .name("SSM-SessionManagerRunShell")
        .send()
        .await
        .unwrap();
    assert_eq!(document.document_type().unwrap().as_str(), "Session");
    let content: serde_json::Value = serde_json::from_str(document.content().unwrap()).unwrap();
    assert_eq!(content["schemaVersion"], "1.0");
    assert_eq!(content["sessionType"], "Standard_Stream");
    let inputs = &content["inputs"];
    assert_eq!(inputs["idleSessionTimeout"], "15");
    assert_eq!(inputs["maxSessionDuration"], "120");
    assert_eq!(inputs["s3BucketName"], "audit-logs");
    assert_eq!(inputs["cloudWatchLogGroupName"], "");
    assert_eq!(inputs["kmsKeyId"], "alias/sessions");
    let missing = client.get_document().name("My-Document").send().await;
    assert_eq!(error_code(missing), "InvalidDocument");

    // Seconds overrides (for tests) show, rounded up, in the document too.
    let mut config = EmulatorConfig::new(Fleet::demo());
    config.idle_timeout = Some(Duration::from_secs(90));
    let overridden = gangway::emulator::start(config).await.unwrap();
    let document = ssm(&overridden, DEV)
        .get_document()
        .name("SSM-SessionManagerRunShell")
        .send()
        .await
        .unwrap();
    let content: serde_json::Value = serde_json::from_str(document.content().unwrap()).unwrap();
    assert_eq!(content["inputs"]["idleSessionTimeout"], "2");
    assert_eq!(content["inputs"]["maxSessionDuration"], "");
    assert_eq!(overridden.state().idle_timeout(), Duration::from_secs(90));
}

/// One raw HTTP/1.1 request; returns the status code and body.
async fn raw_post(endpoint: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let address = endpoint.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

const DEV_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAGANGWAYDEV/20250101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0";

fn error_type(body: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON error body: {body}"));
    value["__type"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn malformed_requests_get_aws_shaped_400s_and_serving_continues() {
    let emulator = start_fleet(Fleet::demo()).await;
    let ssm_headers = |target: &'static str| {
        vec![
            ("X-Amz-Target", target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", DEV_AUTH),
        ]
    };
    let endpoint = emulator.endpoint.as_str();
    let (status, body) = raw_post(
        endpoint,
        &ssm_headers("AmazonSSM.StartSession"),
        "{not json",
    )
    .await;
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "SerializationException")
    );
    let (status, body) = raw_post(endpoint, &ssm_headers("AmazonSSM.StartSession"), "[1,2]").await;
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "SerializationException")
    );
    let (status, body) = raw_post(
        endpoint,
        &ssm_headers("AmazonSSM.StartSession"),
        "{\"Target\": 5}",
    )
    .await;
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ValidationException")
    );
    let (status, body) = raw_post(endpoint, &ssm_headers("AmazonSSM.StartSession"), "{}").await;
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "ValidationException")
    );
    let (status, body) = raw_post(endpoint, &ssm_headers("AmazonSSM.LaunchRockets"), "{}").await;
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "UnknownOperationException")
    );
    let no_auth = [("X-Amz-Target", "AmazonSSM.DescribeSessions")];
    let (status, body) = raw_post(endpoint, &no_auth, "{\"State\":\"Active\"}").await;
    assert_eq!(
        (status, error_type(&body).as_str()),
        (400, "MissingAuthenticationTokenException")
    );
    let ec2_auth = [
        ("Authorization", DEV_AUTH),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let (status, body) = raw_post(endpoint, &ec2_auth, "Version=2016-11-15").await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>MissingAction</Code>"), "{body}");
    let (status, body) = raw_post(
        endpoint,
        &ec2_auth,
        "Action=Reboot%00Everything&Version=2016-11-15",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    assert!(!body.contains('\0'));

    let stranger = ssm(&emulator, "AKIASTRANGER");
    assert_eq!(
        error_code(
            stranger
                .describe_sessions()
                .state("Active".into())
                .send()
                .await
        ),
        "UnrecognizedClientException"
    );
    let expired = ssm(&emulator, "ASIAGANGWAYEXPIRED");
    assert_eq!(
        error_code(expired.describe_instance_information().send().await),
        "ExpiredTokenException"
    );
    let client = ssm(&emulator, DEV);
    assert_eq!(
        client
            .describe_instance_information()
            .send()
            .await
            .unwrap()
            .instance_information_list()
            .len(),
        11
    );
}
