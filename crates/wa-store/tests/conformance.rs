//! The conformance suite against both backends.

mod memory {
    async fn make() -> (wa_store::MemoryContainer, ()) {
        let capacity = wa_store::conformance::OUTGOING_CAPACITY;
        (
            wa_store::MemoryContainer::new().with_outgoing_capacity(capacity),
            (),
        )
    }
    wa_store::store_conformance_tests!(make);
}

mod sqlite {
    pub(super) async fn make() -> (wa_store::SqliteContainer, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let capacity = wa_store::conformance::OUTGOING_CAPACITY;
        let path = dir.path().join("store.db");
        let c = wa_store::SqliteContainer::open_with_outgoing_capacity(path, capacity)
            .await
            .unwrap();
        (c, dir)
    }
    wa_store::store_conformance_tests!(make);
}

/// The suite through the fault-injecting wrapper (no fault scheduled: it must be transparent),
/// and the crash-between-writes scenario on both backends.
mod faulty_memory {
    use wa_store::conformance::FaultyContainer;

    async fn make() -> (FaultyContainer<wa_store::MemoryContainer>, ()) {
        let capacity = wa_store::conformance::OUTGOING_CAPACITY;
        let inner = wa_store::MemoryContainer::new().with_outgoing_capacity(capacity);
        (FaultyContainer::new(inner), ())
    }
    wa_store::store_conformance_tests!(make);

    #[test]
    fn crash_between_writes() {
        wa_store::conformance::block_on(async {
            let (c, ()) = make().await;
            wa_store::conformance::crash_between_writes(c).await;
        });
    }
}

mod faulty_sqlite {
    use wa_store::conformance::FaultyContainer;

    async fn make() -> (
        FaultyContainer<wa_store::SqliteContainer>,
        tempfile::TempDir,
    ) {
        let (inner, dir) = super::sqlite::make().await;
        (FaultyContainer::new(inner), dir)
    }
    wa_store::store_conformance_tests!(make);

    #[test]
    fn crash_between_writes() {
        wa_store::conformance::block_on(async {
            let (c, _dir) = make().await;
            wa_store::conformance::crash_between_writes(c).await;
        });
    }
}
