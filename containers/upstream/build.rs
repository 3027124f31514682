//! Reads the versions of the iroh crates this build is pinned to from the manifest's Cargo.lock,
//! so that what the program reports (`version`, the `ready` line) is what was compiled in, not a
//! string someone has to keep in sync by hand.

use std::{env, fs, path::PathBuf};

const CRATES: &[(&str, &str)] = &[
    ("iroh", "IROHCONF_IROH_VERSION"),
    ("iroh-base", "IROHCONF_IROH_BASE_VERSION"),
    ("iroh-tickets", "IROHCONF_IROH_TICKETS_VERSION"),
    ("noq", "IROHCONF_NOQ_VERSION"),
    ("rustls", "IROHCONF_RUSTLS_VERSION"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let lock_path = manifest_dir.join("Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    let lock = fs::read_to_string(&lock_path).unwrap_or_else(|err| {
        panic!(
            "{}: {err} (each pinned version has its own committed Cargo.lock)",
            lock_path.display()
        )
    });
    for (name, var) in CRATES {
        let version = locked_version(&lock, name)
            .unwrap_or_else(|| panic!("{}: no package named {name}", lock_path.display()));
        println!("cargo::rustc-env={var}={version}");
    }
}

/// Finds `version = "..."` of the `[[package]]` whose name is `name` (the only one: the iroh
/// crates appear once per lockfile).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let name_line = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(version.trim_end_matches('"').to_string());
        }
    }
    None
}
