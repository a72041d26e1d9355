//! Writes: creating a device and applying a [`Changes`] batch in one transaction.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::changes::{Changes, Removal};
use crate::error::{Result, StoreError};
use crate::types::Device;

const JID_TAKEN: StoreError = StoreError::InvalidInput("JID already used by another device");

fn jid_taken(tx: &Transaction<'_>, device: &Device, except: i64) -> Result<bool> {
    let Some(jid) = &device.jid else {
        return Ok(false);
    };
    let other: Option<i64> = tx
        .prepare_cached("SELECT id FROM devices WHERE jid = ?1 AND id != ?2")?
        .query_row(params![jid.to_string(), except], |r| r.get(0))
        .optional()?;
    Ok(other.is_some())
}

fn put_signed_pre_key(
    tx: &Transaction<'_>,
    dev: i64,
    record: &wa_signal::SignedPreKeyRecord,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO signed_pre_keys (device, key_id, key, signature)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        dev,
        record.id,
        &record.key_pair.private.as_bytes()[..],
        &record.signature[..]
    ])?;
    Ok(())
}

/// Writes every device column (insert when `id` is `None`); returns the row id.
fn write_device(tx: &Transaction<'_>, id: Option<i64>, d: &Device) -> Result<i64> {
    let values = params![
        d.jid.as_ref().map(ToString::to_string),
        d.lid.as_ref().map(ToString::to_string),
        d.registration_id,
        &d.noise_key.private.as_bytes()[..],
        &d.identity_key.private().as_bytes()[..],
        d.signed_pre_key.id,
        &d.adv_secret_key.0[..],
        d.account,
        d.push_name,
        d.platform,
        d.business_name,
        d.facebook_uuid,
        d.lid_migration_timestamp,
        id,
    ];
    let dev = match id {
        None => {
            tx.prepare_cached(
                "INSERT INTO devices (jid, lid, registration_id, noise_key, identity_key,
                 signed_pre_key_id, adv_secret, account, push_name, platform, business_name,
                 facebook_uuid, lid_migration_ts, id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(values)?;
            tx.last_insert_rowid()
        }
        Some(dev) => {
            tx.prepare_cached(
                "UPDATE devices SET jid = ?1, lid = ?2, registration_id = ?3, noise_key = ?4,
                 identity_key = ?5, signed_pre_key_id = ?6, adv_secret = ?7, account = ?8,
                 push_name = ?9, platform = ?10, business_name = ?11, facebook_uuid = ?12,
                 lid_migration_ts = ?13 WHERE id = ?14",
            )?
            .execute(values)?;
            dev
        }
    };
    put_signed_pre_key(tx, dev, &d.signed_pre_key)?;
    Ok(dev)
}

/// Inserts a new device with its signed prekey; returns its id.
pub(super) fn create_device(conn: &mut Connection, device: &Device) -> Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if jid_taken(&tx, device, -1)? {
        return Err(JID_TAKEN);
    }
    let id = write_device(&tx, None, device)?;
    tx.commit()?;
    Ok(id)
}

/// Applies `c` to device `dev` in one IMMEDIATE transaction.
pub(super) fn commit(conn: &mut Connection, dev: i64, c: &Changes, capacity: usize) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists: Option<i64> = tx
        .prepare_cached("SELECT id FROM devices WHERE id = ?1")?
        .query_row([dev], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NoDevice(dev));
    }
    if let Some(device) = &c.device {
        if jid_taken(&tx, device, dev)? {
            return Err(JID_TAKEN);
        }
        write_device(&tx, Some(dev), device)?;
    }
    signal(&tx, dev, c)?;
    app_state(&tx, dev, c)?;
    facts(&tx, dev, c)?;
    queues(&tx, dev, c, capacity)?;
    tx.commit()?;
    Ok(())
}

fn signal(tx: &Transaction<'_>, dev: i64, c: &Changes) -> Result<()> {
    if !c.identities.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO identities (device, address, key) VALUES (?1, ?2, ?3)",
        )?;
        for (address, key) in &c.identities {
            stmt.execute(params![dev, address.to_string(), &key.serialize()[..]])?;
        }
    }
    remove(tx, dev, "identities", &c.removed_identities)?;
    if !c.sessions.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO sessions (device, address, record) VALUES (?1, ?2, ?3)
             ON CONFLICT (device, address) DO UPDATE SET record = excluded.record",
        )?;
        for (address, record) in &c.sessions {
            stmt.execute(params![dev, address.to_string(), record])?;
        }
    }
    remove(tx, dev, "sessions", &c.removed_sessions)?;
    if let Some(last) = c.pre_keys.last() {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO pre_keys (device, key_id, key, uploaded) VALUES (?1, ?2, ?3, 0)",
        )?;
        for r in &c.pre_keys {
            stmt.execute(params![dev, r.id, &r.key_pair.private.as_bytes()[..]])?;
        }
        tx.prepare_cached("UPDATE devices SET last_pre_key_id = ?2 WHERE id = ?1")?
            .execute(params![dev, last.id])?;
    }
    if !c.removed_pre_keys.is_empty() {
        let mut stmt =
            tx.prepare_cached("DELETE FROM pre_keys WHERE device = ?1 AND key_id = ?2")?;
        for id in &c.removed_pre_keys {
            stmt.execute(params![dev, id])?;
        }
    }
    if let Some(last) = c.pre_keys_uploaded_through {
        tx.prepare_cached("UPDATE pre_keys SET uploaded = 1 WHERE device = ?1 AND key_id <= ?2")?
            .execute(params![dev, last])?;
    }
    for r in &c.signed_pre_keys {
        put_signed_pre_key(tx, dev, r)?;
    }
    if !c.sender_keys.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO sender_keys (device, group_id, sender, record) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device, group_id, sender) DO UPDATE SET record = excluded.record",
        )?;
        for (name, record) in &c.sender_keys {
            stmt.execute(params![dev, name.group_id, name.sender.to_string(), record])?;
        }
    }
    for (group, devices) in &c.forgotten_distributions {
        let group = group.to_string();
        match devices {
            None => {
                tx.prepare_cached(
                    "DELETE FROM sender_key_distribution WHERE device = ?1 AND group_id = ?2",
                )?
                .execute(params![dev, group])?;
            }
            Some(devices) => {
                let mut stmt = tx.prepare_cached(
                    "DELETE FROM sender_key_distribution
                     WHERE device = ?1 AND group_id = ?2 AND recipient = ?3",
                )?;
                for d in devices {
                    stmt.execute(params![dev, group, d.to_string()])?;
                }
            }
        }
    }
    if !c.distributions.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO sender_key_distribution (device, group_id, recipient)
             VALUES (?1, ?2, ?3)",
        )?;
        for (group, devices) in &c.distributions {
            let group = group.to_string();
            for d in devices {
                stmt.execute(params![dev, group, d.to_string()])?;
            }
        }
    }
    for (pn, lid) in &c.pn_to_lid_moves {
        move_user(tx, dev, "sessions", "address", "record", pn, lid)?;
        move_user(tx, dev, "identities", "address", "key", pn, lid)?;
        move_user(
            tx,
            dev,
            "sender_keys",
            "sender",
            "group_id, record",
            pn,
            lid,
        )?;
    }
    Ok(())
}

/// Matches an address column holding `user.device` for user `?2` exactly (digits after the dot).
fn user_match(column: &str) -> String {
    format!(
        "substr({column}, 1, length(?2) + 1) = ?2 || '.'
         AND length({column}) > length(?2) + 1
         AND substr({column}, length(?2) + 2) NOT GLOB '*[^0-9]*'"
    )
}

/// Copies the rows of user `?2` to user `?3` (same device suffix, replacing), then deletes them.
fn move_user(
    tx: &Transaction<'_>,
    dev: i64,
    table: &str,
    column: &str,
    others: &str,
    pn: &str,
    lid: &str,
) -> Result<()> {
    let matching = user_match(column);
    let copy = format!(
        "INSERT OR REPLACE INTO {table} (device, {column}, {others})
         SELECT device, ?3 || substr({column}, length(?2) + 1), {others} FROM {table}
         WHERE device = ?1 AND {matching}"
    );
    tx.prepare_cached(&copy)?.execute(params![dev, pn, lid])?;
    let delete = format!("DELETE FROM {table} WHERE device = ?1 AND {matching}");
    tx.prepare_cached(&delete)?.execute(params![dev, pn])?;
    Ok(())
}

/// Deletes rows of `table` (`identities` or `sessions`) by address, or for every device of a
/// user: addresses are `name.device`, so a user's rows are `name.` followed by digits only.
fn remove(tx: &Transaction<'_>, dev: i64, table: &str, removals: &[Removal]) -> Result<()> {
    for r in removals {
        match r {
            Removal::Address(a) => {
                let sql = format!("DELETE FROM {table} WHERE device = ?1 AND address = ?2");
                tx.prepare_cached(&sql)?
                    .execute(params![dev, a.to_string()])?;
            }
            Removal::User(user) => {
                let matching = user_match("address");
                let sql = format!("DELETE FROM {table} WHERE device = ?1 AND {matching}");
                tx.prepare_cached(&sql)?.execute(params![dev, user])?;
            }
        }
    }
    Ok(())
}

fn app_state(tx: &Transaction<'_>, dev: i64, c: &Changes) -> Result<()> {
    for k in &c.app_state_sync_keys {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO app_state_sync_keys (device, key_id, data, fingerprint, timestamp)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![dev, k.key_id, &k.data[..], k.fingerprint, k.timestamp])?;
    }
    for v in &c.app_state_versions {
        let version = i64::try_from(v.version)
            .map_err(|_| StoreError::InvalidInput("app state version above i64::MAX"))?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO app_state_versions (device, name, version, hash)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![dev, v.name, version, &v.hash[..]])?;
    }
    for name in &c.removed_app_state_versions {
        tx.prepare_cached("DELETE FROM app_state_versions WHERE device = ?1 AND name = ?2")?
            .execute(params![dev, name])?;
        tx.prepare_cached("DELETE FROM app_state_mutation_macs WHERE device = ?1 AND name = ?2")?
            .execute(params![dev, name])?;
    }
    for (name, version, macs) in &c.mutation_macs {
        let version = i64::try_from(*version)
            .map_err(|_| StoreError::InvalidInput("app state version above i64::MAX"))?;
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO app_state_mutation_macs
             (device, name, version, index_mac, value_mac) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for m in macs {
            stmt.execute(params![dev, name, version, m.index_mac, m.value_mac])?;
        }
    }
    for (name, indexes) in &c.removed_mutation_macs {
        let mut stmt = tx.prepare_cached(
            "DELETE FROM app_state_mutation_macs WHERE device = ?1 AND name = ?2 AND index_mac = ?3",
        )?;
        for index in indexes {
            stmt.execute(params![dev, name, index])?;
        }
    }
    Ok(())
}

fn facts(tx: &Transaction<'_>, dev: i64, c: &Changes) -> Result<()> {
    if !c.contacts.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO contacts (device, jid, first_name, full_name, push_name, business_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (device, jid) DO UPDATE SET
               first_name = COALESCE(excluded.first_name, first_name),
               full_name = COALESCE(excluded.full_name, full_name),
               push_name = COALESCE(excluded.push_name, push_name),
               business_name = COALESCE(excluded.business_name, business_name)",
        )?;
        for (jid, i) in &c.contacts {
            stmt.execute(params![
                dev,
                jid.to_string(),
                i.first_name,
                i.full_name,
                i.push_name,
                i.business_name
            ])?;
        }
    }
    for (chat, s) in &c.chat_settings {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO chat_settings (device, chat, muted_until, pinned, archived)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            dev,
            chat.to_string(),
            s.muted_until,
            s.pinned,
            s.archived
        ])?;
    }
    for (k, secret) in &c.message_secrets {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO message_secrets (device, chat, sender, message_id, secret)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            dev,
            k.chat.to_string(),
            k.sender.to_string(),
            k.id,
            secret
        ])?;
    }
    for t in &c.privacy_tokens {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO privacy_tokens (device, jid, token, timestamp)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![dev, t.jid.to_string(), t.token, t.timestamp])?;
    }
    for (lid, pn) in &c.lid_mappings {
        let (lid, pn) = (lid.to_string(), pn.to_string());
        tx.prepare_cached("DELETE FROM lid_map WHERE device = ?1 AND (lid = ?2 OR pn = ?3)")?
            .execute(params![dev, lid, pn])?;
        tx.prepare_cached("INSERT INTO lid_map (device, lid, pn) VALUES (?1, ?2, ?3)")?
            .execute(params![dev, lid, pn])?;
    }
    Ok(())
}

fn queues(tx: &Transaction<'_>, dev: i64, c: &Changes, capacity: usize) -> Result<()> {
    if !c.outgoing_messages.is_empty() {
        for m in &c.outgoing_messages {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO outgoing_messages (device, chat, message_id, payload)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![dev, m.chat.to_string(), m.id, m.payload])?;
        }
        let keep = i64::try_from(capacity).unwrap_or(i64::MAX);
        tx.prepare_cached(
            "DELETE FROM outgoing_messages WHERE device = ?1 AND seq NOT IN
             (SELECT seq FROM outgoing_messages WHERE device = ?1 ORDER BY seq DESC LIMIT ?2)",
        )?
        .execute(params![dev, keep])?;
    }
    for e in &c.buffered_events {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO event_buffer (device, hash, plaintext, server_timestamp, inserted_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![dev, &e.hash[..], e.plaintext, e.server_timestamp, e.inserted_at])?;
    }
    for hash in &c.cleared_events {
        tx.prepare_cached(
            "UPDATE event_buffer SET plaintext = NULL WHERE device = ?1 AND hash = ?2",
        )?
        .execute(params![dev, &hash[..]])?;
    }
    if let Some(before) = c.events_deleted_before {
        tx.prepare_cached("DELETE FROM event_buffer WHERE device = ?1 AND inserted_at < ?2")?
            .execute(params![dev, before])?;
    }
    Ok(())
}
