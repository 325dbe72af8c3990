//! Slugs of teams and projects: what may appear in API URLs.

/// Checks a slug: 1–50 characters of lowercase ASCII letters, digits, `-` and `_`,
/// starting with a letter or digit. Returns a message naming the problem.
pub fn validate(slug: &str) -> Result<(), String> {
    let ok_chars = slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    let ok_start = slug
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if slug.is_empty() || slug.len() > 50 || !ok_chars || !ok_start {
        return Err(format!(
            "slug {slug:?}: use 1-50 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert!(super::validate("my-app_2").is_ok());
        for bad in ["", "-x", "Upper", "a b", "a/b"] {
            assert!(super::validate(bad).is_err(), "{bad}");
        }
    }
}
