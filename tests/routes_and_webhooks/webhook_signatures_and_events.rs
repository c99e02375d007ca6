//! Signed webhooks end to end through the public API: the handshake, every
//! way a delivery's signature can be wrong, the size limit, replays, and
//! the typed events a valid delivery carries.
#![cfg(feature = "webhooks")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use waba_porting::webhook::{
    AccountEvent, BanState, ChangeValue, HandshakeRefusal, NameDecision, QualityEvent,
    DEFAULT_MAX_BODY_BYTES, SIGNATURE_HEADER,
};
use waba_porting::{
    AccountReviewStatus, AppSecret, VerifyToken, WebhookErrorKind, WebhookReceiver,
};

const SECRET: &str = "4f1c0a8e2b7d9e3f5a6b7c8d9e0f1a2b";
const TOKEN: &str = "meatyhamhock";

/// Three entries of Meta's documented shapes, one of them with two changes,
/// and one field this crate does not type.
const DELIVERY: &str = r#"{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "time": 1739321024,
      "changes": [
        {
          "value": {
            "display_phone_number": "+1 415-555-0123",
            "decision": "APPROVED",
            "requested_verified_name": "Lucky Shrub",
            "rejection_reason": null
          },
          "field": "phone_number_name_update"
        },
        {
          "value": {
            "display_phone_number": "14155550123",
            "event": "FLAGGED",
            "current_limit": "TIER_10K",
            "max_daily_conversations_per_business": "TIER_2K"
          },
          "field": "phone_number_quality_update"
        }
      ]
    },
    {
      "id": "2949482758682047",
      "time": 1745337174,
      "changes": [
        {
          "value": {
            "event": "PARTNER_APP_INSTALLED",
            "waba_info": {
              "waba_id": "1191624265890717",
              "owner_business_id": "2329417887457253",
              "partner_app_id": "5731794616896507",
              "solution_id": "1715120619246906",
              "solution_partner_business_ids": ["2949482758682047", "520744086200222"]
            }
          },
          "field": "account_update"
        },
        {
          "value": { "decision": "DEFERRED" },
          "field": "account_review_update"
        }
      ]
    },
    {
      "id": "102290129340398",
      "time": 1743451903,
      "changes": [
        {
          "value": {
            "event": "DISABLED_UPDATE",
            "ban_info": { "waba_ban_state": "SCHEDULE_FOR_DISABLE", "waba_ban_date": "April 17, 2025" }
          },
          "field": "account_update"
        },
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "statuses": []
          },
          "field": "messages"
        }
      ]
    }
  ]
}"#;

fn receiver() -> WebhookReceiver {
    WebhookReceiver::new(SECRET, TOKEN)
}

fn sign(body: &[u8]) -> String {
    AppSecret::new(SECRET).signature_header(body)
}

fn refused(
    result: Result<waba_porting::webhook::Delivery, waba_porting::WebhookError>,
) -> (WebhookErrorKind, u16) {
    let err = result.expect_err("refused");
    let text = err.to_string();
    assert!(
        !text.contains(SECRET) && !text.contains("Lucky Shrub"),
        "{text}"
    );
    (err.kind().clone(), err.http_status())
}

#[test]
fn a_valid_delivery_reads_into_typed_events() {
    let body = DELIVERY.as_bytes();
    let header = sign(body);
    let delivery = receiver()
        .receive_with_headers(
            [
                ("content-type", &b"application/json"[..]),
                ("x-hub-signature-256", header.as_bytes()),
            ],
            body,
        )
        .expect("accepted");
    assert!(delivery.is_whatsapp_business_account());
    assert_eq!(delivery.entries().len(), 3);
    let changes: Vec<_> = delivery.changes().collect();
    assert_eq!(changes.len(), 6);

    // phone_number_name_update: the number as a PhoneNumber, the decision.
    let name = changes[0];
    assert_eq!(
        name.waba_id().valid().map(|id| id.as_str()),
        Some("102290129340398")
    );
    assert_eq!(name.unix_time(), Some(1739321024));
    assert_eq!(name.field(), "phone_number_name_update");
    assert_eq!(name.event(), Some("APPROVED"));
    assert_eq!(
        name.phone_number()
            .and_then(|n| n.valid())
            .map(|n| n.e164()),
        Some("+14155550123")
    );
    let ChangeValue::PhoneNumberNameUpdate(update) = name.value() else {
        panic!("{:?}", name.value())
    };
    assert_eq!(update.decision, Some(NameDecision::Approved));
    assert_eq!(
        update.requested_verified_name.as_deref(),
        Some("Lucky Shrub")
    );
    assert_eq!(update.rejection_reason, None);

    // phone_number_quality_update: display digits read as the same number.
    let quality = changes[1];
    assert_eq!(quality.phone_number().unwrap().as_sent(), "14155550123");
    assert_eq!(
        quality.phone_number().unwrap().valid(),
        name.phone_number().unwrap().valid()
    );
    let ChangeValue::PhoneNumberQualityUpdate(update) = quality.value() else {
        panic!()
    };
    assert_eq!(update.event, Some(QualityEvent::Flagged));
    assert_eq!(update.current_limit.as_deref(), Some("TIER_10K"));
    assert_eq!(
        update.max_daily_conversations_per_business.as_deref(),
        Some("TIER_2K")
    );

    // account_update PARTNER_APP_INSTALLED, from another WABA's entry.
    let installed = changes[2];
    assert_eq!(installed.waba_id().as_sent(), "2949482758682047");
    assert_eq!(installed.phone_number(), None);
    let ChangeValue::AccountUpdate(update) = installed.value() else {
        panic!()
    };
    assert_eq!(update.event, Some(AccountEvent::PartnerAppInstalled));
    let info = update.waba_info.as_ref().unwrap();
    assert_eq!(info.waba_id.as_ref().unwrap().as_sent(), "1191624265890717");
    assert_eq!(info.partner_app_id.as_deref(), Some("5731794616896507"));
    assert_eq!(info.solution_partner_business_ids.len(), 2);

    // account_review_update: the crate's AccountReviewStatus, with its meaning.
    let ChangeValue::AccountReviewUpdate(review) = changes[3].value() else {
        panic!()
    };
    assert_eq!(review.decision, Some(AccountReviewStatus::Deferred));

    let ChangeValue::AccountUpdate(ban) = changes[4].value() else {
        panic!()
    };
    assert_eq!(ban.event, Some(AccountEvent::DisabledUpdate));
    assert_eq!(
        ban.ban_info.as_ref().unwrap().waba_ban_state,
        Some(BanState::ScheduleForDisable)
    );

    // An untyped field: kept as sent, still routed by number id.
    let message = changes[5];
    assert!(matches!(message.value(), ChangeValue::Other { field, .. } if field == "messages"));
    assert_eq!(
        message
            .phone_number_id()
            .unwrap()
            .valid()
            .map(|id| id.as_str()),
        Some("106540352242922")
    );

    // Every change has its own fingerprint, the same when read again.
    let again = waba_porting::webhook::Delivery::parse(body).unwrap();
    let ids: Vec<_> = changes.iter().map(|c| c.id()).collect();
    assert_eq!(ids, again.changes().map(|c| c.id()).collect::<Vec<_>>());
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 6);
}

#[test]
fn a_replay_is_refused_and_answered_200() {
    let receiver = receiver();
    let body = DELIVERY.as_bytes();
    let header = sign(body);
    let delivery = receiver.receive(Some(header.as_bytes()), body).unwrap();
    // While the first copy is handled, a retry is told to come back later.
    assert_eq!(
        refused(receiver.receive(Some(header.as_bytes()), body)),
        (WebhookErrorKind::InProgress, 503)
    );
    assert!(receiver.commit(&delivery));
    assert_eq!(
        refused(receiver.receive(Some(header.as_bytes()), body)),
        (WebhookErrorKind::Replayed, 200)
    );
    // Upper-case hex is the same signature: still a replay.
    let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
    assert_eq!(
        refused(receiver.receive(Some(upper.as_bytes()), body)).0,
        WebhookErrorKind::Replayed
    );
}

#[test]
fn concurrent_copies_of_one_delivery_are_accepted_once() {
    let receiver = Arc::new(receiver());
    let body = DELIVERY.as_bytes();
    let header = sign(body);
    let accepted: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let receiver = Arc::clone(&receiver);
                let header = header.clone();
                scope.spawn(move || receiver.receive(Some(header.as_bytes()), body).is_ok())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum()
    });
    assert_eq!(accepted, 1);
}

#[test]
fn missing_malformed_and_bad_signatures_are_refused() {
    let receiver = receiver();
    let body = DELIVERY.as_bytes();
    assert_eq!(
        refused(receiver.receive(None, body)),
        (WebhookErrorKind::MissingSignature, 401)
    );
    assert_eq!(
        refused(receiver.receive_with_headers([("X-Hub-Signature", &b"sha1=abc"[..])], body)),
        (WebhookErrorKind::MissingSignature, 401)
    );
    let good = sign(body);
    let hex = &good["sha256=".len()..];
    for malformed in [
        hex.to_owned(),
        format!("sha1={hex}"),
        format!("sha256={}", &hex[..40]),
        format!("sha256={hex}ab"),
        format!("sha256={}xy", &hex[..62]),
        "sha256=".to_owned(),
        String::new(),
    ] {
        assert_eq!(
            refused(receiver.receive(Some(malformed.as_bytes()), body)),
            (WebhookErrorKind::MalformedSignature, 401),
            "{malformed:?}"
        );
    }
    let twice = [
        (SIGNATURE_HEADER, good.as_bytes()),
        ("x-hub-signature-256", good.as_bytes()),
    ];
    assert_eq!(
        refused(receiver.receive_with_headers(twice, body)).0,
        WebhookErrorKind::MalformedSignature
    );
    let wrong_secret = AppSecret::new("another app's secret").signature_header(body);
    assert_eq!(
        refused(receiver.receive(Some(wrong_secret.as_bytes()), body)),
        (WebhookErrorKind::BadSignature, 403)
    );
    let mut flipped = good.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        refused(receiver.receive(Some(&flipped), body)).0,
        WebhookErrorKind::BadSignature
    );
}

#[test]
fn a_signature_for_another_body_is_a_mismatch() {
    let receiver = receiver();
    let other = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let header_of_other = sign(other);
    assert_eq!(
        refused(receiver.receive(Some(header_of_other.as_bytes()), DELIVERY.as_bytes())),
        (WebhookErrorKind::BadSignature, 403)
    );
    // The other body itself still goes through: the refusal remembered nothing.
    assert!(receiver
        .receive(Some(header_of_other.as_bytes()), other)
        .is_ok());
}

#[test]
fn a_truncated_body_is_refused_without_panicking() {
    let receiver = receiver();
    let body = DELIVERY.as_bytes();
    let header = sign(body);
    for cut in [0, 1, body.len() / 2, body.len() - 1] {
        assert_eq!(
            refused(receiver.receive(Some(header.as_bytes()), &body[..cut])).0,
            WebhookErrorKind::BadSignature,
            "cut at {cut}"
        );
        // Signed as cut (a relay that signs what it got): not JSON, 400.
        let signed_cut = sign(&body[..cut]);
        assert_eq!(
            refused(receiver.receive(Some(signed_cut.as_bytes()), &body[..cut])),
            (WebhookErrorKind::Malformed, 400),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_10_mib_body_is_refused_before_it_is_hashed() {
    let receiver = receiver();
    assert_eq!(receiver.max_body_bytes(), DEFAULT_MAX_BODY_BYTES);
    let huge = vec![b'{'; 10 * 1024 * 1024];
    // Even correctly signed, it is refused by size: the size comes first.
    let header = sign(&huge);
    let started = Instant::now();
    for _ in 0..1000 {
        assert_eq!(
            refused(receiver.receive(Some(header.as_bytes()), &huge)),
            (
                WebhookErrorKind::TooLarge {
                    len: huge.len(),
                    max: DEFAULT_MAX_BODY_BYTES
                },
                413
            )
        );
    }
    // A thousand refusals of 10 MiB: hashing even one would take longer.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(refused(receiver.receive(None, &huge)).1, 413);

    let small = WebhookReceiver::builder(SECRET, TOKEN)
        .max_body_bytes(64)
        .build();
    let body = DELIVERY.as_bytes();
    assert!(matches!(
        refused(small.receive(Some(sign(body).as_bytes()), body)).0,
        WebhookErrorKind::TooLarge { max: 64, .. }
    ));
}

#[test]
fn unknown_fields_events_and_objects_are_kept() {
    let body = br#"{"object":"instagram","entry":[{"id":"102290129340398","time":1,"changes":[
        {"field":"account_update","value":{"event":"SOMETHING_NEW","brand_new":{"a":1},"waba_info":{"waba_id":"not-digits"}}},
        {"field":"phone_number_quality_update","value":{"event":"QUALITY_WOBBLE","display_phone_number":"not a number"}},
        {"field":"a_field_from_2030","value":[1,2,3]}]}],"extra_envelope":true}"#;
    let delivery = receiver()
        .receive(Some(sign(body).as_bytes()), body)
        .expect("kept");
    assert_eq!(delivery.object(), "instagram");
    let changes: Vec<_> = delivery.changes().collect();
    let ChangeValue::AccountUpdate(update) = changes[0].value() else {
        panic!()
    };
    assert_eq!(
        update.event,
        Some(AccountEvent::Other("SOMETHING_NEW".into()))
    );
    assert_eq!(changes[0].event(), Some("SOMETHING_NEW"));
    assert!(update.extra.contains_key("brand_new"));
    let waba = update.waba_info.as_ref().unwrap().waba_id.as_ref().unwrap();
    assert!(!waba.is_valid());
    assert_eq!(waba.as_sent(), "not-digits");
    assert_eq!(changes[1].event(), Some("QUALITY_WOBBLE"));
    assert!(!changes[1].phone_number().unwrap().is_valid());
    assert_eq!(changes[1].phone_number().unwrap().as_sent(), "not a number");
    assert!(matches!(
        changes[2].value(),
        ChangeValue::Other { field, value } if field == "a_field_from_2030" && value.is_array()
    ));
}

#[test]
fn the_handshake_answers_only_the_right_token_and_mode() {
    let receiver = receiver();
    assert_eq!(
        receiver
            .handshake("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock")
            .unwrap(),
        "1158201444"
    );
    assert_eq!(
        receiver
            .handshake_pairs([
                ("hub.verify_token", TOKEN),
                ("hub.mode", "subscribe"),
                ("hub.challenge", "42"),
            ])
            .unwrap(),
        "42"
    );
    let wrong_token = receiver
        .handshake("hub.mode=subscribe&hub.challenge=1&hub.verify_token=meatyhamhocks")
        .unwrap_err();
    assert_eq!(
        wrong_token.kind(),
        &WebhookErrorKind::HandshakeRefused(HandshakeRefusal::WrongToken)
    );
    assert_eq!(wrong_token.http_status(), 403);
    assert!(!wrong_token.to_string().contains(TOKEN));
    let wrong_mode = receiver
        .handshake("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock")
        .unwrap_err();
    assert_eq!(
        wrong_mode.kind(),
        &WebhookErrorKind::HandshakeRefused(HandshakeRefusal::NotSubscribe)
    );
    assert_eq!(wrong_mode.http_status(), 403);
    let no_challenge = receiver
        .handshake("hub.mode=subscribe&hub.verify_token=meatyhamhock")
        .unwrap_err();
    assert_eq!(no_challenge.http_status(), 400);
}

#[test]
fn secrets_are_redacted() {
    let shown = format!(
        "{:?} {:?} {:?}",
        AppSecret::new(SECRET),
        VerifyToken::new(TOKEN),
        receiver()
    );
    assert!(shown.contains("[redacted]"));
    assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
}

proptest! {
    #![proptest_config(crate::common::proptest_config(512))]

    /// Any bytes, correctly signed, are read or refused as malformed: never
    /// a panic, never another refusal.
    #[test]
    fn any_signed_body_is_read_or_malformed(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let receiver = WebhookReceiver::builder(SECRET, TOKEN).replay_capacity(0).build();
        match receiver.receive(Some(sign(&body).as_bytes()), &body) {
            Ok(delivery) => {
                for change in delivery.changes() {
                    let _ = (change.id(), change.event());
                }
            }
            Err(err) => prop_assert_eq!(err.kind(), &WebhookErrorKind::Malformed),
        }
    }

    /// JSON-shaped bodies reach the event reader: an envelope of arbitrary
    /// values, signed, is read without panicking.
    #[test]
    fn any_signed_envelope_is_read(
        field in prop_oneof![
            Just("account_update".to_owned()),
            Just("phone_number_quality_update".to_owned()),
            Just("phone_number_name_update".to_owned()),
            Just("account_review_update".to_owned()),
            "[a-z_]{0,12}",
        ],
        key in prop_oneof![
            Just("event"), Just("waba_info"), Just("ban_info"), Just("restriction_info"),
            Just("display_phone_number"), Just("decision"), Just("metadata"), Just("phone_number"),
        ],
        value in prop_oneof![
            Just("null".to_owned()), Just("{}".to_owned()), Just("[{}]".to_owned()),
            Just("[1,\"2\",{}]".to_owned()), "\"[ -~]{0,20}\"", "-?[0-9]{1,25}(\\.[0-9]{1,5})?",
            Just("{\"waba_id\":7,\"waba_ban_state\":[],\"phone_number_id\":\"1\"}".to_owned()),
        ],
        id in prop_oneof![Just("\"102290129340398\"".to_owned()), "-?[0-9]{1,40}", Just("\"\"".to_owned())],
    ) {
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":{id},"time":{id},"changes":[{{"field":"{field}","value":{{"{key}":{value}}}}}]}}]}}"#
        );
        let receiver = WebhookReceiver::builder(SECRET, TOKEN).replay_capacity(0).build();
        let body = body.as_bytes();
        match receiver.receive(Some(sign(body).as_bytes()), body) {
            Ok(delivery) => {
                for change in delivery.changes() {
                    let _ = (change.id(), change.event(), change.phone_number(), change.phone_number_id());
                }
            }
            Err(err) => prop_assert_eq!(err.kind(), &WebhookErrorKind::Malformed),
        }
    }

    /// Any header bytes with any body: refused (a forged signature never
    /// passes), never a panic.
    #[test]
    fn any_header_is_refused_without_panicking(
        header in proptest::collection::vec(any::<u8>(), 0..100),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let result = receiver().receive(Some(&header), &body);
        prop_assert!(result.is_err());
    }
}
