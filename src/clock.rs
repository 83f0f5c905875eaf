//! The one time a build stamps on everything it writes: `SOURCE_DATE_EPOCH`
//! when set, else the source image's creation time. Never the wall clock.

/// `SOURCE_DATE_EPOCH` is set but is not a whole number of seconds.
#[derive(Debug, thiserror::Error)]
#[error("SOURCE_DATE_EPOCH={value:?} is not a number of seconds since 1970")]
pub struct BadEpoch {
    /// The variable's value.
    pub value: String,
}

/// The build time in seconds since 1970: `SOURCE_DATE_EPOCH`, else
/// `fallback` (the source's creation time), else 0.
pub fn build_time(fallback: Option<i64>) -> Result<i64, BadEpoch> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or(BadEpoch { value }),
        _ => Ok(fallback.unwrap_or(0).max(0)),
    }
}
