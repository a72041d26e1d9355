//! Queries, and the decoding of rows into typed values (a bad row is `StoreError::Corrupt`).

use rusqlite::{Connection, OptionalExtension, Row};
use wa_binary::Jid;
use wa_signal::{
    IdentityKeyPair, KeyPair, PreKeyRecord, PrivateKey, PublicKey, SenderKeyRecord, SessionRecord,
    SignedPreKeyRecord,
};
use zeroize::Zeroizing;

use crate::error::{Result, StoreError};
use crate::traits::PreKeyCounts;
use crate::types::{
    AdvSecret, AppStateSyncKey, AppStateVersion, BufferedEvent, ChatSettings, ContactInfo, Device,
    DeviceId, LTHASH_LEN, MessageKey, OutgoingMessage, PrivacyToken, StoredDevice,
};

pub(super) fn private_key(bytes: &[u8], what: &'static str) -> Result<PrivateKey> {
    PrivateKey::from_slice(bytes).map_err(|e| StoreError::corrupt(what, e))
}

pub(super) fn public_key(bytes: &[u8], what: &'static str) -> Result<PublicKey> {
    PublicKey::from_bytes(bytes).map_err(|e| StoreError::corrupt(what, e))
}

pub(super) fn jid(s: &str, what: &'static str) -> Result<Jid> {
    s.parse::<Jid>().map_err(|e| StoreError::corrupt(what, e))
}

fn u32_of(v: i64, what: &'static str) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::corrupt(what, format!("{v} is not a u32")))
}

fn array<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(what, format!("{} bytes, want {N}", bytes.len())))
}

const DEVICE_COLUMNS: &str = "d.id, d.jid, d.lid, d.registration_id, d.noise_key, d.identity_key,
    d.signed_pre_key_id, s.key, s.signature, d.adv_secret, d.account, d.push_name, d.platform,
    d.business_name, d.facebook_uuid, d.lid_migration_ts";

/// The raw columns of a device row (decoded outside the rusqlite closure, to keep typed errors).
struct DeviceRow {
    id: i64,
    jid: Option<String>,
    lid: Option<String>,
    registration_id: i64,
    noise_key: Zeroizing<Vec<u8>>,
    identity_key: Zeroizing<Vec<u8>>,
    signed_id: i64,
    signed_key: Option<Zeroizing<Vec<u8>>>,
    signed_sig: Option<Vec<u8>>,
    adv_secret: Zeroizing<Vec<u8>>,
    account: Option<Vec<u8>>,
    push_name: String,
    platform: String,
    business_name: String,
    facebook_uuid: Option<String>,
    lid_migration_ts: i64,
}

fn device_row(r: &Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        id: r.get(0)?,
        jid: r.get(1)?,
        lid: r.get(2)?,
        registration_id: r.get(3)?,
        noise_key: Zeroizing::new(r.get(4)?),
        identity_key: Zeroizing::new(r.get(5)?),
        signed_id: r.get(6)?,
        signed_key: r.get::<_, Option<Vec<u8>>>(7)?.map(Zeroizing::new),
        signed_sig: r.get(8)?,
        adv_secret: Zeroizing::new(r.get(9)?),
        account: r.get(10)?,
        push_name: r.get(11)?,
        platform: r.get(12)?,
        business_name: r.get(13)?,
        facebook_uuid: r.get(14)?,
        lid_migration_ts: r.get(15)?,
    })
}

fn decode_device(row: DeviceRow) -> Result<StoredDevice> {
    let signed_key = row.signed_key.ok_or(StoreError::corrupt(
        "device",
        "its signed prekey row is missing",
    ))?;
    let signature = row.signed_sig.ok_or(StoreError::corrupt(
        "device",
        "its signed prekey row is missing",
    ))?;
    let device = Device {
        jid: row
            .jid
            .as_deref()
            .map(|s| jid(s, "device jid"))
            .transpose()?,
        lid: row
            .lid
            .as_deref()
            .map(|s| jid(s, "device lid"))
            .transpose()?,
        registration_id: u32_of(row.registration_id, "registration id")?,
        noise_key: KeyPair::from_private(private_key(&row.noise_key, "noise key")?),
        identity_key: IdentityKeyPair(KeyPair::from_private(private_key(
            &row.identity_key,
            "identity key",
        )?)),
        signed_pre_key: SignedPreKeyRecord {
            id: u32_of(row.signed_id, "signed prekey id")?,
            key_pair: KeyPair::from_private(private_key(&signed_key, "signed prekey")?),
            signature: array(&signature, "signed prekey signature")?,
        },
        adv_secret_key: AdvSecret(array(&row.adv_secret, "adv secret")?),
        account: row.account,
        push_name: row.push_name,
        platform: row.platform,
        business_name: row.business_name,
        facebook_uuid: row.facebook_uuid,
        lid_migration_timestamp: row.lid_migration_ts,
    };
    Ok(StoredDevice {
        id: DeviceId(row.id),
        device,
    })
}

pub(super) fn list_devices(conn: &mut Connection) -> Result<Vec<StoredDevice>> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d LEFT JOIN signed_pre_keys s
         ON s.device = d.id AND s.key_id = d.signed_pre_key_id ORDER BY d.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map([], device_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode_device).collect()
}

pub(super) fn device(conn: &Connection, dev: i64) -> Result<Option<Device>> {
    let sql = format!(
        "SELECT {DEVICE_COLUMNS} FROM devices d LEFT JOIN signed_pre_keys s
         ON s.device = d.id AND s.key_id = d.signed_pre_key_id WHERE d.id = ?1"
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row([dev], device_row)
        .optional()?;
    Ok(row.map(decode_device).transpose()?.map(|d| d.device))
}

fn blob(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, |r| r.get::<_, Vec<u8>>(0))
        .optional()?)
}

pub(super) fn identity(conn: &Connection, dev: i64, address: &str) -> Result<Option<PublicKey>> {
    let sql = "SELECT key FROM identities WHERE device = ?1 AND address = ?2";
    blob(conn, sql, rusqlite::params![dev, address])?
        .map(|b| public_key(&b, "identity"))
        .transpose()
}

pub(super) fn session(conn: &Connection, dev: i64, address: &str) -> Result<Option<SessionRecord>> {
    let sql = "SELECT record FROM sessions WHERE device = ?1 AND address = ?2";
    blob(conn, sql, rusqlite::params![dev, address])?
        .map(|b| SessionRecord::deserialize(&b).map_err(|e| StoreError::corrupt("session", e)))
        .transpose()
}

pub(super) fn pre_key(conn: &Connection, dev: i64, id: u32) -> Result<Option<PreKeyRecord>> {
    let sql = "SELECT key FROM pre_keys WHERE device = ?1 AND key_id = ?2";
    let Some(bytes) = blob(conn, sql, rusqlite::params![dev, id])?.map(Zeroizing::new) else {
        return Ok(None);
    };
    Ok(Some(PreKeyRecord {
        id,
        key_pair: KeyPair::from_private(private_key(&bytes, "prekey")?),
    }))
}

pub(super) fn pre_key_counts(conn: &Connection, dev: i64) -> Result<PreKeyCounts> {
    let (total, uploaded): (i64, i64) = conn
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(uploaded != 0), 0) FROM pre_keys WHERE device = ?1",
        )?
        .query_row([dev], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let last: Option<i64> = conn
        .prepare_cached("SELECT last_pre_key_id FROM devices WHERE id = ?1")?
        .query_row([dev], |r| r.get(0))
        .optional()?;
    Ok(PreKeyCounts {
        total: u32_of(total, "prekey count")?,
        uploaded: u32_of(uploaded, "prekey count")?,
        last_id: u32_of(last.unwrap_or(0), "last prekey id")?,
    })
}

pub(super) fn signed_pre_key(
    conn: &Connection,
    dev: i64,
    id: u32,
) -> Result<Option<SignedPreKeyRecord>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT key, signature FROM signed_pre_keys WHERE device = ?1 AND key_id = ?2",
        )?
        .query_row(rusqlite::params![dev, id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((key, signature)) = row else {
        return Ok(None);
    };
    let key = Zeroizing::new(key);
    Ok(Some(SignedPreKeyRecord {
        id,
        key_pair: KeyPair::from_private(private_key(&key, "signed prekey")?),
        signature: array(&signature, "signed prekey signature")?,
    }))
}

pub(super) fn sender_key(
    conn: &Connection,
    dev: i64,
    group: &str,
    sender: &str,
) -> Result<Option<SenderKeyRecord>> {
    let sql = "SELECT record FROM sender_keys WHERE device = ?1 AND group_id = ?2 AND sender = ?3";
    blob(conn, sql, rusqlite::params![dev, group, sender])?
        .map(|b| SenderKeyRecord::deserialize(&b).map_err(|e| StoreError::corrupt("sender key", e)))
        .transpose()
}

pub(super) fn sender_key_distribution(
    conn: &Connection,
    dev: i64,
    group: &str,
) -> Result<Vec<Jid>> {
    let mut stmt = conn.prepare_cached(
        "SELECT recipient FROM sender_key_distribution
         WHERE device = ?1 AND group_id = ?2 ORDER BY recipient",
    )?;
    let rows = stmt
        .query_map(rusqlite::params![dev, group], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.iter()
        .map(|j| jid(j, "sender key recipient"))
        .collect()
}

pub(super) fn app_state_sync_key(
    conn: &Connection,
    dev: i64,
    key_id: Option<&[u8]>,
) -> Result<Option<AppStateSyncKey>> {
    let map = |r: &Row<'_>| {
        Ok(AppStateSyncKey {
            key_id: r.get(0)?,
            data: Zeroizing::new(r.get(1)?),
            fingerprint: r.get(2)?,
            timestamp: r.get(3)?,
        })
    };
    let columns = "SELECT key_id, data, fingerprint, timestamp FROM app_state_sync_keys";
    Ok(match key_id {
        Some(id) => conn
            .prepare_cached(&format!("{columns} WHERE device = ?1 AND key_id = ?2"))?
            .query_row(rusqlite::params![dev, id], map)
            .optional()?,
        None => conn
            .prepare_cached(&format!(
                "{columns} WHERE device = ?1 ORDER BY timestamp DESC, key_id DESC LIMIT 1"
            ))?
            .query_row([dev], map)
            .optional()?,
    })
}

pub(super) fn app_state_version(
    conn: &Connection,
    dev: i64,
    name: &str,
) -> Result<Option<AppStateVersion>> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT version, hash FROM app_state_versions WHERE device = ?1 AND name = ?2",
        )?
        .query_row(rusqlite::params![dev, name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((version, hash)) = row else {
        return Ok(None);
    };
    Ok(Some(AppStateVersion {
        name: name.to_owned(),
        version: u64::try_from(version)
            .map_err(|_| StoreError::corrupt("app state version", version))?,
        hash: array::<LTHASH_LEN>(&hash, "app state hash")?,
    }))
}

pub(super) fn mutation_mac(
    conn: &Connection,
    dev: i64,
    name: &str,
    index: &[u8],
) -> Result<Option<Vec<u8>>> {
    let sql = "SELECT value_mac FROM app_state_mutation_macs
               WHERE device = ?1 AND name = ?2 AND index_mac = ?3";
    blob(conn, sql, rusqlite::params![dev, name, index])
}

fn contact_row(r: &Row<'_>) -> rusqlite::Result<ContactInfo> {
    Ok(ContactInfo {
        first_name: r.get(0)?,
        full_name: r.get(1)?,
        push_name: r.get(2)?,
        business_name: r.get(3)?,
    })
}

pub(super) fn contact(conn: &Connection, dev: i64, jid: &str) -> Result<Option<ContactInfo>> {
    Ok(conn
        .prepare_cached(
            "SELECT first_name, full_name, push_name, business_name FROM contacts
             WHERE device = ?1 AND jid = ?2",
        )?
        .query_row(rusqlite::params![dev, jid], contact_row)
        .optional()?)
}

pub(super) fn contacts(conn: &Connection, dev: i64) -> Result<Vec<(Jid, ContactInfo)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT first_name, full_name, push_name, business_name, jid FROM contacts
         WHERE device = ?1 ORDER BY jid",
    )?;
    let rows = stmt
        .query_map([dev], |r| Ok((r.get::<_, String>(4)?, contact_row(r)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(j, c)| Ok((jid(&j, "contact jid")?, c)))
        .collect()
}

pub(super) fn chat_settings(
    conn: &Connection,
    dev: i64,
    chat: &str,
) -> Result<Option<ChatSettings>> {
    Ok(conn
        .prepare_cached(
            "SELECT muted_until, pinned, archived FROM chat_settings WHERE device = ?1 AND chat = ?2",
        )?
        .query_row(rusqlite::params![dev, chat], |r| {
            Ok(ChatSettings {
                muted_until: r.get(0)?,
                pinned: r.get(1)?,
                archived: r.get(2)?,
            })
        })
        .optional()?)
}

pub(super) fn message_secret(
    conn: &Connection,
    dev: i64,
    key: &MessageKey,
) -> Result<Option<Vec<u8>>> {
    let sql = "SELECT secret FROM message_secrets
               WHERE device = ?1 AND chat = ?2 AND sender = ?3 AND message_id = ?4";
    let params = rusqlite::params![dev, key.chat.to_string(), key.sender.to_string(), key.id];
    blob(conn, sql, params)
}

pub(super) fn privacy_token(
    conn: &Connection,
    dev: i64,
    jid_: &str,
) -> Result<Option<PrivacyToken>> {
    let row: Option<(Vec<u8>, i64)> = conn
        .prepare_cached(
            "SELECT token, timestamp FROM privacy_tokens WHERE device = ?1 AND jid = ?2",
        )?
        .query_row(rusqlite::params![dev, jid_], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(token, timestamp)| {
        Ok(PrivacyToken {
            jid: jid(jid_, "privacy token jid")?,
            token,
            timestamp,
        })
    })
    .transpose()
}

pub(super) fn lid_map(conn: &Connection, dev: i64, sql: &str, key: &str) -> Result<Option<Jid>> {
    let found: Option<String> = conn
        .prepare_cached(sql)?
        .query_row(rusqlite::params![dev, key], |r| r.get(0))
        .optional()?;
    found.map(|s| jid(&s, "lid map")).transpose()
}

pub(super) fn outgoing_message(
    conn: &Connection,
    dev: i64,
    chat: &str,
    id: &str,
) -> Result<Option<OutgoingMessage>> {
    let sql = "SELECT payload FROM outgoing_messages
               WHERE device = ?1 AND chat = ?2 AND message_id = ?3";
    blob(conn, sql, rusqlite::params![dev, chat, id])?
        .map(|payload| {
            Ok(OutgoingMessage {
                chat: jid(chat, "outgoing message chat")?,
                id: id.to_owned(),
                payload,
            })
        })
        .transpose()
}

type EventRow = (Vec<u8>, Option<Vec<u8>>, i64, i64);

fn event_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn decode_event(
    (hash, plaintext, server_timestamp, inserted_at): EventRow,
) -> Result<BufferedEvent> {
    Ok(BufferedEvent {
        hash: array(&hash, "buffered event hash")?,
        plaintext,
        server_timestamp,
        inserted_at,
    })
}

const EVENT_COLUMNS: &str =
    "SELECT hash, plaintext, server_timestamp, inserted_at FROM event_buffer";

pub(super) fn buffered_event(
    conn: &Connection,
    dev: i64,
    hash: &[u8; 32],
) -> Result<Option<BufferedEvent>> {
    conn.prepare_cached(&format!("{EVENT_COLUMNS} WHERE device = ?1 AND hash = ?2"))?
        .query_row(rusqlite::params![dev, &hash[..]], event_row)
        .optional()?
        .map(decode_event)
        .transpose()
}

/// Hashes per query (well under SQLite's bound on host parameters).
const HASHES_PER_QUERY: usize = 256;

pub(super) fn buffered_events(
    conn: &Connection,
    dev: i64,
    hashes: &[[u8; 32]],
) -> Result<Vec<BufferedEvent>> {
    let mut found = Vec::new();
    for chunk in hashes.chunks(HASHES_PER_QUERY) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut stmt = conn.prepare_cached(&format!(
            "{EVENT_COLUMNS} WHERE device = ?1 AND hash IN ({marks})"
        ))?;
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() + 1);
        params.push(&dev);
        for hash in chunk {
            params.push(hash);
        }
        let rows = stmt
            .query_map(params.as_slice(), event_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for row in rows {
            found.push(decode_event(row)?);
        }
    }
    Ok(found)
}

pub(super) fn pending_events(conn: &Connection, dev: i64) -> Result<Vec<BufferedEvent>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{EVENT_COLUMNS} WHERE device = ?1 AND plaintext IS NOT NULL ORDER BY inserted_at, seq"
    ))?;
    let rows = stmt
        .query_map([dev], event_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode_event).collect()
}
