//! AWS Signature Version 4 in the header form boto3 sends
//! (`Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`): verified
//! by the server ([`verify`]) and made by specmill-client ([`sign`]), with the same
//! canonical request and signing key code.
//!
//! [`verify`] follows the published algorithm step by step:
//! 1. parse the `Authorization` header; the credential scope is
//!    `<access key id>/<yyyymmdd>/<region>/<service>/aws4_request`;
//! 2. check the scope: the service must be the one expected (any region is taken), the
//!    date must be the date of `X-Amz-Date`, and `X-Amz-Date` must be within
//!    [`MAX_SKEW_SECONDS`] of the server's clock;
//! 3. look the access key up (unknown: refused);
//! 4. rebuild the canonical request from **the signed headers only** (values trimmed,
//!    inner whitespace collapsed, repeated headers joined with `,`), the path as received
//!    (dot segments removed, then URI-encoded once more, as botocore signs it), the query
//!    (decoded, re-encoded, sorted), and the SHA-256 of the raw body, computed before the
//!    body is parsed (a signed `x-amz-content-sha256` must equal it);
//! 5. derive the signing key from the secret, sign the string to sign and compare with
//!    the signature sent, in constant time.
//!
//! The functions work on a plain [`Request`], so they do not depend on the HTTP server.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Largest accepted difference between `X-Amz-Date` and the server's clock (AWS's 15 minutes).
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// A request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as it was on the wire (still percent-encoded), without the query.
    pub path: &'a str,
    /// The query string as it was on the wire, without the `?` (empty when none).
    pub query: &'a str,
    /// Every header line in the order received (names in any case; repeated names allowed).
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The values of header `name` (case-insensitive), in order.
    fn header_values<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s str> + use<'s, 'n> {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).next()
    }
}

/// A request that passed: who signed it and for what scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
    /// `X-Amz-Date` as sent.
    pub amz_date: String,
    /// `X-Amz-Security-Token`, when the caller used session credentials (not checked:
    /// the access key and its secret are the credential).
    pub session_token: Option<String>,
}

/// Why a request was refused, in AWS's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No `Authorization` header at all.
    Missing,
    /// The access key id is not configured.
    UnknownKey(String),
    /// Anything else: a malformed header, a scope or date that does not fit, a clock skew,
    /// a signature that does not match.
    Invalid(String),
}

impl Failure {
    /// The AWS error code (all are HTTP 403).
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Missing => "MissingAuthenticationTokenException",
            Failure::UnknownKey(_) => "UnrecognizedClientException",
            Failure::Invalid(_) => "InvalidSignatureException",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Failure::Missing => "Missing Authentication Token".into(),
            Failure::UnknownKey(_) => "The security token included in the request is invalid.".into(),
            Failure::Invalid(m) => m.clone(),
        }
    }
}

/// The message AWS sends when the signature does not match.
pub const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
    /// As sent (lowercase names joined by `;`).
    pub signed_headers: String,
    pub signature: String,
}

impl Authorization {
    pub fn parse(header: &str) -> Result<Authorization, Failure> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(char::is_whitespace).unwrap_or((header, ""));
        if scheme != ALGORITHM {
            return Err(Failure::Invalid(format!("Unsupported authorization type '{scheme}': only {ALGORITHM} is accepted.")));
        }
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let Some((k, v)) = part.trim().split_once('=') else { continue };
            match k.trim() {
                "Credential" => credential = Some(v.trim()),
                "SignedHeaders" => signed = Some(v.trim()),
                "Signature" => signature = Some(v.trim()),
                _ => {}
            }
        }
        let missing: Vec<String> = [("Credential", credential), ("SignedHeaders", signed), ("Signature", signature)]
            .iter()
            .filter(|(_, v)| v.is_none_or(str::is_empty))
            .map(|(k, _)| format!("Authorization header requires '{k}' parameter."))
            .collect();
        if !missing.is_empty() {
            return Err(Failure::Invalid(format!("{} Authorization={header}", missing.join(" "))));
        }
        let credential = credential.unwrap_or_default();
        let parts: Vec<&str> = credential.split('/').collect();
        let [akid, date, region, service, terminator] = parts[..] else {
            return Err(Failure::Invalid(format!(
                "Credential should be scoped to a valid region, service and date: \
                 'Credential=<access key id>/<yyyymmdd>/<region>/<service>/aws4_request', not '{credential}'."
            )));
        };
        Ok(Authorization {
            access_key_id: akid.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            terminator: terminator.to_string(),
            signed_headers: signed.unwrap_or_default().to_string(),
            signature: signature.unwrap_or_default().to_string(),
        })
    }

    /// `<date>/<region>/<service>/aws4_request`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/{}", self.date, self.region, self.service, self.terminator)
    }
}

/// Check the signature of `req` for `service` at `now` (epoch seconds). `lookup` maps an
/// access key id to what the caller wants back for it (a tenant) and the key's secret.
pub fn verify<T>(req: &Request, service: &str, now: i64, lookup: impl FnOnce(&str) -> Option<(T, String)>) -> Result<(Verified, T), Failure> {
    let header = req.header("authorization").map(str::trim).filter(|h| !h.is_empty()).ok_or(Failure::Missing)?;
    let auth = Authorization::parse(header)?;
    if auth.terminator != "aws4_request" {
        return Err(Failure::Invalid(format!("Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.", auth.terminator)));
    }
    if auth.service != service {
        return Err(Failure::Invalid(format!("Credential should be scoped to correct service: '{service}'.")));
    }
    if auth.region.is_empty() {
        return Err(Failure::Invalid("Credential should be scoped to a valid region.".into()));
    }
    let amz_date = req
        .header("x-amz-date")
        .map(str::trim)
        .ok_or_else(|| Failure::Invalid("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into()))?;
    let signed_at = parse_amz_date(amz_date)
        .ok_or_else(|| Failure::Invalid(format!("X-Amz-Date '{amz_date}' is not an ISO-8601 basic date-time (YYYYMMDD'T'HHMMSS'Z').")))?;
    if auth.date != amz_date[..8] {
        return Err(Failure::Invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            &amz_date[..8]
        )));
    }
    if signed_at < now - MAX_SKEW_SECONDS {
        return Err(Failure::Invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(now - MAX_SKEW_SECONDS),
            format_amz_date(now)
        )));
    }
    if signed_at > now + MAX_SKEW_SECONDS {
        return Err(Failure::Invalid(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(now + MAX_SKEW_SECONDS),
            format_amz_date(now)
        )));
    }
    let (tag, secret) = lookup(&auth.access_key_id).ok_or_else(|| Failure::UnknownKey(auth.access_key_id.clone()))?;
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(Failure::Invalid("'Host' must be a signed header.".into()));
    }
    if let Some(name) = signed.iter().find(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase())) {
        return Err(Failure::Invalid(format!("Signed header names must be lowercase and not empty: '{name}'.")));
    }
    let body_hash = hex(&Sha256::digest(req.body));
    if signed.contains(&"x-amz-content-sha256") {
        let sent = req.header("x-amz-content-sha256").unwrap_or_default().trim();
        if sent != body_hash {
            return Err(Failure::Invalid("The provided 'x-amz-content-sha256' header does not match what was computed.".into()));
        }
    }
    let sent = decode_hex(&auth.signature).filter(|s| s.len() == 32).ok_or_else(|| Failure::Invalid(MISMATCH.into()))?;
    let key = signing_key(&secret, &auth.date, &auth.region, &auth.service);
    // The query as AWS canonicalises it (decoded, re-encoded, sorted); and, when that
    // differs, as botocore signs a query it finds already encoded in the URL (the raw
    // pairs, sorted). Both are derived from the request as received.
    let mut queries = vec![canonical_query(req.query)];
    let raw = canonical_query_raw(req.query);
    if raw != queries[0] {
        queries.push(raw);
    }
    let mut matched = false;
    for query in &queries {
        let canonical = canonical_request_with_query(req, query, &auth.signed_headers, &body_hash);
        let to_sign = string_to_sign(amz_date, &auth.scope(), &canonical);
        let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(to_sign.as_bytes());
        // `verify_slice` compares in constant time
        if mac.verify_slice(&sent).is_ok() {
            matched = true;
            break;
        }
        tracing::debug!(canonical_request = %canonical, string_to_sign = %to_sign, "SigV4 signature mismatch");
    }
    if !matched {
        return Err(Failure::Invalid(MISMATCH.into()));
    }
    Ok((
        Verified {
            access_key_id: auth.access_key_id,
            region: auth.region,
            service: auth.service,
            amz_date: amz_date.to_string(),
            session_token: req.header("x-amz-security-token").map(str::to_string),
        },
        tag,
    ))
}

/// The canonical request: method, canonical URI, canonical query, the canonical headers
/// of `signed_headers` (each line ended by `\n`, so a blank line follows), the signed
/// header list, and the payload hash; joined by `\n`.
pub fn canonical_request(req: &Request, signed_headers: &str, payload_hash: &str) -> String {
    canonical_request_with_query(req, &canonical_query(req.query), signed_headers, payload_hash)
}

fn canonical_request_with_query(req: &Request, canonical_query: &str, signed_headers: &str, payload_hash: &str) -> String {
    let mut names: Vec<&str> = signed_headers.split(';').collect();
    names.sort_unstable();
    names.dedup();
    let mut headers = String::new();
    for name in names {
        let value = req.header_values(name).map(trim_all).collect::<Vec<_>>().join(",");
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&value);
        headers.push('\n');
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_uri(req.path),
        canonical_query,
        headers,
        signed_headers,
        payload_hash
    )
}

/// `AWS4-HMAC-SHA256\n<X-Amz-Date>\n<scope>\n<hex sha256(canonical request)>`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical_request.as_bytes())))
}

/// `kSigning` = HMAC chain over `"AWS4"+secret`, date, region, service, `aws4_request`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    key
}

/// Sign `req` as a client does (specmill-client, tests): sets nothing, returns the
/// `Authorization` header value for the headers named in `signed_headers` (which must
/// already be in `req`, `x-amz-date` included).
pub fn sign(req: &Request, access_key_id: &str, secret: &str, region: &str, service: &str, signed_headers: &str) -> String {
    let amz_date = req.header("x-amz-date").unwrap_or_default().trim();
    let date = amz_date.get(..8).unwrap_or_default();
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let canonical = canonical_request(req, signed_headers, &hex(&Sha256::digest(req.body)));
    let to_sign = string_to_sign(amz_date, &scope, &canonical);
    let signature = hex(&hmac(&signing_key(secret, date, region, service), to_sign.as_bytes()));
    format!("{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}")
}

/// The path with dot segments and empty segments removed (botocore's
/// `normalize_url_path`), then every byte but unreserved ones and `/` percent-encoded, as
/// botocore encodes the already-encoded path once more.
pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let first = if path.starts_with('/') { "/" } else { "" };
    let last = if path.ends_with('/') && !out.is_empty() { "/" } else { "" };
    uri_encode(&format!("{first}{}{last}", out.join("/")), true)
}

/// The query's `k=v` pairs, each side percent-decoded and re-encoded with the unreserved
/// set, sorted by key then value, joined by `&` (empty pairs dropped).
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(&percent_decode(k), false), uri_encode(&percent_decode(v), false))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// botocore's form for a query already in the URL: the raw `k=v` pairs (`k` alone counts
/// as `k=`), sorted, joined by `&`.
pub fn canonical_query_raw(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(&str, &str)> = query.split('&').map(|p| p.split_once('=').unwrap_or((p, ""))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Trimmed, with every run of whitespace inside turned into one space (botocore's
/// `' '.join(value.split())`).
fn trim_all(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Percent-encode every byte outside `A-Z a-z 0-9 - _ . ~` (and `/` when `keep_slash`).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` decoded (a malformed escape is kept as it is); the bytes as UTF-8, lossily.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    s.as_bytes().chunks(2).map(|p| Some(hex_val(p[0])? << 4 | hex_val(p[1])?)).collect()
}

/// `YYYYMMDDTHHMMSSZ` → epoch seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, sec) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec)
}

/// Epoch seconds → `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in ["19700101T000000Z", "20261124T055708Z", "20240229T235959Z", "21000301T120000Z", "19691231T235959Z"] {
            let t = parse_amz_date(s).unwrap();
            assert_eq!(format_amz_date(t), s);
        }
        assert_eq!(parse_amz_date("20261124T055708Z"), Some(1_795_499_828));
        for bad in ["20261124T055708", "2026-11-24T05:57:08Z", "20230229T000000Z", "20261324T000000Z", "2026112xT000000Z", "+0261124T055708Z"] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn uri_and_query_canonicalisation() {
        assert_eq!(canonical_uri("/BatchPutMetrics"), "/BatchPutMetrics");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a/./b/../c//d/"), "/a/c/d/");
        // the wire path is already encoded; it is encoded once more
        assert_eq!(canonical_uri("/foo%20bar/~x"), "/foo%2520bar/~x");
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("k=a%20b&sp=a+b&u=%7e%2F"), "k=a%20b&sp=a%2Bb&u=~%2F");
        assert_eq!(canonical_query_raw("t=%7E&b=2&c&a=1"), "a=1&b=2&c=&t=%7E");
        assert_eq!(canonical_query_raw(""), "");
        assert_eq!(trim_all("  a \t  b  "), "a b");
    }

    #[test]
    fn authorization_header_parts() {
        let a = Authorization::parse(
            "AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(
            (a.access_key_id.as_str(), a.scope().as_str(), a.signed_headers.as_str(), a.signature.as_str()),
            ("AKID", "20261124/us-east-1/sagemaker/aws4_request", "content-type;host;x-amz-date", "abc")
        );
        let e = Authorization::parse("AWS4-HMAC-SHA256 Credential=AKID/20261124/us-east-1/sagemaker/aws4_request").unwrap_err();
        assert!(e.message().contains("requires 'SignedHeaders'") && e.message().contains("requires 'Signature'"), "{e:?}");
        assert!(matches!(Authorization::parse("Basic QUs6U0s="), Err(Failure::Invalid(_))));
        assert!(matches!(Authorization::parse("AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, Signature=ab"), Err(Failure::Invalid(_))));
    }
}

/// Properties (issue 10): canonicalisation invariants, URI-encoding round trips, and that a
/// signed request verifies while any change to a signed part of it is refused.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    const SERVICE: &str = "sagemaker";
    /// 1970-01-01 .. 2100-01-01 (epoch seconds).
    const YEAR_2100: i64 = 4_102_444_800;

    fn unreserved(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
    }

    /// Query pairs as they may come on the wire: any characters but the separators, `%XX`
    /// escapes (valid or not) and `+` included.
    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(("[^&=]{0,6}|[A-Za-z0-9%+]{0,6}", "[^&]{0,6}|[A-Za-z0-9%+=]{0,6}"), 0..8)
    }

    fn join(pairs: &[(String, String)]) -> String {
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    }

    /// A request with its signing inputs.
    #[derive(Debug, Clone)]
    struct Signed {
        method: String,
        path: String,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        signed: String,
        body: Vec<u8>,
        at: i64,
        akid: String,
        secret: String,
        region: String,
    }

    impl Signed {
        fn request(&self) -> Request<'_> {
            Request { method: &self.method, path: &self.path, query: "", headers: self.headers.clone(), body: &self.body }
        }

        /// The headers as sent: the signed ones and the `Authorization` computed over them.
        fn sent(&self, query: &str) -> Vec<(String, String)> {
            let req = Request { query, ..self.request() };
            let auth = sign(&req, &self.akid, &self.secret, &self.region, SERVICE, &self.signed);
            let mut headers = self.headers.clone();
            headers.push(("Authorization".into(), auth));
            headers
        }

        fn verify(&self, query: &str, headers: Vec<(String, String)>, body: &[u8], now: i64) -> Result<(Verified, String), Failure> {
            let req = Request { method: &self.method, path: &self.path, query, headers, body };
            let (akid, secret) = (self.akid.clone(), self.secret.clone());
            verify(&req, SERVICE, now, |k| (k == akid).then(|| ("tenant".to_string(), secret)))
        }
    }

    fn signed_request() -> impl Strategy<Value = Signed> {
        let extra = prop::collection::vec(("x-p-[a-z0-9-]{1,8}", any::<String>(), any::<bool>()), 0..5);
        (
            prop_oneof![Just("GET".to_string()), Just("POST".to_string()), "[A-Za-z]{1,7}"],
            prop::collection::vec("[^/]{0,8}", 0..4),
            pairs(),
            "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
            0..YEAR_2100,
            extra,
            prop::collection::vec(any::<u8>(), 0..64),
            (any::<bool>(), any::<bool>()),
            ("[A-Z0-9]{1,20}", "[A-Za-z0-9/+]{1,40}", "[a-z0-9-]{1,15}"),
        )
            .prop_map(|(method, segments, query, host, at, extra, body, (content_type, content_sha), (akid, secret, region))| {
                let mut headers = vec![("Host".to_string(), host), ("X-Amz-Date".to_string(), format_amz_date(at))];
                let mut signed = vec!["host".to_string(), "x-amz-date".to_string()];
                if content_type {
                    headers.push(("Content-Type".into(), "application/x-amz-json-1.1".into()));
                    signed.push("content-type".into());
                }
                if content_sha {
                    headers.push(("X-Amz-Content-Sha256".into(), hex(&Sha256::digest(&body))));
                    signed.push("x-amz-content-sha256".into());
                }
                for (name, value, sign) in extra {
                    if sign {
                        signed.push(name.clone());
                    }
                    headers.push((name, value));
                }
                signed.sort();
                signed.dedup();
                let path = format!("/{}", segments.join("/"));
                Signed { method, path, query, headers, signed: signed.join(";"), body, at, akid, secret, region }
            })
    }

    /// One change to a signed part of a request.
    #[derive(Debug, Clone)]
    enum Tamper {
        Body(prop::sample::Index, u8),
        SignedHeader(prop::sample::Index, prop::sample::Index),
        Date(i64),
        Signature(prop::sample::Index, u8),
        Method,
        Path,
        Query,
    }

    fn tamper() -> impl Strategy<Value = Tamper> {
        prop_oneof![
            (any::<prop::sample::Index>(), 1..=255u8).prop_map(|(i, x)| Tamper::Body(i, x)),
            (any::<prop::sample::Index>(), any::<prop::sample::Index>()).prop_map(|(h, c)| Tamper::SignedHeader(h, c)),
            prop_oneof![-MAX_SKEW_SECONDS..0, 1..=MAX_SKEW_SECONDS].prop_map(Tamper::Date),
            (any::<prop::sample::Index>(), 1..16u8).prop_map(|(i, d)| Tamper::Signature(i, d)),
            Just(Tamper::Method),
            Just(Tamper::Path),
            Just(Tamper::Query),
        ]
    }

    /// Replace one non-whitespace character (whitespace is not significant in a canonical
    /// header value) by another; a blank value gains one.
    fn change_value(value: &str, at: prop::sample::Index) -> String {
        let positions: Vec<usize> = value.char_indices().filter(|(_, c)| !c.is_whitespace()).map(|(i, _)| i).collect();
        if positions.is_empty() {
            return format!("{value}a");
        }
        let i = positions[at.index(positions.len())];
        let c = value[i..].chars().next().unwrap_or('a');
        let new = if c == 'a' { 'b' } else { 'a' };
        format!("{}{new}{}", &value[..i], &value[i + c.len_utf8()..])
    }

    proptest! {
        #[test]
        fn canonical_query_ignores_parameter_order(pairs in pairs(), seed in any::<prop::sample::Index>()) {
            let mut shuffled = pairs.clone();
            // a rotation and a reversal reach every order over the cases
            if !shuffled.is_empty() {
                let k = seed.index(shuffled.len());
                shuffled.rotate_left(k);
                if k % 2 == 1 {
                    shuffled.reverse();
                }
            }
            prop_assert_eq!(canonical_query(&join(&pairs)), canonical_query(&join(&shuffled)));
            prop_assert_eq!(canonical_query_raw(&join(&pairs)), canonical_query_raw(&join(&shuffled)));
        }

        #[test]
        fn canonical_query_is_canonical(query in "[^#]{0,40}") {
            let once = canonical_query(&query);
            // sorted pairs of encoded text: canonicalising again changes nothing
            prop_assert_eq!(canonical_query(&once), once.clone());
            for pair in once.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').expect("every canonical pair has `=`");
                prop_assert_eq!(uri_encode(&percent_decode(k), false), k);
                prop_assert_eq!(uri_encode(&percent_decode(v), false), v);
            }
        }

        #[test]
        fn uri_encoding_round_trips_and_keeps_only_unreserved(s in any::<String>(), keep_slash in any::<bool>()) {
            let enc = uri_encode(&s, keep_slash);
            prop_assert_eq!(percent_decode(&enc), s.clone());
            let b = enc.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    let escaped = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                    prop_assert!(b[i + 1..i + 3].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{}", enc);
                    let e = escaped.expect("two hex digits after %");
                    // only what must be escaped is
                    prop_assert!(!unreserved(e) && !(keep_slash && e == b'/'), "{} escapes {:?}", enc, e as char);
                    i += 3;
                } else {
                    prop_assert!(unreserved(b[i]) || (keep_slash && b[i] == b'/'), "{} keeps {:?}", enc, b[i] as char);
                    i += 1;
                }
            }
        }

        #[test]
        fn canonical_uri_removes_dot_and_empty_segments(segments in prop::collection::vec("[^/]{1,6}", 0..5), noise in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8), 0..4), slash in any::<bool>()) {
            let segments: Vec<String> = segments.into_iter().filter(|s| s != "." && s != "..").collect();
            let path = format!("/{}{}", segments.join("/"), if slash && !segments.is_empty() { "/" } else { "" });
            let mut noisy = segments.clone();
            for (at, kind) in noise {
                let at = at.index(noisy.len() + 1);
                match kind {
                    // an empty segment at the end would be a trailing slash
                    1 if at < noisy.len() => noisy.insert(at, String::new()),
                    0 | 1 => noisy.insert(at, ".".into()),
                    _ => {
                        noisy.insert(at, "..".into());
                        noisy.insert(at, "gone".into());
                    }
                }
            }
            let noisy = format!("/{}{}", noisy.join("/"), if slash && !segments.is_empty() { "/" } else { "" });
            prop_assert_eq!(canonical_uri(&noisy), canonical_uri(&path));
            prop_assert_eq!(percent_decode(&canonical_uri(&path)), path);
        }

        #[test]
        fn amz_dates_round_trip(t in -62_167_219_200i64..253_402_300_800) {
            let s = format_amz_date(t);
            prop_assert_eq!(parse_amz_date(&s), Some(t));
        }

        #[test]
        fn amz_date_parser_takes_any_text(s in "[0-9]{8}T[0-9]{6}Z|[0-9TZ+ -]{16}|\\PC{0,20}") {
            // what it accepts is a date it would write (a leap second reads as the next minute)
            if let Some(t) = parse_amz_date(&s) {
                if !s.ends_with("60Z") {
                    prop_assert_eq!(format_amz_date(t), s);
                }
            }
        }

        #[test]
        fn authorization_header_round_trips(akid in "[A-Za-z0-9]{1,20}", date in "[0-9]{8}", region in "[a-z0-9-]{1,15}", service in "[a-z-]{1,12}", signed in "[a-z0-9-]{1,10}(;[a-z0-9-]{1,10}){0,4}", signature in "[0-9a-f]{64}", spaces in "[ ]{0,3}") {
            let header = format!("{ALGORITHM} Credential={akid}/{date}/{region}/{service}/aws4_request,{spaces}SignedHeaders={signed},{spaces}Signature={signature}");
            let a = Authorization::parse(&header).unwrap();
            prop_assert_eq!((a.access_key_id, a.date, a.region, a.service, a.terminator), (akid, date, region, service, "aws4_request".to_string()));
            prop_assert_eq!((a.signed_headers, a.signature), (signed, signature));
        }

        #[test]
        fn signed_requests_verify(r in signed_request(), skew in -MAX_SKEW_SECONDS..=MAX_SKEW_SECONDS, seed in any::<prop::sample::Index>()) {
            let query = join(&r.query);
            let headers = r.sent(&query);
            let (verified, tenant) = r.verify(&query, headers.clone(), &r.body, r.at + skew).unwrap();
            prop_assert_eq!((verified.access_key_id.as_str(), verified.region.as_str(), tenant.as_str()), (r.akid.as_str(), r.region.as_str(), "tenant"));
            // the canonical query is sorted: the parameters may come in another order
            let mut reordered = r.query.clone();
            if !reordered.is_empty() {
                let k = seed.index(reordered.len());
                reordered.rotate_left(k);
            }
            prop_assert!(r.verify(&join(&reordered), headers.clone(), &r.body, r.at + skew).is_ok());
            // outside the allowed clock skew, a wrong secret, another service, an unknown key
            prop_assert!(matches!(r.verify(&query, headers.clone(), &r.body, r.at + MAX_SKEW_SECONDS + 1), Err(Failure::Invalid(_))));
            let req = Request { method: &r.method, path: &r.path, query: &query, headers: headers.clone(), body: &r.body };
            let wrong = format!("{}x", r.secret);
            prop_assert!(matches!(verify(&req, SERVICE, r.at, |_| Some(((), wrong))), Err(Failure::Invalid(_))));
            prop_assert!(matches!(verify(&req, "sts", r.at, |_| Some(((), r.secret.clone()))), Err(Failure::Invalid(_))));
            prop_assert!(matches!(verify(&req, SERVICE, r.at, |_| None::<((), String)>), Err(Failure::UnknownKey(_))));
        }

        #[test]
        fn tampering_with_a_signed_part_is_refused(r in signed_request(), t in tamper()) {
            let mut query = join(&r.query);
            let mut headers = r.sent(&query);
            let mut body = r.body.clone();
            let mut now = r.at;
            let mut method = r.method.clone();
            let mut path = r.path.clone();
            match t {
                Tamper::Body(i, x) if !body.is_empty() => {
                    let i = i.index(body.len());
                    body[i] ^= x;
                }
                Tamper::Body(_, x) => body.push(x),
                Tamper::SignedHeader(h, c) => {
                    let names: Vec<&str> = r.signed.split(';').collect();
                    let signed: Vec<usize> = (0..headers.len()).filter(|i| names.contains(&headers[*i].0.to_ascii_lowercase().as_str())).collect();
                    let i = signed[h.index(signed.len())];
                    headers[i].1 = change_value(&headers[i].1, c);
                }
                Tamper::Date(d) => {
                    for h in headers.iter_mut().filter(|h| h.0 == "X-Amz-Date") {
                        h.1 = format_amz_date(r.at + d);
                    }
                    now = r.at + d;
                }
                Tamper::Signature(i, d) => {
                    let auth = &mut headers.last_mut().unwrap().1;
                    let start = auth.find("Signature=").unwrap() + "Signature=".len();
                    let i = start + i.index(64);
                    let digit = (auth.as_bytes()[i] as char).to_digit(16).unwrap();
                    let new = std::char::from_digit((digit + u32::from(d)) % 16, 16).unwrap();
                    auth.replace_range(i..=i, &new.to_string());
                }
                Tamper::Method => method = format!("{method}X"),
                Tamper::Path => path = format!("{path}/x"),
                Tamper::Query => query = if query.is_empty() { "x=1".into() } else { format!("{query}&x=1") },
            }
            let req = Request { method: &method, path: &path, query: &query, headers, body: &body };
            let got = verify(&req, SERVICE, now, |_| Some(((), r.secret.clone())));
            prop_assert!(matches!(got, Err(Failure::Invalid(_))), "{:?}", got);
        }

        #[test]
        fn arbitrary_headers_never_panic(
            headers in prop::collection::vec((prop_oneof![Just("authorization".to_string()), Just("x-amz-date".to_string()), Just("host".to_string()), Just("x-amz-content-sha256".to_string()), "\\PC{0,8}"], any::<String>()), 0..6),
            auth in ("\\PC{0,10}", "\\PC{0,10}", "\\PC{0,12}", "[0-9a-fA-F]{0,66}|\\PC{0,8}"),
            date in "[0-9]{8}T[0-9]{6}Z|\\PC{0,17}",
            body in prop::collection::vec(any::<u8>(), 0..16),
            now in any::<i64>(),
        ) {
            let (scope, region, signed, signature) = auth;
            let mut headers = headers;
            headers.push(("authorization".into(), format!("{ALGORITHM} Credential=AK/{scope}/{region}/sagemaker/aws4_request, SignedHeaders={signed}, Signature={signature}")));
            headers.push(("x-amz-date".into(), date));
            let req = Request { method: "POST", path: "/", query: "", headers, body: &body };
            let got = verify(&req, SERVICE, now, |_| Some(((), "secret".to_string())));
            prop_assert!(got.is_err());
            let _ = Authorization::parse(&req.headers[0].1);
        }
    }
}
