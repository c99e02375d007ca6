//! The Graph error envelope read in one pass, straight from the bytes.
//!
//! Same fields and the same leniency as [`GraphError::from_value`] (numbers
//! as strings, texts as numbers, wrong types skipped, `error_data` as an
//! object or a JSON string), without building a `Value` first. Anything it
//! cannot read the same way — a duplicate key, an `error` that is not an
//! object, no JSON — returns `None`, and the caller falls back to the
//! `Value` path, which decides.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::graph::{bounded, details_of, GraphError};

#[derive(Deserialize)]
struct Envelope {
    error: Option<Object<RawError>>,
}

/// A struct read only from a JSON object: serde's derived struct readers
/// also take an array (fields by position), which the `Value` path never
/// reads as an envelope.
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData)).map(Object)
    }
}

/// Reads `T` from `body` only when the body is a JSON object.
pub(crate) fn object<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Option<T> {
    serde_json::from_slice::<Object<T>>(body).ok().map(|o| o.0)
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    code: Lenient<i64>,
    #[serde(default)]
    error_subcode: Lenient<i64>,
    #[serde(default, rename = "type")]
    error_type: Lenient<String>,
    #[serde(default)]
    message: Lenient<String>,
    #[serde(default)]
    error_user_title: Lenient<String>,
    #[serde(default)]
    error_user_msg: Lenient<String>,
    #[serde(default)]
    error_data: Details,
    #[serde(default)]
    fbtrace_id: Lenient<String>,
    #[serde(default)]
    is_transient: Lenient<bool>,
}

/// Reads the envelope of an error body in one pass (see the module docs).
pub(crate) fn from_body(body: &[u8]) -> Option<GraphError> {
    let raw = object::<Envelope>(body)?.error?.0;
    Some(GraphError {
        code: raw.code.0,
        error_subcode: raw.error_subcode.0,
        error_type: raw.error_type.0,
        message: raw.message.0,
        error_user_title: raw.error_user_title.0,
        error_user_msg: raw.error_user_msg.0,
        details: raw.error_data.0,
        fbtrace_id: raw.fbtrace_id.0,
        is_transient: raw.is_transient.0,
    })
}

/// `error_data`'s `details`, read as [`details_of`] reads it, without
/// building the object.
#[derive(Default)]
struct Details(Option<String>);

#[derive(Deserialize)]
struct DataObject {
    #[serde(default)]
    details: Lenient<String>,
}

impl<'de> Deserialize<'de> for Details {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("error data")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let data = DataObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(data.details.0)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(details_of(&Value::String(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }
        d.deserialize_any(V).map(Details)
    }
}

/// A field read as the `Value` path reads it; any other JSON type is `None`.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(None)
    }
}

macro_rules! lenient {
    ($t:ty, $expecting:literal, { $($body:tt)* }) => {
        impl<'de> Deserialize<'de> for Lenient<$t> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Option<$t>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    $($body)*
                    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                        Ok(None)
                    }
                    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                        Ok(None)
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(None)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                        Ok(None)
                    }
                }
                d.deserialize_any(V).map(Lenient)
            }
        }
    };
}

// `number()`: an integer that fits i64, or a string holding one.
lenient!(i64, "a number", {
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).ok())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse().ok())
    }
});

// `text()`: a string (bounded), or a number as JSON writes it.
lenient!(String, "a text", {
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map(|n| n.to_string()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(bounded(v)))
    }
});

// `as_bool()`.
lenient!(bool, "a boolean", {
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
});

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The Value path, for comparison.
    fn slow(body: &[u8]) -> Option<GraphError> {
        let value: Value = serde_json::from_slice(body).ok()?;
        GraphError::from_value(&value)
    }

    #[test]
    fn reads_what_the_value_path_reads() {
        let bodies: &[&[u8]] = &[
            br#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"error_subcode":2494055,"error_user_title":"T","error_user_msg":"U","error_data":{"messaging_product":"whatsapp","details":"D"},"fbtrace_id":"Az8or2","is_transient":true}}"#,
            br#"{"error":{"code":"100","error_subcode":null,"message":42,"error_data":"{\"details\":\"inner\"}"}}"#,
            br#"{"error":{"code":1.5,"error_subcode":18446744073709551615,"message":2.5e3,"type":[1,{"a":2}],"error_user_title":{"x":[]},"is_transient":"yes","fbtrace_id":true}}"#,
            br#"{"error":{"code":" 7 ","error_data":"not json"}}"#,
            br#"{"error":{"code":-3,"error_data":42}}"#,
            br#"{"error":{}}"#,
            br#"{"other":1,"error":{"code":4},"more":[1,2]}"#,
        ];
        for body in bodies {
            assert_eq!(
                from_body(body),
                slow(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn leaves_to_the_value_path_what_it_cannot_read_the_same_way() {
        // No error object, a non-object error, duplicates, not JSON.
        for body in [
            &br#"{"success":true}"#[..],
            br#"{"error":"text"}"#,
            br#"{"error":{"code":1,"code":2}}"#,
            br#"<html>502</html>"#,
            br#"{"error":{"code":1}} trailing"#,
            br#"[{"code":4}]"#,
            br#"{"error":[190]}"#,
            br#"{"error":[133016,"m"]}"#,
            br#"[[4]]"#,
        ] {
            assert!(
                from_body(body).is_none(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    proptest! {
        /// Whenever the one-pass reader answers, it answers as the Value path.
        #[test]
        fn agrees_with_the_value_path(
            code in prop_oneof![Just("1".to_owned()), Just("\"2388103\"".to_owned()), Just("null".to_owned()), Just("4.0".to_owned()), Just("[1]".to_owned()), "-?[0-9]{1,20}"],
            message in prop_oneof![Just("\"m\"".to_owned()), Just("7".to_owned()), Just("{}".to_owned()), Just("false".to_owned()), "\"[a-z \\\\]{0,20}\""],
            data in prop_oneof![Just("{\"details\":\"d\"}".to_owned()), Just("\"{\\\"details\\\":3}\"".to_owned()), Just("null".to_owned()), Just("[]".to_owned())],
        ) {
            let body = format!(r#"{{"error":{{"code":{code},"message":{message},"error_data":{data}}}}}"#);
            if let Some(fast) = from_body(body.as_bytes()) {
                prop_assert_eq!(Some(fast), slow(body.as_bytes()));
            }
        }
    }
}
