//! Multiplexed mode: not yet.

use super::destination::Target;
use super::{PortEnd, WorkerIo};

pub(super) async fn run(_target: Target, _keepalive: bool, _io: WorkerIo) -> PortEnd {
    PortEnd::Failed("The gangway emulator does not run multiplexed port sessions yet.".to_owned())
}
