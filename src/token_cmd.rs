//! `salespulse token new`: a random bearer token and the entry for the
//! tokens file, which stores only its SHA-256.

use anyhow::{anyhow, Result};
use salespulse_server::auth::{hash_hex, new_token, Scope};

/// Arguments of `token new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// admin, ops, manager:<team_id> or rep:<rep_id>.
    #[arg(long)]
    scope: String,
    /// Who holds the token (shown in logs, never the token).
    #[arg(long)]
    name: String,
}

/// Prints the token on stderr-free stdout lines: the token first, then the entry.
pub fn new(a: &NewArgs) -> Result<()> {
    Scope::parse(&a.scope).map_err(|m| anyhow!("--scope: {m}"))?;
    let token = new_token();
    println!("token (give it to {}, it is not stored): {token}", a.name);
    println!("add to the tokens file:");
    println!();
    println!("[[tokens]]");
    println!("name = {:?}", a.name);
    println!("sha256 = \"{}\"", hash_hex(&token));
    println!("scope = {:?}", a.scope);
    Ok(())
}
