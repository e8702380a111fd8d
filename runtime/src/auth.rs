//! Who may call: tenants and their credentials, from the server's config file, and the
//! checks each protocol makes. With no credentials configured the server is open: every
//! caller is the default tenant (and the server only listens on loopback then).

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::protocol::DEFAULT_TENANT;
use crate::token::Tokens;

/// The config file (TOML): each tenant with its credentials for every API. A credential
/// names its tenant; a request made with it sees and writes only that tenant's runs.
///
/// ```toml
/// [[tenant]]
/// name = "acme"
/// [[tenant.clearml]]            # ClearML key pair (HTTP Basic at auth.login, or on any call)
/// access_key = "AK1"
/// secret_key = "SK1"
/// [[tenant.aws]]                # AWS keys that sign SageMaker requests (SigV4)
/// access_key_id = "AKIDEXAMPLE"
/// secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
/// [[tenant.comet]]              # Comet API key (`Authorization: <key>`)
/// api_key = "CK1"
/// [[tenant.dioptra]]            # Dioptra user (POST /api/v1/auth/login)
/// username = "alice"
/// password = "secret"
/// [[tenant.lens]]               # Lens bearer token (`Authorization: Bearer <token>`)
/// token = "LT1"
/// ```
///
/// Tenant names, ClearML access keys, AWS access key ids, Comet keys, Dioptra user names and
/// Lens tokens are each unique across the file ([`Config::load`] checks). With no
/// credentials at all the server is open (every caller is tenant `default`, loopback only).
/// Once any credential is configured every Lens request (the W&B ingest routes included)
/// needs a `[[tenant.lens]]` token, as the other APIs need theirs: a config without Lens
/// tokens closes Lens rather than leaving it open as tenant `default`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<TenantConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub name: String,
    /// ClearML access/secret key pairs (HTTP Basic at `auth.login`).
    #[serde(default)]
    pub clearml: Vec<KeyPair>,
    /// AWS access key pairs (SigV4-signed SageMaker requests).
    #[serde(default)]
    pub aws: Vec<AwsKeyPair>,
    /// Comet API keys (sent raw in `Authorization` by comet_ml).
    #[serde(default)]
    pub comet: Vec<CometKey>,
    /// Dioptra users (`POST /api/v1/auth/login`).
    #[serde(default)]
    pub dioptra: Vec<DioptraUser>,
    /// Lens bearer tokens (`Authorization: Bearer <token>`).
    #[serde(default)]
    pub lens: Vec<LensToken>,
}

/// A Lens bearer token.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LensToken {
    pub token: String,
}

impl std::fmt::Debug for LensToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LensToken(..)")
    }
}

/// A Dioptra user name and password.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DioptraUser {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for DioptraUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DioptraUser({}, ..)", self.username)
    }
}

/// Why a Dioptra login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DioptraRefusal {
    UnknownUser,
    WrongPassword,
}

/// What a Dioptra session cookie carries (sealed with the server's token key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DioptraSession {
    pub tenant: String,
    pub username: String,
    pub exp: i64,
}

/// The token kind of Dioptra session cookies.
pub const DIOPTRA_SESSION: &str = "dioptra.session";

/// A Comet API key.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CometKey {
    pub api_key: String,
}

impl std::fmt::Debug for CometKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CometKey(..)")
    }
}

/// An AWS access key id and its secret access key.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsKeyPair {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AwsKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKeyPair").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// A ClearML access key and its secret key.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPair {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut names = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeSet::new();
        for t in &config.tenants {
            if t.name.is_empty() || !names.insert(t.name.as_str()) {
                return Err(format!("{}: tenant names must be unique and not empty (`{}`)", path.display(), t.name));
            }
            for k in &t.clearml {
                if k.access_key.is_empty() || k.secret_key.is_empty() || !keys.insert(k.access_key.as_str()) {
                    return Err(format!("{}: ClearML access keys must be unique and keys not empty (`{}`)", path.display(), k.access_key));
                }
            }
        }
        config.check_aws_keys().map_err(|e| format!("{}: {e}", path.display()))?;
        let mut users = std::collections::BTreeSet::new();
        for u in config.tenants.iter().flat_map(|t| &t.dioptra) {
            if u.username.is_empty() || u.password.is_empty() || !users.insert(u.username.as_str()) {
                return Err(format!("{}: Dioptra user names must be unique and users need a password (`{}`)", path.display(), u.username));
            }
        }
        let mut comet = std::collections::BTreeSet::new();
        for k in config.tenants.iter().flat_map(|t| &t.comet) {
            if k.api_key.is_empty() || !comet.insert(k.api_key.as_str()) {
                return Err(format!("{}: Comet API keys must be unique and not empty", path.display()));
            }
        }
        let mut lens = std::collections::BTreeSet::new();
        for t in config.tenants.iter().flat_map(|t| &t.lens) {
            if t.token.is_empty() || !lens.insert(t.token.as_str()) {
                return Err(format!("{}: Lens tokens must be unique and not empty", path.display()));
            }
        }
        Ok(config)
    }

    /// AWS access key ids are unique across tenants; ids and secrets are not empty.
    fn check_aws_keys(&self) -> Result<(), String> {
        let mut ids = std::collections::BTreeSet::new();
        for k in self.tenants.iter().flat_map(|t| &t.aws) {
            if k.access_key_id.is_empty() || k.secret_access_key.is_empty() || !ids.insert(k.access_key_id.as_str()) {
                return Err(format!("AWS access key ids must be unique and keys not empty (`{}`)", k.access_key_id));
            }
        }
        Ok(())
    }

    /// True when no credentials are configured at all.
    pub fn is_open(&self) -> bool {
        self.tenants
            .iter()
            .all(|t| t.clearml.is_empty() && t.aws.is_empty() && t.comet.is_empty() && t.dioptra.is_empty() && t.lens.is_empty())
    }

    /// The tenant of AWS access key id `access_key_id` and the key's secret.
    pub fn aws_key(&self, access_key_id: &str) -> Option<(String, String)> {
        self.tenants
            .iter()
            .find_map(|t| t.aws.iter().find(|k| k.access_key_id == access_key_id).map(|k| (t.name.clone(), k.secret_access_key.clone())))
    }
}

/// Why a caller was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials sent.
    Missing,
    /// Key or secret unknown or wrong.
    BadCredentials,
    /// A token that is forged, expired or for no configured tenant.
    BadToken,
}

/// The identity inside a ClearML token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub company: String,
    pub company_name: String,
    pub user: String,
    pub user_name: String,
    pub role: String,
}

/// The claims of a ClearML token (what clearml-server puts there; the SDK reads
/// `api_version`, `server_version`, `feature_set` and `exp`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClearmlClaims {
    pub identity: Identity,
    pub iat: i64,
    pub exp: i64,
    pub env: String,
    pub api_version: String,
    pub server_version: String,
    pub server_build: String,
    pub feature_set: String,
}

/// Default and longest token lifetime.
pub const DEFAULT_TOKEN_SECONDS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone)]
pub struct Auth {
    config: Config,
    tokens: Tokens,
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `Authorization: Basic …` decoded.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let b64 = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "))?;
    let text = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

impl Auth {
    pub fn new(config: Config, tokens: Tokens) -> Auth {
        Auth { config, tokens }
    }

    /// No credentials configured: every caller is the default tenant.
    pub fn open(tokens: Tokens) -> Auth {
        Auth::new(Config::default(), tokens)
    }

    pub fn is_open(&self) -> bool {
        self.config.is_open()
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Check a Dioptra login; the session cookie value for it.
    pub fn dioptra_login(&self, username: &str, password: &str) -> Result<String, DioptraRefusal> {
        let (tenant, user) = self
            .config
            .tenants
            .iter()
            .find_map(|t| t.dioptra.iter().find(|u| u.username == username).map(|u| (t.name.clone(), u)))
            .ok_or(DioptraRefusal::UnknownUser)?;
        if !ct_eq(user.password.as_bytes(), password.as_bytes()) {
            return Err(DioptraRefusal::WrongPassword);
        }
        let session = DioptraSession { tenant, username: username.to_string(), exp: now_s() + DEFAULT_TOKEN_SECONDS };
        Ok(self.tokens.seal(DIOPTRA_SESSION, "", &session))
    }

    /// The session of a Dioptra session cookie: sealed by this server, not expired, for a
    /// user that is still configured.
    pub fn dioptra_session(&self, cookie: &str) -> Option<DioptraSession> {
        let s: DioptraSession = self.tokens.open(DIOPTRA_SESSION, "", cookie)?;
        let still_there = self.config.tenants.iter().any(|t| t.name == s.tenant && t.dioptra.iter().any(|u| u.username == s.username));
        (s.exp >= now_s() && still_there).then_some(s)
    }

    /// The tenant of a Comet API key (compared in constant time).
    pub fn comet_tenant(&self, api_key: &str) -> Option<String> {
        self.config
            .tenants
            .iter()
            .find(|t| t.comet.iter().any(|k| ct_eq(k.api_key.as_bytes(), api_key.as_bytes())))
            .map(|t| t.name.clone())
    }

    /// Whether Lens requests need a bearer token: whenever any credential is configured
    /// (Lens has no authentication of its own, so on a server with tenants an unauthenticated
    /// Lens would read and write as tenant `default` for anyone who can reach it).
    pub fn lens_requires_token(&self) -> bool {
        !self.config.is_open()
    }

    /// The tenant of a Lens bearer token (compared in constant time).
    pub fn lens_tenant(&self, token: &str) -> Option<String> {
        self.config
            .tenants
            .iter()
            .find(|t| t.lens.iter().any(|k| ct_eq(k.token.as_bytes(), token.as_bytes())))
            .map(|t| t.name.clone())
    }

    /// The tenant and secret of an AWS access key id (for SigV4 verification).
    pub fn aws_key(&self, access_key_id: &str) -> Option<(String, String)> {
        self.config.aws_key(access_key_id)
    }

    /// The tenant and the name of whoever signs in to the dashboard with `user` and
    /// `secret`: a Dioptra user and password, a ClearML access and secret key, an AWS access
    /// key id and secret, or (no user) a Comet API key or a Lens token. Secrets are compared
    /// in constant time; `None` when nothing configured matches.
    pub fn dashboard_login(&self, user: &str, secret: &str) -> Option<(String, String)> {
        if secret.is_empty() {
            return None;
        }
        for t in &self.config.tenants {
            let found = if user.is_empty() {
                t.comet.iter().any(|k| ct_eq(k.api_key.as_bytes(), secret.as_bytes()))
                    || t.lens.iter().any(|k| ct_eq(k.token.as_bytes(), secret.as_bytes()))
            } else {
                t.dioptra.iter().any(|u| u.username == user && ct_eq(u.password.as_bytes(), secret.as_bytes()))
                    || t.clearml.iter().any(|k| k.access_key == user && ct_eq(k.secret_key.as_bytes(), secret.as_bytes()))
                    || t.aws.iter().any(|k| k.access_key_id == user && ct_eq(k.secret_access_key.as_bytes(), secret.as_bytes()))
            };
            if found {
                let who = if user.is_empty() { format!("{} (API key)", t.name) } else { user.to_string() };
                return Some((t.name.clone(), who));
            }
        }
        None
    }

    /// Whether tenant `name` is configured (a dashboard session of a removed tenant ends).
    pub fn has_tenant(&self, name: &str) -> bool {
        self.config.tenants.iter().any(|t| t.name == name)
    }

    /// The identity of ClearML key/secret credentials (in constant time per comparison).
    pub fn clearml_identity(&self, basic: Option<&(String, String)>) -> Result<Identity, Refusal> {
        if self.is_open() {
            let user = basic.map(|b| b.0.clone()).unwrap_or_else(|| "anonymous".into());
            return Ok(identity(DEFAULT_TENANT, &user));
        }
        let (key, secret) = basic.ok_or(Refusal::Missing)?;
        for t in &self.config.tenants {
            for k in &t.clearml {
                if ct_eq(k.access_key.as_bytes(), key.as_bytes()) && ct_eq(k.secret_key.as_bytes(), secret.as_bytes()) {
                    return Ok(identity(&t.name, key));
                }
            }
        }
        Err(Refusal::BadCredentials)
    }

    /// A signed ClearML token for `identity`.
    pub fn clearml_token(&self, identity: Identity, expiration_sec: Option<i64>, api_version: &str) -> String {
        let now = now_s();
        let ttl = expiration_sec.unwrap_or(DEFAULT_TOKEN_SECONDS).clamp(1, DEFAULT_TOKEN_SECONDS);
        self.tokens.jwt(&ClearmlClaims {
            identity,
            iat: now,
            exp: now + ttl,
            env: "specmill".into(),
            api_version: api_version.into(),
            server_version: env!("CARGO_PKG_VERSION").into(),
            server_build: "specmill".into(),
            feature_set: "basic".into(),
        })
    }

    /// The tenant of a ClearML bearer token, checked: signature, expiry, a configured tenant.
    pub fn clearml_tenant_of_token(&self, token: &str) -> Result<String, Refusal> {
        let claims: ClearmlClaims = self.tokens.verify_jwt(token).ok_or(Refusal::BadToken)?;
        if claims.exp < now_s() {
            return Err(Refusal::BadToken);
        }
        let tenant = claims.identity.company;
        if self.is_open() {
            return Ok(DEFAULT_TENANT.into());
        }
        if self.config.tenants.iter().any(|t| t.name == tenant) {
            Ok(tenant)
        } else {
            Err(Refusal::BadToken)
        }
    }
}

fn identity(tenant: &str, user: &str) -> Identity {
    Identity { company: tenant.into(), company_name: tenant.into(), user: user.into(), user_name: user.into(), role: "user".into() }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        toml::from_str(
            r#"
            [[tenant]]
            name = "acme"
            [[tenant.clearml]]
            access_key = "AK1"
            secret_key = "SK1"
            [[tenant]]
            name = "globex"
            [[tenant.clearml]]
            access_key = "AK2"
            secret_key = "SK2"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn credentials_map_to_their_tenant() {
        assert!(!format!("{:?}", config()).contains("SK1"), "secrets stay out of debug output");
        let auth = Auth::new(config(), Tokens::new(b"k"));
        assert!(!auth.is_open());
        let id = auth.clearml_identity(Some(&("AK2".into(), "SK2".into()))).unwrap();
        assert_eq!(id.company, "globex");
        assert_eq!(auth.clearml_identity(Some(&("AK2".into(), "SK1".into()))), Err(Refusal::BadCredentials));
        assert_eq!(auth.clearml_identity(None), Err(Refusal::Missing));
        let token = auth.clearml_token(id, None, "2.12");
        assert_eq!(auth.clearml_tenant_of_token(&token), Ok("globex".into()));
        assert_eq!(Auth::new(config(), Tokens::new(b"other")).clearml_tenant_of_token(&token), Err(Refusal::BadToken));
        let expired = auth.clearml_token(auth.clearml_identity(Some(&("AK1".into(), "SK1".into()))).unwrap(), Some(1), "2.12");
        let claims: ClearmlClaims = auth.tokens().verify_jwt(&expired).unwrap();
        assert_eq!(claims.exp - claims.iat, 1);
    }

    #[test]
    fn aws_keys_map_to_their_tenant_and_close_the_server() {
        let config: Config = toml::from_str(
            r#"
            [[tenant]]
            name = "acme"
            [[tenant.aws]]
            access_key_id = "AKIA1"
            secret_access_key = "S1"
            [[tenant]]
            name = "globex"
            [[tenant.aws]]
            access_key_id = "AKIA2"
            secret_access_key = "S2"
            "#,
        )
        .unwrap();
        assert!(!config.is_open(), "AWS keys alone are credentials");
        let auth = Auth::new(config.clone(), Tokens::new(b"k"));
        assert_eq!(auth.aws_key("AKIA2"), Some(("globex".into(), "S2".into())));
        assert_eq!(auth.aws_key("AKIA3"), None);
        assert!(!format!("{config:?}").contains("S1"), "secrets stay out of debug output");
        // ClearML credentials keep working beside AWS ones
        assert_eq!(auth.clearml_identity(None), Err(Refusal::Missing));

        let dir = std::env::temp_dir().join(format!("specmill-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dup.toml");
        let dup = "[[tenant]]\nname = \"a\"\n[[tenant.aws]]\naccess_key_id = \"K\"\nsecret_access_key = \"S\"\n\
                   [[tenant]]\nname = \"b\"\n[[tenant.aws]]\naccess_key_id = \"K\"\nsecret_access_key = \"T\"\n";
        std::fs::write(&path, dup).unwrap();
        assert!(Config::load(&path).unwrap_err().contains("AWS access key ids must be unique"));
        std::fs::write(&path, "[[tenant]]\nname = \"a\"\n[[tenant.aws]]\naccess_key_id = \"K\"\nsecret_access_key = \"\"\n").unwrap();
        assert!(Config::load(&path).is_err());
        std::fs::write(&path, "[[tenant]]\nname = \"a\"\n[[tenant.aws]]\naccess_key_id = \"K\"\nsecret_access_key = \"S\"\n").unwrap();
        assert_eq!(Config::load(&path).unwrap().aws_key("K"), Some(("a".into(), "S".into())));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn open_without_credentials_and_basic_parsing() {
        let auth = Auth::open(Tokens::new(b"k"));
        assert_eq!(auth.clearml_identity(None).unwrap().company, DEFAULT_TENANT);
        assert_eq!(basic_credentials("Basic QUsxOlNLMQ=="), Some(("AK1".into(), "SK1".into())));
        assert_eq!(basic_credentials("Bearer x"), None);
    }

    #[test]
    fn comet_keys_map_to_their_tenant() {
        let config: Config = toml::from_str(
            r#"
            [[tenant]]
            name = "acme"
            [[tenant.comet]]
            api_key = "CK-1"
            "#,
        )
        .unwrap();
        let auth = Auth::new(config, Tokens::new(b"k"));
        assert!(!auth.is_open(), "a Comet key alone closes the server");
        assert_eq!(auth.comet_tenant("CK-1"), Some("acme".into()));
        assert_eq!(auth.comet_tenant("CK-2"), None);
        assert_eq!(auth.comet_tenant(""), None);
    }

    #[test]
    fn lens_tokens_map_to_their_tenant_and_are_unique() {
        let config: Config = toml::from_str(
            r#"
            [[tenant]]
            name = "acme"
            [[tenant.lens]]
            token = "LT-1"
            [[tenant.lens]]
            token = "LT-2"
            [[tenant]]
            name = "globex"
            [[tenant.lens]]
            token = "LT-3"
            "#,
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("LT-1"), "tokens stay out of debug output");
        let auth = Auth::new(config, Tokens::new(b"k"));
        assert!(!auth.is_open(), "a Lens token alone closes the server");
        assert!(auth.lens_requires_token());
        assert_eq!(auth.lens_tenant("LT-2"), Some("acme".into()));
        assert_eq!(auth.lens_tenant("LT-3"), Some("globex".into()));
        assert_eq!(auth.lens_tenant("LT-"), None);
        assert_eq!(auth.lens_tenant(""), None);
        // Other credentials alone close Lens too (no token then reaches it).
        let comet_only: Config = toml::from_str("[[tenant]]\nname = \"a\"\n[[tenant.comet]]\napi_key = \"K\"\n").unwrap();
        assert!(Auth::new(comet_only, Tokens::new(b"k")).lens_requires_token());
        assert!(!Auth::open(Tokens::new(b"k")).lens_requires_token());

        let dir = std::env::temp_dir().join(format!("specmill-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lens.toml");
        let dup = "[[tenant]]\nname = \"a\"\n[[tenant.lens]]\ntoken = \"T\"\n[[tenant]]\nname = \"b\"\n[[tenant.lens]]\ntoken = \"T\"\n";
        std::fs::write(&path, dup).unwrap();
        assert!(Config::load(&path).unwrap_err().contains("Lens tokens must be unique"));
        std::fs::write(&path, "[[tenant]]\nname = \"a\"\n[[tenant.lens]]\ntoken = \"\"\n").unwrap();
        assert!(Config::load(&path).is_err());
        std::fs::write(&path, "[[tenant]]\nname = \"a\"\n[[tenant.lens]]\ntoken = \"T\"\n").unwrap();
        let auth = Auth::new(Config::load(&path).unwrap(), Tokens::new(b"k"));
        assert_eq!(auth.lens_tenant("T"), Some("a".into()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dashboard_login_takes_every_kind_of_credential() {
        let config: Config = toml::from_str(
            r#"
            [[tenant]]
            name = "acme"
            [[tenant.clearml]]
            access_key = "AK1"
            secret_key = "SK1"
            [[tenant.dioptra]]
            username = "alice"
            password = "pw"
            [[tenant]]
            name = "globex"
            [[tenant.comet]]
            api_key = "CK"
            [[tenant.lens]]
            token = "LT"
            [[tenant.aws]]
            access_key_id = "AKID"
            secret_access_key = "secret"
            "#,
        )
        .unwrap();
        let auth = Auth::new(config, Tokens::new(b"k"));
        assert_eq!(auth.dashboard_login("AK1", "SK1"), Some(("acme".into(), "AK1".into())));
        assert_eq!(auth.dashboard_login("alice", "pw"), Some(("acme".into(), "alice".into())));
        assert_eq!(auth.dashboard_login("AKID", "secret"), Some(("globex".into(), "AKID".into())));
        assert_eq!(auth.dashboard_login("", "CK").map(|t| t.0), Some("globex".into()));
        assert_eq!(auth.dashboard_login("", "LT").map(|t| t.0), Some("globex".into()));
        for (user, secret) in [("AK1", "SK2"), ("alice", ""), ("", ""), ("", "SK1"), ("bob", "pw"), ("CK", "CK")] {
            assert_eq!(auth.dashboard_login(user, secret), None, "{user}/{secret}");
        }
        assert!(auth.has_tenant("globex") && !auth.has_tenant("default"));
    }
}
