//! The certificates TLS trusts: the platform's, plus those `SSL_CERT_FILE` and `SSL_CERT_DIR`
//! name, and the CA files the package managers' configuration names for the sources in use
//! (see [`crate::sources::ca_files`]).

use crate::model::env::{self, Env};
use std::path::PathBuf;

use rustls::pki_types::CertificateDer;
use rustls_native_certs::load_certs_from_paths;

/// Where extra CA certificates are: PEM files (`SSL_CERT_FILE`, then the files a client is
/// given) and directories every file of which is read (`SSL_CERT_DIR`, `:`-separated). Read
/// from the environment when the client is set up; the certificates themselves only when it is
/// built.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct CertLocations {
    pub files: Vec<PathBuf>,
    pub dirs: Vec<PathBuf>,
}

impl CertLocations {
    pub fn from_env() -> CertLocations {
        let env = Env::process();
        CertLocations {
            files: env.os(env::SSL_CERT_FILE).map(PathBuf::from).into_iter().collect(),
            dirs: env
                .os(env::SSL_CERT_DIR)
                .map(|dirs| std::env::split_paths(&dirs).filter(|p| !p.as_os_str().is_empty()).collect())
                .unwrap_or_default(),
        }
    }

    /// The certificates to trust besides those the platform verifier finds by itself: the
    /// ones these locations hold, and, on Linux and the BSDs (where the platform verifier
    /// reads the `SSL_CERT_*` locations *instead of* the system's when they are set), the
    /// system's. Certificates rustls cannot use are left out with a warning: one would keep
    /// the client from being built.
    pub fn load(&self) -> Vec<CertificateDer<'static>> {
        if self.files.is_empty() && self.dirs.is_empty() {
            return Vec::new();
        }
        let mut certs = Vec::new();
        let mut add = |result: rustls_native_certs::CertificateResult| {
            for error in result.errors {
                tracing::warn!("while loading TLS root certificates: {error}");
            }
            certs.extend(result.certs);
        };
        for file in &self.files {
            let result = load_certs_from_paths(Some(file), None);
            if result.certs.is_empty() && result.errors.is_empty() {
                tracing::warn!("the CA file {} holds no PEM certificate; it adds nothing", file.display());
            }
            add(result);
        }
        for dir in &self.dirs {
            add(load_certs_from_paths(None, Some(dir)));
        }
        #[cfg(all(unix, not(target_os = "android"), not(target_vendor = "apple")))]
        {
            let named: Vec<PathBuf> = self.dirs.iter().filter_map(|d| d.canonicalize().ok()).collect();
            for dir in openssl_probe::candidate_cert_dirs() {
                if dir.canonicalize().is_ok_and(|d| !named.contains(&d)) {
                    add(load_certs_from_paths(None, Some(dir)));
                }
            }
        }
        certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        certs.dedup();
        let mut store = rustls::RootCertStore::empty();
        certs.retain(|cert| match store.add(cert.clone()) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!("a TLS root certificate is left out: {error}");
                false
            }
        });
        certs
    }
}

/// Make ring the process's rustls crypto provider, unless the program has chosen one.
pub(super) fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have won the race: its provider serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_locations_add_nothing_to_the_platform_roots() {
        assert!(CertLocations::default().load().is_empty());
    }
}
