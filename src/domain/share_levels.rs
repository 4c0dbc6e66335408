//! Share levels of apps and ports, ordered as Coder orders them, and a
//! template's maximum level. A leaf of the domain: template settings and
//! port sharing both apply it.

use uuid::Uuid;

use crate::domain::store::port_shares;
use crate::domain::store::Tx;
use crate::error::ApiResult;

/// Share levels from least to most open. Coder orders them public,
/// authenticated, organization, owner; `owner` shares with nobody else.
pub const SHARE_LEVELS: [&str; 4] = ["owner", "organization", "authenticated", "public"];

pub fn rank(level: &str) -> Option<usize> {
    SHARE_LEVELS.iter().position(|l| *l == level)
}

/// Whether sharing at `level` is allowed under a template's `max` (Coder's
/// `IsCompatibleWithMaxLevel`), with Coder's message when not.
pub fn allowed_under(level: &str, max: &str) -> Result<(), String> {
    match (rank(level), rank(max)) {
        (Some(0), _) => Ok(()),
        (Some(l), Some(m)) if l <= m => Ok(()),
        (Some(_), Some(_)) => Err(format!(
            "{level:?} sharing level is not allowed under max level {max:?}"
        )),
        _ => Err("port sharing level is invalid.".into()),
    }
}

/// The template's maximum level went down: shares above it come down to
/// it (with `owner`, they end).
pub fn lower_shares(tx: &Tx, template: Uuid, max: &str) -> ApiResult<()> {
    let Some(m) = rank(max) else {
        return Ok(());
    };
    Ok(port_shares::lower_for_template(
        tx,
        template,
        max,
        &SHARE_LEVELS[..=m],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_levels_are_ordered_as_coder_orders_them() {
        assert!(allowed_under("owner", "owner").is_ok());
        assert!(allowed_under("public", "public").is_ok());
        assert!(allowed_under("authenticated", "public").is_ok());
        assert!(allowed_under("organization", "authenticated").is_ok());
        assert_eq!(
            allowed_under("public", "authenticated").unwrap_err(),
            "\"public\" sharing level is not allowed under max level \"authenticated\""
        );
        assert!(allowed_under("authenticated", "organization").is_err());
        assert!(allowed_under("organization", "owner").is_err());
        assert!(allowed_under("nonsense", "public").is_err());
    }
}
