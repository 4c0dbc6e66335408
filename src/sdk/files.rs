//! `codersdk/files.go`.

use serde::Serialize;
use uuid::Uuid;

/// `codersdk.UploadResponse`: Coder names the file's id `hash`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UploadResponse {
    pub hash: Uuid,
}
