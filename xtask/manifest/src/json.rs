//! A JSON tree that keeps key order and refuses duplicate keys, with typed accessors whose errors name the field.
//!
//! `serde_json::Value` keeps the last of two equal keys without a word; in
//! a manifest `{"Gpio": [8], "Gpio": [9]}` that would silently grant pin 9
//! only. This tree's deserializer refuses the second key instead, and keeps
//! the order keys appear in so errors come out in document order.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::Error;

/// Largest JSON document read (app manifest or hardware definition).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json read it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, its members in document order (no two with the same key).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// What kind of value this is, for messages ("a string", "an object").
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(value).map(Json::Number).ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = sequence.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key `{}`", crate::hardware::shorten(&key))));
            }
            let value = map.next_value()?;
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

/// Parses a whole document. `document` names it in errors (a file name).
/// Refuses documents over [`MAX_DOCUMENT_BYTES`], invalid UTF-8 or JSON,
/// duplicate keys and nesting deeper than serde_json's limit (128).
pub fn parse(bytes: &[u8], document: &str) -> Result<Json, Error> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::new(
            document,
            format!(
                "{} bytes is more than the {MAX_DOCUMENT_BYTES} bytes a manifest or definition may have",
                bytes.len()
            ),
        ));
    }
    // Editors on Windows may start the file with a byte-order mark.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|err| Error::new(document, format!("not valid JSON: {err}")))
}

/// `parent.key`, or `key` at the top.
pub fn member_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[index]`.
pub fn item_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// The members of an object, or an error naming `path`.
pub fn expect_object<'a>(value: &'a Json, path: &str) -> Result<&'a [(String, Json)], Error> {
    match value {
        Json::Object(members) => Ok(members),
        other => Err(Error::new(path, format!("expected an object, found {}", other.kind()))),
    }
}

/// The items of an array, or an error naming `path`.
pub fn expect_array<'a>(value: &'a Json, path: &str) -> Result<&'a [Json], Error> {
    match value {
        Json::Array(items) => Ok(items),
        other => Err(Error::new(path, format!("expected an array, found {}", other.kind()))),
    }
}

/// A string, or an error naming `path`.
pub fn expect_string<'a>(value: &'a Json, path: &str) -> Result<&'a str, Error> {
    match value {
        Json::String(text) => Ok(text),
        other => Err(Error::new(path, format!("expected a string, found {}", other.kind()))),
    }
}

/// A boolean, or an error naming `path`.
pub fn expect_bool(value: &Json, path: &str) -> Result<bool, Error> {
    match value {
        Json::Bool(flag) => Ok(*flag),
        other => Err(Error::new(path, format!("expected true or false, found {}", other.kind()))),
    }
}

/// A non-negative integer (no fraction, no exponent form that is not whole),
/// or an error naming `path`.
pub fn expect_integer(value: &Json, path: &str) -> Result<u64, Error> {
    match value {
        Json::Number(number) => match number.as_u64() {
            Some(integer) => Ok(integer),
            None if number.as_i64().is_some() => Err(Error::new(path, format!("{number} is negative"))),
            None => Err(Error::new(path, format!("{number} is not a whole number"))),
        },
        other => Err(Error::new(path, format!("expected a whole number, found {}", other.kind()))),
    }
}

/// Refuses a string with a control character (a NUL, a newline, ...).
pub fn check_no_control_characters(text: &str, path: &str) -> Result<(), Error> {
    match text.chars().find(|character| character.is_control()) {
        Some(character) => Err(Error::new(path, format!("contains the control character {character:?}"))),
        None => Ok(()),
    }
}

/// The error for an unknown key: names the known ones, and the closest if
/// it looks like a misspelling.
pub fn unknown_key(path: &str, key: &str, what: &str, known: &[&str]) -> Error {
    // A misspelling is within two edits, so its length is within two of the candidate's.
    let near = |candidate: &&&str| key.len().abs_diff(candidate.len()) <= 2 && edit_distance(key, candidate) <= 2;
    let closest = known.iter().filter(near).min_by_key(|candidate| edit_distance(key, candidate));
    let hint = match closest {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => format!("known: {}", known.join(", ")),
    };
    let key = crate::hardware::shorten(key);
    Error::new(&member_path(path, &key), format!("unknown {what} `{key}` ({hint})"))
}

/// Levenshtein distance, ignoring ASCII case (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_ascii_lowercase().chars().collect();
    let b: Vec<char> = b.to_ascii_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_with_a_position() {
        let err = parse(br#"{"Capabilities": {"Gpio": [8], "Gpio": [9]}}"#, "app_manifest.json").unwrap_err();
        assert_eq!(err.field, "app_manifest.json");
        assert!(err.reason.contains("duplicate key `Gpio`"), "{err}");
        assert!(err.reason.contains("column"), "{err}");
    }

    #[test]
    fn order_is_kept_and_byte_order_marks_skipped() {
        let json = parse(b"\xef\xbb\xbf{\"b\": 1, \"a\": [true, null, \"x\", 1.5]}", "doc").unwrap();
        let members = expect_object(&json, "").unwrap();
        assert_eq!(members[0].0, "b");
        assert_eq!(members[1].0, "a");
        let items = expect_array(&members[1].1, "a").unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(expect_integer(&items[3], "a[3]").unwrap_err().to_string(), "a[3]: 1.5 is not a whole number");
    }

    #[test]
    fn bad_documents_give_errors() {
        assert!(parse(b"{", "doc").is_err());
        assert!(parse(b"\xff", "doc").is_err());
        assert!(parse(&vec![b' '; MAX_DOCUMENT_BYTES + 1], "doc").unwrap_err().reason.contains("more than"));
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse(deep.as_bytes(), "doc").unwrap_err().reason.contains("recursion"));
        assert!(parse(b"1e999", "doc").is_err());
    }

    #[test]
    fn typed_accessors_name_the_field() {
        let json = parse(br#"{"n": -3, "s": "x\u0000"}"#, "doc").unwrap();
        let members = expect_object(&json, "").unwrap();
        assert_eq!(expect_integer(&members[0].1, "n").unwrap_err().to_string(), "n: -3 is negative");
        assert_eq!(expect_string(&members[0].1, "n").unwrap_err().to_string(), "n: expected a string, found a number");
        let text = expect_string(&members[1].1, "s").unwrap();
        assert!(check_no_control_characters(text, "s").is_err());
    }

    #[test]
    fn huge_keys_are_cut_in_messages() {
        let key = "k".repeat(100_000);
        let err = unknown_key("", &key, "field", &["Name"]);
        assert!(err.to_string().len() < 200, "{err}");
        let document = format!(r#"{{"{key}": 1, "{key}": 2}}"#);
        assert!(parse(document.as_bytes(), "doc").unwrap_err().to_string().len() < 200);
    }

    #[test]
    fn unknown_keys_suggest_a_spelling() {
        let err = unknown_key("", "Capabilites", "field", &["Capabilities", "Name"]);
        assert_eq!(err.to_string(), "Capabilites: unknown field `Capabilites` (did you mean `Capabilities`?)");
        let err = unknown_key("Capabilities", "Teleport", "capability", &["Gpio", "Uart"]);
        assert_eq!(err.to_string(), "Capabilities.Teleport: unknown capability `Teleport` (known: Gpio, Uart)");
    }
}
