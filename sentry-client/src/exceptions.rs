//! Turning Rust errors into protocol exceptions.
//!
//! `capture_error(&e)` walks `e.source()` to the end. The protocol lists a chain oldest
//! first, so the deepest source comes first and `e` itself last. Each exception's `type`
//! is the error's own type name: exact for the captured error when its static type is
//! known (`std::any::type_name`), and for sources (which are only `&dyn Error`) found by
//! downcasting to well-known std types, else read from the start of its `Debug` output
//! (`ParseIntError { kind: .. }` gives `ParseIntError`).

use std::error::Error;

use crate::protocol::{Event, Exception, Level, Mechanism};

/// The longest source chain followed (protects against cyclic `source()` chains).
const MAX_CHAIN: usize = 32;

/// Builds an error event (level `error`, mechanism `generic`, handled) for `error`.
///
/// The stack trace, if wanted, is added by the capture path.
///
/// ```
/// let err = "x".parse::<u8>().unwrap_err();
/// let event = sentry_client::event_from_error(&err);
/// assert_eq!(event.exception.values[0].ty.as_deref(), Some("ParseIntError"));
/// ```
pub fn event_from_error<E: Error + ?Sized>(error: &E) -> Event {
    let mut exceptions = Vec::new();
    let (ty, module) =
        type_name_of::<E>().unwrap_or_else(|| (type_from_debug(&format!("{error:?}")), None));
    exceptions.push(Exception {
        ty: Some(ty),
        module,
        value: Some(error.to_string()),
        ..Default::default()
    });
    let mut source = error.source();
    while let Some(err) = source {
        if exceptions.len() >= MAX_CHAIN {
            break;
        }
        exceptions.push(Exception {
            ty: Some(dyn_type_name(err)),
            value: Some(err.to_string()),
            ..Default::default()
        });
        source = err.source();
    }
    exceptions.reverse();
    if let Some(last) = exceptions.last_mut() {
        last.mechanism = Some(Mechanism {
            ty: Some("generic".into()),
            handled: Some(true),
            ..Default::default()
        });
    }
    Event {
        level: Some(Level::Error),
        exception: exceptions.into(),
        ..crate::draft::new_event()
    }
}

/// `(type, module)` from a static type, unless it is a trait object.
fn type_name_of<E: ?Sized>() -> Option<(String, Option<String>)> {
    let full = std::any::type_name::<E>();
    if full.starts_with("dyn ") || full.starts_with('&') {
        return None;
    }
    // Drop generic parameters for the short name: `app::Wrapper<u8>` -> `Wrapper`.
    let base = full.split('<').next().unwrap_or(full);
    let (module, name) = match base.rfind("::") {
        Some(i) => (Some(base[..i].to_owned()), base[i + 2..].to_owned()),
        None => (None, base.to_owned()),
    };
    Some((name, module))
}

/// The type name of an error known only as `&dyn Error`.
fn dyn_type_name(err: &(dyn Error + 'static)) -> String {
    macro_rules! known {
        ($($t:ty => $n:literal),* $(,)?) => {$(
            if err.is::<$t>() {
                return $n.to_owned();
            }
        )*};
    }
    known! {
        std::io::Error => "Error",
        std::num::ParseIntError => "ParseIntError",
        std::num::ParseFloatError => "ParseFloatError",
        std::num::TryFromIntError => "TryFromIntError",
        std::str::ParseBoolError => "ParseBoolError",
        std::str::Utf8Error => "Utf8Error",
        std::string::FromUtf8Error => "FromUtf8Error",
        std::fmt::Error => "Error",
        std::net::AddrParseError => "AddrParseError",
        std::char::ParseCharError => "ParseCharError",
        serde_json::Error => "Error",
    }
    type_from_debug(&format!("{err:?}"))
}

/// The leading identifier of a `Debug` rendering: `Foo { .. }`, `Foo(..)`, `Foo`.
fn type_from_debug(debug: &str) -> String {
    let ident: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let ident = ident.rsplit("::").next().unwrap_or("");
    if ident.is_empty() || ident.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        "Error".to_owned()
    } else {
        ident.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    enum ConfigError {
        BadPort(std::num::ParseIntError),
    }
    impl fmt::Display for ConfigError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("invalid configuration")
        }
    }
    impl Error for ConfigError {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            match self {
                ConfigError::BadPort(e) => Some(e),
            }
        }
    }

    #[derive(Debug)]
    struct StartupError(ConfigError);
    impl fmt::Display for StartupError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("startup failed")
        }
    }
    impl Error for StartupError {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn chain_is_deepest_first_with_type_names() {
        let parse = "x".parse::<u16>().expect_err("not a number");
        let err = StartupError(ConfigError::BadPort(parse));
        let event = event_from_error(&err);
        let types: Vec<_> = event
            .exception
            .iter()
            .map(|e| e.ty.clone().unwrap_or_default())
            .collect();
        // The middle error is only seen as `&dyn Error`: its Debug gives the variant name.
        assert_eq!(types, ["ParseIntError", "BadPort", "StartupError"]);
        let last = &event.exception.values[2];
        assert_eq!(last.value.as_deref(), Some("startup failed"));
        assert_eq!(last.module.as_deref(), Some(module_path!()));
        let mech = last.mechanism.as_ref().expect("mechanism");
        assert_eq!(mech.ty.as_deref(), Some("generic"));
        assert_eq!(mech.handled, Some(true));
        assert_eq!(
            event.exception.values[0].value.as_deref(),
            Some("invalid digit found in string")
        );
    }

    #[test]
    fn trait_objects_fall_back_to_downcast_and_debug() {
        let io = std::io::Error::other("disk on fire");
        let dynerr: &dyn Error = &io;
        let event = event_from_error(dynerr);
        assert_eq!(event.exception.values[0].ty.as_deref(), Some("Custom"));
        assert_eq!(dyn_type_name(&io), "Error");
        assert_eq!(type_from_debug("Custom { kind: Other }"), "Custom");
        assert_eq!(type_from_debug("\"text\""), "Error");
        assert_eq!(type_from_debug("a::b::Thing(3)"), "Thing");
    }
}
