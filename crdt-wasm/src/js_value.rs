//! Conversions between JS values and the Rust types, each checked: a JS number may be
//! fractional, negative, NaN or beyond 2^53, and a string need not be a replica id.

use core::fmt::Display;

use crdt_core::ReplicaId;
use crdt_sync::object_id::ObjectId;
use wasm_bindgen::prelude::*;

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JS `Error` carrying `error`'s message.
pub(crate) fn js_error(error: impl Display) -> JsError {
    JsError::new(&error.to_string())
}

/// A signed amount: an integer within ±(2^53 − 1).
pub(crate) fn amount(value: f64, what: &str) -> Result<i64, JsError> {
    if value.fract() != 0.0 || !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&value) {
        return Err(js_error(format_args!(
            "{what} must be an integer between -(2^53 - 1) and 2^53 - 1, not {}",
            show(value)
        )));
    }
    // Exact: an integer within the safe range.
    Ok(value as i64)
}

/// A count or position: an integer in 0 ..= 2^53 − 1.
pub(crate) fn count(value: f64, what: &str) -> Result<u64, JsError> {
    match amount(value, what) {
        Ok(value) if value >= 0 => Ok(value.unsigned_abs()),
        _ => Err(js_error(format_args!(
            "{what} must be an integer between 0 and 2^53 - 1, not {}",
            show(value)
        ))),
    }
}

/// A number as JS writes it. JS does the formatting: Rust's float formatting would add some
/// 20 KB to the `.wasm` for error messages alone.
fn show(value: f64) -> String {
    js_sys::Number::from(value)
        .to_string_with_radix(10)
        .map_or_else(|_| "NaN".to_owned(), String::from)
}

/// A time in milliseconds from the page's clock (`performance.now()`); anything that is
/// not a finite non-negative number counts as 0, so a bad clock cannot stop the session.
pub(crate) fn millis(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        // Saturating: `as` clamps to u64's range.
        now as u64
    } else {
        0
    }
}

/// A number as JS sees it: exact up to 2^53, rounded beyond.
pub(crate) fn number(value: i128) -> f64 {
    value as f64
}

/// The given replica id, or a fresh random one.
pub(crate) fn replica_id(text: Option<String>) -> Result<ReplicaId, JsError> {
    match text {
        None => Ok(ReplicaId::random()),
        Some(text) => uuid::Uuid::parse_str(&text)
            .map(ReplicaId::from)
            .map_err(|error| {
                js_error(format_args!("not a replica id (a UUID): {text:?}: {error}"))
            }),
    }
}

/// An object id: a non-empty string of at most [`ObjectId::MAX_LEN`] bytes.
pub(crate) fn object_id(text: &str) -> Result<ObjectId, JsError> {
    ObjectId::new(text).map_err(|error| js_error(format_args!("object id {text:?}: {error}")))
}

/// A JS array of strings, in the order given.
pub(crate) fn strings<'a>(values: impl Iterator<Item = &'a String>) -> js_sys::Array {
    values.map(|value| JsValue::from_str(value)).collect()
}

/// A JS array of strings, sorted: for sets, which keep no order of their own.
pub(crate) fn sorted_strings<'a>(values: impl Iterator<Item = &'a String>) -> js_sys::Array {
    let mut values: Vec<&String> = values.collect();
    values.sort_unstable();
    strings(values.into_iter())
}
