//! The HTTPS client for AWS calls when `AWS_CA_BUNDLE` names a private CA (a TLS-inspecting
//! proxy, a private endpoint). The AWS CLI honours that variable; the Rust SDK does not, so
//! without this the same machine would work with `aws` and fail with gangway.

use std::path::Path;

use aws_sdk_ssm::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};

use super::error::AwsError;

/// The variable the AWS CLI and SDKs read for an extra trusted CA bundle (PEM).
pub const CA_BUNDLE_VAR: &str = "AWS_CA_BUNDLE";

/// An HTTPS client trusting the system roots plus the PEM certificates in `bundle`, with the
/// proxy taken from the environment like the SDK's default client.
pub fn client_trusting(bundle: &Path) -> Result<SharedHttpClient, AwsError> {
    let unusable = |why: String| {
        AwsError::Config(format!(
            "{CA_BUNDLE_VAR}={} cannot be used: {why}",
            bundle.display()
        ))
    };
    let pem = std::fs::read(bundle).map_err(|e| unusable(e.to_string()))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(unusable("no PEM certificate in it".into()));
    }
    let trust = TrustStore::empty()
        .with_native_roots(true)
        .with_pem_certificate(pem);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| unusable(e.to_string()))?;
    Ok(
        Builder::new().build_with_connector_fn(move |settings, components| {
            let mut connector = ConnectorBuilder::default()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::AwsLc,
                ))
                .tls_context(context.clone());
            connector.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                connector.set_sleep_impl(components.sleep_impl());
            }
            connector.set_proxy_config(Some(ProxyConfig::from_env()));
            connector.build()
        }),
    )
}
