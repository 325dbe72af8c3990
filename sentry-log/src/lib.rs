//! sentry-log (work in progress).
