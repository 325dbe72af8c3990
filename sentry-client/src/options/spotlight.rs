//! [`SpotlightSetting`]: the value of [`ClientOptions::spotlight`](crate::ClientOptions::spotlight).

use std::borrow::Cow;

/// The sidecar URL `spotlight: true` means: `http://localhost:8969/stream`.
pub const SPOTLIGHT_DEFAULT_URL: &str = "http://localhost:8969/stream";

/// A value for [`ClientOptions::spotlight`]: `true` (the default sidecar), `false`
/// (off), or a sidecar URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpotlightSetting(pub Option<Cow<'static, str>>);

impl From<bool> for SpotlightSetting {
    fn from(on: bool) -> Self {
        SpotlightSetting(on.then_some(Cow::Borrowed(SPOTLIGHT_DEFAULT_URL)))
    }
}

impl From<&'static str> for SpotlightSetting {
    fn from(url: &'static str) -> Self {
        SpotlightSetting(Some(Cow::Borrowed(url)))
    }
}

impl From<String> for SpotlightSetting {
    fn from(url: String) -> Self {
        SpotlightSetting(Some(Cow::Owned(url)))
    }
}

impl SpotlightSetting {
    /// Reads `SENTRY_SPOTLIGHT`'s value: a boolean word or a URL.
    pub fn from_env_value(v: &str) -> SpotlightSetting {
        match v.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "off" | "no" | "n" | "f" => SpotlightSetting(None),
            "true" | "1" | "on" | "yes" | "y" | "t" => true.into(),
            _ => SpotlightSetting(Some(Cow::Owned(v.trim().to_owned()))),
        }
    }
}
