//! The classification table: Graph error fields → [`ApiErrorKind`].
//!
//! Codes first (the 2388xxx migration codes in `code` or `error_subcode`),
//! then, for the overloaded 2388103, the texts (`message`,
//! `error_user_title`, `error_user_msg`, `details`). Meta warns the titles may
//! change, so an unrecognised 2388103 falls back to the generic
//! [`ApiErrorKind::MigrationFailed`] with the raw fields kept.

use super::graph::GraphError;
use crate::kind::ApiErrorKind;
use crate::operation::Operation;

const ALREADY_IN_LIST: i64 = 2388012;
const NOT_BEING_MIGRATED: [i64; 2] = [2388091, 2388093];
const MIGRATION: i64 = 2388103;
/// The subcode of 200 that Meta's OpenAPI description gives both to "Your
/// app is not linked to the WhatsApp Business Account…" and to "Phone
/// number limit exceeded for this WhatsApp Business Account".
const APP_NOT_LINKED_OR_LIMIT: i64 = 1349175;

/// Texts of 2388103, lower-cased, in the order they must be tried (the
/// "Messaging For … must be approved" text also contains "must be approved").
const MIGRATION_TEXTS: &[(&str, ApiErrorKind)] = &[
    ("messaging for", ApiErrorKind::OnBehalfNotAccepted),
    ("add this phone number", ApiErrorKind::EligibleForDirectAdd),
    ("different business manager", ApiErrorKind::BusinessMismatch),
    (
        "cannot migrate phone number",
        ApiErrorKind::DestinationWebhookMissing,
    ),
    ("registered name", ApiErrorKind::DisplayNameNotApproved),
    ("not set up correctly", ApiErrorKind::SourceAccountNotReady),
    ("payment account", ApiErrorKind::DestinationPaymentMissing),
    (
        "account must be approved",
        ApiErrorKind::DestinationNotApproved,
    ),
    ("error migrating", ApiErrorKind::MigrationFailed),
];

/// Meta's older wording for the two-step case; its code was never published,
/// so it is matched on text whatever the code.
const TWO_STEP_TEXTS: &[&str] = &[
    "two-step authentication must be disabled",
    "two-step verification must be disabled",
    "two-factor authentication not yet disabled",
];

pub(crate) fn classify(error: &GraphError, operation: Operation) -> ApiErrorKind {
    use ApiErrorKind::*;
    let codes = [error.code, error.error_subcode];
    let has = |wanted: i64| codes.contains(&Some(wanted));

    if has(ALREADY_IN_LIST) {
        return AlreadyInDestination;
    }
    // The popup's code cannot be exchanged: "This authorization code has
    // been used." (100/36009) or "…has expired." (100, no published
    // subcode): the customer finishes the popup again.
    if operation == Operation::ExchangeSignupCode
        && (has(36009) || (has(100) && mentions(error, "authorization code")))
    {
        return SignupCodeRefused;
    }
    if NOT_BEING_MIGRATED.iter().any(|c| has(*c)) {
        return EligibleForDirectAdd;
    }
    // Normalizing allocates: read the texts only when a needle can be in
    // them — every two-step needle has "two" (normalizing changes only the
    // case of ASCII letters, so the raw text has it too), and the 2388103
    // texts are needed for that code alone.
    let mentions_two = error.texts().any(|t| {
        t.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"two"))
    });
    // One buffer for all texts, a line each (no needle spans a line).
    let mut texts = String::new();
    if mentions_two || has(MIGRATION) {
        for text in error.texts() {
            normalize_into(text, &mut texts);
            texts.push('\n');
        }
    }
    let says = |needle: &str| texts.contains(needle);
    if TWO_STEP_TEXTS.iter().any(|t| says(t)) {
        return TwoStepEnabled;
    }
    if has(MIGRATION) {
        return MIGRATION_TEXTS
            .iter()
            .find(|(needle, _)| says(needle))
            .map_or(MigrationFailed, |(_, kind)| *kind);
    }
    let Some(code) = error.code.or(error.error_subcode) else {
        return Unknown;
    };
    match code {
        2494100 => MaintenanceMode,
        // At register, "PIN incorrect" means the previous BSP's two-step PIN
        // is still set: two-step verification was not disabled.
        133005 if operation == Operation::Register => TwoStepEnabled,
        133005 => PinIncorrect,
        133006 => NumberNotVerified,
        133008 => TooManyPinGuesses,
        133009 => PinTooQuick,
        133015 => RecentlyDeleted,
        133016 => RegisterLimitReached,
        133000 => PreviousDeregistrationFailed,
        133010 => NumberNotRegistered,
        33 => NumberDeleted,
        // "The verification code is invalid or has expired" (title
        // "Verification Failed", Meta's OpenAPI description): the code was
        // refused, not a parameter. Which of the two the client decides
        // from the code's age.
        100 if operation == Operation::VerifyCode && mentions(error, "verification") => {
            code_refusal(error)
        }
        // "Phone number is already registered with WhatsApp Business" (409,
        // at creation) and "…already registered or in invalid state for
        // registration" (422, at register): Meta's OpenAPI description.
        100 if mentions(error, "already registered") => AlreadyRegistered,
        100 | 131008 | 131009 => InvalidParameter,
        136025 if operation == Operation::VerifyCode => code_refusal(error),
        136025 => VerificationCodeRejected,
        190 => InvalidAccessToken,
        // "An access token is required to request this resource".
        104 => AccessTokenMissing,
        803 => not_found(error, operation),
        // 1349175 means two things in Meta's OpenAPI description: read the
        // message. Any other text is a permission refusal, as 200 is.
        200 if error.error_subcode == Some(APP_NOT_LINKED_OR_LIMIT) => {
            if mentions(error, "limit") {
                PhoneNumberLimitReached
            } else if mentions(error, "not linked") {
                AppNotLinked
            } else {
                PermissionDenied
            }
        }
        0 | 3 | 10 | 200..=299 => PermissionDenied,
        368 => AccountRestricted,
        // 613 "Calls to this api have exceeded the rate limit" (Meta's OpenAPI
        // description: "Too many verification code requests") and 32 (the
        // page-level limit) are throttling codes of the Graph error table.
        4 | 17 | 32 | 341 | 613 | 80007 | 130429 => RateLimited,
        1 | 2 | 131000 | 131016 | 133004 => Temporary,
        _ => Unknown,
    }
}

/// 803, "does not exist or is not accessible": a deleted number, a WABA,
/// or a phone number, by the message; without one that says, the object
/// the operation addresses.
fn not_found(error: &GraphError, operation: Operation) -> ApiErrorKind {
    if mentions(error, "deleted") {
        ApiErrorKind::NumberDeleted
    } else if mentions(error, "business account") {
        ApiErrorKind::WabaNotFound
    } else if mentions(error, "phone number") {
        ApiErrorKind::PhoneNumberNotFound
    } else {
        match operation {
            Operation::StartMigration
            | Operation::ListPhoneNumbers
            | Operation::SubscribeApp
            | Operation::ListSubscribedApps
            | Operation::ReadWaba => ApiErrorKind::WabaNotFound,
            _ => ApiErrorKind::PhoneNumberNotFound,
        }
    }
}

/// A refused code: expired when Meta says so plainly ("…has expired"),
/// else rejected ("invalid or has expired" says neither).
fn code_refusal(error: &GraphError) -> ApiErrorKind {
    if mentions(error, "expired") && !mentions(error, "invalid or has expired") {
        ApiErrorKind::VerificationCodeExpired
    } else {
        ApiErrorKind::VerificationCodeRejected
    }
}

/// Whether any of the error's texts contains `needle` (lower-case ASCII),
/// ignoring ASCII case.
fn mentions(error: &GraphError, needle: &str) -> bool {
    let needle = needle.as_bytes();
    error.texts().any(|text| {
        text.as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
    })
}

/// Lower-case, straight quotes, single spaces: wording survives cosmetic edits.
/// Appends `text` lower-cased, with typographic quotes and dashes made
/// ASCII and whitespace runs made one space.
fn normalize_into(text: &str, out: &mut String) {
    out.reserve(text.len());
    if text.is_ascii() {
        // Byte by byte: the common case, and the hot one.
        let mut pending_space = false;
        for byte in text.bytes() {
            if char::from(byte).is_whitespace() {
                pending_space = true;
                continue;
            }
            if pending_space && !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            pending_space = false;
            out.push(char::from(byte.to_ascii_lowercase()));
        }
        return;
    }
    let mut first = true;
    for word in text.split_whitespace() {
        if !first {
            out.push(' ');
        }
        first = false;
        out.extend(word.chars().map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            '\u{2010}' | '\u{2011}' | '\u{2013}' => '-',
            c => c.to_ascii_lowercase(),
        }));
    }
}

/// One test per row of reference §3: the wire body goes through the same
/// envelope parser as responses, then through the table.
#[cfg(test)]
mod tests {
    use super::*;
    use ApiErrorKind::*;

    fn kind_at(operation: Operation, body: &str) -> ApiErrorKind {
        let error = GraphError::from_body(body.as_bytes()).expect("test body is an envelope");
        classify(&error, operation)
    }

    fn kind(body: &str) -> ApiErrorKind {
        kind_at(Operation::StartMigration, body)
    }

    fn migration(title: &str) -> String {
        format!(
            r#"{{"error":{{"message":"(#2388103) {title}","type":"OAuthException","code":2388103,
            "error_user_title":"{title}","fbtrace_id":"Az8or2"}}}}"#
        )
    }

    // --- SEED troubleshooting cases ------------------------------------------

    #[test]
    fn seed_on_behalf_not_accepted_from_2388103_messaging_for() {
        assert_eq!(
            kind(&migration(
                r#"Your WhatsApp account's \"Messaging For\" request must be approved"#
            )),
            OnBehalfNotAccepted
        );
        // Curly quotes and the text only in error_user_msg still match.
        assert_eq!(
            kind(
                r#"{"error":{"code":100,"error_subcode":2388103,"message":"Invalid parameter",
                "error_user_msg":"Your WhatsApp account’s “Messaging For” request must be approved."}}"#
            ),
            OnBehalfNotAccepted
        );
    }

    #[test]
    fn seed_two_step_enabled_from_meta_text() {
        assert_eq!(
            kind(&migration(
                "Two-step authentication must be disabled for this phone number."
            )),
            TwoStepEnabled
        );
        assert_eq!(
            kind(
                r#"{"error":{"code":100,"error_data":{"details":"Two-step authentication must be disabled for this phone number."}}}"#
            ),
            TwoStepEnabled
        );
    }

    #[test]
    fn seed_two_step_enabled_from_133005_at_register() {
        let body =
            r#"{"error":{"message":"(#133005) Two step verification PIN Mismatch","code":133005}}"#;
        assert_eq!(kind_at(Operation::Register, body), TwoStepEnabled);
        assert_eq!(kind_at(Operation::VerifyCode, body), PinIncorrect);
    }

    #[test]
    fn seed_eligible_for_direct_add_from_2388103_text() {
        assert_eq!(
            kind(&migration(
                "Please add this phone number in your WhatsApp account"
            )),
            EligibleForDirectAdd
        );
    }

    #[test]
    fn seed_eligible_for_direct_add_from_2388091_and_2388093() {
        assert_eq!(
            kind(r#"{"error":{"code":2388091,"message":"x"}}"#),
            EligibleForDirectAdd
        );
        assert_eq!(
            kind(r#"{"error":{"code":100,"error_subcode":2388093}}"#),
            EligibleForDirectAdd
        );
    }

    #[test]
    fn seed_already_in_destination_from_2388012_code_or_subcode() {
        assert_eq!(
            kind(
                r#"{"error":{"code":2388012,"message":"(#2388012) This phone number already exists in your list of phone numbers"}}"#
            ),
            AlreadyInDestination
        );
        assert_eq!(
            kind(r#"{"error":{"code":100,"error_subcode":2388012}}"#),
            AlreadyInDestination
        );
    }

    #[test]
    fn seed_business_mismatch_from_2388103_text() {
        assert_eq!(
            kind(&migration(
                "This phone number belongs to a different Business Manager account"
            )),
            BusinessMismatch
        );
    }

    #[test]
    fn seed_migration_failed_from_2388103_error_migrating() {
        assert_eq!(
            kind(&migration("There was an error migrating this phone number")),
            MigrationFailed
        );
    }

    #[test]
    fn seed_migration_failed_for_unrecognised_2388103_text() {
        assert_eq!(
            kind(&migration("Some wording Meta introduced later")),
            MigrationFailed
        );
        assert_eq!(kind(r#"{"error":{"code":2388103}}"#), MigrationFailed);
    }

    // --- Other migration rows -----------------------------------------------

    #[test]
    fn ref3_migration_no_webhook_subscription() {
        assert_eq!(
            kind(&migration("Cannot migrate phone number.")),
            DestinationWebhookMissing
        );
    }

    #[test]
    fn ref3_migration_display_name_not_approved() {
        assert_eq!(
            kind(&migration(
                "Registered name should be present and approved."
            )),
            DisplayNameNotApproved
        );
    }

    #[test]
    fn ref3_migration_source_not_set_up() {
        assert_eq!(
            kind(&migration("The WhatsApp account that this phone number is registered with is not set up correctly.")),
            SourceAccountNotReady
        );
    }

    #[test]
    fn ref3_migration_no_payment_account() {
        assert_eq!(
            kind(&migration(
                "Your WhatsApp account does not have a payment account."
            )),
            DestinationPaymentMissing
        );
    }

    #[test]
    fn ref3_migration_destination_not_approved() {
        assert_eq!(
            kind(&migration("Your WhatsApp account must be approved")),
            DestinationNotApproved
        );
    }

    #[test]
    fn ref3_migration_maintenance_mode_2494100() {
        assert_eq!(
            kind(r#"{"error":{"code":2494100,"message":"Account is in maintenance mode."}}"#),
            MaintenanceMode
        );
    }

    // --- Registration and PIN rows ------------------------------------------

    /// One test per code, named after the reference row it exercises.
    macro_rules! code_rows {
        ($($name:ident: $code:literal at $op:ident => $kind:ident;)*) => {$(
            #[test]
            fn $name() {
                let body = format!(r#"{{"error":{{"code":{},"message":"(#{}) x"}}}}"#, $code, $code);
                assert_eq!(kind_at(Operation::$op, &body), $kind);
            }
        )*};
    }

    code_rows! {
        ref3_registration_133005_pin_incorrect: 133005 at VerifyCode => PinIncorrect;
        ref3_registration_133006_number_not_verified: 133006 at Register => NumberNotVerified;
        ref3_registration_133008_too_many_pin_guesses: 133008 at Register => TooManyPinGuesses;
        ref3_registration_133009_pin_too_quick: 133009 at Register => PinTooQuick;
        ref3_registration_133015_recently_deleted: 133015 at Register => RecentlyDeleted;
        ref3_registration_133016_register_limit: 133016 at Register => RegisterLimitReached;
        ref3_registration_133000_previous_deregistration_failed: 133000 at Register => PreviousDeregistrationFailed;
        ref3_registration_133010_not_registered: 133010 at Register => NumberNotRegistered;
        ref3_registration_133004_server_unavailable: 133004 at Register => Temporary;
        ref3_registration_33_number_deleted: 33 at RequestCode => NumberDeleted;
        ref3_registration_100_invalid_parameter: 100 at RequestCode => InvalidParameter;
        ref3_registration_131008_missing_parameter: 131008 at Register => InvalidParameter;
        ref3_registration_131009_invalid_parameter_value: 131009 at VerifyCode => InvalidParameter;
        ref3_registration_136025_invalid_code_unconfirmed: 136025 at VerifyCode => VerificationCodeRejected;
        ref3_auth_368_account_restricted: 368 at StartMigration => AccountRestricted;
    }

    // --- Auth, throttling, temporary ----------------------------------------

    #[test]
    fn ref3_auth_token_expired_190_with_subcodes() {
        for subcode in ["null", "458", "459", "460", "463"] {
            let body = format!(r#"{{"error":{{"code":190,"error_subcode":{subcode}}}}}"#);
            assert_eq!(kind(&body), InvalidAccessToken, "subcode {subcode}");
        }
    }

    #[test]
    fn ref3_auth_permission_codes() {
        for code in [0, 3, 10, 200, 250, 299] {
            let body = format!(r#"{{"error":{{"code":{code}}}}}"#);
            assert_eq!(kind(&body), PermissionDenied, "code {code}");
        }
    }

    #[test]
    fn ref3_throttling_codes() {
        for code in [4, 17, 32, 341, 613, 80007, 130429] {
            let body = format!(r#"{{"error":{{"code":{code}}}}}"#);
            assert_eq!(kind(&body), RateLimited, "code {code}");
        }
    }

    #[test]
    fn refused_codes_tell_expired_from_wrong_only_when_meta_says_which() {
        let expired = r#"{"error":{"message":"Verification code has expired","code":136025}}"#;
        assert_eq!(
            kind_at(Operation::VerifyCode, expired),
            VerificationCodeExpired
        );
        let wrong = r#"{"error":{"message":"Verification code is incorrect","code":136025}}"#;
        assert_eq!(
            kind_at(Operation::VerifyCode, wrong),
            VerificationCodeRejected
        );
        // Meta's OpenAPI description's example (code 100, "Verification
        // Failed"): a refused code, not a bad parameter; which of the two
        // the client decides by the code's age.
        let either = r#"{"error":{"message":"The verification code is invalid or has expired","type":"OAuthException","code":100,"error_user_title":"Verification Failed","fbtrace_id":"AbCdEf"}}"#;
        assert_eq!(
            kind_at(Operation::VerifyCode, either),
            VerificationCodeRejected
        );
        assert_eq!(
            kind_at(Operation::RequestCode, r#"{"error":{"code":100}}"#),
            InvalidParameter
        );
        assert_eq!(
            kind_at(
                Operation::VerifyCode,
                r#"{"error":{"code":100,"message":"Invalid parameter"}}"#
            ),
            InvalidParameter
        );
    }

    #[test]
    fn ref3_temporary_codes() {
        for code in [1, 2, 131000, 131016, 133004] {
            let body = format!(r#"{{"error":{{"code":{code}}}}}"#);
            assert_eq!(kind(&body), Temporary, "code {code}");
        }
    }

    #[test]
    fn unknown_codes_and_codeless_envelopes() {
        assert_eq!(
            kind(r#"{"error":{"code":999999,"message":"new"}}"#),
            Unknown
        );
        assert_eq!(kind(r#"{"error":{"message":"no code"}}"#), Unknown);
        // A known code only in the subcode still classifies.
        assert_eq!(kind(r#"{"error":{"error_subcode":130429}}"#), RateLimited);
    }

    #[test]
    fn every_kind_has_a_title_and_remediation() {
        let all = ApiErrorKind::ALL;
        for kind in all {
            assert!(kind.title().len() > 10, "{kind:?}");
            assert!(kind.remediation().len() > 30, "{kind:?}");
            assert!(!kind.title().contains('\n') && !kind.remediation().contains('\n'));
        }
        assert_eq!(
            all.iter().filter(|k| k.is_troubleshooting_case()).count(),
            6
        );
    }

    /// The example bodies of Meta's OpenAPI description (v23.0), as written
    /// there (their HTTP status in the comment); the integration tests
    /// read them from the trimmed description itself.
    #[test]
    fn the_descriptions_error_examples() {
        let body = |message: &str, kind: &str, code: i64, extra: &str| {
            format!(
                r#"{{"error":{{"message":"{message}","type":"{kind}","code":{code}{extra},"fbtrace_id":"AXsgnV2Cm3ZMGF3dF_cfYIn"}}}}"#
            )
        };
        let graph_method = |message: &str, code: i64, extra: &str| {
            body(message, "GraphMethodException", code, extra)
        };
        let oauth =
            |message: &str, code: i64, extra: &str| body(message, "OAuthException", code, extra);
        let cases = [
            // 404, GET /{phone-number-id} (and the number's other steps).
            (Operation::ReadPhoneNumber, graph_method("Phone number not found", 803, ""), PhoneNumberNotFound),
            (Operation::Register, graph_method("Phone number not found", 803, ""), PhoneNumberNotFound),
            (
                Operation::ReadPhoneNumber,
                graph_method("This phone number has been deleted and is no longer accessible", 803, ""),
                NumberDeleted,
            ),
            (
                Operation::ReadPhoneNumber,
                graph_method(
                    "The WhatsApp Business Account associated with this phone number could not be found",
                    803,
                    "",
                ),
                WabaNotFound,
            ),
            // 404, POST /{waba-id}/phone_numbers.
            (Operation::StartMigration, graph_method("WhatsApp Business Account not found", 803, ""), WabaNotFound),
            // 401, GET /{phone-number-id}.
            (
                Operation::ReadPhoneNumber,
                oauth("An access token is required to request this resource", 104, ""),
                AccessTokenMissing,
            ),
            // 403: one subcode, two meanings.
            (
                Operation::ReadPhoneNumber,
                oauth(
                    "Your app is not linked to the WhatsApp Business Account that owns this phone number",
                    200,
                    r#","error_subcode":1349175"#,
                ),
                AppNotLinked,
            ),
            (
                Operation::StartMigration,
                oauth(
                    "Phone number limit exceeded for this WhatsApp Business Account",
                    200,
                    r#","error_subcode":1349175,"error_user_title":"Limit Exceeded","error_user_msg":"You have reached the maximum number of phone numbers for this account""#,
                ),
                PhoneNumberLimitReached,
            ),
            (
                Operation::ReadPhoneNumber,
                oauth(
                    "Your app doesn't have permission to access this phone number",
                    200,
                    r#","error_subcode":1349174"#,
                ),
                PermissionDenied,
            ),
            // 422, POST /{phone-number-id}/verify_code.
            (
                Operation::VerifyCode,
                graph_method(
                    "The verification code is invalid or has expired",
                    100,
                    r#","error_user_title":"Verification Failed","error_user_msg":"The verification code you entered is invalid or has expired""#,
                ),
                VerificationCodeRejected,
            ),
            // 422, POST /{phone-number-id}/register.
            (
                Operation::Register,
                graph_method("Phone number is already registered or in invalid state for registration", 100, ""),
                AlreadyRegistered,
            ),
            // 409, POST /{waba-id}/phone_numbers.
            (
                Operation::StartMigration,
                graph_method("Phone number is already registered with WhatsApp Business", 100, ""),
                AlreadyRegistered,
            ),
            // 400 and 422 there: still parameters.
            (
                Operation::StartMigration,
                oauth("Invalid parameter: phone_number must be in E.164 format", 100, ""),
                InvalidParameter,
            ),
            (
                Operation::StartMigration,
                graph_method("Phone number validation failed: invalid format", 100, ""),
                InvalidParameter,
            ),
        ];
        for (operation, body, expected) in cases {
            assert_eq!(kind_at(operation, &body), expected, "{operation}: {body}");
        }
    }

    #[test]
    fn not_found_without_a_telling_message_is_the_object_addressed() {
        let bare = r#"{"error":{"code":803,"message":"(#803) Some of the aliases you requested do not exist: 1"}}"#;
        assert_eq!(kind_at(Operation::StartMigration, bare), WabaNotFound);
        assert_eq!(kind_at(Operation::ListPhoneNumbers, bare), WabaNotFound);
        assert_eq!(kind_at(Operation::ReadWaba, bare), WabaNotFound);
        assert_eq!(
            kind_at(Operation::ReadPhoneNumber, bare),
            PhoneNumberNotFound
        );
        assert_eq!(kind_at(Operation::VerifyCode, bare), PhoneNumberNotFound);
        // 1349175 with another text is a permission refusal, as 200 is.
        let other =
            r#"{"error":{"code":200,"error_subcode":1349175,"message":"Permissions error"}}"#;
        assert_eq!(kind_at(Operation::ReadPhoneNumber, other), PermissionDenied);
    }

    /// The byte-wise path for ASCII texts normalizes as the general one.
    #[test]
    fn ascii_fast_path_agrees_with_the_general_one() {
        fn general(text: &str) -> String {
            let mut out = String::new();
            for word in text.split_whitespace() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
            }
            out
        }
        let samples = [
            "",
            " ",
            "  A  b\t\x0bC\r\n",
            "Two-Step  Verification\x0cMUST be",
            "x",
            " lead",
            "trail ",
            "(#2388103) Your WhatsApp account's \"Messaging For\" request",
        ];
        for sample in samples {
            let mut fast = String::new();
            normalize_into(sample, &mut fast);
            assert_eq!(fast, general(sample), "{sample:?}");
            // After an earlier text and its line break, too.
            let mut after = String::from("earlier\n");
            normalize_into(sample, &mut after);
            assert_eq!(after, format!("earlier\n{}", general(sample)), "{sample:?}");
        }
    }
}
