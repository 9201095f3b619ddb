//! Transport errors. Every message is one line for the user and never contains the stream
//! URL or the token: tungstenite errors can embed the request URL, so they are mapped to
//! our own variants here instead of being wrapped.

use tokio_tungstenite::tungstenite;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the session's stream URL is not a valid ws:// or wss:// URL")]
    InvalidUrl,
    #[error("cannot reach the data-channel endpoint {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("the data-channel endpoint refused the websocket (HTTP {status})")]
    Refused { status: u16 },
    #[error("TLS with the data-channel endpoint failed: {0} (set AWS_CA_BUNDLE for a private CA)")]
    Tls(String),
    #[error("the HTTPS proxy did not open a tunnel: {0}")]
    Proxy(String),
    #[error("the custom CA bundle could not be used: {0}")]
    CaBundle(String),
    #[error("opening the data channel timed out")]
    Timeout,
    #[error("the websocket failed: {0}")]
    Socket(String),
    #[error("the session timed out while reconnecting (ResumeSession returned no token)")]
    SessionTimedOut,
    #[error("the connection was lost and could not be resumed: {0}")]
    ResumeFailed(String),
    #[error("the data channel is sending corrupted frames ({count} in a row were dropped)")]
    CorruptedFrames { count: u64 },
    /// KMS would not give the session's data key (§4.6); the line names key and permission.
    #[error("{}", .0.line)]
    KmsRefused(super::KeyRefused),
    /// An encrypted payload did not decrypt, or the data key was unusable (§4.6).
    #[error("the session's KMS encryption failed: {0}")]
    Encryption(String),
}

impl TransportError {
    /// Maps a tungstenite error without ever quoting its text when it could hold the URL.
    pub(crate) fn from_ws(error: &tungstenite::Error, endpoint: &str) -> Self {
        use tungstenite::Error as E;
        match error {
            E::Http(response) => Self::Refused {
                status: response.status().as_u16(),
            },
            // rustls reports a certificate it does not trust as an I/O error (InvalidData)
            // wrapping its own; that text names the problem and never the URL.
            E::Io(io) => match io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(tls) => Self::Tls(tls.to_string()),
                None => Self::Unreachable {
                    endpoint: endpoint.to_owned(),
                    reason: io.kind().to_string(),
                },
            },
            E::Tls(tls) => Self::Tls(tls.to_string()),
            E::Url(_) => Self::InvalidUrl,
            E::ConnectionClosed | E::AlreadyClosed => Self::Socket("connection closed".into()),
            E::Protocol(p) => Self::Socket(format!("protocol error: {p}")),
            E::Capacity(c) => Self::Socket(format!("message too large: {c}")),
            E::HttpFormat(_) => Self::Socket("malformed HTTP response to the upgrade".into()),
            E::Utf8(_) => Self::Socket("invalid UTF-8 in a text frame".into()),
            E::AttackAttempt => Self::Socket("the server's reply looked like an attack".into()),
            E::WriteBufferFull(_) => Self::Socket("write buffer full".into()),
        }
    }

    /// Errors worth retrying while reconnecting (the network may come back); a refusal of
    /// the websocket or a bad URL will not change by waiting.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. } | Self::Timeout | Self::Socket(_) | Self::Proxy(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrusted_certificate_is_a_tls_error_with_the_hint() {
        let rustls_error =
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_error);
        let error = TransportError::from_ws(&tungstenite::Error::Io(io), "127.0.0.1:443");
        assert!(matches!(error, TransportError::Tls(_)), "{error:?}");
        let line = error.to_string();
        assert!(
            line.contains("UnknownIssuer") && line.contains("AWS_CA_BUNDLE"),
            "{line}"
        );
    }
}
