//! Authentication: API keys in Coder's `id-secret` form, argon2id passwords,
//! and the cache that turns a request's token into a [`Subject`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use argon2::password_hash::{
    Decimal, Ident, Output, ParamsString, PasswordHash, PasswordHasher, PasswordVerifier, Salt,
    SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::authz::Subject;
use crate::domain::store::Tx;
use crate::domain::store::{api_keys, groups, organizations, users};
use crate::domain::{roles, Db};
use crate::error::{ApiError, ApiResult};
use crate::gate::{Gate, Workers};
use crate::sdk::{self, Micros};

const HOUR: Micros = 3_600_000_000;

/// A freshly minted key: the clear token (shown once) and the row to store.
pub struct NewKey {
    pub token: String,
    pub row: api_keys::ApiKeyRow,
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Mints a key for `user`; only the hash of its secret goes into the row.
pub fn new_key(
    user: uuid::Uuid,
    login_type: &str,
    lifetime: Duration,
    token_name: &str,
    scopes: Vec<String>,
    allow_list: Vec<sdk::AllowListEntry>,
    now: Micros,
) -> NewKey {
    let id = Alphanumeric.sample_string(&mut OsRng, 10);
    let secret = Alphanumeric.sample_string(&mut OsRng, 22);
    let lifetime_seconds = lifetime.as_secs() as i64;
    NewKey {
        token: format!("{id}-{secret}"),
        row: api_keys::ApiKeyRow {
            id,
            hashed_secret: hash_secret(&secret),
            user_id: user,
            login_type: login_type.to_string(),
            scopes,
            allow_list,
            token_name: token_name.to_string(),
            lifetime_seconds,
            expires_at: now + lifetime_seconds * 1_000_000,
            last_used: None,
            created_at: now,
            updated_at: now,
        },
    }
}

/// Splits a token into id and secret with Coder's exact complaints.
pub fn parse_token(token: &str) -> ApiResult<(&str, &str)> {
    if let Some((id, secret)) = token.split_once('-') {
        if id.len() == 10 && secret.len() == 22 && !secret.contains('-') {
            return Ok((id, secret));
        }
    }
    let parts: Vec<&str> = token.split('-').collect();
    if parts.len() != 2 {
        return Err(ApiError::unauthorized(format!(
            "Invalid API key format: incorrect amount of API key parts, expected 2 got {}",
            parts.len()
        )));
    }
    if parts[0].len() != 10 {
        return Err(ApiError::unauthorized(format!(
            "Invalid API key format: invalid API key ID length, expected 10 got {}",
            parts[0].len()
        )));
    }
    if parts[1].len() != 22 {
        return Err(ApiError::unauthorized(format!(
            "Invalid API key format: invalid API key secret length, expected 22 got {}",
            parts[1].len()
        )));
    }
    Ok((parts[0], parts[1]))
}

/// Argon2 as the `argon2` crate computes it, over working memory that the
/// calling thread keeps: the crate's own hasher allocates and frees 19 MiB
/// per check, and glibc keeps such freed buffers resident per arena, so that
/// memory grew with every check however few ran at once. Verification (the
/// crate's, through [`PasswordVerifier`]) comes with the trait.
struct KeptMemory;

thread_local! {
    static ARGON2_MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl PasswordHasher for KeptMemory {
    type Params = Params;

    fn hash_password<'a>(
        &self,
        password: &[u8],
        salt: impl Into<Salt<'a>>,
    ) -> argon2::password_hash::Result<PasswordHash<'a>> {
        self.hash_password_customized(password, None, None, Params::default(), salt)
    }

    fn hash_password_customized<'a>(
        &self,
        password: &[u8],
        algorithm: Option<Ident<'a>>,
        version: Option<Decimal>,
        params: Params,
        salt: impl Into<Salt<'a>>,
    ) -> argon2::password_hash::Result<PasswordHash<'a>> {
        let algorithm = algorithm
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let salt = salt.into();
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf)?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let blocks = params.block_count();
        let output = Output::init_with(
            params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN),
            |out| {
                // Memory beyond the default (a stored hash with costlier
                // parameters) is not kept.
                if blocks > Params::default().block_count() {
                    return Ok(argon2.hash_password_into(password, salt_bytes, out)?);
                }
                ARGON2_MEMORY.with_borrow_mut(|memory| {
                    if memory.len() < blocks {
                        memory.resize(blocks, Block::default());
                    }
                    Ok(argon2.hash_password_into_with_memory(
                        password,
                        salt_bytes,
                        out,
                        &mut memory[..blocks],
                    )?)
                })
            },
        )?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(output),
        })
    }
}

/// Argon2id with the crate's defaults, which are OWASP's recommendation
/// (19 MiB, 2 passes, 1 lane).
pub fn hash_password(password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    KeptMemory
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => KeptMemory
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so that a login
/// for an unknown email costs the same as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("warren-timing-equaliser").unwrap_or_default())
}

/// Authenticates a token: the whole of Coder's validation sequence.
fn authenticate(conn: &Tx, token: &str, now: Micros) -> ApiResult<Authenticated> {
    let (id, secret) = parse_token(token)?;
    let key =
        api_keys::get(conn, id)?.ok_or_else(|| ApiError::unauthorized("API key is invalid."))?;
    let hashed = hash_secret(secret);
    if !bool::from(hashed.ct_eq(&key.hashed_secret)) {
        return Err(ApiError::unauthorized("API key secret is invalid."));
    }
    if key.expires_at <= now {
        return Err(ApiError::unauthorized(format!(
            "API key expired at {:?}.",
            sdk::go_time_string(key.expires_at)
        )));
    }
    let user = users::get(conn, key.user_id)?
        .filter(|u| !u.deleted)
        .ok_or_else(|| ApiError::unauthorized("API key is invalid."))?;
    if user.status == "suspended" {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            format!(
                "User is not active (status = {:?}). Contact an admin to reactivate your account.",
                user.status
            ),
        ));
    }
    let orgs = organizations::memberships_of(conn, user.id)?;
    let org_perms = roles::held_permissions(conn, &orgs)?;
    let groups = groups::ids_of_user(conn, user.id)?;
    Ok(Authenticated {
        subject: Subject {
            user_id: user.id,
            username: user.username.into(),
            key_id: key.id.as_str().into(),
            site_roles: std::sync::Arc::new(user.rbac_roles),
            orgs: std::sync::Arc::new(orgs.into_iter().collect()),
            groups: std::sync::Arc::new(groups),
            org_perms: std::sync::Arc::new(org_perms),
            system: None,
        },
        needs_touch: user.status == "dormant"
            || key.last_used.is_none_or(|t| now - t > HOUR)
            || user.last_seen_at.is_none_or(|t| now - t > HOUR),
        touch_due: key
            .last_used
            .unwrap_or(now)
            .min(user.last_seen_at.unwrap_or(now))
            + HOUR,
        key,
    })
}

struct Authenticated {
    subject: Subject,
    key: api_keys::ApiKeyRow,
    needs_touch: bool,
    /// When the key's use must next be written down (last_used, last_seen).
    touch_due: Micros,
}

/// Recently authenticated keys, valid while the database has not been
/// written since (any write may change a user, a role or a key). The secret
/// is still checked against the stored hash on every request.
#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, CachedKey>>,
}

struct CachedKey {
    generation: u64,
    hashed_secret: Vec<u8>,
    expires_at: Micros,
    touch_due: Micros,
    subject: Subject,
}

const AUTH_CACHE_MAX: usize = 10_000;

impl AuthCache {
    fn lookup(&self, token: &str, generation: u64, now: Micros) -> Option<Subject> {
        let (id, secret) = parse_token(token).ok()?;
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(id)?;
        let fresh = e.generation == generation && now < e.expires_at && now < e.touch_due;
        let matches = bool::from(hash_secret(secret).ct_eq(&e.hashed_secret));
        (fresh && matches).then(|| e.subject.clone())
    }

    fn store(&self, a: &Authenticated, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= AUTH_CACHE_MAX {
            entries.clear();
        }
        entries.insert(
            a.key.id.clone(),
            CachedKey {
                generation,
                hashed_secret: a.key.hashed_secret.clone(),
                expires_at: a.key.expires_at,
                touch_due: a.touch_due,
                subject: a.subject.clone(),
            },
        );
    }
}

/// The subject a token names, from the cache when its entry is fresh, else
/// from the store (touching the key's use at most about once an hour).
pub async fn subject_for(
    db: &Db,
    cache: &AuthCache,
    token: String,
    now: Micros,
) -> ApiResult<Subject> {
    let generation = db.generation();
    if let Some(subject) = cache.lookup(&token, generation, now) {
        return Ok(subject);
    }
    let auth = db.read(move |conn| authenticate(conn, &token, now)).await?;
    if !auth.needs_touch {
        cache.store(&auth, generation);
    }
    if auth.needs_touch {
        // Written at most about once an hour per key: last_used, the
        // user's last_seen_at (which also wakes a dormant user) and
        // the sliding expiry.
        let key = auth.key.clone();
        db.write(move |conn| {
            let lifetime = key.lifetime_seconds * 1_000_000;
            let expires = if key.expires_at - now <= lifetime - HOUR {
                now + lifetime
            } else {
                key.expires_at
            };
            api_keys::touch(conn, &key.id, now, expires)?;
            Ok(users::touch_last_seen(conn, key.user_id, now)?)
        })
        .await?;
    }
    Ok(auth.subject)
}

const ADDRESS_KEY: &str = "ip:";

/// Login attempts per email and per client address: more than `limit` for
/// one email (or five times that from one address, which an office behind
/// one NAT shares) within a minute earn 429 until the minute has passed.
/// An attempt is counted when it is admitted, before its password is
/// checked, so a parallel flood cannot slip more checks through than the
/// limit.
pub struct LoginLimiter {
    limit: u32,
    window: Micros,
    attempts: Mutex<HashMap<String, (Micros, u32)>>,
}

impl LoginLimiter {
    pub fn new(limit: u32) -> LoginLimiter {
        LoginLimiter {
            limit,
            window: 60_000_000,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// The keys an attempt counts against: its email and its address.
    pub fn keys(email: &str, address: &str) -> Vec<String> {
        vec![
            format!("email:{}", email.to_lowercase()),
            format!("{ADDRESS_KEY}{address}"),
        ]
    }

    fn limit_of(&self, key: &str) -> u32 {
        if key.starts_with(ADDRESS_KEY) {
            self.limit.saturating_mul(5)
        } else {
            self.limit
        }
    }

    /// Counts one attempt against every key, or refuses it (counting
    /// nothing) when any key has used up its attempts.
    pub fn reserve(&self, keys: &[String], now: Micros) -> ApiResult<()> {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bounded memory under a spray of distinct emails.
            map.retain(|_, (start, _)| now - *start < self.window);
        }
        for k in keys {
            if let Some((start, n)) = map.get(k) {
                let elapsed = now - *start;
                if elapsed < self.window && *n >= self.limit_of(k) {
                    let left = self.window - elapsed;
                    return Err(ApiError::too_many_requests(
                        format!(
                            "You've been rate limited for sending more than {} failed login attempts in 1m0s.",
                            self.limit
                        ),
                        // Whole seconds, rounded up.
                        ((left + 999_999) / 1_000_000) as u64,
                    ));
                }
            }
        }
        for k in keys {
            let e = map.entry(k.clone()).or_insert((now, 0));
            if now - e.0 >= self.window {
                *e = (now, 0);
            }
            e.1 += 1;
        }
        Ok(())
    }

    /// Gives back an attempt whose password was never checked.
    pub fn release(&self, keys: &[String]) {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            if let Some(e) = map.get_mut(k) {
                e.1 = e.1.saturating_sub(1);
            }
        }
    }

    /// A successful login clears its email's count and gives back its
    /// attempt on the address: a success never wipes out the failures
    /// others made from the same address.
    pub fn succeed(&self, keys: &[String]) {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            if k.starts_with(ADDRESS_KEY) {
                if let Some(e) = map.get_mut(k) {
                    e.1 = e.1.saturating_sub(1);
                }
            } else {
                map.remove(k);
            }
        }
    }
}

/// Argon2 work at once; each hash holds 19 MiB.
const HASHING_AT_ONCE: usize = 2;
/// Password checks that may wait for their turn; more get 429.
const HASHING_QUEUE: usize = 64;

/// Every password hash and verification goes through here: at most
/// [`HASHING_AT_ONCE`] run at once, on as many dedicated threads, so that
/// memory stays bounded under a flood of logins, user creations or password
/// changes.
pub struct Passwords {
    gate: Gate,
    threads: Workers,
    checks: std::sync::Arc<AtomicU64>,
}

impl Default for Passwords {
    fn default() -> Passwords {
        Passwords {
            gate: Gate::new("password checks", HASHING_AT_ONCE, HASHING_QUEUE),
            threads: Workers::new("argon2", HASHING_AT_ONCE),
            checks: Default::default(),
        }
    }
}

impl Passwords {
    async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let pass = self.gate.enter().await?;
        self.threads
            .run(move || {
                let _pass = pass;
                f()
            })
            .await
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> ApiResult<String> {
        let checks = self.checks.clone();
        self.run(move || {
            checks.fetch_add(1, Ordering::Relaxed);
            hash_password(&password)
        })
        .await?
    }

    /// Verifies each password against `stored`; with no stored hash every
    /// answer is false but the work is done all the same, so that an unknown
    /// user costs what a wrong password does.
    pub async fn verify<const N: usize>(
        &self,
        passwords: [String; N],
        stored: Option<String>,
    ) -> ApiResult<[bool; N]> {
        let checks = self.checks.clone();
        self.run(move || {
            passwords.map(|p| {
                checks.fetch_add(1, Ordering::Relaxed);
                match &stored {
                    Some(h) => verify_password(&p, h),
                    None => {
                        verify_password(&p, dummy_hash());
                        false
                    }
                }
            })
        })
        .await
    }

    /// Password hashes and verifications run since start.
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }
}

/// What signing in needs to know of the account with an email.
pub struct Account {
    pub user_id: uuid::Uuid,
    /// Empty when the account has no password.
    pub hashed_password: String,
    pub login_type: String,
    pub status: String,
}

/// The live account with this email, if any.
pub fn account_by_email(tx: &Tx, email: &str) -> ApiResult<Option<Account>> {
    Ok(users::get_by_email(tx, email)?.map(|u| Account {
        user_id: u.id,
        hashed_password: u.hashed_password,
        login_type: u.login_type,
        status: u.status,
    }))
}

/// Opens a session for a user who proved their password: a new
/// password-login key; returns the token (shown once) and the key's id.
pub fn open_session(
    tx: &Tx,
    user: uuid::Uuid,
    lifetime: Duration,
    now: Micros,
) -> ApiResult<(String, String)> {
    let key = new_key(
        user,
        "password",
        lifetime,
        "",
        vec!["coder:all".into()],
        vec![sdk::AllowListEntry {
            kind: "*".into(),
            id: "*".into(),
        }],
        now,
    );
    api_keys::insert(tx, &key.row)?;
    users::touch_last_seen(tx, user, now)?;
    Ok((key.token, key.row.id))
}

/// Ends the session of the key that authenticated the subject.
pub fn close_session(tx: &Tx, subject: &Subject) -> ApiResult<()> {
    api_keys::delete(tx, &subject.key_id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_format_errors_match_coder() {
        let e = parse_token("abc").unwrap_err();
        assert_eq!(
            e.body.detail,
            "Invalid API key format: incorrect amount of API key parts, expected 2 got 1"
        );
        let e = parse_token("abc-def").unwrap_err();
        assert_eq!(
            e.body.detail,
            "Invalid API key format: invalid API key ID length, expected 10 got 3"
        );
        let e = parse_token("abcdefghij-def").unwrap_err();
        assert_eq!(
            e.body.detail,
            "Invalid API key format: invalid API key secret length, expected 22 got 3"
        );
        let k = new_key(
            uuid::Uuid::nil(),
            "token",
            Duration::from_secs(60),
            "",
            vec![],
            vec![],
            0,
        );
        let (id, secret) = parse_token(&k.token).unwrap();
        assert_eq!(id, k.row.id);
        assert_eq!(hash_secret(secret), k.row.hashed_secret);
        assert_eq!(k.token.len(), 33);
    }

    #[test]
    fn passwords_round_trip_as_argon2id() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
    }

    #[test]
    fn hashes_are_the_argon2_crates_own() {
        // Each way verifies the other's hashes, whatever the parameters.
        let ours = hash_password("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let salt = SaltString::generate(&mut OsRng);
        for params in [Params::default(), Params::new(8, 1, 1, None).unwrap()] {
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"battery staple", &salt)
                .unwrap()
                .to_string();
            assert!(verify_password("battery staple", &theirs));
            assert!(!verify_password("battery stapler", &theirs));
        }
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x10, Params::default())
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("battery staple", &argon2i));
    }
}
