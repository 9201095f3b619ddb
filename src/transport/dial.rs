//! Dialling the StreamUrl (protocol.md §1.3) and sending OpenDataChannel (§1.4).
//!
//! The URL is dialled exactly as given (`ws://` or `wss://`), TLS through rustls with the
//! system roots plus `AWS_CA_BUNDLE`, through an HTTPS proxy from the environment unless the
//! host is loopback. No step ever quotes the URL in an error.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use futures_util::future::BoxFuture;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use super::open_frame::{open_data_channel_json, process_client_id};
use super::proxy::{ProxyConfig, connect_tunnel, proxy_for, split_host_port};
use super::socket::BoxedWs;
use super::{SecretString, TransportError};

pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The driver's only way to get a socket: [`Dialer`] in the product, an in-memory duplex
/// websocket in the driver's tests, so that a paused clock controls every timer of a
/// resume (a TCP dial would not run on it).
pub(crate) trait Connect: Send + Sync {
    /// Dials `url`, upgrades, and sends OpenDataChannel with `token` (§1.3, §1.4).
    fn connect(
        &self,
        url: &SecretString,
        token: &SecretString,
    ) -> BoxFuture<'static, Result<BoxedWs, TransportError>>;
}

impl Connect for Dialer {
    fn connect(
        &self,
        url: &SecretString,
        token: &SecretString,
    ) -> BoxFuture<'static, Result<BoxedWs, TransportError>> {
        let (dialer, url, token) = (self.clone(), url.clone(), token.clone());
        Box::pin(async move {
            let ws = dialer.dial(&url, &token).await?;
            Ok(Box::new(ws) as BoxedWs)
        })
    }
}

/// The reference dialer's handshake timeout (§1.3 / §7.3).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(45);

/// The environment variables the dial honours, read once.
const ENV_NAMES: [&str; 7] = [
    "AWS_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// How to reach stream URLs: TLS roots and proxy settings, captured once per process.
#[derive(Clone)]
pub struct Dialer {
    env: HashMap<String, String>,
    tls: Option<Arc<rustls::ClientConfig>>,
    pub handshake_timeout: Duration,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer")
            .field("custom_ca", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

struct Target {
    secure: bool,
    host: String,
    port: u16,
}

impl Dialer {
    /// Reads `AWS_CA_BUNDLE` and the proxy variables from the process environment.
    pub fn from_env() -> Result<Self, TransportError> {
        let env = ENV_NAMES
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|v| ((*name).to_owned(), v)))
            .collect();
        Self::with_env(env)
    }

    /// Like [`Dialer::from_env`] with an explicit environment (tests).
    pub fn with_env(env: HashMap<String, String>) -> Result<Self, TransportError> {
        let tls = match env.get("AWS_CA_BUNDLE").filter(|p| !p.is_empty()) {
            Some(path) => Some(Arc::new(tls_config_with_bundle(PathBuf::from(path))?)),
            None => None,
        };
        Ok(Self {
            env,
            tls,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        })
    }

    /// Connects, upgrades, and sends the OpenDataChannel frame with a fresh RequestId.
    pub async fn dial(
        &self,
        url: &SecretString,
        token: &SecretString,
    ) -> Result<WsStream, TransportError> {
        let target = parse_target(url.expose())?;
        let endpoint = format!("{}:{}", target.host, target.port);
        let attempt = async {
            let tcp = self.connect_tcp(&target, &endpoint).await?;
            // Keystrokes are tiny frames: never let Nagle hold them back.
            let _ = tcp.set_nodelay(true);
            let connector = self.tls.clone().map(Connector::Rustls);
            let (mut ws, _response) =
                tokio_tungstenite::client_async_tls_with_config(url.expose(), tcp, None, connector)
                    .await
                    .map_err(|e| TransportError::from_ws(&e, &endpoint))?;
            let open = open_data_channel_json(token, Uuid::new_v4(), process_client_id());
            ws.send(Message::text(open))
                .await
                .map_err(|e| TransportError::from_ws(&e, &endpoint))?;
            Ok(ws)
        };
        tokio::time::timeout(self.handshake_timeout, attempt)
            .await
            .map_err(|_| TransportError::Timeout)?
    }

    async fn connect_tcp(
        &self,
        target: &Target,
        endpoint: &str,
    ) -> Result<TcpStream, TransportError> {
        let env = |name: &str| self.env.get(name).cloned();
        match proxy_for(&env, target.secure, &target.host) {
            Some(proxy) => self.tunnel(&proxy, target).await,
            None => TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|e| TransportError::Unreachable {
                    endpoint: endpoint.to_owned(),
                    reason: e.kind().to_string(),
                }),
        }
    }

    async fn tunnel(
        &self,
        proxy: &ProxyConfig,
        target: &Target,
    ) -> Result<TcpStream, TransportError> {
        tracing::debug!(proxy = ?proxy, "dialling the data channel through a proxy");
        connect_tunnel(proxy, &target.host, target.port).await
    }
}

fn parse_target(url: &str) -> Result<Target, TransportError> {
    let uri: Uri = url.parse().map_err(|_| TransportError::InvalidUrl)?;
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        _ => return Err(TransportError::InvalidUrl),
    };
    let authority = uri.authority().ok_or(TransportError::InvalidUrl)?;
    let hostport = authority.as_str().rsplit('@').next().unwrap_or_default();
    let (host, port) = split_host_port(hostport, if secure { 443 } else { 80 })
        .ok_or(TransportError::InvalidUrl)?;
    Ok(Target { secure, host, port })
}

/// System roots plus every certificate of the PEM bundle (aws-cli's `AWS_CA_BUNDLE`).
fn tls_config_with_bundle(path: PathBuf) -> Result<rustls::ClientConfig, TransportError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let shown = path.display().to_string();
    let pem = std::fs::read(&path)
        .map_err(|e| TransportError::CaBundle(format!("{shown}: {}", e.kind())))?;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| TransportError::CaBundle(format!("{shown}: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| TransportError::CaBundle(format!("{shown}: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(TransportError::CaBundle(format!(
            "{shown}: no certificates found"
        )));
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_without_leaking_the_url() {
        let t = parse_target("wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/s?role=x")
            .expect("parses");
        assert!(t.secure);
        assert_eq!(
            (t.host.as_str(), t.port),
            ("ssmmessages.us-east-1.amazonaws.com", 443)
        );
        let t = parse_target("ws://127.0.0.1:5555/v1/data-channel/s").expect("parses");
        assert!(!t.secure);
        assert_eq!(t.port, 5555);
        assert_eq!(
            parse_target("https://x/y").err(),
            Some(TransportError::InvalidUrl)
        );
        assert_eq!(
            parse_target("not a url").err(),
            Some(TransportError::InvalidUrl)
        );
    }

    #[test]
    fn a_missing_ca_bundle_is_a_clear_error() {
        let env = HashMap::from([(
            "AWS_CA_BUNDLE".to_owned(),
            "/nonexistent/bundle.pem".to_owned(),
        )]);
        let error = Dialer::with_env(env).expect_err("must fail");
        assert!(error.to_string().contains("/nonexistent/bundle.pem"));
    }
}
