//! sentry-server-lite (work in progress).
