//! The domain: every rule of warren, and the storage beneath it.
//!
//! `store` is private to this module: the HTTP layer (`crate::api`) and
//! everything else outside the domain cannot reach SQL or stored rows except
//! through the domain's functions, which authorize first.

pub mod agents;
pub mod auth;
pub mod builds;
pub mod files;
pub mod groups;
pub mod jobs;
pub mod lifecycle;
pub mod names;
pub mod organizations;
pub mod parameters;
pub mod provisioner;
pub mod schedule;
pub mod sharing;
pub(crate) mod store;
pub mod templates;
pub mod users;
pub mod workspace_list;
pub mod workspaces;

pub use store::{Db, OpenError, StoreError, Tx, APPLICATION_ID, SCHEMA_VERSION};

/// A deployment-wide setting, made by `new` and stored the first time it
/// is asked for.
pub fn setting(tx: &Tx, key: &str, new: fn() -> String) -> crate::error::ApiResult<String> {
    match store::get_setting(tx, key)? {
        Some(v) => Ok(v),
        None => {
            let v = new();
            store::set_setting(tx, key, &v)?;
            Ok(v)
        }
    }
}
