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
    async fn make() -> (wa_store::SqliteContainer, tempfile::TempDir) {
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
