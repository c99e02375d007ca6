//! Every shipped store passes the `SessionStore` conformance suite
//! (`waba_porting::test_util::store_conformance`), through two handles on
//! one storage; and what is particular to each store.

#[path = "store_conformance/broken.rs"]
mod broken;
#[path = "store_conformance/directory.rs"]
mod directory;
#[path = "store_conformance/in_process.rs"]
mod in_process;
#[cfg(feature = "sqlite")]
#[path = "store_conformance/sqlite.rs"]
mod sqlite;
#[path = "store_conformance/threads.rs"]
mod threads;

/// A fresh, empty directory for one test (removed first if a run left it).
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "waba-porting-conformance-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
