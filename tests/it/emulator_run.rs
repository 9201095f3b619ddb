//! Run Command in the emulator (issue 14) through the real aws-sdk-ssm, and the AWS CLI
//! reading its results: scripts really run per instance, with AWS's statuses, limits,
//! truncation and S3 key layout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::{CommandInvocation, Target};
use gangway::emulator::Fleet;
use gangway::emulator::fleet::{InstanceState, PingStatus};
use gangway::emulator::ssm::commands::runner::s3_path;

use crate::support::PATIENCE;
use crate::support::aws_clients::{ADMIN, DEV, error_code, ssm};
use crate::support::awscli::aws_json;
use crate::support::emulator::{spawn, start_fleet};

/// 70 generated instances; the first 50 that are healthy carry `Batch=fifty`; instance 9
/// (stopped, connection lost) and instance 8 (agent Inactive) carry `Batch=mixed` with
/// three healthy ones.
fn run_fleet() -> Fleet {
    let mut fleet = Fleet::generated(70);
    fleet.instances[8].ping_status = Some(PingStatus::Inactive);
    let mut fifty = 0;
    for (index, instance) in fleet.instances.iter_mut().enumerate() {
        if instance.is_connectable() && fifty < 50 {
            instance.tags.insert("Batch".into(), "fifty".into());
            fifty += 1;
        }
        if matches!(index, 0 | 1 | 2 | 8 | 9) {
            instance.tags.insert("Group".into(), "mixed".into());
        }
    }
    assert_eq!(fleet.instances[9].state, InstanceState::Stopped);
    fleet
}

fn tag(key: &str, value: &str) -> Target {
    Target::builder()
        .key(format!("tag:{key}"))
        .values(value)
        .build()
}

/// SendCommand of AWS-RunShellScript running `lines`; the caller adds the targets.
fn run_script(
    client: &aws_sdk_ssm::Client,
    lines: &[&str],
) -> aws_sdk_ssm::operation::send_command::builders::SendCommandFluentBuilder {
    client
        .send_command()
        .document_name("AWS-RunShellScript")
        .parameters("commands", commands(lines))
}

fn commands(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

/// Polls ListCommands until the command has finished; its Command.
async fn finished(client: &aws_sdk_ssm::Client, id: &str) -> aws_sdk_ssm::types::Command {
    let give_up = Instant::now() + PATIENCE;
    loop {
        let listed = client.list_commands().command_id(id).send().await.unwrap();
        let command = listed.commands()[0].clone();
        let status = command.status().unwrap().as_str().to_owned();
        if !matches!(status.as_str(), "Pending" | "InProgress" | "Cancelling") {
            return command;
        }
        assert!(Instant::now() < give_up, "command {id} still {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every invocation of a command with details, following NextToken in pages of `page`.
async fn invocations(
    client: &aws_sdk_ssm::Client,
    id: &str,
    page: i32,
) -> (Vec<CommandInvocation>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut token = None;
    loop {
        let reply = client
            .list_command_invocations()
            .command_id(id)
            .details(true)
            .max_results(page)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        all.extend(reply.command_invocations().iter().cloned());
        token = reply.next_token().map(str::to_owned);
        if token.is_none() {
            return (all, pages);
        }
    }
}

fn by_detail(list: &[CommandInvocation]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for invocation in list {
        *counts
            .entry(invocation.status_details().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tagged_instances_each_report_status_and_output() {
    let fleet = run_fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, ADMIN);
    let sent = client
        .send_command()
        .document_name("AWS-RunShellScript")
        .targets(tag("Batch", "fifty"))
        .parameters(
            "commands",
            commands(&["echo \"hello from $HOSTNAME\"", "echo warn >&2"]),
        )
        .comment("fleet check")
        .send()
        .await
        .unwrap();
    let command = sent.command().unwrap();
    let id = command.command_id().unwrap().to_owned();
    assert_eq!(command.target_count(), 50);
    assert_eq!(command.max_concurrency(), Some("50"));
    assert_eq!(command.max_errors(), Some("0"));
    let done = finished(&client, &id).await;
    assert_eq!(done.status().unwrap().as_str(), "Success");
    assert_eq!(done.completed_count(), 50);
    assert_eq!(done.error_count(), 0);

    let (list, pages) = invocations(&client, &id, 20).await;
    assert_eq!(pages, 3);
    assert_eq!(list.len(), 50);
    assert_eq!(
        by_detail(&list),
        BTreeMap::from([("Success".to_owned(), 50)])
    );
    for invocation in &list {
        let instance = fleet
            .instances
            .iter()
            .find(|i| Some(i.id.as_str()) == invocation.instance_id())
            .unwrap();
        let plugin = &invocation.command_plugins()[0];
        assert_eq!(plugin.name(), Some("aws:runShellScript"));
        assert_eq!(plugin.response_code(), 0);
        // Never empty: the output is read to its end even when the script exits first.
        assert_eq!(
            plugin.output().unwrap(),
            format!(
                "hello from {}\n\n----------ERROR-------\nwarn\n",
                instance.name().unwrap()
            )
        );
    }
    let first = list[0].instance_id().unwrap();
    let one = client
        .get_command_invocation()
        .command_id(&id)
        .instance_id(first)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status().unwrap().as_str(), "Success");
    assert!(
        one.standard_output_content()
            .unwrap()
            .starts_with("hello from host-")
    );
    assert_eq!(one.standard_error_content(), Some("warn\n"));
    assert_eq!(one.plugin_name(), Some("0.aws:runShellScript"));
    assert!(one.execution_elapsed_time().unwrap().starts_with("PT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_errors_stops_new_invocations() {
    let emulator = start_fleet(run_fleet()).await;
    let client = ssm(&emulator, ADMIN);
    let sent = run_script(&client, &["echo failing", "exit 3"])
        .targets(tag("Env", "dev"))
        .max_concurrency("1")
        .max_errors("1")
        .send()
        .await
        .unwrap();
    let id = sent.command().unwrap().command_id().unwrap().to_owned();
    let done = finished(&client, &id).await;
    assert_eq!(done.status().unwrap().as_str(), "Failed");
    assert_eq!(done.error_count(), 2);
    let (list, _) = invocations(&client, &id, 50).await;
    let counts = by_detail(&list);
    assert_eq!(counts["Failed"], 2, "{counts:?}");
    // Everything not yet started, the offline dev instances too, ends Terminated.
    assert_eq!(counts["Terminated"], list.len() - 2, "{counts:?}");
    let failed = list
        .iter()
        .find(|i| i.status_details() == Some("Failed"))
        .unwrap();
    assert_eq!(failed.command_plugins()[0].response_code(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_script_ends_as_timed_out() {
    let fleet = run_fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, ADMIN);
    let ids = [fleet.instances[0].id.clone(), fleet.instances[1].id.clone()];
    let started = Instant::now();
    let sent = client
        .send_command()
        .document_name("AWS-RunShellScript")
        .set_instance_ids(Some(ids.to_vec()))
        .parameters(
            "commands",
            commands(&[
                "echo begun",
                "[ \"$HOSTNAME\" = host-00001 ] && sleep 300",
                "true",
            ]),
        )
        .parameters("executionTimeout", commands(&["5"]))
        .send()
        .await
        .unwrap();
    let id = sent.command().unwrap().command_id().unwrap().to_owned();
    let done = finished(&client, &id).await;
    assert!(started.elapsed() < Duration::from_secs(120));
    assert_eq!(done.status().unwrap().as_str(), "TimedOut");
    let slow = client
        .get_command_invocation()
        .command_id(&id)
        .instance_id(&ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status().unwrap().as_str(), "TimedOut");
    assert_eq!(slow.status_details(), Some("ExecutionTimedOut"));
    assert_eq!(slow.response_code(), 137);
    assert_eq!(slow.standard_output_content(), Some("begun\n"));
    let fast = client
        .get_command_invocation()
        .command_id(&id)
        .instance_id(&ids[1])
        .send()
        .await
        .unwrap();
    assert_eq!(fast.status_details(), Some("Success"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_command_ends_as_cancelled() {
    let emulator = start_fleet(run_fleet()).await;
    let client = ssm(&emulator, ADMIN);
    let sent = run_script(&client, &["sleep 300"])
        .targets(tag("Group", "mixed"))
        .max_concurrency("1")
        .send()
        .await
        .unwrap();
    let id = sent.command().unwrap().command_id().unwrap().to_owned();
    let give_up = Instant::now() + PATIENCE;
    while !by_detail(&invocations(&client, &id, 50).await.0).contains_key("InProgress") {
        assert!(Instant::now() < give_up, "nothing started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client
        .cancel_command()
        .command_id(&id)
        .send()
        .await
        .unwrap();
    let done = finished(&client, &id).await;
    assert_eq!(done.status().unwrap().as_str(), "Cancelled");
    let (list, _) = invocations(&client, &id, 50).await;
    let counts = by_detail(&list);
    // Three healthy ones (one running, two waiting) and the stopped one, still Pending,
    // end Cancelled; the Inactive agent's was Undeliverable from the start.
    assert_eq!(counts.get("Cancelled"), Some(&4), "{counts:?}");
    assert_eq!(counts.get("Undeliverable"), Some(&1), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_instances_are_reported_not_hidden() {
    let fleet = run_fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, ADMIN);
    let sent = run_script(&client, &["uname -n"])
        .targets(tag("Group", "mixed"))
        .timeout_seconds(30)
        .send()
        .await
        .unwrap();
    let id = sent.command().unwrap().command_id().unwrap().to_owned();
    assert_eq!(sent.command().unwrap().target_count(), 5);
    let done = finished(&client, &id).await;
    let (list, _) = invocations(&client, &id, 50).await;
    let detail_of = |index: usize| {
        list.iter()
            .find(|i| i.instance_id() == Some(fleet.instances[index].id.as_str()))
            .unwrap()
            .status_details()
            .unwrap()
            .to_owned()
    };
    assert_eq!(detail_of(0), "Success");
    assert_eq!(detail_of(8), "Undeliverable");
    assert_eq!(detail_of(9), "DeliveryTimedOut");
    assert_eq!(done.delivery_timed_out_count(), 1);
    assert_eq!(done.status().unwrap().as_str(), "TimedOut");
    // InstanceIds naming an instance SSM does not manage are refused outright, named.
    let unmanaged = "i-0fffffffffffffff0";
    let refused = run_script(&client, &["true"])
        .instance_ids(unmanaged)
        .send()
        .await;
    let err = refused.unwrap_err().into_service_error();
    assert_eq!(err.meta().code(), Some("InvalidInstanceId"));
    assert!(err.meta().message().unwrap().contains(unmanaged));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_output_is_cut_and_complete_in_the_s3_layout() {
    let fleet = run_fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, ADMIN);
    let instance = fleet.instances[0].id.clone();
    let sent = client
        .send_command()
        .document_name("AWS-RunShellScript")
        .instance_ids(&instance)
        .parameters(
            "commands",
            commands(&[
                "head -c 30000 /dev/zero | tr '\\0' x",
                "head -c 9000 /dev/zero | tr '\\0' e >&2",
            ]),
        )
        .output_s3_bucket_name("audit-results")
        .output_s3_key_prefix("security/check_result/2026")
        .send()
        .await
        .unwrap();
    let id = sent.command().unwrap().command_id().unwrap().to_owned();
    finished(&client, &id).await;
    let one = client
        .get_command_invocation()
        .command_id(&id)
        .instance_id(&instance)
        .send()
        .await
        .unwrap();
    let stdout = one.standard_output_content().unwrap();
    assert_eq!(stdout.len(), 24_000);
    assert!(stdout.ends_with("--output truncated--"));
    assert_eq!(one.standard_error_content().unwrap().len(), 8_000);
    let key = format!(
        "security/check_result/2026/{id}/{instance}/awsrunShellScript/0.awsrunShellScript/stdout"
    );
    assert_eq!(
        one.standard_output_url(),
        Some(format!("https://s3.us-east-1.amazonaws.com/audit-results/{key}").as_str())
    );
    let whole = std::fs::read(s3_path("audit-results", &key)).unwrap();
    assert_eq!(whole, vec![b'x'; 30_000]);
    let stderr_key = key.replace("/stdout", "/stderr");
    assert_eq!(
        std::fs::read(s3_path("audit-results", &stderr_key))
            .unwrap()
            .len(),
        9_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_outside_the_scope_is_refused_and_told_which_instances() {
    let fleet = run_fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, DEV);
    let dev = fleet.instances[0].id.clone(); // Env=dev
    let prod = fleet.instances[2].id.clone(); // Env=prod
    let refused = run_script(&client, &["true"])
        .instance_ids(&dev)
        .instance_ids(&prod)
        .send()
        .await;
    let err = refused.unwrap_err().into_service_error();
    assert_eq!(err.meta().code(), Some("AccessDeniedException"));
    let message = err.meta().message().unwrap();
    assert!(
        message.contains(&prod) && !message.contains(&dev),
        "{message}"
    );
    // By tag, the instances outside the scope are listed as AccessDenied.
    let sent = run_script(&client, &["true"])
        .targets(tag("Group", "mixed"))
        .timeout_seconds(30)
        .send()
        .await
        .unwrap();
    let id = sent.command().unwrap().command_id().unwrap().to_owned();
    let (list, _) = invocations(&client, &id, 50).await;
    let denied: Vec<&str> = list
        .iter()
        .filter(|i| i.status_details() == Some("AccessDenied"))
        .map(|i| i.instance_id().unwrap())
        .collect();
    let expected: Vec<&str> = [1, 2, 8]
        .iter()
        .map(|&i| fleet.instances[i].id.as_str())
        .filter(|id| {
            let instance = fleet.instances.iter().find(|x| x.id == *id).unwrap();
            instance.tags["Env"] != "dev"
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(denied, expected);
}

#[tokio::test]
async fn bad_requests_get_aws_errors() {
    let fleet = run_fleet();
    let emulator = start_fleet(fleet.clone()).await;
    let client = ssm(&emulator, ADMIN);
    let instance = fleet.instances[0].id.clone();
    let send = || run_script(&client, &["true"]).instance_ids(&instance);
    let code = error_code(send().document_name("No-Such-Document").send().await);
    assert_eq!(code, "InvalidDocument");
    assert_eq!(
        error_code(send().max_concurrency("0").send().await),
        "ValidationException"
    );
    assert_eq!(
        error_code(send().timeout_seconds(5).send().await),
        "ValidationException"
    );
    assert_eq!(
        error_code(send().parameters("nope", commands(&["x"])).send().await),
        "InvalidParameters"
    );
    let missing = "00000000-0000-0000-0000-000000000000";
    assert_eq!(
        error_code(client.list_commands().command_id(missing).send().await),
        "InvalidCommandId"
    );
    assert_eq!(
        error_code(client.cancel_command().command_id(missing).send().await),
        "InvalidCommandId"
    );
    let id = send()
        .send()
        .await
        .unwrap()
        .command()
        .unwrap()
        .command_id()
        .unwrap()
        .to_owned();
    let other = fleet.instances[1].id.clone();
    assert_eq!(
        error_code(
            client
                .get_command_invocation()
                .command_id(&id)
                .instance_id(&other)
                .send()
                .await
        ),
        "InvocationDoesNotExist"
    );
    assert_eq!(
        error_code(
            client
                .list_command_invocations()
                .next_token("garbage")
                .send()
                .await
        ),
        "InvalidNextToken"
    );
}

#[test]
fn the_aws_cli_reads_command_results() {
    let emulator = spawn(&["--instances", "12"]);
    let sent = aws_json(
        &emulator.endpoint,
        ADMIN,
        &[
            "ssm",
            "send-command",
            "--document-name",
            "AWS-RunShellScript",
            "--targets",
            "Key=tag:Env,Values=dev",
            "--parameters",
            "commands=[\"echo cli-$HOSTNAME\"]",
            "--comment",
            "from the cli",
        ],
    );
    let id = sent["Command"]["CommandId"].as_str().unwrap().to_owned();
    // 12 instances: four dev ones, one of them (index 9) stopped with its agent offline.
    assert_eq!(sent["Command"]["TargetCount"], 4);
    let give_up = Instant::now() + PATIENCE;
    let list = loop {
        let reply = aws_json(
            &emulator.endpoint,
            ADMIN,
            &[
                "ssm",
                "list-command-invocations",
                "--command-id",
                &id,
                "--details",
            ],
        );
        let list = reply["CommandInvocations"].as_array().unwrap().clone();
        let successes = list.iter().filter(|i| i["Status"] == "Success").count();
        if successes == 3 {
            break list;
        }
        assert!(Instant::now() < give_up, "still running: {list:?}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(list.len(), 4);
    let done = list.iter().find(|i| i["Status"] == "Success").unwrap();
    let plugin = &done["CommandPlugins"][0];
    assert_eq!(plugin["Name"], "aws:runShellScript");
    assert_eq!(plugin["ResponseCode"], 0);
    assert!(plugin["Output"].as_str().unwrap().starts_with("cli-host-"));
    assert_eq!(done["Comment"], "from the cli");
    let pending = list.iter().find(|i| i["Status"] == "Pending").unwrap();
    assert!(
        pending["CommandPlugins"][0]["Output"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let listed = aws_json(&emulator.endpoint, ADMIN, &["ssm", "list-commands"]);
    assert_eq!(listed["Commands"][0]["CommandId"], id.as_str());
}
