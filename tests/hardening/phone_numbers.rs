//! Phone numbers are read with libphonenumber's metadata (the field's own
//! library): what the hand-written parser got wrong, what is accepted, what
//! is refused with which typed error, digits nobody wrote never invented, a
//! national number never read as another country's, and sessions saved by
//! an earlier release still loading.

use rlibphonenumber::{enums::Region, PhoneNumberType, PHONE_NUMBER_UTIL};
use waba_porting::{PhoneNumber, PortingSession, ValidationError};

/// Accepted input and the number it denotes: (input, E.164, cc, national).
const ACCEPTED: &[(&str, &str, &str, &str)] = &[
    // The hand-written parser kept the UK trunk 0: +4402079460958.
    ("+44 (0)20 7946 0958", "+442079460958", "44", "2079460958"),
    ("+44 20 7946 0958", "+442079460958", "44", "2079460958"),
    ("+44 020 7946 0958", "+442079460958", "44", "2079460958"),
    ("+33 (0)1 23 45 67 89", "+33123456789", "33", "123456789"),
    // Meta's `wa_id` form: digits only, starting with the country code.
    ("14155550123", "+14155550123", "1", "4155550123"),
    ("+1 (415) 555-0123", "+14155550123", "1", "4155550123"),
    ("+1 415-555-0123", "+14155550123", "1", "4155550123"),
    ("+1.415.555.0123", "+14155550123", "1", "4155550123"),
    ("  +14155550123\n", "+14155550123", "1", "4155550123"),
    ("442079460958", "+442079460958", "44", "2079460958"),
    // Italy: the leading 0 is part of the number, not a trunk prefix.
    ("+39 06 6982 1234", "+390669821234", "39", "0669821234"),
    ("390669821234", "+390669821234", "39", "0669821234"),
    ("+39 312 345 6789", "+393123456789", "39", "3123456789"),
    ("+49 30 1234567", "+49301234567", "49", "301234567"),
    ("+353 1 234 5678", "+35312345678", "353", "12345678"),
    ("+971 50 123 4567", "+971501234567", "971", "501234567"),
    ("+55 11 98765-4321", "+5511987654321", "55", "11987654321"),
    // Russia's area codes and toll-free range starting with 8: the 8 is part
    // of the number after +7, not the trunk prefix (the `phonenumber` crate
    // dropped it and refused these).
    ("+7 812 315-17-01", "+78123151701", "7", "8123151701"),
    ("+7 800 555-35-35", "+78005553535", "7", "8005553535"),
];

#[test]
fn accepted_numbers_split_into_country_code_and_national_number() {
    for &(input, e164, cc, national) in ACCEPTED {
        let number = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(number.e164(), e164, "{input:?}");
        assert_eq!(number.to_string(), e164, "{input:?}");
        assert_eq!(number.country_code(), cc, "{input:?}");
        assert_eq!(number.national_number(), national, "{input:?}");
        assert_eq!(input.parse::<PhoneNumber>().as_ref(), Ok(&number));
        // The E.164 form reads back as the same number.
        assert_eq!(PhoneNumber::parse(e164).as_ref(), Ok(&number), "{input:?}");
    }
}

#[test]
fn refused_numbers_are_typed_errors() {
    use ValidationError::*;
    let cases: &[(&str, ValidationError)] = &[
        // The hand-written parser read these as Switzerland (+41) and Egypt
        // (+20): US numbers written without their country code.
        (
            "4155550123",
            PhoneNumberLengthForCountry {
                country_code: 41,
                digits: 8,
            },
        ),
        ("2025550123", InvalidNumberForCountry { country_code: 20 }),
        // Formatted without '+': a national number of any country.
        ("(415) 555-0123", PlusRequired),
        ("322 661 8142", PlusRequired),
        // Digits that are a valid number both ways are not guessed at.
        (
            "4755512345",
            AmbiguousPhoneNumber {
                international: "+4755512345".into(),
                north_american: "+14755512345".into(),
            },
        ),
        // Not valid for their country.
        (
            "+1 555-555-0123",
            InvalidNumberForCountry { country_code: 1 },
        ),
        (
            "+1 415 055 0123",
            InvalidNumberForCountry { country_code: 1 },
        ),
        (
            "+1 415 555 012",
            PhoneNumberLengthForCountry {
                country_code: 1,
                digits: 9,
            },
        ),
        (
            "+44 20 7946 09580",
            PhoneNumberLengthForCountry {
                country_code: 44,
                digits: 11,
            },
        ),
        (
            "+41 44 668 18 0",
            PhoneNumberLengthForCountry {
                country_code: 41,
                digits: 8,
            },
        ),
        (
            "+44 10 7946 0958",
            InvalidNumberForCountry { country_code: 44 },
        ),
        // No such country code; a national number with its trunk 0.
        ("+28 1234567", UnknownCountryCode),
        ("+999 123 456", UnknownCountryCode),
        ("020 7946 0958", PlusRequired),
        ("02079460958", UnknownCountryCode),
        ("0044 20 7946 0958", PlusRequired),
        // Too few or too many digits for any number.
        ("+12", PhoneNumberLength { digits: 2 }),
        ("+44 20 7946 0958 0958 01", PhoneNumberLength { digits: 18 }),
        ("+1234567890123456", PhoneNumberLength { digits: 16 }),
        // Characters: letters (vanity numbers, extensions), a second or
        // misplaced '+', unicode digits, control characters.
        ("+1 415 CALL NOW", InvalidPhoneCharacter),
        ("+1 415 555 0123 ext. 9", InvalidPhoneCharacter),
        ("+1 415 555 0123 x9", InvalidPhoneCharacter),
        ("tel:+1-415-555-0123", InvalidPhoneCharacter),
        ("++14155550123", InvalidPhoneCharacter),
        ("1+4155550123", InvalidPhoneCharacter),
        ("+1 ٤١٥ ٥٥٥ ٠١٢٣", InvalidPhoneCharacter),
        (
            "+\u{FF11}\u{FF14}\u{FF11}\u{FF15}5550123",
            InvalidPhoneCharacter,
        ),
        ("+1 415\u{0}555 0123", InvalidPhoneCharacter),
        ("+1 415\u{202E}555 0123", InvalidPhoneCharacter),
        ("+1 415\t555 0123", InvalidPhoneCharacter),
        ("+1/415/555/0123", InvalidPhoneCharacter),
        // Nothing there.
        ("", EmptyPhoneNumber),
        (" \t ", EmptyPhoneNumber),
        ("+", EmptyPhoneNumber),
        ("( ) - .", EmptyPhoneNumber),
    ];
    for (input, want) in cases {
        let got = PhoneNumber::parse(input);
        assert_eq!(got.as_ref(), Err(want), "{input:?}");
        // Every refusal says why in words.
        assert!(want.to_string().len() > 10, "{want:?}");
    }
}

#[test]
fn error_messages_name_the_country_and_the_reason() {
    let message = |input: &str| PhoneNumber::parse(input).unwrap_err().to_string();
    assert!(message("4155550123").contains("+41"));
    assert!(message("2025550123").contains("not a valid number for country code +20"));
    assert!(message("+1 415 CALL NOW").contains("may only contain"));
    assert!(message("+28 1234567").contains("country calling code"));
    let ambiguous = message("4755512345");
    assert!(ambiguous.contains("+4755512345") && ambiguous.contains("+14755512345"));
}

#[test]
fn oversized_input_is_refused_early_and_nothing_panics() {
    for input in [
        "1".repeat(65),
        " ".repeat(10_000),
        format!("+1 415 555 0123{}", "\u{0}".repeat(1 << 20)),
    ] {
        assert_eq!(
            PhoneNumber::parse(&input),
            Err(ValidationError::PhoneInputTooLong {
                len: input.len(),
                max: PhoneNumber::MAX_INPUT_LEN,
            })
        );
    }
    // At the limit, the input is read.
    let padded = format!("{:<64}", "+1 415 555 0123");
    assert_eq!(padded.len(), PhoneNumber::MAX_INPUT_LEN);
    assert_eq!(PhoneNumber::parse(&padded).unwrap().e164(), "+14155550123");
}

#[test]
fn serde_round_trip_is_e164_and_validates() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Holder {
        phone: PhoneNumber,
    }
    for &(input, e164, _, _) in ACCEPTED {
        let holder = Holder {
            phone: PhoneNumber::parse(input).unwrap(),
        };
        let json = serde_json::to_string(&holder).unwrap();
        assert_eq!(json, format!(r#"{{"phone":"{e164}"}}"#));
        assert_eq!(serde_json::from_str::<Holder>(&json).unwrap(), holder);
    }
    // Deserializing refuses what parsing refuses.
    for bad in ["4155550123", "+1 555-555-0123", "+1 415 CALL NOW", ""] {
        let json = format!(r#"{{"phone":"{bad}"}}"#);
        assert!(serde_json::from_str::<Holder>(&json).is_err(), "{bad:?}");
    }
}

/// `matches_display` is crate-internal: these tests drive it through the
/// look-up that follows Meta's 2388012 ("already exists in your list"),
/// which finds the session's number by Graph's `display_phone_number`.
#[cfg(all(feature = "reqwest", feature = "simulator"))]
mod look_up {
    use crate::common::*;
    use serde_json::json;
    use waba_porting::{
        ApiErrorKind, BusinessId, Error, PhoneNumber, PortingSession, StateName, WabaId,
    };
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const LISTED_ID: &str = "109876543210987";

    /// Starts a migration of `phone` that Meta answers with 2388012 while
    /// the list shows one number written as `display`.
    async fn start_against_listing(
        phone: &str,
        display: &str,
    ) -> (Result<StateName, Error>, String) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(start_path()))
            .respond_with(error_response(
                400,
                graph_error(
                    2388012,
                    None,
                    "This phone number already exists in your list of phone numbers",
                ),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(start_path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": [{
                    "id": LISTED_ID,
                    "display_phone_number": display,
                    "status": "PENDING",
                    "code_verification_status": "NOT_VERIFIED",
                }]
            })))
            .mount(&server)
            .await;
        let client = client(&server);
        let mut session = PortingSession::new(
            PhoneNumber::parse(phone).unwrap(),
            WabaId::new(WABA).unwrap(),
            BusinessId::new(BUSINESS).unwrap(),
        );
        let result = client.start_migration(&mut session).await;
        let id = session
            .state()
            .phone_number_id()
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default();
        (result, id)
    }

    #[tokio::test]
    async fn the_listed_number_is_found_however_graph_writes_it() {
        for (phone, display) in [
            (PHONE, "+1 415-555-0123"),
            (PHONE, "+14155550123"),
            (PHONE, "14155550123"),
            (PHONE, "+1 (415) 555-0123"),
            // Digit strings differ ("4402079460958"), the numbers do not.
            ("+44 20 7946 0958", "+44 (0)20 7946 0958"),
            ("+44 20 7946 0958", "+44 20 7946 0958"),
            ("+39 06 6982 1234", "+39 06 6982 1234"),
        ] {
            let (result, id) = start_against_listing(phone, display).await;
            assert_eq!(result.unwrap(), StateName::Initiated, "{display:?}");
            assert_eq!(id, LISTED_ID, "{display:?}");
        }
    }

    #[tokio::test]
    async fn another_number_is_not_adopted() {
        for (phone, display) in [
            (PHONE, "+1 415-555-0124"),
            (PHONE, "+1 415-555-01234"),
            (PHONE, "+44 20 7946 0958"),
            (PHONE, "+41 41 555 01 23"),
            (PHONE, "not a number"),
            (PHONE, ""),
            ("+44 20 7946 0958", "+44 20 7946 0959"),
            // The Italian 0 belongs to the number.
            ("+39 06 6982 1234", "+39 6 6982 1234"),
        ] {
            let (result, id) = start_against_listing(phone, display).await;
            match result {
                Err(Error::Api(e)) => {
                    assert_eq!(e.kind(), ApiErrorKind::AlreadyInDestination, "{display:?}")
                }
                other => panic!("{display:?}: {other:?}"),
            }
            assert_eq!(id, "", "{display:?}");
        }
    }
}

/// libphonenumber's own example numbers (fixed line and mobile) of every
/// region it knows, parsed with the countries alternating (one number of
/// each region in turn, then the next kind), as in a fleet of mixed
/// countries: each parses, is the number libphonenumber means, and
/// round-trips (its E.164 text and its serde form read back as the same
/// number). No timing here: `cargo bench --bench phone` measures the cost.
#[test]
fn example_numbers_of_every_region_parse_with_countries_alternating() {
    use rlibphonenumber::{PhoneNumberFormat, PhoneNumberType, PHONE_NUMBER_UTIL};

    let util = &*PHONE_NUMBER_UTIL;
    let mut regions: Vec<_> = util.get_supported_regions().collect();
    regions.sort_by_key(|region| region.to_string());
    let mut parsed = 0;
    let mut country_codes = std::collections::BTreeSet::new();
    let mut refused = Vec::new();
    for kind in [PhoneNumberType::FixedLine, PhoneNumberType::Mobile] {
        for &region in &regions {
            let Ok(example) = util.get_example_number_for_type_and_region(region, kind) else {
                continue;
            };
            let e164 = util.format(&example, PhoneNumberFormat::E164).into_owned();
            let international = util
                .format(&example, PhoneNumberFormat::International)
                .into_owned();
            let number = match PhoneNumber::parse(&international) {
                Ok(number) => number,
                Err(e) => {
                    refused.push(format!("{region} {kind:?} {international:?}: {e}"));
                    continue;
                }
            };
            parsed += 1;
            assert_eq!(number.e164(), e164, "{region} {international:?}");
            assert_eq!(
                number.country_code(),
                example.country_code.to_string(),
                "{region}"
            );
            country_codes.insert(example.country_code);
            // E.164 text and serde form read back as the same number.
            assert_eq!(PhoneNumber::parse(number.e164()).as_ref(), Ok(&number));
            assert_eq!(e164.parse::<PhoneNumber>().as_ref(), Ok(&number));
            let json = serde_json::to_string(&number).unwrap();
            assert_eq!(json, format!("\"{e164}\""));
            assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), number);
        }
    }
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
    assert!(regions.len() >= 200, "{} regions", regions.len());
    assert!(
        country_codes.len() >= 60,
        "{} country codes",
        country_codes.len()
    );
    assert!(parsed >= 2 * 200, "{parsed} numbers parsed");
}

/// Whether libphonenumber's metadata lists `national` as a number of `region`
/// of one of the given kinds, digits exactly as written.
fn listed_as_written(region: &str, national: &str) -> bool {
    let region = Region::from_code(region).unwrap();
    let leading_zeros = national.bytes().take_while(|&b| b == b'0').count();
    let number = rlibphonenumber::PhoneNumber {
        country_code: PHONE_NUMBER_UTIL
            .get_country_code_for_region(region)
            .unwrap(),
        national_number: national.parse().unwrap(),
        italian_leading_zero: (leading_zeros > 0).then_some(true),
        number_of_leading_zeros: (leading_zeros > 1).then_some(leading_zeros as i32),
        ..Default::default()
    };
    rlibphonenumber::get_national_significant_number_owned(&number) == national
        && PHONE_NUMBER_UTIL.is_valid_number_for_region(&number, region)
        && matches!(
            PHONE_NUMBER_UTIL.get_number_type(&number),
            PhoneNumberType::FixedLine
                | PhoneNumberType::Mobile
                | PhoneNumberType::FixedLineOrMobile
                | PhoneNumberType::TollFree
        )
}

/// Russian numbers whose area code starts with 8 (St Petersburg 812, Kazan
/// 843, Krasnodar 861, Rostov 863, …) and the 8-800 toll-free range are valid
/// by libphonenumber's own metadata. The `phonenumber` crate stripped the
/// trunk prefix `8` a second time, unconditionally, even from input written
/// with `+7`, so `parse` refused them; `rlibphonenumber` strips a national
/// prefix only where what is left is still a number of the country, as
/// libphonenumber does.
#[test]
fn valid_russian_numbers_starting_with_8_are_refused() {
    let mut refused = Vec::new();
    for (written, national) in [
        ("+7 812 315-17-01", "8123151701"),
        ("+7 843 231-50-00", "8432315000"),
        ("+7 861 255-00-00", "8612550000"),
        ("+7 800 555-35-35", "8005553535"),
        ("78123151701", "8123151701"),
    ] {
        assert!(listed_as_written("RU", national), "{national}");
        let want = format!("+7{national}");
        match PhoneNumber::parse(written) {
            Ok(n) if n.e164() == want => {}
            other => refused.push(format!("{written}: {other:?}")),
        }
    }
    assert!(
        refused.is_empty(),
        "valid numbers refused:\n{}",
        refused.join("\n")
    );
}

/// libphonenumber's *local dialling* rules (NANP territories' 7-digit
/// numbers, Madagascar's `20`, San Marino's `0549`, Norfolk's `3`) are applied
/// to international input, so a number typed with digits missing becomes a
/// valid number of somebody else, with digits nobody wrote.
#[test]
fn parse_invents_digits_nobody_wrote() {
    let mut invented = Vec::new();
    for input in [
        "+1 670 1621",   // becomes +1 670 670 1621, Northern Mariana Islands
        "+1 473 6520",   // becomes +1 473 473 6520, Grenada
        "+261 445 4822", // becomes +261 20 445 4822, Madagascar
        "+378 912345",   // becomes +378 0549 912345, San Marino
    ] {
        let written: String = input.chars().filter(char::is_ascii_digit).collect();
        if let Ok(n) = PhoneNumber::parse(input) {
            if n.e164()[1..] != written {
                invented.push(format!("{input:?} -> {}", n.e164()));
            }
        }
    }
    assert!(
        invented.is_empty(),
        "accepted as numbers with digits not in the input:\n{}",
        invented.join("\n")
    );
}

/// The ambiguity guard only knows North America. The way Colombians, Italians,
/// Emiratis and Indonesians write their own numbers (the national significant
/// number, which for Colombian and Italian mobiles *is* the everyday form)
/// is silently accepted as a number in another country: the very defect the
/// issue names ("4155550123 read as Switzerland"), moved to other markets.
/// Each of these is a valid number at home (checked against the metadata).
#[test]
fn national_numbers_are_silently_read_as_another_country() {
    let mut misread = Vec::new();
    for (input, region) in [
        ("322 661 8142", "CO"),  // read as +32 2661 8142, Brussels
        ("319 090 7944", "IT"),  // read as +31 90907944, Netherlands
        ("50 824 8608", "AE"),   // read as +508 248608, Saint Pierre and Miquelon
        ("813 6231 1153", "ID"), // read as +81 3 6231 1153, Tokyo
    ] {
        let national: String = input.chars().filter(char::is_ascii_digit).collect();
        assert!(listed_as_written(region, &national), "{region} {national}");
        if let Ok(n) = PhoneNumber::parse(input) {
            misread.push(format!("{input:?} ({region}) accepted as {}", n.e164()));
        }
    }
    assert!(misread.is_empty(), "{}", misread.join("\n"));
}

/// Deserializing re-validates with today's rules: a session the previous
/// release saved (it accepted any E.164 with a known country code) fails to
/// load, in-flight marker and all, so a port in progress can no longer be
/// reconciled or resumed. `+52 1 …` is the form WhatsApp `wa_id`s use for
/// Mexican mobiles, `+7 812 …` a St Petersburg number.
#[test]
fn sessions_saved_by_the_previous_release_no_longer_load() {
    let saved = serde_json::to_string(&crate::common::session()).unwrap();
    let mut lost = Vec::new();
    for number in ["+5215512345678", "+78123151701"] {
        let old = saved.replace("+14155550123", number);
        assert!(old.contains(number));
        if let Err(e) = serde_json::from_str::<PortingSession>(&old) {
            lost.push(format!("{number}: {e}"));
        }
    }
    assert!(
        lost.is_empty(),
        "saved sessions that no longer load:\n{}",
        lost.join("\n")
    );
}
