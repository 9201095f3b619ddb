//! STS `AssumeRole`: temporary credentials for a role of the fleet (`[[roles]]`), possibly in
//! another account. Decided as IAM decides it (docs/emulator.md, "Accounts and regions"):
//! the role's trust policy must name the caller (its ARN, or its account's `root`), and the
//! caller's identity policies must allow `sts:AssumeRole` on the role, except when the trust
//! policy names the caller itself within the same account, which suffices alone. An explicit
//! Deny always wins. Any refusal, an unknown role included, is AWS's `AccessDenied`.

use std::time::{Duration, SystemTime};

use hyper::StatusCode;
use rand::Rng;
use rand::distr::Alphanumeric;

use super::{NAMESPACE, StsError};
use crate::emulator::authorize::{self, Ask};
use crate::emulator::ec2::XmlWriter;
use crate::emulator::fleet::policies::rfc3339;
use crate::emulator::fleet::{Principal, User};
use crate::emulator::state::EmulatorState;

/// AWS's default `DurationSeconds`, and a role's default `MaxSessionDuration`.
const DEFAULT_DURATION: u64 = 3600;
/// The least `DurationSeconds` AWS accepts.
const MIN_DURATION: u64 = 900;

pub(super) fn assume_role(
    state: &EmulatorState,
    caller: &User,
    region: &str,
    params: &[(String, String)],
    request_id: &str,
) -> Result<String, StsError> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let role_arn = param("RoleArn").ok_or_else(|| null("roleArn"))?;
    let session_name = param("RoleSessionName").ok_or_else(|| null("roleSessionName"))?;
    if !valid_session_name(session_name) {
        return Err(validation(format!(
            "1 validation error detected: Value '{}' at 'roleSessionName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            session_name.escape_debug()
        )));
    }
    let duration = match param("DurationSeconds") {
        None => DEFAULT_DURATION,
        Some(text) => duration(text)?,
    };
    let (account, name) = parse_role_arn(role_arn).ok_or_else(|| {
        validation(format!(
            "{} is not a valid role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
            role_arn.escape_debug()
        ))
    })?;
    let ask = Ask::new("sts:AssumeRole", role_arn.to_owned());
    let identity = authorize::check(state, caller, region, &ask);
    let denied = |why: Option<&str>| {
        let denial = authorize::denial(caller, &ask, "");
        let message = match why {
            Some(why) => format!("{} {why}", denial.message.trim_end()),
            None => denial.message.trim_end().to_owned(),
        };
        (StatusCode::FORBIDDEN, "AccessDenied", message)
    };
    if let Err(denial) = &identity
        && denial.explicit
    {
        return Err((
            StatusCode::FORBIDDEN,
            "AccessDenied",
            denial.message.clone(),
        ));
    }
    let Some(role) = state.fleet().role(account, name) else {
        return Err(denied(None));
    };
    let caller_arn = caller.arn();
    let caller_role_arn = match &caller.principal {
        Principal::AssumedRole { role } => {
            Some(format!("arn:aws:iam::{}:role/{role}", caller.account))
        }
        Principal::IamUser => None,
    };
    let names_caller = role
        .trusted
        .iter()
        .any(|p| *p == caller_arn || Some(p) == caller_role_arn.as_ref());
    let names_account = role
        .trusted
        .iter()
        .any(|p| *p == format!("arn:aws:iam::{}:root", caller.account));
    let allowed = if role.account == caller.account {
        names_caller || (names_account && identity.is_ok())
    } else {
        (names_caller || names_account) && identity.is_ok()
    };
    if !allowed {
        return Err(denied(None));
    }
    let now = state.clock.now();
    let expires = now + Duration::from_secs(duration);
    let mut session = role.identity.clone();
    session.name = session_name.to_owned();
    session.access_key_id = format!("ASIA{}", random_upper(16));
    session.credentials_expire = Some(expires);
    let secret: String = random_alphanumeric(40);
    let token: String = random_alphanumeric(96);
    let access_key_id = session.access_key_id.clone();
    let arn = session.arn();
    let user_id = super::user_id(&session);
    if !state.sts_sessions.insert(session, now) {
        return Err((
            StatusCode::BAD_REQUEST,
            "Throttling",
            "Rate exceeded: too many live role sessions in the emulator".to_owned(),
        ));
    }
    tracing::info!("sts AssumeRole {} by {} ok", role.arn(), caller.name);
    let mut xml = XmlWriter::with_namespace("AssumeRoleResponse", NAMESPACE);
    xml.open("AssumeRoleResult");
    xml.open("AssumedRoleUser");
    xml.leaf("Arn", &arn);
    xml.leaf("AssumedRoleId", &user_id);
    xml.close("AssumedRoleUser");
    xml.open("Credentials");
    xml.leaf("AccessKeyId", &access_key_id);
    xml.leaf("SecretAccessKey", &secret);
    xml.leaf("SessionToken", &token);
    xml.leaf("Expiration", &whole_seconds(expires));
    xml.close("Credentials");
    xml.close("AssumeRoleResult");
    xml.open("ResponseMetadata");
    xml.leaf("RequestId", request_id);
    xml.close("ResponseMetadata");
    Ok(xml.finish("AssumeRoleResponse"))
}

/// `arn:aws:iam::ACCOUNT:role/NAME` (a path before the name is allowed, as IAM does) →
/// (account, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (account_ok && !name.is_empty()).then_some((account, name))
}

/// AWS's pattern for RoleSessionName: 2 to 64 of `[\w+=,.@-]`.
fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

fn duration(text: &str) -> Result<u64, StsError> {
    let seconds: u64 = text.parse().map_err(|_| {
        validation(format!(
            "Value '{}' for DurationSeconds is not a number",
            text.escape_debug()
        ))
    })?;
    if seconds < MIN_DURATION {
        return Err(validation(format!(
            "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to \
             satisfy constraint: Member must have value greater than or equal to {MIN_DURATION}"
        )));
    }
    if seconds > DEFAULT_DURATION {
        return Err(validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    Ok(seconds)
}

fn null(field: &str) -> StsError {
    validation(format!(
        "1 validation error detected: Value null at '{field}' failed to satisfy constraint: \
         Member must not be null"
    ))
}

fn validation(message: String) -> StsError {
    (StatusCode::BAD_REQUEST, "ValidationError", message)
}

fn random_upper(count: usize) -> String {
    const DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rng();
    (0..count)
        .map(|_| char::from(DIGITS[rng.random_range(0..DIGITS.len())]))
        .collect()
}

fn random_alphanumeric(count: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(count)
        .map(char::from)
        .collect()
}

/// `2026-12-07T16:00:00Z`: STS writes whole seconds.
fn whole_seconds(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_and_session_names_follow_iam() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::210987654321:role/ops"),
            Some(("210987654321", "ops"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::210987654321:role/team/ops"),
            Some(("210987654321", "ops"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::2109:role/ops"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::210987654321:user/ops"), None);
        assert!(valid_session_name("gangway-ui"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name("with space"));
        assert!(duration("899").is_err());
        assert!(duration("3601").is_err());
        assert_eq!(duration("900").ok(), Some(900));
    }
}
