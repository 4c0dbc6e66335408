//! Coder's rules for names, emails and passwords.

use std::sync::OnceLock;

use rand::seq::SliceRandom;
use regex::Regex;

const NAME: &str = r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$";
const EMAIL: &str = r"^[^\s@]+@[^\s@]+\.[^\s@]+$|^[^\s@]+@[a-zA-Z0-9-]+$";
const VERSION_NAME: &str = r"^[a-zA-Z0-9]+(?:[_.-]{1}[a-zA-Z0-9]+)*$";

/// One of the constant patterns above, compiled once; the unit test
/// `constant_patterns_compile` makes a typo fail CI rather than a request.
#[allow(
    clippy::expect_used,
    reason = "constant patterns, compiled by a unit test"
)]
fn compiled(cell: &'static OnceLock<Regex>, pattern: &'static str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a constant pattern compiles"))
}

fn name_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(&RE, NAME)
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    compiled(&RE, EMAIL)
}

/// Coder's template version name rule: letters and digits joined by single
/// `_`, `.` or `-`, at most 64 characters.
pub fn valid_version_name(s: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    s.len() <= 64 && compiled(&RE, VERSION_NAME).is_match(s)
}

/// Username, organization, group, template and role names: 1–32
/// characters, alphanumerics separated by single hyphens; `new` and
/// `create` reserved.
pub fn valid_name(s: &str) -> bool {
    name_problem(s).is_none()
}

/// Why a name breaks [`valid_name`], as Coder's `NameValid` says it.
pub fn name_problem(s: &str) -> Option<String> {
    if s.len() > 32 {
        return Some("must be <= 32 characters".into());
    }
    if s.is_empty() {
        return Some("must be >= 1 character".into());
    }
    if s.eq_ignore_ascii_case("new") || s.eq_ignore_ascii_case("create") {
        return Some(format!("cannot use {s:?} as a name"));
    }
    if !name_re().is_match(s) {
        return Some("must be alphanumeric with hyphens".into());
    }
    None
}

/// A display or full name: at most 128 characters, no surrounding spaces.
pub fn valid_full_name(s: &str) -> bool {
    s.chars().count() <= 128 && s.trim() == s
}

pub fn valid_email(s: &str) -> bool {
    s.len() <= 254 && email_re().is_match(s)
}

/// Coder checks length and an entropy estimate (go-password-validator with a
/// minimum of 52 bits). The estimate here follows the same idea: the size of
/// the character classes used, raised to the length once runs of a repeated
/// character are counted once. Returns the reason a password is refused.
pub fn password_problem(p: &str) -> Option<String> {
    let len = p.chars().count();
    if len < 6 {
        return Some("password must be at least 6 characters".into());
    }
    if len > 64 {
        return Some("password must be no more than 64 characters".into());
    }
    let mut base = 0u32;
    if p.chars().any(|c| c.is_ascii_lowercase()) {
        base += 26;
    }
    if p.chars().any(|c| c.is_ascii_uppercase()) {
        base += 26;
    }
    if p.chars().any(|c| c.is_ascii_digit()) {
        base += 10;
    }
    if p.chars().any(|c| c.is_ascii_punctuation()) {
        base += 33;
    }
    if p.chars().any(|c| c == ' ') {
        base += 1;
    }
    if !p.is_ascii() {
        base += 32;
    }
    let mut effective = 0usize;
    let mut prev = None;
    for c in p.chars() {
        if prev != Some(c) {
            effective += 1;
        }
        prev = Some(c);
    }
    let bits = effective as f64 * (base.max(1) as f64).log2();
    if bits < 52.0 {
        return Some("insecure password, try including more special characters, using uppercase letters, using numbers or using a longer password".into());
    }
    None
}

/// A random Docker-style name (`frosty_einstein`), used for unnamed tokens.
pub fn random_docker_name() -> String {
    const LEFT: &[&str] = &[
        "admiring",
        "brave",
        "clever",
        "dazzling",
        "eager",
        "frosty",
        "gallant",
        "happy",
        "inspiring",
        "jolly",
        "keen",
        "lucid",
        "modest",
        "nifty",
        "optimistic",
        "peaceful",
        "quirky",
        "relaxed",
        "serene",
        "trusting",
        "upbeat",
        "vibrant",
        "wizardly",
        "zealous",
    ];
    const RIGHT: &[&str] = &[
        "archimedes",
        "babbage",
        "curie",
        "darwin",
        "einstein",
        "feynman",
        "galileo",
        "hopper",
        "hypatia",
        "johnson",
        "kepler",
        "lovelace",
        "meitner",
        "noether",
        "pasteur",
        "ritchie",
        "shannon",
        "tesla",
        "turing",
        "villani",
        "wozniak",
        "yonath",
        "zhukovsky",
        "lamarr",
    ];
    let mut rng = rand::thread_rng();
    format!(
        "{}_{}",
        LEFT.choose(&mut rng).unwrap_or(&"brave"),
        RIGHT.choose(&mut rng).unwrap_or(&"turing")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_patterns_compile() {
        for p in [super::NAME, super::EMAIL, super::VERSION_NAME] {
            assert!(regex::Regex::new(p).is_ok(), "{p}");
        }
    }

    use super::*;

    #[test]
    fn names_follow_coder() {
        assert!(valid_name("alice"));
        assert!(valid_name("a-b-c1"));
        assert!(!valid_name(""));
        assert!(!valid_name("-a"));
        assert!(!valid_name("a--b"));
        assert!(!valid_name("has space"));
        assert!(!valid_name("new"));
        assert!(!valid_name(&"a".repeat(33)));
        assert!(valid_full_name("Alice Smith"));
        assert!(!valid_full_name(" Alice"));
    }

    #[test]
    fn passwords_need_length_and_entropy() {
        assert!(password_problem("short").is_some());
        assert!(password_problem("password").is_some());
        assert!(password_problem("aaaaaaaaaaaaaaaaaaaaaaaa").is_some());
        assert!(password_problem("SomeSecurePassword!").is_none());
        assert!(password_problem("testpassword123").is_none());
        assert!(password_problem(&"aB3$".repeat(17)).is_some());
    }

    #[test]
    fn emails() {
        assert!(valid_email("alice@example.com"));
        assert!(!valid_email("alice"));
        assert!(!valid_email("a b@example.com"));
    }
}
