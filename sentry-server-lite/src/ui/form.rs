//! `application/x-www-form-urlencoded` bodies as ordered `(name, value)` pairs, so that
//! repeated names (the issue list's `id` checkboxes) keep every value; [`FormData`] is
//! also the extractor of a posted form, and [`Posted`] that of a form posted in a
//! session, whose CSRF token has been checked ([`Viewer::verify_csrf`]).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};

use super::session::Viewer;
use crate::app::AppState;

/// The fields of a form body, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// Parses a URL-encoded body (`+` is a space, `%XX` a byte; invalid UTF-8 is
    /// replaced).
    pub fn parse(body: &[u8]) -> FormData {
        FormData(
            body.split(|b| *b == b'&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let mut parts = kv.splitn(2, |b| *b == b'=');
                    let k = decode(parts.next().unwrap_or_default());
                    let v = decode(parts.next().unwrap_or_default());
                    (k, v)
                })
                .collect(),
        )
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(FormData::parse(&body))
    }
}

/// A form posted by a session that sent the session's CSRF token, and who posted it.
pub struct Posted {
    /// Who posted the form.
    pub viewer: Viewer,
    /// The form.
    pub form: FormData,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = FormData::from_request(Request::from_parts(parts, body), state).await?;
        viewer
            .verify_csrf(&form)
            .map_err(IntoResponse::into_response)?;
        Ok(Posted { viewer, form })
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => match (hex(raw[i + 1]), hex(raw[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_and_escapes() {
        let f = FormData::parse(b"id=1&id=22&q=a+b%2Fc%3D&bad=%zz&tail=%4&empty=&&flag");
        assert_eq!(f.all("id").collect::<Vec<_>>(), vec!["1", "22"]);
        assert_eq!(f.get("q"), Some("a b/c="));
        assert_eq!(f.get("bad"), Some("%zz"));
        assert_eq!(f.get("tail"), Some("%4"));
        assert_eq!(f.get("empty"), Some(""));
        assert_eq!(f.get("flag"), Some(""));
        assert_eq!(f.get("missing"), None);
        assert_eq!(FormData::parse("é=%C3%A9".as_bytes()).get("é"), Some("é"));
    }
}
