//! How to reach NATS beyond its URLs: credentials and TLS files.

use std::path::{Path, PathBuf};

use clap::Args;
use common::bus::jetstream::{NatsAuth, NatsConnect, NatsTls};

/// How to reach NATS beyond its URLs: one authentication method (each secret
/// also from a `_FILE`, for mounted secrets) and TLS files. Shared by every
/// role and the `replay` command.
#[derive(Debug, Clone, Default, Args)]
pub struct NatsAuthArgs {
    /// NATS credentials file (user JWT + NKey seed, as nsc writes it).
    #[arg(long, env = "CL_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// NKey seed (SU...) to authenticate with.
    #[arg(long, env = "CL_NATS_NKEY", hide_env_values = true)]
    pub nats_nkey: Option<Secret>,
    /// Read the NKey seed from this file.
    #[arg(long, env = "CL_NATS_NKEY_FILE")]
    pub nats_nkey_file: Option<PathBuf>,
    /// NATS user name (with CL_NATS_PASSWORD).
    #[arg(long, env = "CL_NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password (with CL_NATS_USER).
    #[arg(long, env = "CL_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<Secret>,
    /// Read the NATS password from this file.
    #[arg(long, env = "CL_NATS_PASSWORD_FILE")]
    pub nats_password_file: Option<PathBuf>,
    /// NATS authentication token.
    #[arg(long, env = "CL_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<Secret>,
    /// Read the NATS token from this file.
    #[arg(long, env = "CL_NATS_TOKEN_FILE")]
    pub nats_token_file: Option<PathBuf>,
    /// PEM file of the CA that signed the NATS servers' certificates (turns TLS on).
    #[arg(long, env = "CL_NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,
    /// PEM client certificate, for servers that verify clients (with CL_NATS_TLS_KEY).
    #[arg(long, env = "CL_NATS_TLS_CERT")]
    pub nats_tls_cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[arg(long, env = "CL_NATS_TLS_KEY")]
    pub nats_tls_key: Option<PathBuf>,
}

/// A secret from the command line or environment; `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl NatsAuthArgs {
    /// The servers `url` names, with these credentials and TLS files; an
    /// error names the setting that is wrong.
    pub fn connect(&self, url: &str) -> anyhow::Result<NatsConnect> {
        common::bus::jetstream::parse_servers(url)
            .map_err(|e| anyhow::anyhow!("CL_NATS_URL: {e}"))?;
        let nkey = secret(&self.nats_nkey, &self.nats_nkey_file, "CL_NATS_NKEY")?;
        let password = secret(
            &self.nats_password,
            &self.nats_password_file,
            "CL_NATS_PASSWORD",
        )?;
        let token = secret(&self.nats_token, &self.nats_token_file, "CL_NATS_TOKEN")?;
        let mut methods = Vec::new();
        if let Some(creds) = &self.nats_creds {
            methods.push(NatsAuth::CredsFile(creds.clone()));
        }
        if let Some(seed) = nkey {
            methods.push(NatsAuth::NKey(seed));
        }
        match (&self.nats_user, password) {
            (Some(user), Some(password)) => methods.push(NatsAuth::UserPassword {
                user: user.clone(),
                password,
            }),
            (None, None) => {}
            _ => {
                anyhow::bail!("CL_NATS_USER and CL_NATS_PASSWORD go together: give both or neither")
            }
        }
        if let Some(token) = token {
            methods.push(NatsAuth::Token(token));
        }
        anyhow::ensure!(
            methods.len() <= 1,
            "give one NATS authentication (CL_NATS_CREDS, CL_NATS_NKEY, CL_NATS_USER +              CL_NATS_PASSWORD or CL_NATS_TOKEN), not {}",
            methods.len()
        );
        anyhow::ensure!(
            self.nats_tls_cert.is_some() == self.nats_tls_key.is_some(),
            "CL_NATS_TLS_CERT and CL_NATS_TLS_KEY go together: give both or neither"
        );
        Ok(NatsConnect {
            servers: url.to_owned(),
            auth: methods.pop().unwrap_or_default(),
            tls: NatsTls {
                ca: self.nats_tls_ca.clone(),
                cert: self.nats_tls_cert.clone(),
                key: self.nats_tls_key.clone(),
            },
        })
    }
}

/// A secret given directly or in a file (trimmed; an empty one is refused).
fn secret(
    value: &Option<Secret>,
    file: &Option<PathBuf>,
    name: &str,
) -> anyhow::Result<Option<String>> {
    match (value, file) {
        (Some(_), Some(_)) => anyhow::bail!("give {name} or {name}_FILE, not both"),
        (Some(v), None) => Ok(Some(v.0.clone()).filter(|v| !v.is_empty())),
        (None, Some(path)) => read_secret(path, &format!("{name}_FILE")).map(Some),
        (None, None) => Ok(None),
    }
}

/// A secret from a mounted file, trimmed; a missing or empty file is an
/// error naming the setting.
pub(super) fn read_secret(path: &Path, name: &str) -> anyhow::Result<String> {
    let raw = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{name}: reading {}: {e}", path.display()))?;
    let value = raw.trim().to_owned();
    anyhow::ensure!(!value.is_empty(), "{name}: {} is empty", path.display());
    Ok(value)
}
