//! Everything a WhatsApp companion device knows, stored safely.
//!
//! A device that loses a key, a session or a decrypted message is broken for its user, so the
//! promise here is: every committed write survives a crash, and related writes commit together.
//!
//! - [`Store`]: one device's data — the device itself ([`Device`]: noise, identity and signed
//!   prekey, registration id, ADV secret and signed identity, JID and LID, push name, platform,
//!   server facts), Signal identities, sessions, prekeys and sender keys, app-state sync keys,
//!   versions and mutation MACs, contacts, chat settings, message secrets, privacy tokens, the
//!   LID↔phone-number map, the devices our sender key of each group was distributed to, a
//!   bounded cache of sent messages for retries, and a buffer that holds a decrypted message
//!   until the application has handled it. Reads are methods; every write
//!   goes through [`Store::commit`] with a [`Changes`] batch, applied atomically.
//! - [`Container`]: several devices in one database (list, get, create, delete).
//! - Backends: [`MemoryContainer`] (tests) and, with feature `sqlite`, `SqliteContainer`
//!   (one SQLite file, WAL, foreign keys, numbered migrations, file mode 0600, SQLite on its own
//!   thread so no call blocks an async runtime).
//! - wa-signal's store traits are implemented for every handle and for [`Transaction`], which
//!   collects the writes of a wa-signal helper so they commit with the caller's own.
//!
//! What it does not do: decide anything. Time comes in as arguments (`inserted_at`), and the
//! trait layer is runtime-agnostic (boxed `Send` futures).
//!
//! ```
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//! use wa_store::{Changes, Container, Device, MemoryContainer, Store, Transaction};
//! use wa_signal::store::{ProtocolAddress, SessionStore};
//! use wa_signal::SessionRecord;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let container = MemoryContainer::new();
//! let store = container.create(Device::generate(&mut ChaCha20Rng::seed_from_u64(1))).await?;
//! let alice = ProtocolAddress::new("15550001", 0);
//!
//! // A wa-signal helper writes into the transaction; the caller adds its own writes.
//! let mut txn = Transaction::new(&store);
//! txn.store_session(&alice, &SessionRecord::new()).await?;
//! txn.changes().remove_pre_key(7);
//! txn.commit().await?; // one atomic commit
//! assert!(store.session(&alice).await?.is_some());
//! # Ok::<(), wa_store::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! Features: `sqlite` (default) the SQLite backend; `bundled-sqlite` (default) compiles SQLite
//! in; `testing` exports [`store_conformance_tests!`] for backends (no stability promise).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod changes;
#[cfg(feature = "testing")]
pub mod conformance;
pub mod error;
pub mod hashing;
pub mod memory;
pub mod signal;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod traits;
pub mod types;

pub use changes::Changes;
pub use error::{Result, StoreError};
pub use memory::{MemoryContainer, MemoryStore};
pub use signal::{Transaction, generate_pre_keys};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteContainer, SqliteStore};
pub use traits::{BoxFuture, Container, PreKeyCounts, Store};
pub use types::{
    AdvSecret, AppStateSyncKey, AppStateVersion, BufferedEvent, ChatSettings, ContactInfo, Device,
    DeviceId, LTHASH_LEN, MessageKey, MutationMac, OutgoingMessage, PrivacyToken, StoredDevice,
};
