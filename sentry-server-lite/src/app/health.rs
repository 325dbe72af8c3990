//! Release health and cron monitors as a project's members read them: the releases with
//! their session figures (and the hourly crash-free rates of the Releases page), the
//! monitors with their recent runs, and an issue's first release. Reading needs
//! [`Action::ViewIssues`] on the project, as its issues do.

use super::projects::{self, ProjectName};
use super::{AppError, Caller};
use crate::policy::Action;
use crate::store::health::{self, percent_free, ReleaseHealth};
use crate::store::monitors::{self, Monitor};
use crate::store::{Project, Store};

/// Runs listed per monitor.
pub const RECENT_RUNS: i64 = 20;
/// Hours in a release's crash-free sparkline.
pub const SPARKLINE_HOURS: i64 = 24;

/// A project's releases, newest first.
pub fn releases(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
) -> Result<(Project, Vec<ReleaseHealth>), AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ViewIssues)?;
    let list = health::releases(store, p.id)?;
    Ok((p, list))
}

/// A project's releases, each with its crash-free sessions (percent) per hour of the
/// [`SPARKLINE_HOURS`] before `now` (`None` for an hour without sessions).
#[allow(clippy::type_complexity)]
pub fn releases_with_series(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    now: i64,
) -> Result<(Project, Vec<(ReleaseHealth, Vec<Option<f64>>)>), AppError> {
    let (p, list) = releases(store, caller, name)?;
    let first = health::hour_of(now) - (SPARKLINE_HOURS - 1) * 3_600_000;
    let series = health::crash_free_series(store, p.id, first)?;
    let out = list
        .into_iter()
        .map(|r| {
            let mut line = vec![None; SPARKLINE_HOURS as usize];
            for (_, bucket, sessions, crashed) in series.iter().filter(|s| s.0 == r.version) {
                let i = (bucket - first) / 3_600_000;
                if let Some(slot) = usize::try_from(i).ok().and_then(|i| line.get_mut(i)) {
                    *slot = percent_free(*sessions, *crashed);
                }
            }
            (r, line)
        })
        .collect();
    Ok((p, out))
}

/// A project's monitors, each with its newest runs.
pub fn monitors(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
) -> Result<(Project, Vec<Monitor>), AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ViewIssues)?;
    let list = monitors::list(store, p.id, RECENT_RUNS)?;
    Ok((p, list))
}

/// The release of an issue's first event, for a caller who may see the issue (the
/// caller of this function checked that).
pub fn first_release(store: &dyn Store, issue_id: i64) -> Result<Option<String>, AppError> {
    Ok(health::first_release(store, issue_id)?)
}
