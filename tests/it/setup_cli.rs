//! `gangway setup`: the exec document is created once, shown as it is created, found again
//! on the next run; a user without `ssm:CreateDocument` is told which permission is missing.
//! Also the emulator's CreateDocument itself, through the real aws-sdk-ssm.

use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
use gangway::commands::exit;

use crate::exec_cli::gangway;
use crate::support::aws_clients::{ADMIN, DEV, ssm_at};
use crate::support::emulator::spawn;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_creates_once_then_says_it_is_there() {
    let emulator = spawn(&["--instances", "1"]);
    let dry = gangway(&emulator.endpoint, ADMIN, &["setup", "--dry-run"], b"").await;
    assert!(dry.status.success());
    assert!(text(&dry.stdout).contains("separateOutputStream"));
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    let missing = ssm.get_document().name("gangway-exec").send().await;
    assert!(missing.is_err(), "a dry run created the document");

    let first = gangway(&emulator.endpoint, ADMIN, &["setup"], b"").await;
    let stdout = text(&first.stdout);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        stdout.contains("Creating") && stdout.contains("\"separateOutputStream\": true"),
        "{stdout}"
    );
    let stored = ssm
        .get_document()
        .name("gangway-exec")
        .send()
        .await
        .unwrap();
    let content: serde_json::Value = serde_json::from_str(stored.content().unwrap()).unwrap();
    assert_eq!(content["sessionType"], "NonInteractiveCommands");

    let second = gangway(&emulator.endpoint, ADMIN, &["setup"], b"").await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    let stdout = text(&second.stdout);
    assert!(stdout.contains("already set up"), "{stdout}");
    assert!(!stdout.contains("Creating"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_without_permission_names_the_iam_action() {
    let emulator = spawn(&["--instances", "1"]);
    let out = gangway(&emulator.endpoint, DEV, &["setup"], b"").await;
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(exit::ACCESS_DENIED)),
        "{stderr}"
    );
    assert!(stderr.contains("ssm:CreateDocument"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    assert!(
        ssm.get_document()
            .name("gangway-exec")
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_document_refuses_duplicates_and_bad_content() {
    let emulator = spawn(&["--instances", "1"]);
    let ssm = ssm_at(&emulator.endpoint, ADMIN);
    let create = |name: &str, content: &str| {
        ssm.create_document()
            .name(name)
            .content(content)
            .document_type(DocumentType::Session)
            .document_format(DocumentFormat::Json)
            .send()
    };
    let content = gangway::aws::documents::exec_document_content().to_string();
    let created = create("mine", &content).await.unwrap();
    assert_eq!(created.document_description().unwrap().name(), Some("mine"));
    let again = create("mine", &content).await.unwrap_err();
    assert_eq!(
        again.as_service_error().unwrap().meta().code(),
        Some("DocumentAlreadyExists")
    );
    let reserved = create("AWS-Mine", &content).await.unwrap_err();
    assert!(reserved.as_service_error().is_some());
    let port = content.replace("NonInteractiveCommands", "Port");
    let refused = create("port", &port).await.unwrap_err();
    assert_eq!(
        refused.as_service_error().unwrap().meta().code(),
        Some("InvalidDocumentContent")
    );
    let not_json = create("yaml", "schemaVersion: '1.0'").await.unwrap_err();
    assert_eq!(
        not_json.as_service_error().unwrap().meta().code(),
        Some("InvalidDocumentContent")
    );
}
