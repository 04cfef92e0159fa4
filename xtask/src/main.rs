//! Maintainer tasks, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! `cargo xtask snapshots` regenerates the wire-format snapshot fixtures and deletes the ones no
//! test writes any more; `cargo xtask snapshots --check` fails, changing nothing, when any
//! fixture is stale, missing or unreferenced.
//!
//! Both run each snapshot suite once with its snapshots redirected into an empty scratch
//! folder (`SCRY_SNAPSHOT_DIR`) and `INSTA_UPDATE=always INSTA_FORCE_PASS=1`, so the suite
//! writes every snapshot it references there. Comparing that folder with the committed one
//! tells exactly which files are stale (different), missing (only in scratch) and
//! unreferenced (only committed). `INSTA_UPDATE` is set explicitly because insta never writes
//! when `CI` is set otherwise; the tree itself is only written by the regenerating mode.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// A test target whose insta snapshots are managed here.
struct Suite {
    /// The `cargo test -p` package spec.
    package: &'static str,
    /// The integration test target (`--test`); its snapshot files are named `<test>__*.snap`.
    test: &'static str,
    /// The committed snapshot folder, relative to the workspace root.
    dir: &'static str,
}

/// Every snapshot suite. A test that writes insta snapshots must be listed here, and must
/// honour `SCRY_SNAPSHOT_DIR` (see `crates/scry-protocol/tests/wire_snapshots.rs`).
const SUITES: &[Suite] = &[Suite {
    package: "scry-protocol@0.2.0",
    test: "wire_snapshots",
    dir: "crates/scry-protocol/tests/snapshots",
}];

/// The environment variable a suite reads to write its snapshots elsewhere.
const SNAPSHOT_DIR_ENV: &str = "SCRY_SNAPSHOT_DIR";

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  snapshots           regenerate every wire snapshot and delete unreferenced ones
  snapshots --check   fail (changing nothing) if a snapshot is stale, missing or unreferenced
  help                print this list
";

/// A failure of a task, said in one message.
#[derive(Debug)]
struct TaskError(String);

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for TaskError {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, TaskError> {
    Err(TaskError(message.into()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            Ok(())
        }
        ["snapshots"] => snapshots(Mode::Regenerate),
        ["snapshots", "--check"] => snapshots(Mode::Check),
        _ => {
            eprint!("unknown command: {}\n\n{USAGE}", args.join(" "));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Regenerate,
    Check,
}

fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or(manifest_dir.clone(), Path::to_path_buf)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// What a suite's run says about its committed snapshots.
#[derive(Debug, Default)]
struct Drift {
    stale: Vec<String>,
    missing: Vec<String>,
    unreferenced: Vec<PathBuf>,
    up_to_date: usize,
}

fn snapshots(mode: Mode) -> Result<(), TaskError> {
    let root = workspace_root();
    let scratch_root = target_dir(&root).join("xtask-snapshots");
    let mut drift = Drift::default();
    let mut owned = BTreeSet::new();
    for suite in SUITES {
        let committed_dir = root.join(suite.dir);
        let scratch = scratch_root.join(suite.test);
        if scratch.exists() {
            fs::remove_dir_all(&scratch)?;
        }
        fs::create_dir_all(&scratch)?;
        run_suite(&root, suite, &scratch)?;

        let written = snap_files_in(&scratch)?;
        let prefix = format!("{}__", suite.test);
        if written.iter().any(|name| !name.starts_with(&prefix)) {
            return fail(format!(
                "suite {} wrote snapshots not named {prefix}*: {written:?}",
                suite.test
            ));
        }
        let committed: BTreeSet<String> = snap_files_in(&committed_dir)?
            .into_iter()
            .filter(|name| name.starts_with(&prefix))
            .collect();
        for name in committed.iter().chain(&written) {
            owned.insert(committed_dir.join(name));
        }
        for name in &written {
            let new = fs::read(scratch.join(name))?;
            match fs::read(committed_dir.join(name)) {
                Ok(old) if old == new => drift.up_to_date += 1,
                Ok(_) => drift.stale.push(format!("{}/{name}", suite.dir)),
                Err(_) => drift.missing.push(format!("{}/{name}", suite.dir)),
            }
            if mode == Mode::Regenerate {
                fs::create_dir_all(&committed_dir)?;
                fs::write(committed_dir.join(name), new)?;
            }
        }
        drift.unreferenced.extend(
            committed
                .difference(&written)
                .map(|name| committed_dir.join(name)),
        );
        fs::remove_dir_all(&scratch)?;
    }
    // Snapshot files that no suite owns at all, and insta's pending `.snap.new` files.
    for path in find_snapshot_files(&root)? {
        if !owned.contains(&path) {
            drift.unreferenced.push(path);
        }
    }
    drift.unreferenced.sort();
    drift.unreferenced.dedup();

    let rel = |p: &Path| {
        p.strip_prefix(&root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    match mode {
        Mode::Regenerate => {
            for path in &drift.unreferenced {
                fs::remove_file(path)?;
                println!("deleted {}", rel(path));
            }
            for name in &drift.stale {
                println!("updated {name}");
            }
            for name in &drift.missing {
                println!("created {name}");
            }
            println!(
                "snapshots: {} unchanged, {} updated, {} created, {} deleted",
                drift.up_to_date,
                drift.stale.len(),
                drift.missing.len(),
                drift.unreferenced.len()
            );
            Ok(())
        }
        Mode::Check => {
            let mut problems = Vec::new();
            problems.extend(drift.stale.iter().map(|n| format!("stale: {n}")));
            problems.extend(drift.missing.iter().map(|n| format!("missing: {n}")));
            problems.extend(drift.unreferenced.iter().map(|p| {
                if p.to_string_lossy().ends_with(".snap.new") {
                    format!("pending (left by a failing local test run): {}", rel(p))
                } else {
                    format!("unreferenced: {}", rel(p))
                }
            }));
            if problems.is_empty() {
                println!("snapshots: all {} up to date", drift.up_to_date);
                Ok(())
            } else {
                for p in &problems {
                    eprintln!("  {p}");
                }
                fail(format!(
                    "{} snapshot problem(s) (listed above); run `cargo xtask snapshots` and review the diff",
                    problems.len()
                ))
            }
        }
    }
}

/// Runs one suite with its snapshots going to `scratch`.
fn run_suite(root: &Path, suite: &Suite, scratch: &Path) -> Result<(), TaskError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["test", "--quiet", "-p", suite.package, "--test", suite.test])
        .env(SNAPSHOT_DIR_ENV, scratch)
        // Write every snapshot, whatever CI says, and let the run pass so all are written.
        .env("INSTA_UPDATE", "always")
        .env("INSTA_FORCE_PASS", "1")
        .env("INSTA_OUTPUT", "none")
        .env_remove("INSTA_PENDING_DIR")
        .env_remove("INSTA_SNAPSHOT_REFERENCES_FILE");
    println!(
        "running: {SNAPSHOT_DIR_ENV}={} INSTA_UPDATE=always INSTA_FORCE_PASS=1 INSTA_OUTPUT=none cargo test --quiet -p {} --test {}",
        scratch.display(),
        suite.package,
        suite.test
    );
    let status = cmd.status()?;
    if !status.success() {
        return fail(format!(
            "the {} suite failed for a reason other than a snapshot difference ({status})",
            suite.test
        ));
    }
    Ok(())
}

/// The names of the `.snap` files directly in `dir` (none when it does not exist).
fn snap_files_in(dir: &Path) -> Result<BTreeSet<String>, TaskError> {
    let mut names = BTreeSet::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".snap") {
            names.insert(name);
        }
    }
    Ok(names)
}

/// Every `.snap` and `.snap.new` file under the workspace, outside `target` and hidden folders.
fn find_snapshot_files(root: &Path) -> Result<Vec<PathBuf>, TaskError> {
    let target = target_dir(root);
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() {
                if !name.starts_with('.') && name != "target" && path != target {
                    stack.push(path);
                }
            } else if name.ends_with(".snap") || name.ends_with(".snap.new") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
