//! Reaching NATS: a seed list of servers, one way of authenticating, and TLS.
//!
//! Secrets stay inside [`NatsAuth`], whose `Debug` names only the method, and
//! server URLs are only ever shown with their user info redacted, so neither
//! logs, errors nor `/metrics` can carry a password, token or seed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::{ConnectErrorKind, ConnectOptions, ServerAddr};

use crate::bus::BusError;

/// Where NATS is and how to prove who we are.
#[derive(Clone, Default)]
pub struct NatsConnect {
    /// Seed servers, comma-separated (`nats://a:4222,nats://b:4222`); the
    /// client learns the rest of the cluster from whichever answers.
    pub servers: String,
    pub auth: NatsAuth,
    pub tls: NatsTls,
}

/// One way of authenticating (NATS takes one per connection).
#[derive(Clone, Default)]
pub enum NatsAuth {
    #[default]
    None,
    /// A `.creds` file: a user JWT and the NKey seed that signs for it.
    CredsFile(PathBuf),
    /// An NKey seed (`SU...`).
    NKey(String),
    UserPassword {
        user: String,
        password: String,
    },
    Token(String),
}

/// A private CA and, for mutual TLS, a client certificate (PEM files).
#[derive(Clone, Debug, Default)]
pub struct NatsTls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl NatsAuth {
    /// The method's name and the setting it came from, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::None => "no credentials",
            Self::CredsFile(_) => "the credentials file (CL_NATS_CREDS)",
            Self::NKey(_) => "the NKey seed (CL_NATS_NKEY)",
            Self::UserPassword { .. } => "the user and password (CL_NATS_USER, CL_NATS_PASSWORD)",
            Self::Token(_) => "the token (CL_NATS_TOKEN)",
        }
    }
}

impl fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::CredsFile(path) => f.debug_tuple("CredsFile").field(path).finish(),
            Self::NKey(_) => f.write_str("NKey(<redacted>)"),
            Self::UserPassword { user, .. } => f
                .debug_struct("UserPassword")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

impl fmt::Debug for NatsConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsConnect")
            .field("servers", &redact_list(&self.servers))
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .finish()
    }
}

impl NatsConnect {
    /// Plain servers, no credentials or TLS beyond what the URLs say.
    pub fn url(servers: &str) -> Self {
        Self {
            servers: servers.to_owned(),
            ..Self::default()
        }
    }

    /// The seed list, parsed; the message names the bad entry (redacted).
    pub fn server_addrs(&self) -> Result<Vec<ServerAddr>, String> {
        parse_servers(&self.servers)
    }

    /// The servers as they may be shown: user info replaced by `***`.
    pub fn display_servers(&self) -> String {
        redact_list(&self.servers)
    }

    /// Client options carrying the credentials and TLS settings.
    pub async fn options(&self) -> Result<ConnectOptions, BusError> {
        let mut options = ConnectOptions::new();
        options = match &self.auth {
            NatsAuth::None => options,
            NatsAuth::CredsFile(path) => options.credentials_file(path).await.map_err(|e| {
                BusError::Unavailable(format!(
                    "reading the NATS credentials file {} (CL_NATS_CREDS): {e}",
                    path.display()
                ))
            })?,
            NatsAuth::NKey(seed) => options.nkey(seed.clone()),
            NatsAuth::UserPassword { user, password } => {
                options.user_and_password(user.clone(), password.clone())
            }
            NatsAuth::Token(token) => options.token(token.clone()),
        };
        for (what, file) in [
            ("CL_NATS_TLS_CA", &self.tls.ca),
            ("CL_NATS_TLS_CERT", &self.tls.cert),
            ("CL_NATS_TLS_KEY", &self.tls.key),
        ] {
            if let Some(file) = file.as_ref().filter(|f| !f.is_file()) {
                return Err(BusError::Unavailable(format!(
                    "{what}: {} is not a readable file",
                    file.display()
                )));
            }
        }
        if let Some(ca) = &self.tls.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&self.tls.cert, &self.tls.key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        if self.tls.ca.is_some() || self.tls.cert.is_some() {
            options = options.require_tls(true);
        }
        Ok(options)
    }

    /// TLS is asked for: a CA or client certificate given, or a tls:// URL.
    fn uses_tls(&self) -> bool {
        self.tls.ca.is_some()
            || self.tls.cert.is_some()
            || self
                .server_addrs()
                .is_ok_and(|s| s.iter().any(ServerAddr::tls_required))
    }

    /// A client for a one-off command (the `replay` CLI): these settings,
    /// no reconnect tuning.
    pub async fn client(&self, name: &str) -> Result<async_nats::Client, BusError> {
        let servers = self
            .server_addrs()
            .map_err(|e| BusError::Unavailable(format!("CL_NATS_URL: {e}")))?;
        self.options()
            .await?
            .name(name)
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(servers)
            .await
            .map_err(|e| self.connect_error(&e))
    }

    /// Why a first connection failed, naming the setting to look at.
    pub(super) fn connect_error(&self, e: &async_nats::ConnectError) -> BusError {
        let servers = self.display_servers();
        let hint = match e.kind() {
            ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => format!(
                "NATS at {servers} refused {}; check it",
                self.auth.describe()
            ),
            ConnectErrorKind::Tls | ConnectErrorKind::Io if self.uses_tls() => format!(
                "TLS with NATS at {servers} failed (check CL_NATS_TLS_CA, CL_NATS_TLS_CERT, \
                 CL_NATS_TLS_KEY and the tls:// URLs): {e}"
            ),
            ConnectErrorKind::TimedOut => {
                format!("no NATS server of {servers} answered within {CONNECT_TIMEOUT:?}")
            }
            _ => format!("connecting to NATS at {servers}: {e}"),
        };
        BusError::Unavailable(hint)
    }
}

/// How long the first connection to each seed may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `nats://a:4222, tls://b:4222` -> two addresses; empty entries are refused.
pub fn parse_servers(raw: &str) -> Result<Vec<ServerAddr>, String> {
    let entries: Vec<&str> = raw.split(',').map(str::trim).collect();
    if entries.iter().all(|e| e.is_empty()) {
        return Err("no NATS server given".into());
    }
    entries
        .into_iter()
        .map(|entry| {
            if entry.is_empty() {
                return Err(format!(
                    "empty entry in the NATS server list {}",
                    redact_list(raw)
                ));
            }
            entry
                .parse::<ServerAddr>()
                .map_err(|e| format!("{} is not a NATS server URL: {e}", redact(entry)))
        })
        .collect()
}

/// A URL with any `user:password@` (or `token@`) replaced by `***@`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{rest}"),
        None => rest,
    }
}

fn redact_list(raw: &str) -> String {
    raw.split(',')
        .map(|s| redact(s.trim()))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_list_parses_each_server() {
        let servers = parse_servers("nats://127.0.0.1:4222, nats://127.0.0.1:4223,tls://h:4224")
            .expect("parses");
        assert_eq!(servers.len(), 3);
        assert!(servers[2].tls_required());
    }

    #[test]
    fn seed_list_refuses_empty_and_bad_entries_without_leaking_secrets() {
        assert!(parse_servers("").is_err());
        assert!(parse_servers("nats://a:4222,,nats://b:4222").is_err());
        let err = parse_servers("nats://u:hunter2@a:notaport").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("***@a:notaport"), "{err}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let connect = NatsConnect {
            servers: "nats://user:s3cret@a:4222".into(),
            auth: NatsAuth::UserPassword {
                user: "app".into(),
                password: "pa55word".into(),
            },
            tls: NatsTls::default(),
        };
        let shown = format!("{connect:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("pa55word"),
            "{shown}"
        );
        let token = format!("{:?}", NatsAuth::Token("t0ken".into()));
        let nkey = format!("{:?}", NatsAuth::NKey("SUAseed".into()));
        assert!(!token.contains("t0ken") && !nkey.contains("SUAseed"));
    }
}
