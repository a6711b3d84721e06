//! TLS: a throw-away PKI for tests (a local CA and a server certificate it
//! signs, rcgen with ring) and the rustls server configuration.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsIdentity;

/// A local CA and a server certificate signed by it, PEM.
#[derive(Clone)]
pub struct TestPki {
    /// The CA certificate: the trust anchor clients need.
    pub ca_pem: String,
    /// The server certificate.
    pub cert_pem: String,
    /// The server certificate's private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

impl TestPki {
    /// The server identity to put in [`crate::ServerConfig::tls`].
    pub fn identity(&self) -> TlsIdentity {
        TlsIdentity {
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
        }
    }

    /// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir` (created if
    /// missing).
    pub fn write_to(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in [
            ("ca.pem", &self.ca_pem),
            ("cert.pem", &self.cert_pem),
            ("key.pem", &self.key_pem),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

/// Makes a CA and a server certificate for `hosts` (DNS names or IP
/// addresses, e.g. `["localhost", "127.0.0.1"]`).
pub fn try_test_pki(hosts: &[&str]) -> anyhow::Result<TestPki> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "dmsched test DM server CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    let mut leaf = CertificateParams::new(names)?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        hosts.first().copied().unwrap_or("localhost"),
    );
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &issuer)?;
    Ok(TestPki {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// [`try_test_pki`] for tests.
///
/// # Panics
///
/// If key generation fails, which with ring means the system random
/// number generator failed.
pub fn test_pki(hosts: &[&str]) -> TestPki {
    try_test_pki(hosts).expect("key generation fails only if the system RNG does")
}

/// The TLS acceptor for an identity: TLS 1.2 and 1.3 (ring), ALPN
/// `http/1.1`, no client certificates.
pub(crate) fn tls_acceptor(identity: &TlsIdentity) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("reading the certificate PEM")?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in the certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
        .context("reading the private key PEM")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("certificate and key do not fit together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
