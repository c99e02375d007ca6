//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body
//! keyed with the app secret, checked in constant time.

use hmac::Mac;

use super::error::{WebhookError, WebhookErrorKind};
use super::secret::AppSecret;

/// The header Meta signs each delivery in (matched case-insensitively).
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// The length of an HMAC-SHA256 tag in bytes.
const TAG_LEN: usize = 32;

/// A signature as sent: the 32 bytes of its tag.
pub(crate) type Tag = [u8; TAG_LEN];

/// The one `X-Hub-Signature-256` value among `headers` (name matched
/// case-insensitively). Sent twice, the header is ambiguous: malformed.
pub(crate) fn find_header<'a, I>(headers: I) -> Result<Option<&'a [u8]>, WebhookError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    let mut found = None;
    for (name, value) in headers {
        if name.trim().eq_ignore_ascii_case(SIGNATURE_HEADER) {
            if found.is_some() {
                return Err(WebhookError::new(WebhookErrorKind::MalformedSignature));
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// Reads a header value: `sha256=` (any case) and exactly 64 hex digits
/// (either case), surrounding whitespace ignored.
pub(crate) fn parse_header(value: &[u8]) -> Result<Tag, WebhookError> {
    let malformed = || WebhookError::new(WebhookErrorKind::MalformedSignature);
    let value = value.trim_ascii();
    let (prefix, hex) = value.split_at_checked(7).ok_or_else(malformed)?;
    if !prefix.eq_ignore_ascii_case(b"sha256=") || hex.len() != TAG_LEN * 2 {
        return Err(malformed());
    }
    let mut tag = [0u8; TAG_LEN];
    // RustCrypto's constant-time codec, either case.
    match base16ct::mixed::decode(hex, &mut tag) {
        Ok(decoded) if decoded.len() == TAG_LEN => {}
        _ => return Err(malformed()),
    }
    Ok(tag)
}

/// Whether `tag` is the HMAC-SHA256 of `body` under `secret`, compared in
/// constant time (`Mac::verify_slice`).
pub(crate) fn verify(secret: &AppSecret, tag: &Tag, body: &[u8]) -> Result<(), WebhookError> {
    secret
        .mac(body)
        .verify_slice(tag)
        .map_err(|_| WebhookError::new(WebhookErrorKind::BadSignature))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn reads_meta_header_in_any_case() {
        let tag = parse_header(format!("sha256={HEX}").as_bytes()).unwrap();
        assert_eq!(tag[0], 0x5b);
        assert_eq!(tag[31], 0x43);
        let upper = format!(" SHA256={} \t", HEX.to_uppercase());
        assert_eq!(parse_header(upper.as_bytes()).unwrap(), tag);
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            String::new(),
            "sha256=".to_owned(),
            HEX.to_owned(),
            format!("sha1={HEX}"),
            format!("sha256:{HEX}"),
            format!("sha256={}", &HEX[..63]),
            format!("sha256={HEX}0"),
            format!("sha256={}g", &HEX[..63]),
            format!("sha256= {HEX}"),
            format!("sha256={}é", &HEX[..62]),
        ] {
            assert_eq!(
                parse_header(bad.as_bytes()).unwrap_err().kind(),
                &WebhookErrorKind::MalformedSignature,
                "{bad:?}"
            );
        }
        assert!(parse_header(&[0xff; 71]).is_err());
    }

    #[test]
    fn finds_the_header_case_insensitively_and_once() {
        let headers: [(&str, &[u8]); 2] =
            [("content-type", b"json"), ("x-hub-SIGNATURE-256", b"v")];
        assert_eq!(find_header(headers).unwrap(), Some(&b"v"[..]));
        let legacy: [(&str, &[u8]); 1] = [("X-Hub-Signature", b"sha1=00")];
        assert_eq!(find_header(legacy).unwrap(), None);
        let twice: [(&str, &[u8]); 2] = [(SIGNATURE_HEADER, b"a"), ("x-hub-signature-256", b"b")];
        assert_eq!(
            find_header(twice).unwrap_err().kind(),
            &WebhookErrorKind::MalformedSignature
        );
    }

    #[test]
    fn verifies_in_constant_time_against_the_secret() {
        let secret = AppSecret::new("Jefe");
        let body = b"what do ya want for nothing?";
        let tag = parse_header(secret.signature_header(body).as_bytes()).unwrap();
        assert!(verify(&secret, &tag, body).is_ok());
        assert_eq!(
            verify(&AppSecret::new("jefe"), &tag, body)
                .unwrap_err()
                .kind(),
            &WebhookErrorKind::BadSignature
        );
        assert!(verify(&secret, &tag, &body[..body.len() - 1]).is_err());
    }
}
