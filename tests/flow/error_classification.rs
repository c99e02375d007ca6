//! The classification of Graph errors into `ApiErrorKind` (one pass over
//! the envelope) agrees with the table it replaced, on codes and on texts
//! written with any case, dash, quote or white space.
#![cfg(feature = "simulator")]

use crate::common::hooked::raw_answer;
use waba_porting::{Error, Operation, Timestamp};

mod old {
    use waba_porting::{ApiErrorKind, GraphError, Operation};
    use ApiErrorKind::*;
    const MIGRATION_TEXTS: &[(&str, ApiErrorKind)] = &[
        ("messaging for", OnBehalfNotAccepted),
        ("add this phone number", EligibleForDirectAdd),
        ("different business manager", BusinessMismatch),
        ("cannot migrate phone number", DestinationWebhookMissing),
        ("registered name", DisplayNameNotApproved),
        ("not set up correctly", SourceAccountNotReady),
        ("payment account", DestinationPaymentMissing),
        ("account must be approved", DestinationNotApproved),
        ("error migrating", MigrationFailed),
    ];
    const TWO_STEP_TEXTS: &[&str] = &[
        "two-step authentication must be disabled",
        "two-step verification must be disabled",
        "two-factor authentication not yet disabled",
    ];
    fn normalize(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for word in text.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(word.chars().map(|c| match c {
                '\u{2018}' | '\u{2019}' => '\'',
                '\u{201C}' | '\u{201D}' => '"',
                '\u{2010}' | '\u{2011}' | '\u{2013}' => '-',
                c => c.to_ascii_lowercase(),
            }));
        }
        out
    }
    pub fn classify(error: &GraphError, operation: Operation) -> ApiErrorKind {
        let codes = [error.code, error.error_subcode];
        let has = |wanted: i64| codes.contains(&Some(wanted));
        let texts: Vec<String> = [
            &error.message,
            &error.error_user_title,
            &error.error_user_msg,
            &error.details,
        ]
        .into_iter()
        .filter_map(|t| t.as_deref())
        .map(normalize)
        .collect();
        let says = |needle: &str| texts.iter().any(|t| t.contains(needle));
        if has(2388012) {
            return AlreadyInDestination;
        }
        if [2388091, 2388093].iter().any(|c| has(*c)) {
            return EligibleForDirectAdd;
        }
        if TWO_STEP_TEXTS.iter().any(|t| says(t)) {
            return TwoStepEnabled;
        }
        if has(2388103) {
            return MIGRATION_TEXTS
                .iter()
                .find(|(n, _)| says(n))
                .map_or(MigrationFailed, |(_, k)| *k);
        }
        let Some(code) = error.code.or(error.error_subcode) else {
            return Unknown;
        };
        match code {
            2494100 => MaintenanceMode,
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
            100 | 131008 | 131009 => InvalidParameter,
            136025 => VerificationCodeRejected,
            190 => InvalidAccessToken,
            0 | 3 | 10 | 200..=299 => PermissionDenied,
            368 => AccountRestricted,
            4 | 17 | 341 | 80007 | 130429 => RateLimited,
            1 | 2 | 131000 | 131016 | 133004 => Temporary,
            _ => Unknown,
        }
    }
}

proptest::proptest! {
    #![proptest_config(crate::common::proptest_config(3000))]
    #[test]
    fn classification_agrees_with_the_old_table(
        code in proptest::prop_oneof![proptest::strategy::Just(2388103i64), proptest::strategy::Just(100), proptest::strategy::Just(133005), proptest::strategy::Just(4)],
        pieces in proptest::collection::vec(proptest::prop_oneof![
            proptest::strategy::Just("Two"), proptest::strategy::Just("two"), proptest::strategy::Just("TWO"),
            proptest::strategy::Just("-"), proptest::strategy::Just("\u{2010}"), proptest::strategy::Just("\u{2011}"), proptest::strategy::Just("\u{2013}"),
            proptest::strategy::Just("step authentication must be disabled"), proptest::strategy::Just("Step Verification MUST be"),
            proptest::strategy::Just(" disabled"), proptest::strategy::Just("factor authentication not yet disabled"),
            proptest::strategy::Just(" "), proptest::strategy::Just("\t"), proptest::strategy::Just("\u{a0}"), proptest::strategy::Just("\u{2003}"),
            proptest::strategy::Just("\n"), proptest::strategy::Just("\u{85}"), proptest::strategy::Just("é"), proptest::strategy::Just("Messaging"),
            proptest::strategy::Just(" For"), proptest::strategy::Just("error migrating"), proptest::strategy::Just("\u{201C}"), proptest::strategy::Just("İ"),
            proptest::strategy::Just("K"), proptest::strategy::Just("\u{212A}"), proptest::strategy::Just("\u{1c}"), proptest::strategy::Just("\u{b}"),
        ], 0..12),
        field in 0usize..4,
    ) {
        let text: String = pieces.concat();
        let name = ["message", "error_user_title", "error_user_msg", "details"][field];
        let value = serde_json::Value::String(text.clone());
        let body = if name == "details" {
            serde_json::json!({"error": {"code": code, "error_data": {"details": value}}})
        } else {
            serde_json::json!({"error": {"code": code, name: value}})
        };
        for op in [Operation::StartMigration, Operation::Register] {
            let response = raw_answer(400, &body.to_string());
            let error = Error::from_response(op, &response, Timestamp::from_unix_millis(0)).unwrap();
            let graph = error.api().unwrap().graph();
            proptest::prop_assert_eq!(error.api_kind().unwrap(), old::classify(graph, op), "{:?}", text);
        }
    }
}
