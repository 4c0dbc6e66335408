//! Workspaces: creation with its first build, lookup, and the
//! `codersdk.Workspace` shape as a given viewer sees it.

mod cache;
mod create;
mod explain;
mod render;
mod settings;

pub use cache::*;
pub use create::*;
pub use explain::*;
pub use render::*;
pub use settings::*;

pub use crate::domain::workspace_access::{get, get_with_template, object, RenderCtx, Workspace};
