//! The AWS CLI from PyPI (`pip install awscli`) against a spawned `gangway emulator`: the
//! emulator speaks the wire formats botocore parses, not just the Rust SDK's. The CLI is
//! installed into a venv under the target dir on first use and reused afterwards.

use crate::support::awscli::aws_json;
use crate::support::emulator::spawn;

#[test]
fn aws_cli_describes_instances_with_a_tag_filter() {
    // The demo fleet includes a tag value with control characters (C1 CSI, DEL, CR LF):
    // botocore's XML parser must accept the response all the same.
    let emulator = spawn(&[]);
    let reply = aws_json(
        &emulator.endpoint,
        "AKIAGANGWAYDEV",
        &[
            "ec2",
            "describe-instances",
            "--filters",
            "Name=tag:Env,Values=dev",
        ],
    );
    let mut names: Vec<String> = reply["Reservations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["Instances"].as_array().unwrap().iter())
        .map(|i| {
            let tags = i["Tags"].as_array().unwrap();
            let name = tags.iter().find(|t| t["Key"] == "Name").unwrap();
            name["Value"].as_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "build-1",
            "legacy-batch",
            "unmanaged-1",
            "worker-1",
            "worker-2",
            "결제-api-1"
        ]
    );
    let note = reply["Reservations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["Instances"].as_array().unwrap().iter())
        .flat_map(|i| i["Tags"].as_array().unwrap().iter())
        .find(|t| t["Key"] == "Note")
        .unwrap();
    assert_eq!(note["Value"], gangway::emulator::fleet::HOSTILE_TAG_VALUE);
}

#[test]
fn aws_cli_describes_instance_information() {
    let emulator = spawn(&["--instances", "120"]);
    // The CLI follows NextToken itself: 120 instances arrive over three pages of 50.
    let reply = aws_json(
        &emulator.endpoint,
        "AKIAGANGWAYADMIN",
        &["ssm", "describe-instance-information"],
    );
    let list = reply["InstanceInformationList"].as_array().unwrap();
    assert_eq!(list.len(), 120);
    assert_eq!(list[0]["PingStatus"], "Online");
    assert_eq!(list[0]["PlatformType"], "Linux");
    assert!(list[0]["LastPingDateTime"].is_string() || list[0]["LastPingDateTime"].is_number());
    let online = list.iter().filter(|i| i["PingStatus"] == "Online").count();
    assert_eq!(online, 108);
}
