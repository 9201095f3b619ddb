//! Who is calling: the access key id in the SigV4 `Authorization` header, looked up in the
//! fleet's users. The signature itself is NOT verified (docs/emulator.md says so): the
//! emulator models permissions, not cryptographic authentication.

use std::time::SystemTime;

use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;

use std::borrow::Cow;

use super::fleet::{Fleet, User};
use super::state::EmulatorState;

/// What AWS says, word for word, to a call signed with expired temporary credentials.
pub const EXPIRED_TOKEN_MESSAGE: &str = "The security token included in the request is expired";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerError {
    /// No SigV4 `Authorization` header (or one without a `Credential=`).
    MissingCredentials,
    /// An access key id no fleet user has.
    UnknownAccessKey,
    /// The user's temporary credentials have expired (`credentials_expire`).
    ExpiredToken,
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/ssm/aws4_request, SignedHeaders=…,
/// Signature=…` → `AKID`.
pub fn access_key_id(headers: &HeaderMap) -> Option<&str> {
    let authorization = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let fields = authorization.strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = fields
        .split(',')
        .map(str::trim)
        .find_map(|field| field.strip_prefix("Credential="))?;
    credential.split('/').next().filter(|key| !key.is_empty())
}

/// The service named in the SigV4 credential scope (`…/us-east-1/sts/aws4_request` → `sts`):
/// with one endpoint for every service, it is how a Query request for STS is told apart from
/// one for EC2.
pub fn signing_service(headers: &HeaderMap) -> Option<&str> {
    let authorization = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let credential = authorization
        .strip_prefix("AWS4-HMAC-SHA256")?
        .split(',')
        .map(str::trim)
        .find_map(|field| field.strip_prefix("Credential="))?;
    credential.split('/').nth(3)
}

/// The region in the SigV4 credential scope (`…/us-east-1/ssm/aws4_request`): where the
/// caller thinks it is, so it is what ARNs and `aws:RequestedRegion` say. `us-east-1` when
/// absent or not a plain region name.
pub fn signing_region(headers: &HeaderMap) -> String {
    let region = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|authorization| authorization.strip_prefix("AWS4-HMAC-SHA256"))
        .and_then(|fields| {
            fields
                .split(',')
                .map(str::trim)
                .find_map(|field| field.strip_prefix("Credential="))
        })
        .and_then(|credential| credential.split('/').nth(2));
    match region {
        Some(region)
            if (1..=32).contains(&region.len())
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            region.to_owned()
        }
        _ => "us-east-1".to_owned(),
    }
}

/// The calling user, with `now` from the emulator's clock for the credentials' expiry.
pub fn caller<'f>(
    fleet: &'f Fleet,
    headers: &HeaderMap,
    now: SystemTime,
) -> Result<&'f User, CallerError> {
    let key = access_key_id(headers).ok_or(CallerError::MissingCredentials)?;
    let user = fleet
        .user_by_access_key(key)
        .ok_or(CallerError::UnknownAccessKey)?;
    if user.credentials_expired(now) {
        return Err(CallerError::ExpiredToken);
    }
    Ok(user)
}

/// The caller of a request to the running emulator: a fleet user by its long-term key, or a
/// role session STS `AssumeRole` issued (`sts::assumed`), each in its own account.
pub fn authenticate<'s>(
    state: &'s EmulatorState,
    headers: &HeaderMap,
) -> Result<Cow<'s, User>, CallerError> {
    let now = state.clock.now();
    match caller(state.fleet(), headers, now) {
        Ok(user) => Ok(Cow::Borrowed(user)),
        Err(CallerError::UnknownAccessKey) => {
            let key = access_key_id(headers).ok_or(CallerError::MissingCredentials)?;
            let session = state
                .sts_sessions
                .get(key)
                .ok_or(CallerError::UnknownAccessKey)?;
            if session.credentials_expired(now) {
                return Err(CallerError::ExpiredToken);
            }
            Ok(Cow::Owned(session))
        }
        Err(other) => Err(other),
    }
}

/// Whoever a request's key belongs to, expired or not: the trail records a refused call by
/// expired credentials too, in the caller's account.
pub fn key_owner<'s>(state: &'s EmulatorState, headers: &HeaderMap) -> Option<Cow<'s, User>> {
    let key = access_key_id(headers)?;
    match state.fleet().user_by_access_key(key) {
        Some(user) => Some(Cow::Borrowed(user)),
        None => state.sts_sessions.get(key).map(Cow::Owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn the_signing_service_comes_from_the_credential_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIAGANGWAYDEV/20250101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=abc",
            ),
        );
        assert_eq!(signing_service(&headers), Some("sts"));
        assert_eq!(signing_service(&HeaderMap::new()), None);
        assert_eq!(signing_region(&headers), "us-east-1");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIAGANGWAYDEV/20250101/eu-west-3/ssm/aws4_request, Signature=abc",
            ),
        );
        assert_eq!(signing_region(&headers), "eu-west-3");
    }

    #[test]
    fn the_access_key_id_comes_from_the_credential_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIAGANGWAYDEV/20250101/us-east-1/ssm/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
            ),
        );
        assert_eq!(access_key_id(&headers), Some("AKIAGANGWAYDEV"));
        let fleet = Fleet::demo();
        assert_eq!(
            caller(&fleet, &headers, SystemTime::now()).map(|user| user.name.as_str()),
            Ok("dev")
        );
    }

    #[test]
    fn missing_or_foreign_authorization_is_refused() {
        let fleet = Fleet::demo();
        let mut headers = HeaderMap::new();
        assert_eq!(
            caller(&fleet, &headers, SystemTime::now()),
            Err(CallerError::MissingCredentials)
        );
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic Zm9vOmJhcg=="),
        );
        assert_eq!(
            caller(&fleet, &headers, SystemTime::now()),
            Err(CallerError::MissingCredentials)
        );
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKIANOBODY/x, Signature=y"),
        );
        assert_eq!(
            caller(&fleet, &headers, SystemTime::now()),
            Err(CallerError::UnknownAccessKey)
        );
    }
}
