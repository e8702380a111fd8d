//! Self-contained, tamper-checked tokens (scroll ids, navigation state, login tokens):
//! the state travels in the token, so any replica can continue from it and nothing lives
//! in server memory. A token is `base64url(payload).base64url(HMAC-SHA256(key, kind ‖ tenant ‖ payload))`:
//! bound to what it is for and to the tenant it was issued to.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The store setting that holds the signing key.
pub const KEY_SETTING: &str = "token_key";

#[derive(Clone)]
pub struct Tokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(..)")
    }
}

/// A fresh random key, hex.
pub fn new_key() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

impl Tokens {
    pub fn new(key: &[u8]) -> Tokens {
        Tokens { key: key.to_vec() }
    }

    fn mac(&self, kind: &str, tenant: &str, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        for part in [kind.as_bytes(), tenant.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(payload);
        mac
    }

    /// Seal `value` as a token of `kind` for `tenant`.
    pub fn seal<T: Serialize>(&self, kind: &str, tenant: &str, value: &T) -> String {
        let payload = serde_json::to_vec(value).unwrap_or_default();
        let tag = self.mac(kind, tenant, &payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The value of a token of `kind` issued to `tenant`; `None` if it was altered, is of
    /// another kind or tenant, or is not a token at all.
    pub fn open<T: DeserializeOwned>(&self, kind: &str, tenant: &str, token: &str) -> Option<T> {
        let (payload, tag) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(kind, tenant, &payload).verify_slice(&tag).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// An HS256 JWT with `claims` (what the ClearML SDK decodes without verifying).
    pub fn jwt<T: Serialize>(&self, claims: &T) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{body}");
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// The claims of an HS256 JWT this key signed (the signature is checked; expiry is the
    /// caller's to check).
    pub fn verify_jwt<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        let mut parts = token.split('.');
        let (header, body, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return None;
        }
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("{}.{body}", token.split('.').next()?).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn sealed_tokens_open_only_for_their_kind_and_tenant() {
        let t = Tokens::new(b"k1");
        let tok = t.seal("scroll", "acme", &json!({"after": 5}));
        assert_eq!(t.open::<Value>("scroll", "acme", &tok), Some(json!({"after": 5})));
        assert_eq!(t.open::<Value>("scroll", "other", &tok), None);
        assert_eq!(t.open::<Value>("debug", "acme", &tok), None);
        assert_eq!(Tokens::new(b"k2").open::<Value>("scroll", "acme", &tok), None);
        // Any altered byte of the payload fails the check.
        let (p, s) = tok.split_once('.').unwrap();
        let forged = format!("{}.{s}", URL_SAFE_NO_PAD.encode(br#"{"after":6}"#));
        assert_ne!(p, forged.split('.').next().unwrap());
        assert_eq!(t.open::<Value>("scroll", "acme", &forged), None);
        assert_eq!(t.open::<Value>("scroll", "acme", "FFFF"), None);
    }

    #[test]
    fn jwt_round_trip_and_tamper() {
        let t = Tokens::new(b"secret");
        let jwt = t.jwt(&json!({"api_version": "2.13", "exp": 1}));
        assert_eq!(jwt.split('.').count(), 3);
        assert_eq!(t.verify_jwt::<Value>(&jwt), Some(json!({"api_version": "2.13", "exp": 1})));
        assert_eq!(Tokens::new(b"other").verify_jwt::<Value>(&jwt), None);
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged_body = URL_SAFE_NO_PAD.encode(br#"{"api_version":"9.9","exp":1}"#);
        parts[1] = &forged_body;
        assert_eq!(t.verify_jwt::<Value>(&parts.join(".")), None);
        // RFC 7515's HS256 example signature is what an independent implementation computes.
        let key = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let mut mac = HmacSha256::new_from_slice(&key).unwrap();
        mac.update(input.as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert!(Tokens::new(&key).verify_jwt::<Value>(&format!("{input}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).is_some());
    }
}
