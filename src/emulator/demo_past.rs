//! A little past for `gangway demo`: a handful of sessions that ended in the last day, by
//! the fleet's users, with the end reasons the agent records (a shell that exited, an idle
//! timeout, an administrator's terminate), so the history view, its end reasons and its
//! detail can be tried before any shell is opened (issue 16). Only the demo asks for it:
//! `gangway emulator` starts with an empty history, as a new account does.

use std::time::{Duration, SystemTime};

use super::agent::ending::Ending;
use super::authorize::may_start_session;
use super::fleet::{FleetInstance, InstanceState, PingStatus, Role, User};
use super::sessions::{NewSession, SessionRecord, TerminateRequest};
use super::ssm::documents::RUN_SHELL;
use super::state::EmulatorState;

/// One ended session: who, how long ago it started, how long it ran, the reason its owner
/// gave and how it ended.
struct Past {
    admin: bool,
    started_ago: Duration,
    lasted: Duration,
    reason: Option<&'static str>,
    ending: Ending,
}

const MINUTE: Duration = Duration::from_secs(60);

fn pasts() -> Vec<Past> {
    vec![
        Past {
            admin: false,
            started_ago: 26 * 60 * MINUTE,
            lasted: 12 * MINUTE,
            reason: Some("OPS-7 disk check"),
            ending: Ending::ProcessExited { code: Some(0) },
        },
        Past {
            admin: true,
            started_ago: 5 * 60 * MINUTE,
            lasted: 23 * MINUTE,
            reason: Some("INC-40 restart nginx"),
            ending: Ending::IdleTimeout(20 * MINUTE),
        },
        Past {
            admin: false,
            started_ago: 3 * 60 * MINUTE,
            lasted: 4 * MINUTE,
            reason: None,
            ending: Ending::Terminated(TerminateRequest::by("admin")),
        },
        Past {
            admin: false,
            started_ago: 50 * MINUTE,
            lasted: 2 * MINUTE,
            reason: Some("OPS-9 log rotation"),
            ending: Ending::ProcessExited { code: Some(1) },
        },
    ]
}

/// Records the demo's past sessions in History, ending before `now`. Each goes to a running,
/// managed instance its owner may reach (the engineer's tag scope holds); a fleet without
/// such an instance or user simply gets fewer. Returns what was recorded.
pub fn seed_history(state: &EmulatorState, now: SystemTime) -> Vec<SessionRecord> {
    let fleet = state.fleet();
    // An engineer whose policies let them reach something now (an expired one cannot).
    let engineer = fleet.users.iter().find(|u| {
        u.role == Role::Engineer
            && !u.credentials_expired(now)
            && reachable(state, &fleet.instances, u).next().is_some()
    });
    let admin = fleet.users.iter().find(|u| u.role == Role::Admin);
    let mut recorded = Vec::new();
    for (at, past) in pasts().into_iter().enumerate() {
        let Some(user) = (if past.admin { admin } else { engineer }) else {
            continue;
        };
        let Some(target) = reachable(state, &fleet.instances, user).nth(at) else {
            continue;
        };
        let started_at = now - past.started_ago;
        recorded.push(
            state.sessions.record_past(
                NewSession {
                    owner: user.name.clone(),
                    owner_arn: user.arn(),
                    account: user.account.clone(),
                    region: target
                        .region
                        .clone()
                        .unwrap_or_else(|| "us-east-1".to_owned()),
                    target: target.id.clone(),
                    document_name: RUN_SHELL.to_owned(),
                    parameters: Default::default(),
                    reason: past.reason.map(str::to_owned),
                },
                started_at,
                started_at + past.lasted,
                past.ending.status(),
                past.ending.history_reason(),
            ),
        );
    }
    recorded
}

/// Running instances with an online agent that `user` may start sessions on (IAM decides).
fn reachable<'a>(
    state: &'a EmulatorState,
    instances: &'a [FleetInstance],
    user: &'a User,
) -> impl Iterator<Item = &'a FleetInstance> {
    instances.iter().filter(move |i| {
        i.state == InstanceState::Running
            && i.ping_status == Some(PingStatus::Online)
            && may_start_session(state, user, DEMO_PAST_REGION, i)
    })
}

/// The region the seeded sessions' ARNs are checked in (the generated policies allow any).
const DEMO_PAST_REGION: &str = "us-east-1";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::emulator::EmulatorConfig;
    use crate::emulator::fleet::Fleet;
    use crate::emulator::sessions::SessionStatus;

    #[test]
    fn the_demo_starts_with_ended_sessions_of_both_users() {
        let state = EmulatorState::new(
            EmulatorConfig::new(Fleet::demo()),
            "http://127.0.0.1:1".into(),
        );
        let now = SystemTime::now();
        let recorded = seed_history(&state, now);
        assert_eq!(recorded.len(), 4);
        let history = state.sessions.history();
        assert_eq!(history.len(), 4);
        assert!(state.sessions.active().is_empty());
        assert!(history.iter().any(|s| s.owner == "admin"));
        assert!(history.iter().any(|s| s.owner == "dev"));
        for session in &history {
            assert!(session.ended_at.unwrap() < now);
            assert!(session.started_at < session.ended_at.unwrap());
            assert_eq!(session.status, SessionStatus::Terminated);
            assert!(session.end_reason.is_some());
        }
        let reasons: Vec<_> = history
            .iter()
            .filter_map(|s| s.end_reason.as_deref())
            .collect();
        assert!(reasons.iter().any(|r| r.contains("idle")), "{reasons:?}");
        assert!(
            reasons.iter().any(|r| r.contains("by admin")),
            "{reasons:?}"
        );
        // The engineer's sessions stay inside its tag scope.
        let dev = state
            .fleet()
            .users
            .iter()
            .find(|u| u.name == "dev")
            .unwrap();
        for session in history.iter().filter(|s| s.owner == "dev") {
            let target = state
                .fleet()
                .instances
                .iter()
                .find(|i| i.id == session.target)
                .unwrap();
            assert!(
                may_start_session(&state, dev, DEMO_PAST_REGION, target),
                "{}",
                session.target
            );
        }
    }
}
