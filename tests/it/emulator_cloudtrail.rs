//! The emulator's trail through the real aws-sdk-cloudtrail: every served call recorded once
//! in CloudTrail's record format, secrets left out as CloudTrail leaves them out, and
//! LookupEvents' attributes, time range, paging and errors.

use aws_sdk_cloudtrail::types::LookupAttributeKey;
use aws_smithy_types::DateTime;
use serde_json::Value;

use crate::support::aws_clients::{ADMIN, DEV, cloudtrail_at, ec2, error_code, id_of, ssm};
use crate::support::emulator::start_fleet;
use crate::support::trail::{attribute, records};
use gangway::emulator::Fleet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_terminate_are_recorded_in_cloudtrails_format_without_the_token() {
    let fleet = Fleet::demo();
    let web = id_of(&fleet, "web-1");
    let worker = id_of(&fleet, "worker-1");
    let emulator = start_fleet(fleet).await;
    let admin = ssm(&emulator, ADMIN);
    let started = admin
        .start_session()
        .target(&web)
        .reason("rotate certs")
        .send()
        .await
        .unwrap();
    let session_id = started.session_id().unwrap().to_owned();
    let token = started.token_value().unwrap().to_owned();
    admin
        .terminate_session()
        .session_id(&session_id)
        .send()
        .await
        .unwrap();
    // dev may not reach prod's web-1: a refused call is recorded with its error.
    let refused = ssm(&emulator, DEV)
        .start_session()
        .target(&web)
        .send()
        .await;
    let refused_code = error_code(refused);
    // and one EC2 call, one STS-free read.
    ec2(&emulator, DEV)
        .describe_instances()
        .send()
        .await
        .unwrap();

    let trail = cloudtrail_at(&emulator.endpoint, ADMIN);
    let starts = records(&trail, LookupAttributeKey::EventName, "StartSession").await;
    assert_eq!(starts.len(), 2, "{starts:#?}");
    // Newest first: dev's refused attempt, then admin's session.
    let (failed, start) = (&starts[0], &starts[1]);
    assert_eq!(failed["userIdentity"]["userName"], "dev");
    assert_eq!(failed["errorCode"], refused_code.as_str());
    assert!(failed["errorMessage"].as_str().unwrap().contains(&web));
    assert_eq!(failed["responseElements"], Value::Null);

    for field in [
        "eventVersion",
        "eventTime",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestID",
        "eventID",
    ] {
        assert!(start[field].is_string(), "{field}: {start:#}");
    }
    assert_eq!(start["eventVersion"], "1.09");
    assert_eq!(start["eventSource"], "ssm.amazonaws.com");
    assert_eq!(start["eventType"], "AwsApiCall");
    assert_eq!(start["eventCategory"], "Management");
    assert_eq!(start["managementEvent"], true);
    assert_eq!(start["readOnly"], false);
    assert_eq!(start["recipientAccountId"], "123456789012");
    assert_eq!(start["awsRegion"], "us-east-1");
    assert_eq!(start["sourceIPAddress"], "127.0.0.1");
    let who = &start["userIdentity"];
    assert_eq!(who["type"], "IAMUser");
    assert_eq!(who["userName"], "admin");
    assert_eq!(who["accessKeyId"], ADMIN);
    assert_eq!(who["arn"], "arn:aws:iam::123456789012:user/admin");
    assert!(who["principalId"].as_str().unwrap().starts_with("AIDA"));
    assert_eq!(start["requestParameters"]["target"], web.as_str());
    assert_eq!(start["requestParameters"]["reason"], "rotate certs");
    assert_eq!(start["responseElements"]["sessionId"], session_id.as_str());
    assert_eq!(
        start["responseElements"]["tokenValue"],
        "Value hidden due to security reasons."
    );
    assert!(
        !start.to_string().contains(&token),
        "the token never recorded"
    );

    let terminates = records(&trail, LookupAttributeKey::EventName, "TerminateSession").await;
    assert_eq!(terminates.len(), 1);
    assert_eq!(
        terminates[0]["requestParameters"]["sessionId"],
        session_id.as_str()
    );

    // Every other attribute finds what it names.
    let by_resource = records(&trail, LookupAttributeKey::ResourceName, &session_id).await;
    let names: Vec<&str> = by_resource
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["TerminateSession", "StartSession"]);
    let ec2_calls = records(&trail, LookupAttributeKey::EventSource, "ec2.amazonaws.com").await;
    assert_eq!(ec2_calls.len(), 1);
    assert_eq!(ec2_calls[0]["eventName"], "DescribeInstances");
    assert_eq!(ec2_calls[0]["readOnly"], true);
    let devs = records(&trail, LookupAttributeKey::Username, "dev").await;
    assert_eq!(devs.len(), 2, "dev's refused start and describe");
    let by_key = records(&trail, LookupAttributeKey::AccessKeyId, DEV).await;
    assert_eq!(by_key.len(), 2);
    let event_id = start["eventID"].as_str().unwrap();
    let by_id = records(&trail, LookupAttributeKey::EventId, event_id).await;
    assert_eq!(by_id.len(), 1);
    let writes = records(&trail, LookupAttributeKey::ReadOnly, "false").await;
    assert!(writes.iter().all(|r| r["readOnly"] == false) && writes.len() >= 3);
    let instances = records(
        &trail,
        LookupAttributeKey::ResourceType,
        "AWS::EC2::Instance",
    )
    .await;
    assert!(instances.iter().any(|r| r["eventName"] == "StartSession"));

    // The LookupEvents answer's own fields agree with the record.
    let out = trail
        .lookup_events()
        .lookup_attributes(attribute(LookupAttributeKey::EventId, event_id))
        .send()
        .await
        .unwrap();
    let event = &out.events()[0];
    assert_eq!(event.event_name(), Some("StartSession"));
    assert_eq!(event.username(), Some("admin"));
    assert_eq!(event.access_key_id(), Some(ADMIN));
    assert_eq!(event.read_only(), Some("false"));
    assert_eq!(event.event_source(), Some("ssm.amazonaws.com"));
    let resources: Vec<(&str, &str)> = event
        .resources()
        .iter()
        .map(|r| (r.resource_type().unwrap(), r.resource_name().unwrap()))
        .collect();
    assert!(
        resources.contains(&("AWS::EC2::Instance", web.as_str())),
        "{resources:?}"
    );
    assert!(event.event_time().is_some());

    // The worker instance was never touched.
    assert!(
        records(&trail, LookupAttributeKey::ResourceName, &worker)
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_time_ranges_and_bad_lookups() {
    let fleet = Fleet::demo();
    let web = id_of(&fleet, "web-1");
    let emulator = start_fleet(fleet).await;
    let admin = ssm(&emulator, ADMIN);
    for _ in 0..3 {
        admin
            .get_connection_status()
            .target(&web)
            .send()
            .await
            .unwrap();
    }
    let trail = cloudtrail_at(&emulator.endpoint, ADMIN);
    let lookup = || {
        trail.lookup_events().lookup_attributes(attribute(
            LookupAttributeKey::EventName,
            "GetConnectionStatus",
        ))
    };
    // MaxResults 2 then the rest through NextToken: three events, each once.
    let first = lookup().max_results(2).send().await.unwrap();
    assert_eq!(first.events().len(), 2);
    let token = first.next_token().unwrap();
    let second = lookup()
        .max_results(2)
        .next_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.events().len(), 1);
    assert!(second.next_token().is_none());
    let mut ids: Vec<&str> = first
        .events()
        .iter()
        .chain(second.events())
        .map(|e| e.event_id().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);

    // A range in the past holds none of them; one around now holds all.
    let now = std::time::SystemTime::now();
    let hour = std::time::Duration::from_secs(3600);
    let past = lookup()
        .start_time(DateTime::from(now - 2 * hour))
        .end_time(DateTime::from(now - hour))
        .send()
        .await
        .unwrap();
    assert!(past.events().is_empty());
    let around = lookup()
        .start_time(DateTime::from(now - hour))
        .end_time(DateTime::from(now + hour))
        .send()
        .await
        .unwrap();
    assert_eq!(around.events().len(), 3);

    let code = |result: Result<_, aws_sdk_cloudtrail::error::SdkError<_, _>>| {
        use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
        let err: aws_sdk_cloudtrail::error::SdkError<
            aws_sdk_cloudtrail::operation::lookup_events::LookupEventsError,
            _,
        > = result
            .map(|_: aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput| ())
            .expect_err("refused");
        err.code().unwrap_or_default().to_owned()
    };
    assert_eq!(
        code(lookup().max_results(51).send().await),
        "InvalidMaxResultsException"
    );
    assert_eq!(
        code(
            lookup()
                .lookup_attributes(attribute(LookupAttributeKey::Username, "admin"))
                .send()
                .await
        ),
        "InvalidLookupAttributesException"
    );
    assert_eq!(
        code(lookup().next_token("not-a-token").send().await),
        "InvalidNextTokenException"
    );
    assert_eq!(
        code(
            lookup()
                .start_time(DateTime::from(now))
                .end_time(DateTime::from(now - hour))
                .send()
                .await
        ),
        "InvalidTimeRangeException"
    );
    // Lookups are calls too: recorded after they are answered, under CloudTrail's source.
    let lookups = records(
        &trail,
        LookupAttributeKey::EventSource,
        "cloudtrail.amazonaws.com",
    )
    .await;
    assert!(lookups.len() >= 8, "{}", lookups.len());
    assert!(
        lookups
            .iter()
            .any(|r| r["errorCode"] == "InvalidMaxResultsException")
    );
}
