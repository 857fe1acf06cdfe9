//! [`AccessRules`]: which token may read or write which collection on a relay.
//!
//! ```
//! use crdt_sync::net::access::AccessRules;
//! use crdt_sync::session::Access;
//!
//! let mut rules = AccessRules::default();
//! rules.add_flag("rw:carts:team-secret").unwrap();
//! rules.add_flag("ro:*:viewer").unwrap(); // every collection, read-only
//! assert_eq!(rules.check("carts", "team-secret"), Access::ReadWrite);
//! assert_eq!(rules.check("carts", "viewer"), Access::ReadOnly);
//! assert_eq!(rules.check("carts", "guess"), Access::Denied);
//! assert_eq!(rules.check("other", "team-secret"), Access::Denied);
//! ```
//!
//! A rule grants `rw` (read and write) or `ro` (read only) on one collection, or on every
//! collection with `*`, to one token; an empty token means a client that presents none. Of the
//! rules that match, the strongest wins. With no rule at all the relay is open: every
//! collection is read-write for everyone (the relay warns about it when it starts).
//!
//! Rules come from `--access RIGHTS:COLLECTION:TOKEN` flags (the collection cannot hold a
//! colon there; the token may) or from a TOML file:
//!
//! ```toml
//! [[access]]
//! collection = "carts"
//! token = "team-secret"
//! rights = "rw"
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::net::net_error::NetError;
use crate::session::Access;

/// One grant.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
pub struct AccessRule {
    /// The collection, or `*` for all.
    pub collection: String,
    /// The token (empty: no token).
    pub token: String,
    /// `rw` or `ro`.
    pub rights: Rights,
}

/// What a rule grants.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
pub enum Rights {
    /// Read and write.
    #[serde(rename = "rw")]
    ReadWrite,
    /// Read only.
    #[serde(rename = "ro")]
    ReadOnly,
}

/// The relay's access rules (see the module docs).
#[derive(Clone, Default, Debug)]
pub struct AccessRules {
    rules: Vec<AccessRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessFile {
    #[serde(default)]
    access: Vec<AccessRule>,
}

impl AccessRules {
    /// Adds a rule written `RIGHTS:COLLECTION:TOKEN`.
    pub fn add_flag(&mut self, flag: &str) -> Result<(), NetError> {
        let bad = || {
            NetError::BadConfig(format!(
                "access rule {flag:?}: expected RIGHTS:COLLECTION:TOKEN with RIGHTS rw or ro"
            ))
        };
        let (rights, rest) = flag.split_once(':').ok_or_else(bad)?;
        let (collection, token) = rest.split_once(':').ok_or_else(bad)?;
        let rights = match rights {
            "rw" => Rights::ReadWrite,
            "ro" => Rights::ReadOnly,
            _ => return Err(bad()),
        };
        if collection.is_empty() {
            return Err(bad());
        }
        self.rules.push(AccessRule {
            collection: collection.to_owned(),
            token: token.to_owned(),
            rights,
        });
        Ok(())
    }

    /// Adds the rules of a TOML file (`[[access]]` tables with `collection`, `token`, `rights`).
    pub fn add_file(&mut self, path: &Path) -> Result<(), NetError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            NetError::BadConfig(format!("cannot read {}: {error}", path.display()))
        })?;
        let file: AccessFile = toml::from_str(&text)
            .map_err(|error| NetError::BadConfig(format!("{}: {error}", path.display())))?;
        if let Some(rule) = file.access.iter().find(|rule| rule.collection.is_empty()) {
            return Err(NetError::BadConfig(format!(
                "{}: a rule for token {:?} names no collection",
                path.display(),
                rule.token
            )));
        }
        self.rules.extend(file.access);
        Ok(())
    }

    /// Whether there are no rules (the relay is then open to everyone).
    pub fn is_open(&self) -> bool {
        self.rules.is_empty()
    }

    /// What `token` may do with `collection`.
    pub fn check(&self, collection: &str, token: &str) -> Access {
        if self.is_open() {
            return Access::ReadWrite;
        }
        let mut access = Access::Denied;
        for rule in &self.rules {
            if (rule.collection == "*" || rule.collection == collection)
                && same_token(&rule.token, token)
            {
                match rule.rights {
                    Rights::ReadWrite => return Access::ReadWrite,
                    Rights::ReadOnly => access = Access::ReadOnly,
                }
            }
        }
        access
    }
}

/// Compares tokens in time independent of where they differ, so response times do not leak
/// how much of a guess was right.
fn same_token(expected: &str, given: &str) -> bool {
    let (expected, given) = (expected.as_bytes(), given.as_bytes());
    let mut difference = expected.len() ^ given.len();
    for (index, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(index).copied().unwrap_or(!byte));
    }
    difference == 0
}
