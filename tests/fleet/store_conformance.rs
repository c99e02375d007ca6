//! Every shipped store passes the `SessionStore` conformance suite
//! (`waba_porting::test_util::store_conformance`), through two handles on
//! one storage; and what is particular to each store.

mod broken;
mod directory;
mod in_process;
#[cfg(feature = "sqlite")]
mod sqlite;
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
