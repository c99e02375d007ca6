//! `DirectoryStore`: the suite, and the directory held by one store.

use waba_porting::test_util::store_conformance::check_store;
use waba_porting::{DirectoryStore, StoreErrorKind};

use super::temp_dir;

#[tokio::test]
async fn the_directory_store_passes_the_conformance_suite() {
    let dir = temp_dir("directory-suite");
    let store = DirectoryStore::open(&dir).unwrap();
    if let Err(failure) = check_store(&store, &store).await {
        panic!("{failure}");
    }
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_second_open_of_a_held_directory_is_in_use_naming_the_process_until_the_first_is_dropped()
{
    let dir = temp_dir("directory-in-use");
    let first = DirectoryStore::open(&dir).unwrap();
    let err = DirectoryStore::open(&dir).unwrap_err();
    match err.kind() {
        StoreErrorKind::InUse { holder } => {
            let process = format!("process {}", std::process::id());
            assert!(
                holder.contains(&process),
                "holder {holder:?} names {process}"
            );
        }
        other => panic!("expected InUse, got {other:?}: {err}"),
    }
    assert!(!err.is_superseded());
    drop(first);
    let again = DirectoryStore::open(&dir).unwrap();
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}
