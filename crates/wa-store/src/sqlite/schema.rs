//! Numbered schema migrations and the `schema_version` table.
//!
//! Migration `n` (1-based) takes a database from version `n - 1` to `n`; each runs in its own
//! transaction together with the version bump, so a crash mid-upgrade leaves the previous
//! version intact. Append new migrations; never edit a released one.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Result, StoreError};

/// The migrations, in order. `MIGRATIONS[n - 1]` upgrades version `n - 1` to `n`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: devices and the Signal protocol stores.
    "CREATE TABLE devices (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        jid TEXT UNIQUE,
        lid TEXT,
        registration_id INTEGER NOT NULL,
        noise_key BLOB NOT NULL,
        identity_key BLOB NOT NULL,
        signed_pre_key_id INTEGER NOT NULL,
        adv_secret BLOB NOT NULL,
        account BLOB,
        push_name TEXT NOT NULL DEFAULT '',
        platform TEXT NOT NULL DEFAULT '',
        business_name TEXT NOT NULL DEFAULT '',
        facebook_uuid TEXT,
        lid_migration_ts INTEGER NOT NULL DEFAULT 0,
        last_pre_key_id INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE identities (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        key BLOB NOT NULL,
        PRIMARY KEY (device, address)
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        record BLOB NOT NULL,
        PRIMARY KEY (device, address)
    );
    CREATE TABLE pre_keys (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        key_id INTEGER NOT NULL,
        key BLOB NOT NULL,
        uploaded INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (device, key_id)
    ) WITHOUT ROWID;
    CREATE TABLE signed_pre_keys (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        key_id INTEGER NOT NULL,
        key BLOB NOT NULL,
        signature BLOB NOT NULL,
        PRIMARY KEY (device, key_id)
    ) WITHOUT ROWID;
    CREATE TABLE sender_keys (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        group_id TEXT NOT NULL,
        sender TEXT NOT NULL,
        record BLOB NOT NULL,
        PRIMARY KEY (device, group_id, sender)
    );",
    // 2: app state, contacts, chats, message secrets, privacy tokens, LID map.
    "CREATE TABLE app_state_sync_keys (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        key_id BLOB NOT NULL,
        data BLOB NOT NULL,
        fingerprint BLOB NOT NULL,
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (device, key_id)
    ) WITHOUT ROWID;
    CREATE TABLE app_state_versions (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (device, name)
    ) WITHOUT ROWID;
    CREATE TABLE app_state_mutation_macs (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        index_mac BLOB NOT NULL,
        value_mac BLOB NOT NULL,
        PRIMARY KEY (device, name, index_mac)
    ) WITHOUT ROWID;
    CREATE TABLE contacts (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        jid TEXT NOT NULL,
        first_name TEXT,
        full_name TEXT,
        push_name TEXT,
        business_name TEXT,
        PRIMARY KEY (device, jid)
    ) WITHOUT ROWID;
    CREATE TABLE chat_settings (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        chat TEXT NOT NULL,
        muted_until INTEGER NOT NULL,
        pinned INTEGER NOT NULL,
        archived INTEGER NOT NULL,
        PRIMARY KEY (device, chat)
    ) WITHOUT ROWID;
    CREATE TABLE message_secrets (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        chat TEXT NOT NULL,
        sender TEXT NOT NULL,
        message_id TEXT NOT NULL,
        secret BLOB NOT NULL,
        PRIMARY KEY (device, chat, sender, message_id)
    ) WITHOUT ROWID;
    CREATE TABLE privacy_tokens (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        jid TEXT NOT NULL,
        token BLOB NOT NULL,
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (device, jid)
    ) WITHOUT ROWID;
    CREATE TABLE lid_map (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        lid TEXT NOT NULL,
        pn TEXT NOT NULL,
        PRIMARY KEY (device, lid),
        UNIQUE (device, pn)
    ) WITHOUT ROWID;",
    // 3: the retry cache of sent messages and the decrypted-event buffer.
    "CREATE TABLE outgoing_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        chat TEXT NOT NULL,
        message_id TEXT NOT NULL,
        payload BLOB NOT NULL,
        UNIQUE (device, chat, message_id)
    );
    CREATE TABLE event_buffer (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        hash BLOB NOT NULL,
        plaintext BLOB,
        server_timestamp INTEGER NOT NULL,
        inserted_at INTEGER NOT NULL,
        UNIQUE (device, hash)
    );
    CREATE INDEX event_buffer_inserted ON event_buffer (device, inserted_at);",
    // 4: the devices our sender key of each group was distributed to.
    "CREATE TABLE sender_key_distribution (
        device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        group_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        PRIMARY KEY (device, group_id, recipient)
    ) WITHOUT ROWID;",
];

/// The schema version this build creates.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version of an open database (0 for an empty one).
pub fn version(conn: &Connection) -> Result<i64> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let v: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(v.unwrap_or(0))
}

/// Upgrades the database to `target` (at most [`LATEST_VERSION`]), one transaction per step.
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<i64> {
    let mut current = version(conn)?;
    if current > LATEST_VERSION {
        return Err(StoreError::UnsupportedSchema {
            found: current,
            supported: LATEST_VERSION,
        });
    }
    while current < target.min(LATEST_VERSION) {
        let index = usize::try_from(current).map_err(|_| StoreError::corrupt("schema", current))?;
        let sql = MIGRATIONS
            .get(index)
            .ok_or(StoreError::corrupt("schema", "missing migration"))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute("DELETE FROM schema_version", [])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [current + 1],
        )?;
        tx.commit()?;
        current += 1;
    }
    Ok(current)
}
