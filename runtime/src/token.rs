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

/// Properties (issue 10): a sealed token opens to what was sealed, and only with the key,
/// kind and tenant it was sealed for; any change to its text is refused.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// JSON payloads (integers: a float need not survive a JSON round trip as the same `Value`).
    fn payload() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(".{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// One change to a token's text.
    #[derive(Debug, Clone)]
    enum Edit {
        Replace(prop::sample::Index, char),
        Insert(prop::sample::Index, char),
        Delete(prop::sample::Index),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        // the base64url alphabet and the separator: the changes a decoder does not reject by itself
        let c = prop::sample::select("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/".chars().collect::<Vec<_>>());
        prop_oneof![
            (any::<prop::sample::Index>(), c.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
            (any::<prop::sample::Index>(), c).prop_map(|(i, c)| Edit::Insert(i, c)),
            any::<prop::sample::Index>().prop_map(Edit::Delete),
        ]
    }

    fn apply(token: &str, e: &Edit) -> String {
        let mut chars: Vec<char> = token.chars().collect();
        match e {
            Edit::Replace(i, c) => {
                let i = i.index(chars.len());
                chars[i] = *c;
            }
            Edit::Insert(i, c) => chars.insert(i.index(chars.len() + 1), *c),
            Edit::Delete(i) => {
                chars.remove(i.index(chars.len()));
            }
        }
        chars.into_iter().collect()
    }

    proptest! {
        #[test]
        fn sealed_tokens_open_to_what_was_sealed(key in prop::collection::vec(any::<u8>(), 0..40), kind in ".{0,10}", tenant in ".{0,10}", value in payload()) {
            let t = Tokens::new(&key);
            let token = t.seal(&kind, &tenant, &value);
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')), "{}", token);
            prop_assert_eq!(t.open::<Value>(&kind, &tenant, &token), Some(value));
        }

        #[test]
        fn any_change_to_a_token_is_refused(key in prop::collection::vec(any::<u8>(), 1..40), value in payload(), e in edit()) {
            let t = Tokens::new(&key);
            let token = t.seal("scroll", "acme", &value);
            let changed = apply(&token, &e);
            prop_assume!(changed != token);
            prop_assert_eq!(t.open::<Value>("scroll", "acme", &changed), None, "{} -> {}", token, changed);
        }

        #[test]
        fn tokens_open_only_for_their_kind_tenant_and_key(key in prop::collection::vec(any::<u8>(), 1..40), other_key in prop::collection::vec(any::<u8>(), 1..40), kind in "[a-z]{0,6}", tenant in "[a-z]{0,6}", other in ("[a-z]{0,6}", "[a-z]{0,6}"), value in payload()) {
            let t = Tokens::new(&key);
            let token = t.seal(&kind, &tenant, &value);
            if other != (kind.clone(), tenant.clone()) {
                prop_assert_eq!(t.open::<Value>(&other.0, &other.1, &token), None);
            }
            // nor for a pair that concatenates alike ("ab", "c" and "a", "bc")
            if let Some(last) = kind.chars().last() {
                let shifted = format!("{last}{tenant}");
                prop_assert_eq!(t.open::<Value>(&kind[..kind.len() - last.len_utf8()], &shifted, &token), None);
            }
            if other_key != key {
                prop_assert_eq!(Tokens::new(&other_key).open::<Value>(&kind, &tenant, &token), None);
            }
        }

        #[test]
        fn arbitrary_text_is_no_token(s in "\\PC{0,60}|[A-Za-z0-9_.-]{0,80}") {
            let t = Tokens::new(b"k");
            prop_assert_eq!(t.open::<Value>("scroll", "acme", &s), None);
            prop_assert_eq!(t.verify_jwt::<Value>(&s), None);
        }

        #[test]
        fn jwts_verify_and_refuse_any_change(key in prop::collection::vec(any::<u8>(), 1..40), value in payload(), e in edit()) {
            let t = Tokens::new(&key);
            let jwt = t.jwt(&value);
            prop_assert_eq!(t.verify_jwt::<Value>(&jwt), Some(value));
            let changed = apply(&jwt, &e);
            prop_assume!(changed != jwt);
            prop_assert_eq!(t.verify_jwt::<Value>(&changed), None, "{} -> {}", jwt, changed);
        }
    }
}
