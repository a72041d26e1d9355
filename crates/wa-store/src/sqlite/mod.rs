//! The SQLite backend: [`SqliteContainer`] and its per-device [`SqliteStore`].
//!
//! One database file holds every device. The connection lives on a dedicated thread; async
//! calls send it a closure and await the reply, so no call blocks the async runtime (and any
//! executor works: the reply is a `tokio::sync::oneshot`, which needs no tokio runtime).
//!
//! Durability: WAL with `synchronous=FULL`, so a commit that returned `Ok` is on disk even
//! if the power fails right after, not only when the process dies (WAL with `NORMAL` would
//! survive a process kill but may lose the last commits on power loss, and the promise is
//! "every committed write survives a crash"). Foreign keys are on: deleting a device deletes its
//! rows. The file (and its `-wal`/`-shm` companions) is created with mode 0600 on Unix.

mod read;
pub mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use wa_binary::Jid;
use wa_signal::store::{ProtocolAddress, SenderKeyName};
use wa_signal::{PreKeyRecord, PublicKey, SenderKeyRecord, SessionRecord, SignedPreKeyRecord};

use crate::changes::Changes;
use crate::error::{Result, StoreError};
use crate::memory::DEFAULT_OUTGOING_CAPACITY;
use crate::traits::{BoxFuture, Container, PreKeyCounts, Store};
use crate::types::{
    AppStateSyncKey, AppStateVersion, BufferedEvent, ChatSettings, ContactInfo, Device, DeviceId,
    MessageKey, OutgoingMessage, PrivacyToken, StoredDevice,
};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The thread that owns the connection.
#[derive(Debug)]
struct Worker {
    jobs: mpsc::Sender<Job>,
    outgoing_capacity: usize,
    path: PathBuf,
}

impl Worker {
    async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have gone away; then nobody wants the answer.
            let _ = tx.send(f(conn));
        });
        self.jobs.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

/// Creates the file with mode 0600 (or tightens an existing one) before SQLite opens it.
fn secure_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        drop(options.open(path)?);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    drop(options.open(path)?);
    Ok(())
}

/// Sets 0600 on the `-wal` and `-shm` files if they exist.
fn secure_companions(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let companion = PathBuf::from(name);
            if companion.exists() {
                std::fs::set_permissions(&companion, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Opens the connection, applies the pragmas and migrates to `target`.
fn open_connection(path: &Path, target: i64) -> Result<Connection> {
    secure_file(path)?;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "journal_mode is {mode}, not wal"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    schema::migrate_to(&mut conn, target)?;
    secure_companions(path)?;
    Ok(conn)
}

/// Several devices in one SQLite file. Cheap to clone; clones share the connection thread.
#[derive(Clone, Debug)]
pub struct SqliteContainer {
    worker: Arc<Worker>,
}

impl SqliteContainer {
    /// Opens (creating if needed, mode 0600) the database at `path` and migrates it to the
    /// latest schema.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, schema::LATEST_VERSION, DEFAULT_OUTGOING_CAPACITY).await
    }

    /// Like [`SqliteContainer::open`], keeping at most `capacity` sent messages per device.
    pub async fn open_with_outgoing_capacity(
        path: impl AsRef<Path>,
        capacity: usize,
    ) -> Result<Self> {
        Self::open_with(path, schema::LATEST_VERSION, capacity).await
    }

    /// Opens the database migrated only up to schema version `target` (for migration tests).
    #[doc(hidden)]
    pub async fn open_at_version(path: impl AsRef<Path>, target: i64) -> Result<Self> {
        Self::open_with(path, target, DEFAULT_OUTGOING_CAPACITY).await
    }

    async fn open_with(path: impl AsRef<Path>, target: i64, capacity: usize) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("wa-store-sqlite".into())
            .spawn(move || {
                let mut conn = match open_connection(&thread_path, target) {
                    Ok(conn) => {
                        let _ = ready_tx.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
            })?;
        ready_rx.await.map_err(|_| StoreError::Closed)??;
        Ok(Self {
            worker: Arc::new(Worker {
                jobs,
                outgoing_capacity: capacity,
                path,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.worker.path
    }

    /// The schema version of the open database.
    pub async fn schema_version(&self) -> Result<i64> {
        self.worker.call(|conn| schema::version(conn)).await
    }

    /// Runs `PRAGMA integrity_check` and returns its rows (`["ok"]` for a healthy file).
    pub async fn integrity_check(&self) -> Result<Vec<String>> {
        self.worker
            .call(|conn| {
                let mut stmt = conn.prepare("PRAGMA integrity_check")?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }

    /// The value of a connection pragma (`journal_mode`, `synchronous`, `foreign_keys`, …),
    /// as text; for tests and diagnostics.
    pub async fn pragma(&self, name: &'static str) -> Result<String> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::InvalidInput("pragma name"));
        }
        self.worker
            .call(move |conn| {
                let sql = format!("PRAGMA {name}");
                let value: rusqlite::types::Value = conn.query_row(&sql, [], |r| r.get(0))?;
                Ok(match value {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
            })
            .await
    }

    fn handle(&self, id: i64) -> SqliteStore {
        SqliteStore {
            worker: Arc::clone(&self.worker),
            id: DeviceId(id),
        }
    }
}

impl Container for SqliteContainer {
    type Store = SqliteStore;

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredDevice>>> {
        Box::pin(self.worker.call(read::list_devices))
    }

    fn get(&self, id: DeviceId) -> BoxFuture<'_, Result<Option<SqliteStore>>> {
        Box::pin(async move {
            let found = self
                .worker
                .call(move |conn| {
                    Ok(conn
                        .query_row("SELECT id FROM devices WHERE id = ?1", [id.0], |r| {
                            r.get::<_, i64>(0)
                        })
                        .optional()?)
                })
                .await?;
            Ok(found.map(|id| self.handle(id)))
        })
    }

    fn get_by_jid<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<SqliteStore>>> {
        let jid = jid.to_string();
        Box::pin(async move {
            let found = self
                .worker
                .call(move |conn| {
                    Ok(conn
                        .query_row("SELECT id FROM devices WHERE jid = ?1", [jid], |r| {
                            r.get::<_, i64>(0)
                        })
                        .optional()?)
                })
                .await?;
            Ok(found.map(|id| self.handle(id)))
        })
    }

    fn create(&self, device: Device) -> BoxFuture<'_, Result<SqliteStore>> {
        Box::pin(async move {
            let id = self
                .worker
                .call(move |conn| write::create_device(conn, &device))
                .await?;
            Ok(self.handle(id))
        })
    }

    fn delete(&self, id: DeviceId) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.worker.call(move |conn| {
            conn.execute("DELETE FROM devices WHERE id = ?1", [id.0])?;
            Ok(())
        }))
    }
}

/// One device's data in a [`SqliteContainer`].
#[derive(Clone, Debug)]
pub struct SqliteStore {
    worker: Arc<Worker>,
    id: DeviceId,
}

impl SqliteStore {
    fn call<T, F>(&self, f: F) -> BoxFuture<'_, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> Result<T> + Send + 'static,
    {
        let dev = self.id.0;
        Box::pin(self.worker.call(move |conn| f(conn, dev)))
    }
}

impl Store for SqliteStore {
    fn id(&self) -> DeviceId {
        self.id
    }

    fn device(&self) -> BoxFuture<'_, Result<Device>> {
        self.call(|conn, dev| read::device(conn, dev)?.ok_or(StoreError::NoDevice(dev)))
    }

    fn commit(&self, changes: Changes) -> BoxFuture<'_, Result<()>> {
        let dev = self.id.0;
        let capacity = self.worker.outgoing_capacity;
        Box::pin(
            self.worker
                .call(move |conn| write::commit(conn, dev, &changes, capacity)),
        )
    }

    fn identity<'a>(
        &'a self,
        address: &'a ProtocolAddress,
    ) -> BoxFuture<'a, Result<Option<PublicKey>>> {
        let address = address.to_string();
        self.call(move |conn, dev| read::identity(conn, dev, &address))
    }

    fn session<'a>(
        &'a self,
        address: &'a ProtocolAddress,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>>> {
        let address = address.to_string();
        self.call(move |conn, dev| read::session(conn, dev, &address))
    }

    fn sessions<'a>(
        &'a self,
        addresses: &'a [ProtocolAddress],
    ) -> BoxFuture<'a, Result<Vec<Option<SessionRecord>>>> {
        let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        self.call(move |conn, dev| {
            (addresses.iter())
                .map(|a| read::session(conn, dev, a))
                .collect()
        })
    }

    fn pre_key(&self, id: u32) -> BoxFuture<'_, Result<Option<PreKeyRecord>>> {
        self.call(move |conn, dev| read::pre_key(conn, dev, id))
    }

    fn pre_key_counts(&self) -> BoxFuture<'_, Result<PreKeyCounts>> {
        self.call(read::pre_key_counts)
    }

    fn signed_pre_key(&self, id: u32) -> BoxFuture<'_, Result<Option<SignedPreKeyRecord>>> {
        self.call(move |conn, dev| read::signed_pre_key(conn, dev, id))
    }

    fn sender_key<'a>(
        &'a self,
        name: &'a SenderKeyName,
    ) -> BoxFuture<'a, Result<Option<SenderKeyRecord>>> {
        let (group, sender) = (name.group_id.clone(), name.sender.to_string());
        self.call(move |conn, dev| read::sender_key(conn, dev, &group, &sender))
    }

    fn sender_key_distribution<'a>(&'a self, group: &'a Jid) -> BoxFuture<'a, Result<Vec<Jid>>> {
        let group = group.to_string();
        self.call(move |conn, dev| read::sender_key_distribution(conn, dev, &group))
    }

    fn app_state_sync_key<'a>(
        &'a self,
        key_id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<AppStateSyncKey>>> {
        let key_id = key_id.to_vec();
        self.call(move |conn, dev| read::app_state_sync_key(conn, dev, Some(&key_id)))
    }

    fn latest_app_state_sync_key(&self) -> BoxFuture<'_, Result<Option<AppStateSyncKey>>> {
        self.call(|conn, dev| read::app_state_sync_key(conn, dev, None))
    }

    fn app_state_version<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<AppStateVersion>>> {
        let name = name.to_owned();
        self.call(move |conn, dev| read::app_state_version(conn, dev, &name))
    }

    fn mutation_mac<'a>(
        &'a self,
        name: &'a str,
        index_mac: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        let (name, index) = (name.to_owned(), index_mac.to_vec());
        self.call(move |conn, dev| read::mutation_mac(conn, dev, &name, &index))
    }

    fn contact<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<ContactInfo>>> {
        let jid = jid.to_string();
        self.call(move |conn, dev| read::contact(conn, dev, &jid))
    }

    fn contacts(&self) -> BoxFuture<'_, Result<Vec<(Jid, ContactInfo)>>> {
        self.call(read::contacts)
    }

    fn chat_settings<'a>(&'a self, chat: &'a Jid) -> BoxFuture<'a, Result<Option<ChatSettings>>> {
        let chat = chat.to_string();
        self.call(move |conn, dev| read::chat_settings(conn, dev, &chat))
    }

    fn message_secret<'a>(&'a self, key: &'a MessageKey) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        let key = key.clone();
        self.call(move |conn, dev| read::message_secret(conn, dev, &key))
    }

    fn privacy_token<'a>(&'a self, jid: &'a Jid) -> BoxFuture<'a, Result<Option<PrivacyToken>>> {
        let jid = jid.to_string();
        self.call(move |conn, dev| read::privacy_token(conn, dev, &jid))
    }

    fn pn_for_lid<'a>(&'a self, lid: &'a Jid) -> BoxFuture<'a, Result<Option<Jid>>> {
        let lid = lid.to_string();
        self.call(move |conn, dev| {
            read::lid_map(
                conn,
                dev,
                "SELECT pn FROM lid_map WHERE device = ?1 AND lid = ?2",
                &lid,
            )
        })
    }

    fn lid_for_pn<'a>(&'a self, pn: &'a Jid) -> BoxFuture<'a, Result<Option<Jid>>> {
        let pn = pn.to_string();
        self.call(move |conn, dev| {
            read::lid_map(
                conn,
                dev,
                "SELECT lid FROM lid_map WHERE device = ?1 AND pn = ?2",
                &pn,
            )
        })
    }

    fn outgoing_message<'a>(
        &'a self,
        chat: &'a Jid,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<OutgoingMessage>>> {
        let (chat, id) = (chat.to_string(), id.to_owned());
        self.call(move |conn, dev| read::outgoing_message(conn, dev, &chat, &id))
    }

    fn buffered_event<'a>(
        &'a self,
        hash: &'a [u8; 32],
    ) -> BoxFuture<'a, Result<Option<BufferedEvent>>> {
        let hash = *hash;
        self.call(move |conn, dev| read::buffered_event(conn, dev, &hash))
    }

    fn pending_events(&self) -> BoxFuture<'_, Result<Vec<BufferedEvent>>> {
        self.call(read::pending_events)
    }

    fn buffered_events<'a>(
        &'a self,
        hashes: &'a [[u8; 32]],
    ) -> BoxFuture<'a, Result<Vec<BufferedEvent>>> {
        let hashes = hashes.to_vec();
        self.call(move |conn, dev| read::buffered_events(conn, dev, &hashes))
    }
}
