//! The domain: every rule of warren, and the storage beneath it.
//!
//! `store` is private to this module: the HTTP layer (the `api` module) and
//! everything else outside the domain cannot reach SQL or stored rows except
//! through the domain's functions, which authorize first.

pub mod acl;
pub mod agent_logs;
pub mod agent_metadata;
pub mod agents;
pub mod auth;
pub mod authcheck;
pub mod builds;
pub mod deployment;
pub mod dry_runs;
pub mod files;
pub mod groups;
pub mod heartbeat;
pub mod jobs;
pub mod keys;
pub mod lifecycle;
pub mod names;
pub mod operations;
pub mod organizations;
pub mod parameters;
pub mod ports;
pub mod provisioner;
pub mod quotas;
pub mod roles;
pub mod schedule;
pub mod share_levels;
pub mod sharing;
mod store;
pub mod template_model;
pub mod template_versions;
pub mod templates;
pub mod user_settings;
pub mod users;
pub mod workspace_access;
pub mod workspace_agents;
pub mod workspace_list;
pub mod workspaces;

use actix_web::http::StatusCode;

use crate::error::{ApiError, ApiResult};

pub use store::migrate::{sqlite_to_postgres, MigrateError, TableReport};
pub use store::{
    Change, ChangeSink, Db, Event, Location, OpenError, StoreError, Tx, APPLICATION_ID,
    SCHEMA_VERSION,
};

/// A new row's id. Time-ordered (UUIDv7, ordered within the process), so
/// that a row's insert appends to the last page of its primary key and of
/// every index keyed by it instead of dirtying a random page of each: a
/// build's parameters, job and build rows, and the workspace's latest-build
/// entry. The statements of 50 autostops, replayed on a copy of the bench's
/// 10,000 workspaces, dirtied 1,032 pages with random ids and 583 with
/// these. Ids are names, not secrets (tokens stay random v4) and not times:
/// nothing reads the instant in them, which comes from the system clock.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// The one place storage failures become HTTP answers. A conflict the
/// domain did not turn into its own message is a lost race: 409.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(_) => ApiError::conflict("The resource already exists."),
            StoreError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is busy; try again.",
            ),
            e @ (StoreError::Corrupt(_) | StoreError::Other(_)) => ApiError::internal(e),
        }
    }
}

impl Db {
    /// [`Db::read_as`] with the domain's error type.
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> ApiResult<T> + Send + 'static,
    {
        self.read_as(f).await
    }

    /// [`Db::write_as`] with the domain's error type.
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> ApiResult<T> + Send + 'static,
    {
        self.write_as(f).await
    }

    /// [`Db::write_uncached_as`] with the domain's error type.
    pub async fn write_uncached<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> ApiResult<T> + Send + 'static,
    {
        self.write_uncached_as(f).await
    }
}

/// A deployment-wide setting, made by `new` and stored the first time it
/// is asked for.
pub fn setting(tx: &Tx, key: &str, new: fn() -> String) -> ApiResult<String> {
    match store::get_setting(tx, key)? {
        Some(v) => Ok(v),
        None => {
            let v = new();
            store::set_setting(tx, key, &v)?;
            Ok(v)
        }
    }
}

#[cfg(test)]
mod tests {
    /// The storage keys rows by the id's text: each new id must sort after
    /// the one before it, even within one millisecond.
    #[test]
    fn new_ids_sort_as_text_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..10_000).map(|_| super::new_id().to_string()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
