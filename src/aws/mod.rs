//! EC2 and SSM calls through the AWS SDK, turned into the small domain types of
//! [`types`] at the boundary.

pub mod types;

pub use types::{
    Instance, InstanceId, InstanceState, PingStatus, SessionInfo, SessionPreferences, SessionStatus,
};
