//! sentry-tower (work in progress).
