//! The one error type of this crate.

/// Everything a store operation can fail with.
///
/// Rows that exist but do not decode are [`StoreError::Corrupt`] (never a panic); a device that
/// is not in the container is [`StoreError::NoDevice`]; failures of the database itself are
/// [`StoreError::Backend`]; an SQLite file written by a newer schema is
/// [`StoreError::UnsupportedSchema`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A stored value does not decode (wrong length, bad protobuf, unparsable JID, …).
    #[error("corrupt {what} in store: {detail}")]
    Corrupt {
        /// Which kind of row (table or field).
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// The device this handle points at is not (or no longer) in the container.
    #[error("device {0} is not in the store")]
    NoDevice(i64),
    /// The caller asked for something that cannot be stored (e.g. an empty JID as a key).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The database file carries a schema version newer than this build knows.
    #[error("schema version {found} is newer than supported version {supported}")]
    UnsupportedSchema {
        /// Version found in the file.
        found: i64,
        /// Latest version this build can migrate to.
        supported: i64,
    },
    /// The database failed (IO, constraint, busy, …).
    #[error("database: {0}")]
    Backend(String),
    /// Creating or securing the database file failed.
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
    /// The store's worker (thread or lock) is gone: it panicked or was shut down.
    #[error("store closed")]
    Closed,
}

impl StoreError {
    /// A corrupt-row error.
    pub fn corrupt(what: &'static str, detail: impl core::fmt::Display) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::FromSqlConversionFailure(_, _, inner) => {
                Self::corrupt("column", inner)
            }
            rusqlite::Error::InvalidColumnType(_, name, ty) => {
                Self::corrupt("column", format!("{name} has type {ty}"))
            }
            rusqlite::Error::IntegralValueOutOfRange(_, v) => {
                Self::corrupt("column", format!("integer {v} out of range"))
            }
            other => Self::Backend(other.to_string()),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = core::result::Result<T, E>;
