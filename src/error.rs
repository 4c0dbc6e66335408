//! One error type for every failure a request can meet, rendered in one place
//! as Coder's `codersdk.Response` body.

use std::fmt::Display;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub const NOT_FOUND: &str = "Resource not found or you do not have access to this resource";
pub const FORBIDDEN: &str = "Forbidden.";
pub const FORBIDDEN_DETAIL: &str = "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.";
pub const SIGNED_OUT: &str =
    "You are signed out or your session has expired. Please sign in again to continue.";
pub const INTERNAL: &str = "An internal server error occurred.";

tokio::task_local! {
    /// The id of the request being served, set by the request middleware so
    /// that internal errors can be logged and reported with it.
    pub static REQUEST_ID: String;
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Validation {
    pub field: String,
    pub detail: String,
}

/// Coder's response body; used for errors and plain success messages.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Response {
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<Validation>,
}

impl Response {
    pub fn message(m: impl Into<String>) -> Response {
        Response {
            message: m.into(),
            detail: String::new(),
            validations: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Response,
    /// The cause of a 500, logged but never sent.
    internal: Option<String>,
    /// Seconds for a `Retry-After` header (every 429 carries one).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: Response::message(message),
            internal: None,
            retry_after: None,
        }
    }

    /// `429 Too Many Requests`, to be retried after `seconds` (at least 1).
    pub fn too_many_requests(message: impl Into<String>, seconds: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message);
        e.retry_after = Some(seconds.max(1));
        e
    }

    /// What went wrong, cause included, for the operator (start-up errors).
    pub fn describe(&self) -> String {
        match &self.internal {
            Some(cause) => cause.clone(),
            None if self.body.detail.is_empty() => self.body.message.clone(),
            None => format!("{}: {}", self.body.message, self.body.detail),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> ApiError {
        self.body.detail = detail.into();
        self
    }

    pub fn validation(mut self, field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        self.body.validations.push(Validation {
            field: field.into(),
            detail: detail.into(),
        });
        self
    }

    pub fn with_validations(mut self, v: Vec<Validation>) -> ApiError {
        self.body.validations = v;
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// Hidden or missing: Coder never tells the two apart.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, NOT_FOUND)
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, FORBIDDEN).detail(FORBIDDEN_DETAIL)
    }

    pub fn forbidden_msg(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, SIGNED_OUT).detail(detail)
    }

    pub fn internal(cause: impl Display) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: Response::message(INTERNAL),
            internal: Some(cause.to_string()),
            retry_after: None,
        }
    }

    /// 413: a request body over `limit` bytes.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large.")
            .detail(format!("The request body must be at most {limit} bytes."))
    }

    /// `400 Validation failed.` with one entry per failing field.
    pub fn validation_failed(v: Vec<Validation>) -> ApiError {
        ApiError::bad_request("Validation failed.").with_validations(v)
    }

    pub fn invalid_uuid(value: &str, err: impl Display) -> ApiError {
        ApiError::bad_request(format!("Invalid UUID {value:?}.")).detail(err.to_string())
    }
}

impl Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body.message)
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> ApiError {
        ApiError::internal(e)
    }
}

pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.clone())
        .unwrap_or_else(|_| "-".to_string())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = self.body.clone();
        if let Some(cause) = &self.internal {
            let id = current_request_id();
            log::error!("request {id}: internal error: {cause}");
            body.detail = format!("request id {id}");
        }
        let mut res = HttpResponse::build(self.status);
        if let Some(s) = self.retry_after {
            res.insert_header((actix_web::http::header::RETRY_AFTER, s.to_string()));
        }
        res.json(body)
    }
}

/// Collects struct-validation failures in field order, the way Coder's
/// validator reports them.
#[derive(Default)]
pub struct Validator {
    pub failures: Vec<Validation>,
}

impl Validator {
    pub fn new() -> Validator {
        Validator::default()
    }

    /// Records `tag` against `field` when `ok` is false and the field has no
    /// failure yet (Coder reports the first failing rule per field).
    pub fn check(&mut self, field: &str, tag: &str, value: &str, ok: bool) -> &mut Self {
        if !ok && !self.failures.iter().any(|f| f.field == field) {
            self.failures.push(Validation {
                field: field.to_string(),
                detail: format!("Validation failed for tag {tag:?} with value: {value:?}"),
            });
        }
        self
    }

    pub fn required(&mut self, field: &str, value: &str) -> &mut Self {
        self.check(field, "required", value, !value.is_empty())
    }

    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation_failed(std::mem::take(
                &mut self.failures,
            )))
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[actix_web::test]
    async fn internal_errors_hide_the_cause_and_name_the_request() {
        let resp = REQUEST_ID
            .scope("req123".to_string(), async {
                ApiError::internal("disk on fire at /var/secret").error_response()
            })
            .await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = resp.into_body().try_into_bytes().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["message"], INTERNAL);
        assert_eq!(v["detail"], "request id req123");
        assert!(!String::from_utf8_lossy(&body).contains("secret"));
    }
}
