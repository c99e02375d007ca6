//! Hostile input, table-driven: each bad phone number, id, code, PIN,
//! language, region, base URL, API version or token is a typed validation or
//! configuration error, raised before anything is sent.
#![cfg(feature = "simulator")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use waba_porting::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    BusinessId, CodeMethod, ConfigError, DataLocalizationRegion, Error, Language, PhoneNumber,
    PhoneNumberId, Pin, PortingClient, PortingSession, RetryPolicy, ValidationError,
    VerificationCode, WabaId,
};

/// Counts requests; answers none.
#[derive(Debug, Default)]
struct Counting(AtomicUsize);

#[waba_porting::async_trait]
impl Transport for Counting {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(TransportError::from_kind(
            waba_porting::TransportErrorKind::Connect,
        ))
    }
}

#[derive(Clone, Copy, Debug)]
enum Input {
    Phone,
    WabaId,
    BusinessId,
    PhoneNumberId,
    Code,
    Pin,
    Language,
    Region,
    CodeMethod,
    BaseUrl,
    ApiVersion,
    Token,
}

/// Runs the whole user flow with one bad input: parse everything, build the
/// client, start, request a code, verify, register. Any error is returned.
async fn port_with(input: Input, value: &str, wire: &Arc<Counting>) -> Result<(), Error> {
    let pick = |which: Input, good: &str| -> String {
        if std::mem::discriminant(&which) == std::mem::discriminant(&input) {
            value.to_owned()
        } else {
            good.to_owned()
        }
    };
    let phone = PhoneNumber::parse(&pick(Input::Phone, "+14155550123"))?;
    let waba = WabaId::new(pick(Input::WabaId, "102290129340398"))?;
    let business = BusinessId::new(pick(Input::BusinessId, "106540352242922"))?;
    let _number = PhoneNumberId::new(pick(Input::PhoneNumberId, "110200345501442"))?;
    let code = VerificationCode::new(pick(Input::Code, "123-830"))?;
    let pin = Pin::new(pick(Input::Pin, "482913"))?;
    let language = Language::new(pick(Input::Language, "en_US"))?;
    let region: DataLocalizationRegion = pick(Input::Region, "DE").parse()?;
    let method: CodeMethod = pick(Input::CodeMethod, "SMS").parse()?;
    let client = PortingClient::builder()
        .access_token(pick(Input::Token, "EAAG-token"))
        .base_url(pick(Input::BaseUrl, "https://graph.facebook.com"))
        .api_version(pick(Input::ApiVersion, "v25.0"))
        .transport(wire.clone())
        .retry_policy(RetryPolicy::none())
        .build()?;
    let mut session = PortingSession::new(phone, waba, business);
    client.start_migration(&mut session).await?;
    client.request_code(&mut session, method, &language).await?;
    client.verify_code(&mut session, &code).await?;
    client.register(&mut session, &pin, Some(&region)).await?;
    Ok(())
}

fn validation(check: fn(&ValidationError) -> bool) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Validation(v) if check(v))
}

fn config(check: fn(&ConfigError) -> bool) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Config(c) if check(c))
}

#[tokio::test]
async fn every_bad_input_is_a_typed_error_and_nothing_is_sent() {
    use ConfigError as C;
    use Input::*;
    use ValidationError as V;
    let long = "9".repeat(10_000);
    let long_id = "1".repeat(65);
    type Check = Box<dyn Fn(&Error) -> bool>;
    let cases: Vec<(Input, String, Check)> = vec![
        // Phone numbers.
        (
            Phone,
            "".into(),
            Box::new(validation(|v| matches!(v, V::EmptyPhoneNumber))),
        ),
        (
            Phone,
            "   ".into(),
            Box::new(validation(|v| matches!(v, V::EmptyPhoneNumber))),
        ),
        (
            Phone,
            "+1 415 CALL NOW".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPhoneCharacter))),
        ),
        (
            Phone,
            "+1 415 555 0123 ext. 7".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPhoneCharacter))),
        ),
        (
            Phone,
            "++14155550123".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPhoneCharacter))),
        ),
        (
            Phone,
            "4155550123".into(),
            Box::new(validation(|v| {
                matches!(
                    v,
                    V::PhoneNumberLengthForCountry {
                        country_code: 41,
                        ..
                    }
                )
            })),
        ),
        (
            Phone,
            "2025550123".into(),
            Box::new(validation(|v| {
                matches!(v, V::InvalidNumberForCountry { country_code: 20 })
            })),
        ),
        (
            Phone,
            "+999 123 456 789".into(),
            Box::new(validation(|v| {
                matches!(v, V::UnknownCountryCode | V::NotAPhoneNumber)
            })),
        ),
        (
            Phone,
            "+1 555 0100".into(),
            Box::new(validation(|v| {
                matches!(
                    v,
                    V::PhoneNumberLengthForCountry { .. } | V::InvalidNumberForCountry { .. }
                )
            })),
        ),
        (
            Phone,
            long.clone(),
            Box::new(validation(|v| matches!(v, V::PhoneInputTooLong { .. }))),
        ),
        (
            Phone,
            "+١٤١٥٥٥٥٠١٢٣".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPhoneCharacter))),
        ),
        (
            Phone,
            "+1415555\u{0}0123".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPhoneCharacter))),
        ),
        (
            Phone,
            "+1415\n5550123".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPhoneCharacter))),
        ),
        // Ids.
        (
            WabaId,
            "".into(),
            Box::new(validation(|v| matches!(v, V::EmptyId { .. }))),
        ),
        (
            WabaId,
            "abc".into(),
            Box::new(validation(|v| matches!(v, V::MalformedId { .. }))),
        ),
        (
            WabaId,
            "123/../456".into(),
            Box::new(validation(|v| matches!(v, V::MalformedId { .. }))),
        ),
        (
            WabaId,
            "１２３".into(),
            Box::new(validation(|v| matches!(v, V::MalformedId { .. }))),
        ),
        (
            WabaId,
            long_id.clone(),
            Box::new(validation(|v| matches!(v, V::MalformedId { .. }))),
        ),
        (
            BusinessId,
            "-1".into(),
            Box::new(validation(|v| matches!(v, V::MalformedId { .. }))),
        ),
        (
            BusinessId,
            "1\u{200b}2".into(),
            Box::new(validation(|v| matches!(v, V::MalformedId { .. }))),
        ),
        (
            PhoneNumberId,
            "12 34".into(),
            Box::new(validation(|v| matches!(v, V::MalformedId { .. }))),
        ),
        (
            PhoneNumberId,
            "?fields=x".into(),
            Box::new(validation(|v| matches!(v, V::MalformedId { .. }))),
        ),
        // Verification codes.
        (
            Code,
            "".into(),
            Box::new(validation(|v| matches!(v, V::InvalidVerificationCode))),
        ),
        (
            Code,
            "12345".into(),
            Box::new(validation(|v| matches!(v, V::InvalidVerificationCode))),
        ),
        (
            Code,
            "1234567".into(),
            Box::new(validation(|v| matches!(v, V::InvalidVerificationCode))),
        ),
        (
            Code,
            "12a-456".into(),
            Box::new(validation(|v| matches!(v, V::InvalidVerificationCode))),
        ),
        (
            Code,
            "١٢٣٤٥٦".into(),
            Box::new(validation(|v| matches!(v, V::InvalidVerificationCode))),
        ),
        (
            Code,
            "123-83O".into(),
            Box::new(validation(|v| matches!(v, V::InvalidVerificationCode))),
        ),
        // PINs.
        (
            Pin,
            "12345".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPin))),
        ),
        (
            Pin,
            "1234567".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPin))),
        ),
        (
            Pin,
            "12 456".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPin))),
        ),
        (
            Pin,
            "١٢٣٤٥٦".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPin))),
        ),
        (
            Pin,
            "12345\u{7}".into(),
            Box::new(validation(|v| matches!(v, V::InvalidPin))),
        ),
        // Languages.
        (
            Language,
            "".into(),
            Box::new(validation(|v| matches!(v, V::InvalidLanguage))),
        ),
        (
            Language,
            "en".into(),
            Box::new(validation(
                |v| matches!(v, V::LanguageWithoutRegion { language } if language == "en"),
            )),
        ),
        (
            Language,
            "fil".into(),
            Box::new(validation(|v| matches!(v, V::InvalidLanguage))),
        ),
        (
            Language,
            "en-Latn-US".into(),
            Box::new(validation(|v| matches!(v, V::InvalidLanguage))),
        ),
        (
            Language,
            "english".into(),
            Box::new(validation(|v| matches!(v, V::InvalidLanguage))),
        ),
        (
            Language,
            "en_US\"}".into(),
            Box::new(validation(|v| matches!(v, V::InvalidLanguage))),
        ),
        // Regions.
        (
            Region,
            "US".into(),
            Box::new(validation(|v| matches!(v, V::UnsupportedRegion { .. }))),
        ),
        (
            Region,
            "EU".into(),
            Box::new(validation(|v| matches!(v, V::UnsupportedRegion { .. }))),
        ),
        (
            Region,
            "DEU".into(),
            Box::new(validation(|v| matches!(v, V::InvalidRegion))),
        ),
        (
            Region,
            "D1".into(),
            Box::new(validation(|v| matches!(v, V::InvalidRegion))),
        ),
        // Code methods.
        (
            CodeMethod,
            "FAX".into(),
            Box::new(validation(|v| matches!(v, V::InvalidCodeMethod))),
        ),
        (
            CodeMethod,
            "".into(),
            Box::new(validation(|v| matches!(v, V::InvalidCodeMethod))),
        ),
        // Base URLs.
        (
            BaseUrl,
            "not a url".into(),
            Box::new(config(|c| matches!(c, C::InvalidBaseUrl { .. }))),
        ),
        (
            BaseUrl,
            "http://graph.facebook.com".into(),
            Box::new(config(|c| matches!(c, C::InvalidBaseUrl { .. }))),
        ),
        (
            BaseUrl,
            "https://user:pw@graph.facebook.com".into(),
            Box::new(config(|c| matches!(c, C::InvalidBaseUrl { .. }))),
        ),
        (
            BaseUrl,
            "https://graph.facebook.com/?access_token=x".into(),
            Box::new(config(|c| matches!(c, C::InvalidBaseUrl { .. }))),
        ),
        (
            BaseUrl,
            "file:///etc/passwd".into(),
            Box::new(config(|c| matches!(c, C::InvalidBaseUrl { .. }))),
        ),
        (
            BaseUrl,
            "javascript:alert(1)".into(),
            Box::new(config(|c| matches!(c, C::InvalidBaseUrl { .. }))),
        ),
        // API versions.
        (
            ApiVersion,
            "25.0".into(),
            Box::new(config(|c| matches!(c, C::InvalidApiVersion))),
        ),
        (
            ApiVersion,
            "v25".into(),
            Box::new(config(|c| matches!(c, C::InvalidApiVersion))),
        ),
        (
            ApiVersion,
            "v25.0/../../x".into(),
            Box::new(config(|c| matches!(c, C::InvalidApiVersion))),
        ),
        (
            ApiVersion,
            "v99999.0".into(),
            Box::new(config(|c| matches!(c, C::InvalidApiVersion))),
        ),
        // Tokens.
        (
            Token,
            "".into(),
            Box::new(config(|c| matches!(c, C::MissingAccessToken))),
        ),
        (
            Token,
            "EAAG token".into(),
            Box::new(config(|c| matches!(c, C::InvalidAccessToken))),
        ),
        (
            Token,
            "EAAG\r\nX-Injected: 1".into(),
            Box::new(config(|c| matches!(c, C::InvalidAccessToken))),
        ),
        (
            Token,
            "EAAGtökén".into(),
            Box::new(config(|c| matches!(c, C::InvalidAccessToken))),
        ),
        (
            Token,
            "EAAG\u{0}".into(),
            Box::new(config(|c| matches!(c, C::InvalidAccessToken))),
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let wire = Arc::new(Counting::default());
    for (input, value, expected) in &cases {
        let err = port_with(*input, value, &wire)
            .await
            .expect_err(&format!("{input:?} {value:?} was accepted"));
        assert!(expected(&err), "{input:?} {value:?}: {err:?}");
        // Messages never echo a secret back.
        if matches!(input, Pin | Code | Token) && value.len() > 3 {
            assert!(!err.to_string().contains(value.as_str()), "{err}");
        }
        assert_eq!(
            wire.0.load(Ordering::SeqCst),
            0,
            "{input:?} {value:?}: sent"
        );
    }
    // The good inputs do reach the wire (the harness is not vacuous).
    let err = port_with(Token, "EAAG-token", &wire).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(wire.0.load(Ordering::SeqCst), 1);
    println!("{} bad inputs, 0 requests", cases.len());
}
