//! What a server that demands credentials or TLS needs, made in the test:
//! an operator, a JetStream account and user credentials files (the JWTs
//! `nsc` would write), and a CA with server and client certificates.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use nkeys::KeyPair;
use serde_json::{json, Value};

/// Operator mode with a memory resolver: an operator, a system account and
/// one account with JetStream, whose users get creds files.
pub struct Trust {
    operator: KeyPair,
    system: KeyPair,
    account: KeyPair,
}

impl Default for Trust {
    fn default() -> Self {
        Self::new()
    }
}

impl Trust {
    pub fn new() -> Self {
        Self {
            operator: KeyPair::new_operator(),
            system: KeyPair::new_account(),
            account: KeyPair::new_account(),
        }
    }

    /// The server configuration lines that trust this operator.
    pub fn server_config(&self) -> String {
        let op = self.operator.public_key();
        let operator = jwt(
            &self.operator,
            &op,
            json!({"type": "operator", "version": 2,
            "system_account": self.system.public_key()}),
        );
        let system = account_jwt(&self.operator, &self.system, "SYS", false);
        let account = account_jwt(&self.operator, &self.account, "APP", true);
        format!(
            "operator: {operator:?}\nsystem_account: {}\nresolver: MEMORY\n\
             resolver_preload: {{\n  {}: {system:?}\n  {}: {account:?}\n}}\n",
            self.system.public_key(),
            self.system.public_key(),
            self.account.public_key(),
        )
    }

    /// A creds file's contents for a new user of the JetStream account.
    pub fn user_creds(&self) -> String {
        creds(&self.account)
    }

    /// Creds signed by an account this server has never heard of.
    pub fn stranger_creds() -> String {
        creds(&KeyPair::new_account())
    }
}

fn account_jwt(operator: &KeyPair, account: &KeyPair, name: &str, jetstream: bool) -> String {
    let storage = if jetstream { -1 } else { 0 };
    let nats = json!({"type": "account", "version": 2, "limits": {
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1,
        "mem_storage": storage, "disk_storage": storage, "streams": -1, "consumer": -1
    }});
    let mut claims = claims(operator, &account.public_key(), nats);
    claims["name"] = json!(name);
    sign(operator, &claims)
}

fn creds(account: &KeyPair) -> String {
    let user = KeyPair::new_user();
    let nats = json!({"type": "user", "version": 2, "pub": {}, "sub": {},
        "subs": -1, "data": -1, "payload": -1});
    let token = jwt(account, &user.public_key(), nats);
    let seed = user.seed().expect("user seed");
    format!(
        "-----BEGIN NATS USER JWT-----\n{token}\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    )
}

fn claims(issuer: &KeyPair, subject: &str, nats: Value) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({"jti": crate::unique("JTI").to_uppercase(), "iat": now,
        "iss": issuer.public_key(), "sub": subject, "name": subject, "nats": nats})
}

fn jwt(issuer: &KeyPair, subject: &str, nats: Value) -> String {
    sign(issuer, &claims(issuer, subject, nats))
}

/// `header.claims.signature`, ed25519 over the first two (NATS JWT v2).
fn sign(issuer: &KeyPair, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{body}");
    let signature = issuer.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A CA and two certificates it signed, as PEM files in a directory.
pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Certs {
    /// Server certificate for 127.0.0.1 and localhost; client certificate
    /// for mutual TLS.
    pub fn generate(dir: &Path) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair as Key};
        let ca_key = Key::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "callback-listener test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>| {
            let key = Key::generate().expect("key");
            let params = CertificateParams::new(names).expect("params");
            let cert = params.signed_by(&key, &issuer).expect("cert");
            (cert.pem(), key.serialize_pem())
        };
        let (server_cert, server_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()]);
        let (client_cert, client_key) = leaf(vec!["client".into()]);
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("write pem");
            path
        };
        Self {
            ca: write("ca.pem", &ca_cert.pem()),
            server_cert: write("server.pem", &server_cert),
            server_key: write("server-key.pem", &server_key),
            client_cert: write("client.pem", &client_cert),
            client_key: write("client-key.pem", &client_key),
        }
    }

    /// The server's `tls` block: this certificate, clients verified by the CA.
    pub fn server_config(&self) -> String {
        format!(
            "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n  ca_file: {:?}\n  verify: true\n  timeout: 2\n}}\n",
            self.server_cert.display().to_string(),
            self.server_key.display().to_string(),
            self.ca.display().to_string(),
        )
    }
}
