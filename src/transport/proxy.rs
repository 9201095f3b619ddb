//! HTTPS proxy support for the websocket (issue 5: "HTTPS proxy honoured for the websocket
//! too"): an HTTP CONNECT tunnel, then TLS and the upgrade inside it, like Go's
//! `ProxyFromEnvironment` that the reference client uses (§1.3), loopback excluded.

use std::net::IpAddr;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::TransportError;

/// A proxy from the environment. Credentials (if any) are kept for the
/// `Proxy-Authorization` header and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    pub host: String,
    pub port: u16,
    basic_auth: Option<String>,
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyConfig({}:{})", self.host, self.port)
    }
}

impl ProxyConfig {
    /// Parses `http://[user:pass@]host[:port]` (scheme optional, port defaults to 80).
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"))
            .unwrap_or(text);
        let authority = rest.split('/').next()?;
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport, 80)?;
        let basic_auth =
            userinfo.map(|user| base64::engine::general_purpose::STANDARD.encode(user.as_bytes()));
        Some(Self {
            host,
            port,
            basic_auth,
        })
    }
}

/// The proxy for `scheme://host`, from HTTPS_PROXY/https_proxy (wss) or HTTP_PROXY/http_proxy
/// (ws), unless the host is loopback or listed in NO_PROXY/no_proxy.
pub fn proxy_for(
    env: &dyn Fn(&str) -> Option<String>,
    secure: bool,
    host: &str,
) -> Option<ProxyConfig> {
    if is_loopback(host) || no_proxy_matches(env, host) {
        return None;
    }
    let names: [&str; 2] = if secure {
        ["HTTPS_PROXY", "https_proxy"]
    } else {
        ["HTTP_PROXY", "http_proxy"]
    };
    names
        .iter()
        .filter_map(|name| env(name))
        .find(|value| !value.is_empty())
        .and_then(|value| ProxyConfig::parse(&value))
}

pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn no_proxy_matches(env: &dyn Fn(&str) -> Option<String>, host: &str) -> bool {
    let list = env("NO_PROXY")
        .or_else(|| env("no_proxy"))
        .unwrap_or_default();
    list.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            let entry = entry.trim_start_matches('.');
            entry == "*" || host == entry || host.ends_with(&format!(".{entry}"))
        })
}

pub fn split_host_port(text: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None => default_port,
        };
        return Some((host.to_owned(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => Some((host.to_owned(), port.parse().ok()?)),
        Some(_) => None,
        None if !text.is_empty() => Some((text.to_owned(), default_port)),
        None => None,
    }
}

/// Opens a CONNECT tunnel to `host:port` through `proxy`.
pub async fn connect_tunnel(
    proxy: &ProxyConfig,
    host: &str,
    port: u16,
) -> Result<TcpStream, TransportError> {
    let proxy_endpoint = format!("{}:{}", proxy.host, proxy.port);
    let mut stream = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|e| {
            TransportError::Proxy(format!("cannot reach {proxy_endpoint}: {}", e.kind()))
        })?;
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = &proxy.basic_auth {
        request.push_str(&format!("Proxy-Authorization: Basic {auth}\r\n"));
    }
    request.push_str("\r\n");
    let io = |e: std::io::Error| TransportError::Proxy(format!("{proxy_endpoint}: {}", e.kind()));
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let head = read_response_head(&mut stream).await.map_err(io)?;
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if status.starts_with('2') {
        Ok(stream)
    } else {
        Err(TransportError::Proxy(format!(
            "{proxy_endpoint} answered {}",
            status_line.chars().take(80).collect::<String>()
        )))
    }
}

/// Reads byte by byte up to the blank line so nothing of the tunnelled stream is consumed.
async fn read_response_head(stream: &mut TcpStream) -> std::io::Result<String> {
    const MAX_HEAD_BYTES: usize = 16 * 1024;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_HEAD_BYTES {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        head.push(stream.read_u8().await?);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn proxies_parse_with_and_without_credentials() {
        let plain = ProxyConfig::parse("http://proxy.corp:3128").expect("parses");
        assert_eq!((plain.host.as_str(), plain.port), ("proxy.corp", 3128));
        let auth = ProxyConfig::parse("http://u:p@proxy.corp:8080/").expect("parses");
        assert_eq!(auth.basic_auth.as_deref(), Some("dTpw"));
        assert!(!format!("{auth:?}").contains("dTpw"));
        let bare = ProxyConfig::parse("proxy.corp").expect("parses");
        assert_eq!(bare.port, 80);
    }

    #[test]
    fn loopback_and_no_proxy_skip_the_proxy() {
        let env = env_of(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", ".internal,db")]);
        assert!(proxy_for(&env, true, "127.0.0.1").is_none());
        assert!(proxy_for(&env, true, "localhost").is_none());
        assert!(proxy_for(&env, true, "[::1]").is_none());
        assert!(proxy_for(&env, true, "a.internal").is_none());
        assert!(proxy_for(&env, true, "db").is_none());
        assert!(proxy_for(&env, true, "ssmmessages.us-east-1.amazonaws.com").is_some());
        assert!(proxy_for(&env, false, "ssmmessages.us-east-1.amazonaws.com").is_none());
    }

    #[test]
    fn host_port_splitting() {
        assert_eq!(split_host_port("h:443", 1), Some(("h".into(), 443)));
        assert_eq!(split_host_port("[::1]:8", 1), Some(("::1".into(), 8)));
        assert_eq!(split_host_port("h", 9), Some(("h".into(), 9)));
        assert_eq!(split_host_port(":4", 9), None);
        assert_eq!(split_host_port("h:x", 9), None);
    }
}
