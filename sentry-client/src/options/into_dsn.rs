//! [`IntoDsn`]: what names a DSN (a string, a [`Dsn`], `()`, an `Option` of one).

use std::borrow::Cow;

use crate::protocol::{Dsn, DsnError};

/// Something that names a DSN or none, as the official crate's `IntoDsn`: a string (empty
/// for none), a [`Dsn`], `()` (none), or an `Option` of one of them.
///
/// ```
/// use sentry_client::{ClientOptions, IntoDsn};
///
/// let o = ClientOptions {
///     dsn: "https://public@sentry.invalid/1".into_dsn().unwrap(),
///     ..Default::default()
/// };
/// assert!(o.dsn.is_some());
/// assert_eq!("".into_dsn().unwrap(), None);
/// assert!("nonsense".into_dsn().is_err());
/// ```
pub trait IntoDsn {
    /// The DSN, `None` for none, or why the text is not a DSN.
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError>;
}

impl<I: IntoDsn> IntoDsn for Option<I> {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        self.map_or(Ok(None), IntoDsn::into_dsn)
    }
}

impl IntoDsn for () {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        Ok(None)
    }
}

impl IntoDsn for &str {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        let text = self.trim();
        if text.is_empty() {
            Ok(None)
        } else {
            text.parse().map(Some)
        }
    }
}

impl IntoDsn for String {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        self.as_str().into_dsn()
    }
}

impl IntoDsn for Cow<'_, str> {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        (*self).into_dsn()
    }
}

impl IntoDsn for &std::ffi::OsStr {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        self.to_string_lossy().into_dsn()
    }
}

impl IntoDsn for std::ffi::OsString {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        self.as_os_str().into_dsn()
    }
}

impl IntoDsn for Dsn {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        Ok(Some(self))
    }
}

impl IntoDsn for &Dsn {
    fn into_dsn(self) -> Result<Option<Dsn>, DsnError> {
        Ok(Some(self.clone()))
    }
}
