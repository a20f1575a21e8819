//! Bearer-token access control for the HTTP API.
//!
//! Tokens live in a TOML file (`http.tokens_file`) as SHA-256 hashes only,
//! each with one scope; a request's token is hashed and compared with every
//! stored hash in constant time. What each scope may see is decided here,
//! in one place, by [`Scope`]'s methods; the handlers ask them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use salespulse_model::record::{CoachingRecord, ScoreRecord, StatementRecord};
use salespulse_model::AlertRecord;
use salespulse_view::AlertFilter;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Errors of the access configuration.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// `http.auth` is neither `tokens` nor `none`.
    #[error("http.auth = {0:?}: expected \"tokens\" or \"none\"")]
    Mode(String),
    /// Tokens are required but no file is named.
    #[error("http.tokens_file is not set: name a tokens file (`salespulse token new` makes entries), or set http.auth = \"none\" to serve without access control")]
    NoFile,
    /// The tokens file cannot be read.
    #[error("http.tokens_file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The tokens file is not valid.
    #[error("http.tokens_file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the entry.
        message: String,
    },
}

/// What a token may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    Admin,
    /// Everything except commissions.
    Ops,
    /// One team, including its commissions.
    Manager(String),
    /// One rep's own record including commission; peers' scores without.
    Rep(String),
}

impl Scope {
    /// Parses `admin`, `ops`, `manager:<team_id>` or `rep:<rep_id>`.
    pub fn parse(s: &str) -> Result<Scope, String> {
        match s.split_once(':') {
            None if s == "admin" => Ok(Scope::Admin),
            None if s == "ops" => Ok(Scope::Ops),
            Some(("manager", team)) if !team.is_empty() => Ok(Scope::Manager(team.into())),
            Some(("rep", rep)) if !rep.is_empty() => Ok(Scope::Rep(rep.into())),
            _ => Err(format!(
                "scope {s:?}: expected admin, ops, manager:<team_id> or rep:<rep_id>"
            )),
        }
    }

    /// The team a manager token is limited to.
    pub fn team(&self) -> Option<&str> {
        match self {
            Scope::Manager(t) => Some(t),
            _ => None,
        }
    }

    /// Whether this scope may read the record of a rep at all.
    pub fn may_see_rep(&self, record: &ScoreRecord) -> bool {
        match self {
            Scope::Manager(t) => record.team_id.as_deref() == Some(t),
            _ => true,
        }
    }

    /// Whether this scope may see the commission in a rep's record.
    pub fn sees_commission(&self, record: &ScoreRecord) -> bool {
        match self {
            Scope::Admin => true,
            Scope::Ops => false,
            Scope::Manager(t) => record.team_id.as_deref() == Some(t),
            Scope::Rep(r) => record.rep_id == *r,
        }
    }

    /// Whether this scope may see alerts about `alert` (a rep sees only
    /// its own, a manager its team's).
    pub fn may_see_alert(&self, alert: &AlertRecord) -> bool {
        match self {
            Scope::Admin | Scope::Ops => true,
            Scope::Manager(t) => alert.team_id.as_deref() == Some(t),
            Scope::Rep(r) => alert.rep_id.as_deref() == Some(r),
        }
    }

    /// `filter` narrowed to what this scope may see: a manager's alerts are
    /// its team's, a rep's its own. `None` when the filter asks for another
    /// team or rep.
    pub fn narrow<'a>(&'a self, filter: AlertFilter<'a>) -> Option<AlertFilter<'a>> {
        let narrow = |asked: Option<&'a str>, own: &'a str| match asked {
            Some(a) if a != own => None,
            _ => Some(Some(own)),
        };
        match self {
            Scope::Admin | Scope::Ops => Some(filter),
            Scope::Manager(t) => Some(AlertFilter {
                team: narrow(filter.team, t)?,
                ..filter
            }),
            Scope::Rep(r) => Some(AlertFilter {
                rep: narrow(filter.rep, r)?,
                ..filter
            }),
        }
    }

    /// Whether this scope may read `path` (for the metrics and readiness
    /// endpoints when they are not public: admin and ops only).
    pub fn may_operate(&self) -> bool {
        matches!(self, Scope::Admin | Scope::Ops)
    }
}

/// A rep's answer as `scope` may see it: the score record with its KPI
/// table, forecast and last periods, its coaching, and its latest
/// commission statement only where the scope may see pay.
pub fn visible(
    scope: &Scope,
    record: &ScoreRecord,
    coaching: Option<&CoachingRecord>,
    statement: Option<&StatementRecord>,
) -> Value {
    // The view's record holds no commission (not on the score topic): pay
    // comes from the statement, and only where the scope may see it.
    let mut v = record.joined_json();
    if let Some(o) = v.as_object_mut() {
        o.remove("commission");
        if let Some(c) = coaching.and_then(|c| serde_json::to_value(&c.coaching).ok()) {
            o.insert("coaching".into(), c);
        }
        if let Some(s) = statement.filter(|_| scope.sees_commission(record)) {
            o.insert(
                "commission".into(),
                serde_json::to_value(s).unwrap_or_default(),
            );
        }
    }
    v
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    sha256: String,
    scope: String,
}

/// One accepted token.
#[derive(Debug, Clone)]
pub struct Token {
    /// Who holds it (for logs).
    pub name: String,
    hash: [u8; 32],
    /// What it may see.
    pub scope: Scope,
}

/// The access policy of one server.
#[derive(Debug, Clone)]
pub struct Access {
    /// `None` when `http.auth = "none"`.
    tokens: Option<Vec<Token>>,
    /// Paths served without a token (`/healthz` always is).
    public: Vec<String>,
}

/// SHA-256 of `token`, as stored in the tokens file.
pub fn hash_hex(token: &str) -> String {
    salespulse_model::hex::encode(&Sha256::digest(token.as_bytes()))
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    salespulse_model::hex::decode(hex)?.try_into().ok()
}

/// A new random token: 32 bytes from the OS, hex.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    salespulse_model::hex::encode(&bytes)
}

impl Access {
    /// No access control: every request sees everything.
    pub fn open() -> Access {
        Access {
            tokens: None,
            public: Vec::new(),
        }
    }

    /// Exactly `tokens` (name, token, scope), for the demo and tests.
    pub fn with_tokens(tokens: &[(&str, &str, Scope)], public: &[&str]) -> Access {
        let tokens = tokens
            .iter()
            .map(|(name, t, scope)| Token {
                name: name.to_string(),
                hash: Sha256::digest(t.as_bytes()).into(),
                scope: scope.clone(),
            })
            .collect();
        Access {
            tokens: Some(tokens),
            public: public.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// The policy `[http]` asks for, reading the tokens file.
    pub fn from_section(http: &crate::HttpSection) -> Result<Access, AuthError> {
        match http.auth.as_str() {
            "none" => Ok(Access::open()),
            "tokens" => {
                let path = http.tokens_file.as_deref().ok_or(AuthError::NoFile)?;
                Ok(Access {
                    tokens: Some(load(path)?),
                    public: http.public.clone(),
                })
            }
            other => Err(AuthError::Mode(other.into())),
        }
    }

    /// Whether access control is off.
    pub fn is_open(&self) -> bool {
        self.tokens.is_none()
    }

    /// How many tokens are accepted.
    pub fn token_count(&self) -> usize {
        self.tokens.as_ref().map_or(0, Vec::len)
    }

    /// The token whose hash matches `presented`, compared with every stored
    /// hash in constant time (no early exit on a match).
    fn find(&self, presented: &str) -> Option<&Token> {
        let tokens = self.tokens.as_ref()?;
        let hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for t in tokens {
            if bool::from(t.hash.ct_eq(&hash)) {
                found = Some(t);
            }
        }
        found
    }
}

fn load(path: &Path) -> Result<Vec<Token>, AuthError> {
    let invalid = |message: String| AuthError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: TokensFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut out = Vec::with_capacity(file.tokens.len());
    for (i, e) in file.tokens.into_iter().enumerate() {
        let hash = parse_hash(&e.sha256.to_ascii_lowercase()).ok_or_else(|| {
            invalid(format!(
                "tokens[{i}] ({}): sha256 must be 64 hex digits (the SHA-256 of the token, never the token)",
                e.name
            ))
        })?;
        let scope = Scope::parse(&e.scope)
            .map_err(|m| invalid(format!("tokens[{i}] ({}): {m}", e.name)))?;
        out.push(Token {
            name: e.name,
            hash,
            scope,
        });
    }
    Ok(out)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut r = (status, Json(json!({ "error": message }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"salespulse\""),
        );
    }
    r
}

/// 403 for a request outside the token's scope.
pub fn forbidden(message: &str) -> Response {
    refuse(StatusCode::FORBIDDEN, message)
}

/// Paths that never need a token: liveness and the live page's static
/// shell (it holds no data; its data comes from `/v1`).
const ALWAYS_OPEN: [&str; 4] = ["/healthz", "/", "/page.js", "/page.css"];

/// The middleware: 401 without a valid token, 403 for `/metrics` and
/// `/readyz` outside admin and ops; otherwise the token's [`Scope`] goes
/// into the request's extensions for the handlers.
pub async fn require(State(access): State<Arc<Access>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if access.is_open() {
        req.extensions_mut().insert(Scope::Admin);
        return next.run(req).await;
    }
    if ALWAYS_OPEN.contains(&path.as_str()) || access.public.contains(&path) {
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = presented.and_then(|p| access.find(p)) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required (Authorization: Bearer <token>)",
        );
    };
    if (path == "/metrics" || path == "/readyz") && !token.scope.may_operate() {
        return forbidden("this endpoint needs an admin or ops token");
    }
    req.extensions_mut().insert(token.scope.clone());
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_refuse_with_the_expected_forms() {
        assert_eq!(Scope::parse("admin"), Ok(Scope::Admin));
        assert_eq!(Scope::parse("manager:t1"), Ok(Scope::Manager("t1".into())));
        assert_eq!(Scope::parse("rep:r-9"), Ok(Scope::Rep("r-9".into())));
        for bad in ["", "root", "manager:", "rep", "team:t1"] {
            let e = Scope::parse(bad).unwrap_err();
            assert!(e.contains("manager:<team_id>"), "{e}");
        }
    }

    #[test]
    fn tokens_are_found_by_hash_only() {
        let a = Access::with_tokens(
            &[("x", "tok-1", Scope::Ops), ("y", "tok-2", Scope::Admin)],
            &[],
        );
        assert_eq!(a.find("tok-2").map(|t| t.name.as_str()), Some("y"));
        assert!(a.find("tok-3").is_none() && a.find("").is_none());
        assert_eq!(
            hash_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_tokens_file_with_a_clear_token_is_refused_naming_the_entry() {
        let dir = std::env::temp_dir().join(format!("salespulse-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("tokens.toml");
        std::fs::write(
            &f,
            "[[tokens]]\nname = \"grafana\"\nsha256 = \"not-a-hash\"\nscope = \"ops\"\n",
        )
        .unwrap();
        let e = load(&f).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            e.contains("tokens[0] (grafana)") && e.contains("64 hex"),
            "{e}"
        );
    }
}
