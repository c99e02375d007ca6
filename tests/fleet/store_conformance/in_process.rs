//! `InMemoryStore`: the suite, through one store shared by both handles.

use std::sync::Arc;

use waba_porting::test_util::store_conformance::{check_store, Check};
use waba_porting::InMemoryStore;

#[tokio::test]
async fn the_in_memory_store_passes_the_conformance_suite() {
    let store = InMemoryStore::new();
    if let Err(failure) = check_store(&store, &store).await {
        panic!("{failure}");
    }
}

#[tokio::test]
async fn each_check_runs_alone_in_any_order_on_one_store() {
    let store = Arc::new(InMemoryStore::new());
    for check in Check::ALL.iter().rev() {
        if let Err(failure) = check.run(&store, &store).await {
            panic!("{failure}");
        }
    }
}
