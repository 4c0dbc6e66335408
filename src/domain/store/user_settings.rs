//! A user's own settings: appearance, and the parameter values of their
//! recent builds (autofill).

use super::sql::{args, Dialect, StoreResult, Tx};
use uuid::Uuid;

use crate::sdk::Micros;

/// (theme preference, terminal font).
pub fn appearance(tx: &Tx, user: Uuid) -> StoreResult<(String, String)> {
    tx.query_one(
        "SELECT u.theme_preference, coalesce(c.value, '') FROM users u
         LEFT JOIN user_configs c ON c.user_id = u.id AND c.key = 'terminal_font'
         WHERE u.id = ?",
        args![user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

pub fn set_appearance(
    tx: &Tx,
    user: Uuid,
    theme: &str,
    font: &str,
    now: Micros,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET theme_preference = ?2, updated_at = ?3 WHERE id = ?1",
        args![user, theme, now],
    )?;
    tx.execute(
        "INSERT INTO user_configs (user_id, key, value) VALUES (?1, 'terminal_font', ?2)
         ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value",
        args![user, font],
    )?;
    Ok(())
}

/// The most recent value of each parameter the user gave in builds of the
/// template's active version, newest first (Coder's
/// `GetUserWorkspaceBuildParameters`): at most `limit`. Ephemeral
/// parameters are left out.
pub fn recent_parameters(
    tx: &Tx,
    user: Uuid,
    template: Uuid,
    limit: i64,
) -> StoreResult<Vec<(String, String)>> {
    // The one JSON path read in SQL; SQLite's json_extract gives a JSON
    // boolean as 1/0, PostgreSQL's ->> as 'true'/'false'.
    let not_ephemeral = match tx.dialect() {
        Dialect::Sqlite => "coalesce(json_extract(v.definition, '$.ephemeral'), 0) = 0",
        Dialect::Postgres => "coalesce(v.definition::json ->> 'ephemeral', 'false') <> 'true'",
    };
    tx.query(
        &format!(
            "SELECT name, value FROM (
             SELECT p.name, p.value, b.created_at,
                    row_number() OVER (PARTITION BY p.name ORDER BY b.created_at DESC, b.build_number DESC) AS n
             FROM workspace_build_parameters p
             JOIN workspace_builds b ON b.id = p.workspace_build_id
             JOIN workspaces w ON w.id = b.workspace_id
             JOIN template_version_parameters v
               ON v.template_version_id = b.template_version_id AND v.name = p.name
             WHERE w.owner_id = ?1
               AND b.template_version_id = (SELECT active_version_id FROM templates WHERE id = ?2)
               AND {not_ephemeral}
         ) AS latest WHERE n = 1 ORDER BY created_at DESC, name LIMIT ?3"
        ),
        args![user, template, limit],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}
