//! Templates and template versions: creation, import jobs, settings, the
//! active version, access-control lists, and their wire shapes.

mod access;
pub mod acl;
mod render;
mod search;
mod settings;
mod versions;

pub use access::*;
pub use render::*;
pub use search::*;
pub use settings::*;
pub use versions::*;

pub use crate::sdk::{
    TemplateAutostartRequirement as AutostartRequirement,
    TemplateAutostopRequirement as AutostopRequirement,
};
