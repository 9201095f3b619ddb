//! Run Command calls: SendCommand, ListCommands, ListCommandInvocations (all pages, with
//! details), GetCommandInvocation and CancelCommand, turned into `types` at the boundary.

use std::time::{Duration, SystemTime};

use aws_sdk_ssm::types::{Command, CommandInvocation, Target};

use super::client::AwsClient;
use super::error::AwsError;
use super::types::{CommandInfo, InvocationInfo, InvocationOutput, S3Location, SendCommandRequest};

/// The shell documents and the plugin both run.
pub const SHELL_SCRIPT_DOCUMENT: &str = "AWS-RunShellScript";
pub const POWERSHELL_SCRIPT_DOCUMENT: &str = "AWS-RunPowerShellScript";
/// ListCommands and ListCommandInvocations give at most 50 a page.
pub const PAGE_SIZE: i32 = 50;
/// SendCommand takes at most 50 instance ids.
pub const MAX_INSTANCE_IDS: usize = 50;

/// Following a command: rounds of ListCommandInvocations pages are at least `MIN_ROUND`
/// apart, each page read adds `PAUSE_PER_PAGE`, up to `MAX_ROUND` once the command is big,
/// so polling costs a few calls a second however many instances run it.
const MIN_ROUND: Duration = Duration::from_secs(1);
const MAX_ROUND: Duration = Duration::from_secs(5);
const PAUSE_PER_PAGE: Duration = Duration::from_millis(250);

/// The pause before the next round of a follow that read `pages` pages (`gangway run` and
/// the TUI's command view both pace themselves by it).
pub fn pause_after_round(pages: usize) -> Duration {
    (PAUSE_PER_PAGE * u32::try_from(pages).unwrap_or(u32::MAX)).clamp(MIN_ROUND, MAX_ROUND)
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(str::to_owned)
}

fn command_info(command: &Command) -> CommandInfo {
    let output_s3 = non_empty(command.output_s3_bucket_name()).map(|bucket| S3Location {
        bucket,
        prefix: command
            .output_s3_key_prefix()
            .unwrap_or_default()
            .to_owned(),
    });
    CommandInfo {
        command_id: command.command_id().unwrap_or_default().to_owned(),
        document_name: command.document_name().unwrap_or_default().to_owned(),
        comment: command.comment().unwrap_or_default().to_owned(),
        requested: command
            .requested_date_time()
            .and_then(|d| SystemTime::try_from(*d).ok()),
        status: command
            .status()
            .map_or_else(String::new, |s| s.as_str().to_owned()),
        status_details: command.status_details().unwrap_or_default().to_owned(),
        target_count: command.target_count(),
        completed_count: command.completed_count(),
        error_count: command.error_count(),
        delivery_timed_out_count: command.delivery_timed_out_count(),
        max_concurrency: command.max_concurrency().unwrap_or_default().to_owned(),
        max_errors: command.max_errors().unwrap_or_default().to_owned(),
        instance_ids: command.instance_ids().to_vec(),
        targets: command
            .targets()
            .iter()
            .map(|t| format!("{}={}", t.key().unwrap_or_default(), t.values().join(",")))
            .collect(),
        output_s3,
    }
}

fn invocation_info(invocation: &CommandInvocation) -> InvocationInfo {
    let plugin = invocation.command_plugins().first();
    InvocationInfo {
        command_id: invocation.command_id().unwrap_or_default().to_owned(),
        instance_id: invocation.instance_id().unwrap_or_default().to_owned(),
        instance_name: invocation.instance_name().unwrap_or_default().to_owned(),
        status: invocation
            .status()
            .map_or_else(String::new, |s| s.as_str().to_owned()),
        status_details: invocation.status_details().unwrap_or_default().to_owned(),
        response_code: plugin.map(|p| p.response_code()).filter(|code| *code != -1),
        output: plugin
            .and_then(|p| p.output())
            .unwrap_or_default()
            .to_owned(),
        stdout_url: non_empty(invocation.standard_output_url()),
        stderr_url: non_empty(invocation.standard_error_url()),
    }
}

impl AwsClient {
    pub async fn send_command(
        &self,
        request: &SendCommandRequest,
    ) -> Result<CommandInfo, AwsError> {
        let mut call = self
            .ssm
            .send_command()
            .document_name(&request.document_name)
            .parameters("commands", request.commands.clone());
        if !request.instance_ids.is_empty() {
            call = call.set_instance_ids(Some(request.instance_ids.clone()));
        }
        for (key, values) in &request.tag_targets {
            call = call.targets(
                Target::builder()
                    .key(format!("tag:{key}"))
                    .set_values(Some(values.clone()))
                    .build(),
            );
        }
        if let Some(seconds) = request.execution_timeout {
            call = call.parameters("executionTimeout", vec![seconds.to_string()]);
        }
        if let Some(location) = &request.output_s3 {
            call = call.output_s3_bucket_name(&location.bucket);
            if !location.prefix.is_empty() {
                call = call.output_s3_key_prefix(&location.prefix);
            }
        }
        let out = call
            .set_comment(request.comment.clone())
            .set_max_concurrency(request.max_concurrency.clone())
            .set_max_errors(request.max_errors.clone())
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        out.command()
            .map(command_info)
            .ok_or_else(|| AwsError::BadResponse("SendCommand returned no Command".into()))
    }

    /// One command by id; `None` when AWS does not know it.
    pub async fn command(&self, command_id: &str) -> Result<Option<CommandInfo>, AwsError> {
        let out = self
            .ssm
            .list_commands()
            .command_id(command_id)
            .send()
            .await
            .map_err(|e| self.errors.map(e));
        match out {
            Ok(out) => Ok(out.commands().first().map(command_info)),
            Err(AwsError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// One page of the command history, newest first, and the token of the next.
    pub async fn commands_page(
        &self,
        next_token: Option<String>,
        max: i32,
    ) -> Result<(Vec<CommandInfo>, Option<String>), AwsError> {
        let out = self
            .ssm
            .list_commands()
            .max_results(max.clamp(1, PAGE_SIZE))
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        Ok((
            out.commands().iter().map(command_info).collect(),
            out.next_token().map(str::to_owned),
        ))
    }

    /// Every invocation of a command with its plugin details, in pages of 50; how many
    /// calls that took comes back too (the benchmark counts them).
    pub async fn command_invocations(
        &self,
        command_id: &str,
    ) -> Result<(Vec<InvocationInfo>, usize), AwsError> {
        let mut all = Vec::new();
        let mut token = None;
        let mut calls = 0;
        loop {
            let out = self
                .ssm
                .list_command_invocations()
                .command_id(command_id)
                .details(true)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.errors.map(e))?;
            calls += 1;
            all.extend(out.command_invocations().iter().map(invocation_info));
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok((all, calls));
            }
        }
    }

    /// One instance's stdout and stderr apart (the first 24,000 and 8,000 characters).
    pub async fn command_output(
        &self,
        command_id: &str,
        instance_id: &str,
    ) -> Result<InvocationOutput, AwsError> {
        let out = self
            .ssm
            .get_command_invocation()
            .command_id(command_id)
            .instance_id(instance_id)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        Ok(InvocationOutput {
            status: out
                .status()
                .map_or_else(String::new, |s| s.as_str().to_owned()),
            status_details: out.status_details().unwrap_or_default().to_owned(),
            response_code: Some(out.response_code()).filter(|code| *code != -1),
            stdout: out.standard_output_content().unwrap_or_default().to_owned(),
            stderr: out.standard_error_content().unwrap_or_default().to_owned(),
            stdout_url: non_empty(out.standard_output_url()),
            stderr_url: non_empty(out.standard_error_url()),
        })
    }

    /// CancelCommand for the whole command.
    pub async fn cancel_command(&self, command_id: &str) -> Result<(), AwsError> {
        self.ssm
            .cancel_command()
            .command_id(command_id)
            .send()
            .await
            .map_err(|e| self.errors.map(e))?;
        Ok(())
    }
}
