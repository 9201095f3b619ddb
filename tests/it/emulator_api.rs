//! The emulator's EC2 API through the real aws-sdk-ec2 client, over HTTP, on 127.0.0.1:0.

use std::collections::HashSet;

use aws_sdk_ec2::types::{Filter, Instance};
use gangway::emulator::Fleet;

use crate::support::aws_clients::{ADMIN, DEV, ec2, error_code};
use crate::support::emulator::start_fleet;

fn filter(name: &str, values: &[&str]) -> Filter {
    let mut builder = Filter::builder().name(name);
    for value in values {
        builder = builder.values(*value);
    }
    builder.build()
}

fn tag<'a>(instance: &'a Instance, key: &str) -> Option<&'a str> {
    instance
        .tags()
        .iter()
        .find(|tag| tag.key() == Some(key))
        .and_then(|tag| tag.value())
}

async fn names(client: &aws_sdk_ec2::Client, filters: Vec<Filter>) -> Vec<String> {
    let output = client
        .describe_instances()
        .set_filters(Some(filters))
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = output
        .reservations()
        .iter()
        .flat_map(|reservation| reservation.instances())
        .map(|instance| tag(instance, "Name").unwrap_or("").to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn describe_instances_returns_the_demo_fleet_as_the_sdk_parses_it() {
    let emulator = start_fleet(Fleet::demo()).await;
    let client = ec2(&emulator, DEV);
    let output = client.describe_instances().send().await.unwrap();
    let instances: Vec<&Instance> = output
        .reservations()
        .iter()
        .flat_map(|reservation| {
            assert!(reservation.reservation_id().unwrap().starts_with("r-"));
            assert_eq!(reservation.owner_id(), Some("123456789012"));
            reservation.instances()
        })
        .collect();
    // Every demo instance but the hybrid mi- node, which only SSM knows.
    assert_eq!(instances.len(), 11);
    assert!(
        output.reservations().len() < instances.len(),
        "instances share reservations"
    );
    assert!(output.next_token().is_none());
    let web = instances
        .iter()
        .find(|i| tag(i, "Name") == Some("web-1"))
        .unwrap();
    assert_eq!(web.state().unwrap().name().unwrap().as_str(), "running");
    assert_eq!(web.state().unwrap().code(), Some(16));
    assert!(web.instance_id().unwrap().starts_with("i-"));
    assert!(web.private_ip_address().unwrap().starts_with("10."));
    assert!(web.launch_time().is_some());
    assert!(web.image_id().unwrap().starts_with("ami-"));
    let stopped = instances
        .iter()
        .find(|i| tag(i, "Name") == Some("worker-2"))
        .unwrap();
    assert_eq!(stopped.state().unwrap().code(), Some(80));
    // Text from AWS arrives intact for the UI to escape: control characters and Korean.
    let worker = instances
        .iter()
        .find(|i| tag(i, "Name") == Some("worker-1"))
        .unwrap();
    assert_eq!(
        tag(worker, "Note"),
        Some(gangway::emulator::fleet::HOSTILE_TAG_VALUE)
    );
    assert!(instances.iter().any(|i| tag(i, "Team") == Some("결제팀")));
}

#[tokio::test]
async fn every_filter_kind_with_wildcards_and_several_values() {
    let emulator = start_fleet(Fleet::demo()).await;
    let client = ec2(&emulator, ADMIN);
    assert_eq!(
        names(&client, vec![filter("tag:Name", &["web-*"])]).await,
        ["web-1", "web-2"]
    );
    assert_eq!(
        names(&client, vec![filter("tag:Name", &["web-?", "api-1"])]).await,
        ["api-1", "web-1", "web-2"]
    );
    assert_eq!(
        names(&client, vec![filter("tag:Env", &["stg"])]).await,
        ["api-1", "cache-1"]
    );
    assert_eq!(
        names(&client, vec![filter("tag-key", &["Not?"])]).await,
        ["worker-1"]
    );
    assert_eq!(
        names(&client, vec![filter("tag-value", &["결제*"])]).await,
        ["결제-api-1"]
    );
    assert_eq!(
        names(&client, vec![filter("instance-state-name", &["stopped"])]).await,
        ["worker-2"]
    );
    // Filters combine with AND; values within one filter with OR.
    assert_eq!(
        names(
            &client,
            vec![
                filter("tag:Env", &["dev"]),
                filter("instance-state-name", &["running", "pending"])
            ]
        )
        .await,
        [
            "build-1",
            "legacy-batch",
            "unmanaged-1",
            "worker-1",
            "결제-api-1"
        ]
    );
    let all = client.describe_instances().send().await.unwrap();
    let first = &all.reservations()[0].instances()[0];
    let id = first.instance_id().unwrap();
    let by_id = names(&client, vec![filter("instance-id", &[id])]).await;
    assert_eq!(by_id, [tag(first, "Name").unwrap()]);
    let prefix = format!("{}*", &id[..id.len() - 1]);
    let by_prefix = names(&client, vec![filter("instance-id", &[&prefix])]).await;
    assert!(
        by_prefix.len() > 1 && by_prefix.contains(&by_id[0]),
        "{by_prefix:?}"
    );
    let ubuntu = names(
        &client,
        vec![filter("image-id", &["ami-0a1b2c3d4e5f60002"])],
    )
    .await;
    assert_eq!(ubuntu, ["build-1"]);
    assert!(
        names(&client, vec![filter("tag:Env", &["nope"])])
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn instance_ids_select_and_unknown_or_malformed_ids_fail() {
    let emulator = start_fleet(Fleet::generated(20)).await;
    let client = ec2(&emulator, DEV);
    let fleet = Fleet::generated(20);
    let wanted = [
        fleet.instances[3].id.clone(),
        fleet.instances[17].id.clone(),
    ];
    let output = client
        .describe_instances()
        .set_instance_ids(Some(wanted.to_vec()))
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = output
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id())
        .collect();
    assert_eq!(ids, wanted);
    let unknown = client
        .describe_instances()
        .instance_ids("i-00000000000000bad")
        .send()
        .await;
    assert_eq!(error_code(unknown), "InvalidInstanceID.NotFound");
    let malformed = client
        .describe_instances()
        .instance_ids("web-1")
        .send()
        .await;
    assert_eq!(error_code(malformed), "InvalidInstanceID.Malformed");
    let both = client
        .describe_instances()
        .instance_ids(wanted[0].clone())
        .max_results(5)
        .send()
        .await;
    assert_eq!(error_code(both), "InvalidParameterCombination");
    let too_small = client.describe_instances().max_results(4).send().await;
    assert_eq!(error_code(too_small), "InvalidParameterValue");
    let bad_token = client
        .describe_instances()
        .max_results(5)
        .next_token("garbage")
        .send()
        .await;
    assert_eq!(error_code(bad_token), "InvalidParameterValue");
}

#[tokio::test]
async fn the_sdk_paginator_walks_5000_instances_without_duplicates() {
    let emulator = start_fleet(Fleet::generated(5_000)).await;
    let client = ec2(&emulator, DEV);
    let mut pages = client
        .describe_instances()
        .max_results(1000)
        .into_paginator()
        .send();
    let mut ids = Vec::new();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        page_count += 1;
        let on_page: Vec<String> = page
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .map(|i| i.instance_id().unwrap().to_owned())
            .collect();
        assert!(on_page.len() <= 1000);
        ids.extend(on_page);
    }
    assert_eq!(page_count, 5);
    assert_eq!(ids.len(), 5_000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 5_000);
    let expected: Vec<String> = Fleet::generated(5_000)
        .instances
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, expected);

    // Filters apply before pagination: a third of the fleet is Env=dev.
    let dev_pages = client
        .describe_instances()
        .filters(filter("tag:Env", &["dev"]))
        .max_results(400)
        .into_paginator()
        .items()
        .send();
    let reservations: Vec<_> = dev_pages.collect::<Vec<_>>().await;
    let dev: usize = reservations
        .into_iter()
        .map(|r| r.unwrap().instances().len())
        .sum();
    assert_eq!(dev, 1_667);
}

#[tokio::test]
async fn describe_images_lists_the_fleet_images() {
    let emulator = start_fleet(Fleet::demo()).await;
    let client = ec2(&emulator, DEV);
    let all = client.describe_images().send().await.unwrap();
    assert_eq!(all.images().len(), 3);
    let one = client
        .describe_images()
        .image_ids("ami-0a1b2c3d4e5f60002")
        .send()
        .await
        .unwrap();
    let image = &one.images()[0];
    assert!(image.name().unwrap().contains("ubuntu"));
    assert_eq!(image.architecture().unwrap().as_str(), "x86_64");
    assert_eq!(image.state().unwrap().as_str(), "available");
    let by_name = client
        .describe_images()
        .filters(filter("name", &["al2023-*"]))
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.images().len(), 1);
    let missing = client
        .describe_images()
        .image_ids("ami-0ffffffffffffffff")
        .send()
        .await;
    assert_eq!(error_code(missing), "InvalidAMIID.NotFound");
    let bad_filter = client
        .describe_images()
        .filters(filter("owner-alias", &["amazon"]))
        .send()
        .await;
    assert_eq!(error_code(bad_filter), "InvalidParameterValue");
}

#[tokio::test]
async fn unknown_filters_keys_and_actions_get_aws_errors_and_serving_continues() {
    let emulator = start_fleet(Fleet::demo()).await;
    let client = ec2(&emulator, DEV);
    let bad_filter = client
        .describe_instances()
        .filters(filter("color", &["blue"]))
        .send()
        .await;
    assert_eq!(error_code(bad_filter), "InvalidParameterValue");
    let stranger = ec2(&emulator, "AKIASTRANGER");
    assert_eq!(
        error_code(stranger.describe_instances().send().await),
        "AuthFailure"
    );
    let expired = ec2(&emulator, "ASIAGANGWAYEXPIRED");
    assert_eq!(
        error_code(expired.describe_instances().send().await),
        "ExpiredToken"
    );
    let unknown_action = client.describe_vpcs().send().await;
    assert_eq!(error_code(unknown_action), "InvalidAction");
    let dry_run = client.describe_instances().dry_run(true).send().await;
    assert_eq!(error_code(dry_run), "DryRunOperation");
    // Still serving after all of that.
    assert_eq!(
        names(&client, vec![filter("tag:Name", &["db-1"])]).await,
        ["db-1"]
    );
}
