//! Where the tree keeps secret values (the DDF's write-only leaves: a DM
//! account's `AAuthSecret` and `AAuthData`, its passwords and nonces): a
//! [`SecretStore`] the host provides — Android Keystore, iOS Keychain — or,
//! by default, [`FileSecrets`], a file readable by its owner only (0600)
//! beside the tree's database. SQLite holds only a reference
//! (`secret-ref:<random id>`), so a copy of `dmsched.db` carries no
//! credential.
//!
//! Crash safety: a new value is put under a fresh id *before* the tree's
//! transaction that references it commits, so a reference on disk always
//! resolves; a value whose transaction rolled back (an Atomic) or that a
//! later value replaced is an orphan, removed when the tree is next opened.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;

/// The prefix of a reference stored in place of a secret value.
pub(crate) const SECRET_REF: &str = "secret-ref:";

/// A secret store failed.
#[derive(Debug, thiserror::Error)]
#[error("secret store: {0}")]
pub struct SecretError(pub String);

/// Where secret values live, by opaque key. Implementations must make a
/// `put` durable before it returns (the tree commits a reference to it
/// right after) and must never log values.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecretError>;
    /// Stores `value` under `key`, replacing any.
    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecretError>;
    /// Removes `key` (absent: nothing to do).
    fn delete(&self, key: &str) -> Result<(), SecretError>;
    /// Every key.
    fn keys(&self) -> Result<Vec<String>, SecretError>;
}

/// A JSON file of base64 values, mode 0600, rewritten whole (temporary
/// file, fsync, rename, fsync of the directory) on every change. Created at
/// the first `put`: opening a tree never creates it.
pub struct FileSecrets {
    path: PathBuf,
    map: Mutex<Option<BTreeMap<String, String>>>,
}

impl fmt::Debug for FileSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSecrets")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileSecrets {
    /// The store in the file `path` (read when first used).
    pub fn new(path: impl Into<PathBuf>) -> FileSecrets {
        FileSecrets {
            path: path.into(),
            map: Mutex::new(None),
        }
    }

    /// The default store of the tree database `db`: `<db>.secrets`.
    pub fn beside(db: &Path) -> FileSecrets {
        let mut p = db.as_os_str().to_owned();
        p.push(".secrets");
        FileSecrets::new(PathBuf::from(p))
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, String>) -> Result<T, SecretError>,
    ) -> Result<T, SecretError> {
        let mut g = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(self.load()?);
        }
        f(g.as_mut().expect("loaded"))
    }

    fn load(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                SecretError(format!("{} is not a secret file: {e}", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(SecretError(format!("reading {}: {e}", self.path.display()))),
        }
    }

    fn save(&self, map: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let io = |what: &str, e: std::io::Error| {
            SecretError(format!("{what} {}: {e}", self.path.display()))
        };
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let text = serde_json::to_vec(map).map_err(|e| SecretError(e.to_string()))?;
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(|e| io("creating", e))?;
            // An older file of another mode: owner-only all the same.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| io("protecting", e))?;
            }
            f.write_all(&text).map_err(|e| io("writing", e))?;
            f.sync_all().map_err(|e| io("syncing", e))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| io("renaming", e))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io("syncing the directory of", e))?;
        }
        Ok(())
    }
}

impl SecretStore for FileSecrets {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecretError> {
        self.with(|m| {
            m.get(key)
                .map(|v| {
                    base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .map_err(|_| SecretError(format!("the value of {key} is damaged")))
                })
                .transpose()
        })
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecretError> {
        self.with(|m| {
            let mut next = m.clone();
            next.insert(
                key.to_string(),
                base64::engine::general_purpose::STANDARD.encode(value),
            );
            self.save(&next)?;
            *m = next;
            Ok(())
        })
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.with(|m| {
            if !m.contains_key(key) {
                return Ok(());
            }
            let mut next = m.clone();
            next.remove(key);
            self.save(&next)?;
            *m = next;
            Ok(())
        })
    }

    fn keys(&self) -> Result<Vec<String>, SecretError> {
        self.with(|m| Ok(m.keys().cloned().collect()))
    }
}

/// Moves the values of the default file store `file` into the host's
/// `store` (a tree that used the file before the host provided a store),
/// then removes the file. A value is put into the store (durably) before
/// the file goes, and a key the store already holds is left as it is, so a
/// crash anywhere in between loses nothing: the next open finishes the move.
pub(crate) fn adopt_file(file: &FileSecrets, store: &dyn SecretStore) -> Result<(), SecretError> {
    if !file.path.exists() {
        return Ok(());
    }
    for key in file.keys()? {
        if !key.starts_with(KEY_PREFIX) || store.get(&key)?.is_some() {
            continue;
        }
        if let Some(v) = file.get(&key)? {
            store.put(&key, &v)?;
        }
    }
    std::fs::remove_file(&file.path)
        .map_err(|e| SecretError(format!("removing {}: {e}", file.path.display())))
}

/// Secrets in memory (an in-memory tree).
#[derive(Debug, Default)]
pub struct MemorySecrets(Mutex<BTreeMap<String, Vec<u8>>>);

impl SecretStore for MemorySecrets {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecretError> {
        Ok(self.lock().get(key).cloned())
    }
    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecretError> {
        self.lock().insert(key.to_string(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.lock().remove(key);
        Ok(())
    }
    fn keys(&self) -> Result<Vec<String>, SecretError> {
        Ok(self.lock().keys().cloned().collect())
    }
}

impl MemorySecrets {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The prefix of every key the tree writes; keys without it are not the
/// tree's and are never removed by it (a host store may hold other data).
pub(crate) const KEY_PREFIX: &str = "dmsched-tree-";

/// A fresh random key.
pub(crate) fn new_key() -> Result<String, SecretError> {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| SecretError("no randomness for a secret key".into()))?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{KEY_PREFIX}{hex}"))
}

/// The key a stored value refers to, if it is a reference.
pub(crate) fn key_of(stored: &[u8]) -> Option<&str> {
    std::str::from_utf8(stored).ok()?.strip_prefix(SECRET_REF)
}
