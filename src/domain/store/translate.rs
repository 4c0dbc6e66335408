//! The statements of the entity modules are written once, in SQLite's
//! dialect; this turns one into PostgreSQL's. It works on tokens (string
//! literals, quoted names and comments are copied untouched) and knows the
//! few places where the two dialects differ in what warren writes:
//!
//! | SQLite | PostgreSQL |
//! |---|---|
//! | `?`, `?N` | `$N` (a bare `?` takes the largest number so far plus one, SQLite's rule) |
//! | `json_group_array(x)` (`'[]'` over no rows) | `COALESCE(json_agg(x)::text, '[]')` |
//! | `json_array(…)` | `json_build_array(…)` |
//! | `json_each(x) j` … `j.value` | `json_array_elements_text((x)::json) j(value)` |
//! | `instr(a, b)` | `strpos(a, b)` |
//! | `ifnull(a, b)` | `coalesce(a, b)` |
//! | `max(a, b)`, `min(a, b)` (two or more arguments) | `GREATEST(a, b)`, `LEAST(a, b)` |
//! | `LIKE` (ASCII case-insensitive) | `ILIKE` |
//! | `LIMIT -1` | `LIMIT ALL` |
//! | unary `+x` (SQLite's way to keep a column's index out of a plan) | `x` (PostgreSQL has no unary `+` on text) |
//! | `INDEXED BY i` (SQLite's planner hint) | nothing (PostgreSQL's planner takes no hints) |
//! | `CROSS JOIN t [a] ON …` (SQLite's way to fix the join order) | `JOIN t [a] ON …` (PostgreSQL allows no `ON` after `CROSS JOIN`) |
//! | `sum(x)` (warren sums integers only) | `CAST(sum(x) AS BIGINT)` (PostgreSQL's sum of `BIGINT` is `NUMERIC`) |
//!
//! `rowid` needs no translation: the PostgreSQL schema gives the tables whose
//! rows are ordered by insertion a `rowid` column of its own.

/// One lexical piece of a statement, kept with its source text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Word,
    /// `?` (None) or `?N`.
    Param(Option<u32>),
    Open,
    Close,
    Comma,
    Minus,
    Space,
    /// Literals, quoted names, comments, numbers and other punctuation:
    /// copied as they are.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
}

fn tokens(sql: &str) -> Vec<Token<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let kind = match c {
            b'\'' | b'"' | b'`' => {
                // A quoted literal or name; a doubled quote stays inside.
                i += 1;
                while i < b.len() {
                    if b[i] == c {
                        if i + 1 < b.len() && b[i + 1] == c {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                Kind::Other
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                Kind::Space
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                Kind::Space
            }
            b'?' => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                Kind::Param(sql[start + 1..i].parse().ok())
            }
            b'(' => {
                i += 1;
                Kind::Open
            }
            b')' => {
                i += 1;
                Kind::Close
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b'-' => {
                i += 1;
                Kind::Minus
            }
            c if c.is_ascii_whitespace() => {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                Kind::Space
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$')
                {
                    i += 1;
                }
                Kind::Word
            }
            c if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Kind::Other
            }
            _ => {
                // One character (a multi-byte one whole).
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                Kind::Other
            }
        };
        out.push(Token {
            kind,
            text: &sql[start..i],
        });
    }
    out
}

/// The index of the next token that is not space, from `i` on.
fn next_solid(t: &[Token], mut i: usize) -> Option<usize> {
    while i < t.len() {
        if t[i].kind != Kind::Space {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// For the `(` at `open`: the matching `)` and how many commas sit at its
/// own depth.
fn call_extent(t: &[Token], open: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut commas = 0;
    for (j, tok) in t.iter().enumerate().skip(open) {
        match tok.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth -= 1;
                if depth == 0 {
                    return Some((j, commas));
                }
            }
            Kind::Comma if depth == 1 => commas += 1,
            _ => {}
        }
    }
    None
}

/// Words after a table function that cannot be its alias.
/// Whether the `+` at `i` is a sign rather than an addition: it follows
/// nothing, an opening parenthesis, a comma, an operator or a keyword.
fn unary(t: &[Token], i: usize) -> bool {
    const KEYWORDS: &[&str] = &[
        "and", "or", "not", "where", "on", "when", "then", "else", "select", "by", "in", "is",
        "like", "between", "case", "return",
    ];
    let Some(p) = (0..i).rev().find(|&j| t[j].kind != Kind::Space) else {
        return true;
    };
    match t[p].kind {
        Kind::Open | Kind::Comma | Kind::Minus => true,
        Kind::Word => KEYWORDS.contains(&t[p].text.to_ascii_lowercase().as_str()),
        Kind::Other => t[p].text.chars().all(|c| "=<>!|*/+%".contains(c)),
        _ => false,
    }
}

/// Whether the `CROSS` at `i` starts `CROSS JOIN table [alias] ON`.
fn cross_join_on(t: &[Token], i: usize) -> bool {
    let mut k = i;
    let mut words = Vec::new();
    for _ in 0..4 {
        match next_solid(t, k + 1) {
            Some(j) if t[j].kind == Kind::Word => {
                words.push(t[j].text.to_ascii_lowercase());
                k = j;
            }
            _ => break,
        }
    }
    words.first().is_some_and(|w| w == "join") && words.iter().skip(2).any(|w| w == "on")
}

const NOT_ALIAS: &[&str] = &[
    "where", "on", "join", "left", "inner", "cross", "group", "order", "limit", "union",
];

/// `sql` in PostgreSQL's dialect; see the module documentation.
pub fn to_postgres(sql: &str) -> String {
    let t = tokens(sql);
    let mut out = String::with_capacity(sql.len() + 16);
    // Text to write after the token at an index (closing a rewritten call).
    let mut after: Vec<(usize, &'static str)> = Vec::new();
    let mut highest = 0u32;
    let mut i = 0;
    while i < t.len() {
        let tok = t[i];
        match tok.kind {
            Kind::Param(n) => {
                let n = n.unwrap_or(highest + 1);
                highest = highest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            Kind::Word => {
                let word = tok.text.to_ascii_lowercase();
                let call = next_solid(&t, i + 1)
                    .filter(|&j| t[j].kind == Kind::Open)
                    .and_then(|j| call_extent(&t, j).map(|(close, commas)| (j, close, commas)));
                match (word.as_str(), call) {
                    ("instr", Some(_)) => out.push_str("strpos"),
                    ("ifnull", Some(_)) => out.push_str("coalesce"),
                    ("json_array", Some(_)) => out.push_str("json_build_array"),
                    ("max", Some((_, _, c))) if c > 0 => out.push_str("GREATEST"),
                    ("min", Some((_, _, c))) if c > 0 => out.push_str("LEAST"),
                    ("sum", Some((_, close, _))) => {
                        out.push_str("CAST(sum");
                        after.push((close, " AS BIGINT)"));
                    }
                    ("json_group_array", Some((_, close, _))) => {
                        out.push_str("COALESCE(json_agg");
                        after.push((close, "::text, '[]')"));
                    }
                    ("json_each", Some((open, close, _))) => {
                        out.push_str("json_array_elements_text(");
                        // The argument is wrapped: `((x)::json)`.
                        out.push_str(&t[i + 1..open].iter().map(|t| t.text).collect::<String>());
                        out.push('(');
                        i = open + 1;
                        after.push((close, "::json)"));
                        // The alias (after an optional AS) names the column.
                        let mut a = next_solid(&t, close + 1);
                        if let Some(k) = a.filter(|&k| t[k].text.eq_ignore_ascii_case("as")) {
                            a = next_solid(&t, k + 1);
                        }
                        match a.filter(|&k| {
                            t[k].kind == Kind::Word
                                && !NOT_ALIAS.contains(&t[k].text.to_ascii_lowercase().as_str())
                        }) {
                            Some(k) => after.push((k, "(value)")),
                            None => after.push((close, " AS json_each(value)")),
                        }
                        continue;
                    }
                    ("like", None) => out.push_str("ILIKE"),
                    ("indexed", None) => {
                        let by =
                            next_solid(&t, i + 1).filter(|&j| t[j].text.eq_ignore_ascii_case("by"));
                        if let Some(name) = by.and_then(|j| next_solid(&t, j + 1)) {
                            i = name + 1;
                            continue;
                        }
                        out.push_str(tok.text);
                    }
                    ("cross", _) if cross_join_on(&t, i) => {
                        // Dropped with the space after it.
                        i = next_solid(&t, i + 1).unwrap_or(i + 1);
                        continue;
                    }
                    ("limit", _) => {
                        out.push_str(tok.text);
                        // `LIMIT -1` (no limit) is `LIMIT ALL`.
                        if let Some(m) = next_solid(&t, i + 1).filter(|&m| t[m].kind == Kind::Minus)
                        {
                            if t.get(m + 1).is_some_and(|o| o.text == "1") {
                                out.push_str(" ALL");
                                i = m + 2;
                                continue;
                            }
                        }
                    }
                    _ => out.push_str(tok.text),
                }
            }
            Kind::Other if tok.text == "+" && unary(&t, i) => {}
            _ => out.push_str(tok.text),
        }
        for (_, text) in after.iter().filter(|(at, _)| *at == i) {
            out.push_str(text);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_postgres;

    #[test]
    fn a_unary_plus_is_dropped_and_an_addition_kept() {
        assert_eq!(
            to_postgres("WHERE +w.a < 3 AND (+lower(p.name) = ?) AND x = +y"),
            "WHERE w.a < 3 AND (lower(p.name) = $1) AND x = y"
        );
        assert_eq!(
            to_postgres("SELECT a + 1, ? + b, (c) + d, 2 + 3, max(a, 1) + 1"),
            "SELECT a + 1, $1 + b, (c) + d, 2 + 3, GREATEST(a, 1) + 1"
        );
    }

    #[test]
    fn index_hints_are_dropped() {
        assert_eq!(
            to_postgres(
                "SELECT w.id FROM workspaces w INDEXED BY workspaces_owner_idx WHERE x = ?"
            ),
            "SELECT w.id FROM workspaces w  WHERE x = $1"
        );
    }

    #[test]
    fn a_cross_join_with_on_becomes_a_join() {
        assert_eq!(
            to_postgres("SELECT 1 FROM t CROSS JOIN w x ON x.t = t.id"),
            "SELECT 1 FROM t JOIN w x ON x.t = t.id"
        );
        assert_eq!(
            to_postgres("SELECT 1 FROM t CROSS JOIN w ON w.t = t.id"),
            "SELECT 1 FROM t JOIN w ON w.t = t.id"
        );
        assert_eq!(
            to_postgres("SELECT 1 FROM t CROSS JOIN w WHERE 1 = 1"),
            "SELECT 1 FROM t CROSS JOIN w WHERE 1 = 1"
        );
    }

    #[test]
    fn placeholders_follow_sqlite_numbering() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE a = ? AND b = ?"),
            "SELECT a FROM t WHERE a = $1 AND b = $2"
        );
        assert_eq!(
            to_postgres("UPDATE t SET a = ?2, b = ?1 WHERE c = ?2"),
            "UPDATE t SET a = $2, b = $1 WHERE c = $2"
        );
        // A bare ? after ?3 is the fourth.
        assert_eq!(to_postgres("?3, ?, ?1, ?"), "$3, $4, $1, $5");
    }

    #[test]
    fn literals_names_and_comments_are_untouched() {
        let sql = "SELECT 'what? like instr(' , \"max(a,b)\" -- like ?\n FROM t WHERE x = ?";
        assert_eq!(
            to_postgres(sql),
            "SELECT 'what? like instr(' , \"max(a,b)\" -- like ?\n FROM t WHERE x = $1"
        );
        assert_eq!(to_postgres("SELECT 'it''s ?'"), "SELECT 'it''s ?'");
    }

    #[test]
    fn sqlite_functions_become_postgres_ones() {
        assert_eq!(
            to_postgres(
                "(SELECT json_group_array(json_array(a.user_id, a.role)) FROM acl a WHERE a.w = w.id)"
            ),
            "(SELECT COALESCE(json_agg(json_build_array(a.user_id, a.role))::text, '[]') FROM acl a WHERE a.w = w.id)"
        );
        assert_eq!(
            to_postgres("instr(lower(t.name), lower(?)) > 0"),
            "strpos(lower(t.name), lower($1)) > 0"
        );
        assert_eq!(to_postgres("IFNULL(a, 0)"), "coalesce(a, 0)");
        assert_eq!(
            to_postgres("SET x = max(x, ?2), y = (SELECT max(y) FROM t), z = MIN(a, b, c)"),
            "SET x = GREATEST(x, $2), y = (SELECT max(y) FROM t), z = LEAST(a, b, c)"
        );
        assert_eq!(
            to_postgres("w.name LIKE ? AND lower(p.name) NOT like lower(?)"),
            "w.name ILIKE $1 AND lower(p.name) NOT ILIKE lower($2)"
        );
        assert_eq!(
            to_postgres("ORDER BY a LIMIT -1 OFFSET 5"),
            "ORDER BY a LIMIT ALL OFFSET 5"
        );
        assert_eq!(to_postgres("LIMIT 25 OFFSET 0"), "LIMIT 25 OFFSET 0");
        assert_eq!(
            to_postgres("SELECT coalesce(sum(g.quota), 0) FROM g"),
            "SELECT coalesce(CAST(sum(g.quota) AS BIGINT), 0) FROM g"
        );
    }

    #[test]
    fn json_each_names_its_value_column() {
        assert_eq!(
            to_postgres("EXISTS (SELECT 1 FROM json_each(u.rbac_roles) j WHERE j.value IN (?,?))"),
            "EXISTS (SELECT 1 FROM json_array_elements_text((u.rbac_roles)::json) j(value) WHERE j.value IN ($1,$2))"
        );
        assert_eq!(
            to_postgres("SELECT value FROM json_each(?) WHERE value = 'a'"),
            "SELECT value FROM json_array_elements_text(($1)::json) AS json_each(value) WHERE value = 'a'"
        );
    }

    #[test]
    fn text_outside_ascii_survives() {
        assert_eq!(
            to_postgres("SELECT 'Ünïcödé' || ?"),
            "SELECT 'Ünïcödé' || $1"
        );
    }
}
