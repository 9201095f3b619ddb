//! Run Command (issue 14): SendCommand, ListCommands, ListCommandInvocations,
//! GetCommandInvocation and CancelCommand. `send.rs` checks a request and starts the
//! command's `runner.rs` task, which runs the script on each instance and writes statuses
//! into the `store.rs`; the reads here render from the store (`render.rs`). Shapes, limits
//! and statuses live in `model.rs`; docs/emulator.md lists them.

pub mod model;
mod render;
pub mod runner;
mod send;
pub mod store;

use serde_json::{Value, json};

pub use send::send_command;
pub use store::CommandStore;

use model::{CancelRequest, CommandFilter, CommandRecord, GetInvocationRequest, ListRequest};
use store::CancelError;

use super::{Call, SsmError, max_results, start_offset};
use crate::emulator::authorize::Ask;
use crate::emulator::pagination;

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

fn invalid_command_id() -> SsmError {
    SsmError::new("InvalidCommandId", "")
}

/// One ListCommands/ListCommandInvocations filter, checked as AWS documents the keys.
enum Filter {
    InvokedAfter(std::time::SystemTime),
    InvokedBefore(std::time::SystemTime),
    Status(String),
    DocumentName(String),
    /// `Executing` or `Complete`.
    Complete(bool),
}

impl Filter {
    fn parse(filter: &CommandFilter) -> Result<Self, SsmError> {
        let value = filter.value.as_str();
        // A value of the wrong form: a ValidationException, as the other list operations
        // answer a bad enum value or date.
        let bad_value = || {
            SsmError::validation(format!(
                "The value {} is not valid for filter {}.",
                printable(value),
                printable(&filter.key)
            ))
        };
        let time = || {
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                .map(std::time::SystemTime::from)
                .map_err(|_| bad_value())
        };
        Ok(match filter.key.as_str() {
            "InvokedAfter" => Self::InvokedAfter(time()?),
            "InvokedBefore" => Self::InvokedBefore(time()?),
            "Status" => {
                const STATUSES: [&str; 8] = [
                    "Pending",
                    "InProgress",
                    "Success",
                    "Cancelled",
                    "Failed",
                    "TimedOut",
                    "Cancelling",
                    "Delayed",
                ];
                if !STATUSES.contains(&value) {
                    return Err(bad_value());
                }
                Self::Status(value.to_owned())
            }
            "DocumentName" => Self::DocumentName(value.to_owned()),
            "ExecutionStage" => match value {
                "Executing" => Self::Complete(false),
                "Complete" => Self::Complete(true),
                _ => return Err(bad_value()),
            },
            other => return Err(SsmError::invalid_filter_key(other)),
        })
    }

    fn matches_command(&self, record: &CommandRecord) -> bool {
        match self {
            Self::InvokedAfter(at) => record.requested >= *at,
            Self::InvokedBefore(at) => record.requested <= *at,
            Self::Status(status) => record.summary().status == status,
            Self::DocumentName(name) => &record.document_name == name,
            Self::Complete(complete) => record.is_finished() == *complete,
        }
    }

    fn matches_invocation(&self, record: &CommandRecord, invocation: &model::Invocation) -> bool {
        match self {
            Self::Status(status) => invocation.detail.status() == status,
            Self::Complete(complete) => invocation.detail.is_terminal() == *complete,
            _ => self.matches_command(record),
        }
    }
}

fn filters(request: &ListRequest) -> Result<Vec<Filter>, SsmError> {
    if request.filters.len() > 5 {
        return Err(SsmError::validation(
            "1 validation error detected: Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 5",
        ));
    }
    request.filters.iter().map(Filter::parse).collect()
}

pub fn list_commands(call: &Call<'_>, request: ListRequest) -> Result<Value, SsmError> {
    let max = max_results(request.max_results, 1..=50, 50)?;
    let start = start_offset(request.next_token.as_deref())?;
    let filters = filters(&request)?;
    let store = &call.state.commands;
    let place = call.place();
    if let Some(id) = &request.command_id {
        let shown = store
            .with(id, |record| {
                record.is_in(place).then(|| render::command(record))
            })
            .flatten()
            .ok_or_else(invalid_command_id)?;
        return Ok(json!({ "Commands": [shown] }));
    }
    let (page, next) = store.with_all(|commands| {
        let matching: Vec<&CommandRecord> = commands
            .filter(|record| record.is_in(place))
            .filter(|record| {
                request
                    .instance_id
                    .as_ref()
                    .is_none_or(|instance| record.invocation(instance).is_some())
            })
            .filter(|record| filters.iter().all(|f| f.matches_command(record)))
            .collect();
        let (page, next) = pagination::page(&matching, start, max);
        let page: Vec<Value> = page.iter().map(|record| render::command(record)).collect();
        (page, next)
    });
    Ok(with_next(json!({ "Commands": page }), next))
}

pub fn list_command_invocations(call: &Call<'_>, request: ListRequest) -> Result<Value, SsmError> {
    let max = max_results(request.max_results, 1..=50, 50)?;
    let start = start_offset(request.next_token.as_deref())?;
    let filters = filters(&request)?;
    let store = &call.state.commands;
    let place = call.place();
    let render_page = |records: &mut dyn Iterator<Item = &CommandRecord>| {
        let matching: Vec<(&CommandRecord, &model::Invocation)> = records
            .filter(|record| record.is_in(place))
            .flat_map(|record| record.invocations.iter().map(move |i| (record, i)))
            .filter(|(_, invocation)| {
                request
                    .instance_id
                    .as_ref()
                    .is_none_or(|wanted| &invocation.instance_id == wanted)
            })
            .filter(|(record, invocation)| {
                filters
                    .iter()
                    .all(|f| f.matches_invocation(record, invocation))
            })
            .collect();
        let (page, next) = pagination::page(&matching, start, max);
        let page: Vec<Value> = page
            .iter()
            .map(|(record, invocation)| render::invocation(record, invocation, request.details))
            .collect();
        (page, next)
    };
    let (page, next) = match &request.command_id {
        Some(id) => store
            .with(id, |record| {
                record
                    .is_in(place)
                    .then(|| render_page(&mut std::iter::once(record)))
            })
            .flatten()
            .ok_or_else(invalid_command_id)?,
        None => store.with_all(render_page),
    };
    Ok(with_next(json!({ "CommandInvocations": page }), next))
}

fn with_next(mut body: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        body["NextToken"] = json!(next);
    }
    body
}

pub fn get_command_invocation(
    call: &Call<'_>,
    request: GetInvocationRequest,
) -> Result<Value, SsmError> {
    let place = call.place();
    let read = |record: &CommandRecord| {
        let invocation = record
            .invocation(&request.instance_id)
            .ok_or_else(|| SsmError::new("InvocationDoesNotExist", ""))?;
        if let Some(plugin) = request.plugin_name.as_deref()
            && plugin != model::step_id(record.plugin)
            && plugin != record.plugin
        {
            return Err(SsmError::new("InvalidPluginName", ""));
        }
        Ok(render::get_invocation(record, invocation))
    };
    call.state
        .commands
        .with(&request.command_id, |record| {
            record.is_in(place).then(|| read(record))
        })
        .flatten()
        .ok_or_else(invalid_command_id)?
}

pub fn cancel_command(call: &Call<'_>, request: CancelRequest) -> Result<Value, SsmError> {
    let store = &call.state.commands;
    let caller = call.caller;
    // CancelCommand has no resource-level permissions on AWS: IAM allows it or not, whoever
    // sent the command.
    call.authorize(&Ask::new("ssm:CancelCommand", "*"))?;
    // Another account's or region's command does not exist here.
    let place = call.place();
    if store.with(&request.command_id, |r| r.is_in(place)) != Some(true) {
        return Err(invalid_command_id());
    }
    store
        .request_cancel(&request.command_id, &request.instance_ids)
        .map_err(|err| match err {
            CancelError::UnknownCommand => invalid_command_id(),
            CancelError::UnknownInstance(id) => SsmError::new(
                "InvalidInstanceId",
                format!(
                    "Instance {} is not a target of this command.",
                    printable(&id)
                ),
            ),
        })?;
    tracing::info!(
        "command {} cancel requested by {}",
        request.command_id,
        caller.name
    );
    Ok(json!({}))
}
