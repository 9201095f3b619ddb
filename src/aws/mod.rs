//! EC2 and SSM calls through the AWS SDK, turned into the small domain types of
//! [`types`] at the boundary, plus the pure helpers built on them: target resolution,
//! the connectivity diagnosis and escaping of AWS text for the terminal.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod client;
pub mod commands;
mod credential_source;
pub mod diagnosis;
pub mod documents;
mod endpoint;
pub mod error;
pub mod http;
pub mod inventory;
pub mod kms;
pub mod options;
pub mod resolve;
pub mod retry;
pub mod run_targets;
pub mod sessions;
pub mod types;

pub use crate::secret::SecretString;
pub use accounts::{AccountClients, AccountSpec, account_clients};
pub use client::AwsClient;
pub use diagnosis::{AccessScope, Cause, Diagnosis, diagnose};
pub use error::AwsError;
pub use kms::SessionDataKey;
pub use options::AwsOptions;
pub use resolve::{ResolveError, resolve_target};
pub use sessions::{HistoryFilter, StartSessionRequest, StartedSession};
pub use types::{
    Instance, InstanceId, InstanceState, PingStatus, SessionEvent, SessionEventKind, SessionInfo,
    SessionPreferences, SessionStatus,
};
