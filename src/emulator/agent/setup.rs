//! What a session task is built from: the plan for its document, the process to launch, the
//! proto session in the agent role and the fault injector.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::documents::{self, SessionPlan};
use super::port::PortMap;
use super::process::{LaunchSpec, Program};
use crate::emulator::faults::{FaultInjector, FaultSpec};
use crate::emulator::fleet::Place;
use crate::emulator::sessions::SessionRecord;
use crate::emulator::state::EmulatorState;
use crate::proto::{AGENT_RESEND_TICK, ResendPolicy, SeededIds, Session, SessionConfig, version};

pub(super) struct SessionSetup {
    /// Err: why the session cannot run (sent as the channel_closed Output).
    pub(super) plan: Result<SessionPlan, String>,
    pub(super) launch: LaunchSpec,
    /// Advertised in the handshake: the instance's agent version from the fleet (§4.3).
    pub(super) agent_version: String,
    /// The preferences' kmsKeyId when it is set (§4.6): the session is encrypted.
    pub(super) kms_key_id: Option<String>,
    /// The SessionType the handshake names (§4.3).
    pub(super) session_type: &'static str,
    /// The fleet says the instance runs Windows: its input gets the Windows agent's LF → CR
    /// (§0 item 14). The emulator still runs `/bin/sh` for it.
    pub(super) windows: bool,
}

impl SessionSetup {
    pub(super) fn new(state: &EmulatorState, record: &SessionRecord) -> Self {
        let instance = state
            .fleet()
            .instances
            .iter()
            .find(|i| i.id == record.target);
        let shell = instance.map_or("/bin/sh", |i| i.shell.as_str());
        let plan = documents::plan_for(
            &record.document_name,
            &record.parameters,
            shell,
            state
                .session_document(
                    &record.document_name,
                    Place {
                        account: &record.account,
                        region: &record.region,
                    },
                )
                .as_ref(),
        );
        let mut program = plan.as_ref().map_or_else(
            |_| Program::Shell { path: shell.into() },
            |plan| plan.program.clone(),
        );
        if let (Program::Port(spec), Some(instance)) = (&mut program, instance) {
            // The instance's network, as the fleet file maps it (port/destination.rs).
            spec.map = PortMap {
                ports: instance.ports.clone(),
                hosts: instance.hosts.clone(),
            };
        }
        let is_port = matches!(program, Program::Port(_));
        let launch = LaunchSpec {
            program,
            home: super::homes_root().join(super::file_name_safe(&record.target)),
            host_name: super::host_name(instance.and_then(|i| i.name()), &record.target),
            pace: state.config.agent_pace,
            hops: super::echo_hops::for_session(&record.id),
        };
        let agent_version = instance
            .map(|i| i.agent_version.clone())
            .filter(|version| is_four_part_version(version))
            .unwrap_or_else(|| super::AGENT_VERSION.to_string());
        // Port sessions are never encrypted (§4.1; agent: sessionplugin.go, func
        // isEncryptionEnabled).
        let kms_key_id = Some(state.fleet().preferences.kms_key_id.clone())
            .filter(|key| !key.is_empty() && plan.is_ok() && !is_port);
        let session_type = session_type_of(plan.as_ref().ok());
        let windows = instance.is_some_and(|i| i.platform_type.eq_ignore_ascii_case("Windows"));
        Self {
            plan,
            launch,
            agent_version,
            kms_key_id,
            session_type,
            windows,
        }
    }

    /// A PT 1 payload as the agent hands it to the process: unchanged on Linux and macOS;
    /// on Windows every LF becomes CR unless the payload holds a CR LF (§6.1; agent:
    /// shell/shell_windows.go, func InputStreamMessageHandler).
    pub(super) fn agent_input(&self, bytes: Vec<u8>) -> Vec<u8> {
        if self.windows {
            windows_agent_input(bytes)
        } else {
            bytes
        }
    }

    /// A handshake runs for NonInteractiveCommands, or whenever KMS is on (§4.1, §0 item 5).
    pub(super) fn handshake_session_type(&self) -> Option<&'static str> {
        let plan = self.plan.as_ref().ok()?;
        plan.handshake_session_type
            .or_else(|| self.kms_key_id.is_some().then_some(self.session_type))
    }
}

/// The document's sessionType (§6): what the SessionType action carries. Commands on a pty
/// come from InteractiveCommands documents, a shell from Standard_Stream.
fn session_type_of(plan: Option<&SessionPlan>) -> &'static str {
    match plan {
        Some(plan) => match (plan.handshake_session_type, &plan.program) {
            (Some(session_type), _) => session_type,
            (None, Program::PtyCommand { .. }) => "InteractiveCommands",
            (None, _) => "Standard_Stream",
        },
        None => "Standard_Stream",
    }
}

impl SessionSetup {
    /// HandshakeComplete's CustomerMessage (§4.5), decided on the ClientVersion of the
    /// HandshakeResponse and never on OpenDataChannel's (§0 item 7, quirk 29; agent:
    /// datachannel.go, func buildHandshakeCompletePayload): old clients are told to update
    /// when a NonInteractiveCommands session separates its output streams (§6.2.1).
    pub(super) fn customer_message(&self, client_version: &str) -> String {
        let separate_output = self.plan.as_ref().is_ok_and(|plan| {
            plan.handshake_session_type == Some("NonInteractiveCommands") && plan.sends_exit_code
        });
        if separate_output && version::wants_update_notice(client_version) {
            version::UPDATE_NOTICE.to_owned()
        } else {
            String::new()
        }
    }
}

/// The proto session in the agent role, with ids from OS randomness, resending like the real
/// agent: the oldest unacked frame only, once per 100 ms tick, nothing replayed on a resume
/// (protocol.md §0 items 17–18; agent: datachannel.go, func ResendStreamDataMessageScheduler).
pub(super) fn agent_session(session_id: &str, buffer_limit: usize, now: Instant) -> Session {
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let config = SessionConfig {
        outgoing_capacity: buffer_limit,
        resend: ResendPolicy::HeadOnly {
            tick: AGENT_RESEND_TICK,
        },
        ..SessionConfig::agent(session_id)
    };
    Session::new(
        config,
        Box::new(SeededIds::new(rand::random())),
        now,
        unix_ms,
    )
}

/// `None` when no fault is configured; otherwise seeded by the spec and the session id.
pub(super) fn fault_injector(spec: &FaultSpec, session_id: &str) -> Option<FaultInjector> {
    (!spec.is_off()).then(|| FaultInjector::new(spec.clone(), fnv1a(session_id.as_bytes())))
}

/// How much of `max` is left of a session that started at `started_at`.
pub(super) fn remaining(started_at: SystemTime, max: Duration) -> Duration {
    let elapsed = SystemTime::now()
        .duration_since(started_at)
        .unwrap_or_default();
    max.saturating_sub(elapsed)
}

/// The Windows agent's rewrite of one PT 1 payload: LF → CR, unless it holds a CR LF.
fn windows_agent_input(mut bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.windows(2).any(|pair| pair == b"\r\n") {
        for byte in &mut bytes {
            if *byte == b'\n' {
                *byte = b'\r';
            }
        }
    }
    bytes
}

/// The reference client compares dotted 4-part numbers only (§4.3, §6.4).
fn is_four_part_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// FNV-1a: a stable per-session salt for the fault RNG.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_four_part_versions_are_advertised() {
        assert!(is_four_part_version("3.3.1142.0"));
        assert!(!is_four_part_version("3.3"));
        assert!(!is_four_part_version("3.3.x.0"));
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }

    #[test]
    fn the_windows_agent_turns_lf_into_cr_only_without_crlf() {
        assert_eq!(windows_agent_input(b"dir\n\n".to_vec()), b"dir\r\r");
        assert_eq!(windows_agent_input(b"\n".to_vec()), b"\r");
        assert_eq!(windows_agent_input(b"a\r\nb\n".to_vec()), b"a\r\nb\n");
        assert_eq!(windows_agent_input(b"a\rb".to_vec()), b"a\rb");
    }
}
