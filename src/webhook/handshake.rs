//! The subscription handshake: Meta's `GET` with `hub.mode=subscribe`,
//! `hub.verify_token` and `hub.challenge`, answered with the challenge only
//! when the token is the receiver's.

use super::error::{HandshakeRefusal, WebhookError, WebhookErrorKind};
use super::secret::VerifyToken;

/// The longest `hub.challenge` echoed, in bytes (Meta sends an integer).
const MAX_CHALLENGE_LEN: usize = 256;

/// The three parameters of a handshake, each `None` when missing and
/// `Some(None)` when sent more than once (ambiguous: refused).
#[derive(Default)]
struct Params {
    mode: Option<Option<String>>,
    token: Option<Option<String>>,
    challenge: Option<Option<String>>,
}

impl Params {
    fn read<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut params = Self::default();
        for (key, value) in pairs {
            let slot = match key.as_ref() {
                "hub.mode" => &mut params.mode,
                "hub.verify_token" => &mut params.token,
                "hub.challenge" => &mut params.challenge,
                _ => continue,
            };
            *slot = match slot {
                None => Some(Some(value.as_ref().to_owned())),
                Some(_) => Some(None),
            };
        }
        params
    }
}

/// Answers a handshake given as its query string (`hub.mode=subscribe&…`,
/// percent-encoded as sent; a leading `?` is ignored).
pub(crate) fn answer_query(token: &VerifyToken, query: &str) -> Result<String, WebhookError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    answer_pairs(token, url::form_urlencoded::parse(query.as_bytes()))
}

/// Answers a handshake given as decoded query pairs.
pub(crate) fn answer_pairs<K: AsRef<str>, V: AsRef<str>>(
    token: &VerifyToken,
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Result<String, WebhookError> {
    if token.is_empty() {
        return Err(WebhookError::new(WebhookErrorKind::NotConfigured));
    }
    let params = Params::read(pairs);
    if params.mode.flatten().as_deref() != Some("subscribe") {
        return Err(WebhookError::refused(HandshakeRefusal::NotSubscribe));
    }
    let sent = params.token.flatten().unwrap_or_default();
    if !token.matches(sent.as_bytes()) {
        return Err(WebhookError::refused(HandshakeRefusal::WrongToken));
    }
    match params.challenge.flatten() {
        Some(challenge) if plain(&challenge) => Ok(challenge),
        _ => Err(WebhookError::refused(HandshakeRefusal::BadChallenge)),
    }
}

/// A challenge safe to echo as the body of a `text/plain` answer.
fn plain(challenge: &str) -> bool {
    (1..=MAX_CHALLENGE_LEN).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> VerifyToken {
        VerifyToken::new("meatyhamhock")
    }

    fn refusal(result: Result<String, WebhookError>) -> HandshakeRefusal {
        match result.unwrap_err().kind() {
            WebhookErrorKind::HandshakeRefused(reason) => *reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_metas_sample_request() {
        let query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
        assert_eq!(answer_query(&token(), query).unwrap(), "1158201444");
        assert_eq!(
            answer_query(&token(), &format!("?{query}&other=1")).unwrap(),
            "1158201444"
        );
        let encoded = "hub.mode=subscribe&hub.verify_token=a%20b%2Bc&hub.challenge=42";
        assert_eq!(
            answer_query(&VerifyToken::new("a b+c"), encoded).unwrap(),
            "42"
        );
        let pairs = [
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "meatyhamhock"),
            ("hub.challenge", "7"),
        ];
        assert_eq!(answer_pairs(&token(), pairs).unwrap(), "7");
    }

    #[test]
    fn refuses_wrong_mode_token_or_challenge() {
        let t = token();
        assert_eq!(
            refusal(answer_query(
                &t,
                "hub.mode=unsubscribe&hub.verify_token=meatyhamhock&hub.challenge=1"
            )),
            HandshakeRefusal::NotSubscribe
        );
        assert_eq!(
            refusal(answer_query(
                &t,
                "hub.verify_token=meatyhamhock&hub.challenge=1"
            )),
            HandshakeRefusal::NotSubscribe
        );
        assert_eq!(
            refusal(answer_query(
                &t,
                "hub.mode=subscribe&hub.verify_token=meatyhamhoc&hub.challenge=1"
            )),
            HandshakeRefusal::WrongToken
        );
        assert_eq!(
            refusal(answer_query(&t, "hub.mode=subscribe&hub.challenge=1")),
            HandshakeRefusal::WrongToken
        );
        assert_eq!(
            refusal(answer_query(
                &t,
                "hub.mode=subscribe&hub.verify_token=x&hub.verify_token=meatyhamhock&hub.challenge=1"
            )),
            HandshakeRefusal::WrongToken
        );
        for challenge in ["", "<script>", "1%0A2", &"9".repeat(257)] {
            assert_eq!(
                refusal(answer_query(
                    &t,
                    &format!("hub.mode=subscribe&hub.verify_token=meatyhamhock&hub.challenge={challenge}")
                )),
                HandshakeRefusal::BadChallenge,
                "{challenge:?}"
            );
        }
        assert_eq!(
            refusal(answer_query(
                &t,
                "hub.mode=subscribe&hub.verify_token=meatyhamhock"
            )),
            HandshakeRefusal::BadChallenge
        );
    }

    #[test]
    fn an_empty_token_answers_nothing() {
        let err = answer_query(
            &VerifyToken::new(""),
            "hub.mode=subscribe&hub.verify_token=&hub.challenge=1",
        )
        .unwrap_err();
        assert_eq!(err.kind(), &WebhookErrorKind::NotConfigured);
    }
}
