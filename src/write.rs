//! Every file tightrole writes goes through here.
//!
//! - [`safe_file_name`] is the one mapping from a name read in a log (a role, a user, a
//!   function, an account) to a file name: whoever can make a call, or name an uploaded object,
//!   controls those names, so the result never holds a path separator, never is `.` or `..`,
//!   never starts with `.` or `-`, and is bounded.
//! - [`FileSet`] writes several files all or nothing: each to a temporary file beside its
//!   target (fsynced), then all renamed over their targets together at the end. An error before
//!   the renames leaves every target untouched. Two files for one path is an error naming both.
//! - [`atomic_write`] is one file the same way.
//!
//! A replaced file keeps its permission bits; a new one gets the usual mode (`0666` less the
//! umask). Temporaries are named `.tightrole-*.tmp`; one older than [`STALE_AFTER`] in a
//! directory written to was left by a killed run, and is removed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// The longest stem [`safe_file_name`] returns, in bytes (file names are limited to 255).
pub const MAX_STEM: usize = 100;

/// A temporary file this old was left by a run that was killed.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

const TMP_PREFIX: &str = ".tightrole-";
const TMP_SUFFIX: &str = ".tmp";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write `{path}`: {reason}; no file was changed")]
    Stage { path: String, reason: String },
    #[error("{first} and {second} would be written to one file, `{path}`; no file was changed")]
    Collision {
        path: String,
        first: String,
        second: String,
    },
    #[error(
        "cannot replace `{path}`: {reason}; {replaced} other file(s) of this run were already replaced"
    )]
    Replace {
        path: String,
        reason: String,
        replaced: usize,
    },
    #[error(
        "cannot remove `{path}`, which this run supersedes: {reason}; the run's {replaced} file(s) were written, remove it by hand"
    )]
    Retire {
        path: String,
        reason: String,
        replaced: usize,
    },
}

/// A file name (without extension) for a name read from a log. Letters, digits, `-`, `_`, `.`,
/// `@`, `+`, `=` and `,` are kept (every IAM role and user name, and every function name, is
/// kept as it is); anything else, path separators and control characters included, becomes `_`.
/// A leading `.` or `-` becomes `_` (no hidden file, no `.` or `..`, no option-like name), an
/// empty name is `_`, a name Windows reserves (`CON`, `NUL`, `COM1`, …) gets a leading `_`, and
/// a name longer than [`MAX_STEM`] bytes is cut, with a hash of the whole name after the cut so
/// that two long names stay apart.
pub fn safe_file_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@+=,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(['.', '-']) {
        s.replace_range(..1, "_");
    }
    if s.is_empty() {
        s.push('_');
    }
    if windows_reserved(&s) {
        s.insert(0, '_');
    }
    if s.len() > MAX_STEM {
        let hash = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        let suffix = format!("-{:08x}", hash & 0xffff_ffff);
        let mut cut = MAX_STEM - suffix.len();
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(&suffix);
    }
    s
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9`, with any extension, in any case.
fn windows_reserved(stem: &str) -> bool {
    let base = stem.split('.').next().unwrap_or(stem).to_ascii_uppercase();
    match base.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        b => {
            (b.starts_with("COM") || b.starts_with("LPT"))
                && b.len() == 4
                && b.as_bytes()[3].is_ascii_digit()
                && b.as_bytes()[3] != b'0'
        }
    }
}

/// The file stem of each principal, given as (group, name, account), in order: the
/// [`safe_file_name`] of its name, and `@<account>` after it when the same name of the same
/// group (the directory its file goes to) appears in more than one account, or when the name
/// itself ends like that (`@` and twelve digits), so that `--current DIR` reads the file back as
/// that name ([`crate::policy::current::principal_of_stem`]), never as the name before its `@`.
/// (`--current DIR` reads `NAME@ACCOUNT` as NAME's in that account only.)
/// A run over one account gets the plain names.
pub fn principal_stems(principals: &[(&str, &str, &str)]) -> Vec<String> {
    let mut accounts: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for &(group, name, account) in principals {
        accounts.entry((group, name)).or_default().insert(account);
    }
    principals
        .iter()
        .map(|&(group, name, account)| {
            let stem = safe_file_name(name);
            let repeats = accounts.get(&(group, name)).is_some_and(|a| a.len() > 1);
            if repeats || crate::policy::current::principal_of_stem(&stem) != stem {
                format!("{stem}@{}", safe_file_name(account))
            } else {
                stem
            }
        })
        .collect()
}

/// Files written all or nothing: see the module documentation.
#[derive(Debug, Default)]
pub struct FileSet {
    /// target (lexically normalized) → (what it is, for messages; its bytes)
    files: BTreeMap<PathBuf, (String, Vec<u8>)>,
}

impl FileSet {
    pub fn new() -> FileSet {
        FileSet::default()
    }

    /// Adds a file. `owner` says what it holds, for the message when another file of the set
    /// has the same path: that is an error, never an overwrite.
    pub fn add(
        &mut self,
        path: &Path,
        bytes: impl Into<Vec<u8>>,
        owner: impl Into<String>,
    ) -> Result<(), WriteError> {
        let key = normalize(path);
        let owner = owner.into();
        if let Some((first, _)) = self.files.get(&key) {
            return Err(WriteError::Collision {
                path: key.display().to_string(),
                first: first.clone(),
                second: owner,
            });
        }
        self.files.insert(key, (owner, bytes.into()));
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The parts of split policies in `dir` that the set supersedes: `X~N.json`
    /// ([`crate::policy::current::policy_file_name`]) that it does not write, beside an `X.json`
    /// that it does. An earlier run split X into more parts than this one; `--current DIR` would
    /// read the leftovers as X's.
    fn superseded_parts(&self, dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let stem = name.to_str()?.strip_suffix(".json")?;
                let (base, _) = crate::policy::current::split_part(stem)?;
                let path = dir.join(&name);
                (!self.files.contains_key(&path)
                    && self.files.contains_key(&dir.join(format!("{base}.json"))))
                .then_some(path)
            })
            .collect()
    }

    /// Writes every file to a temporary beside its target, then renames them all, then removes
    /// the parts of split policies they supersede ([`FileSet::superseded_parts`]). Returns the
    /// paths written, in order.
    pub fn commit(self) -> Result<Vec<PathBuf>, WriteError> {
        let stage_err = |p: &Path, e: &std::io::Error| WriteError::Stage {
            path: p.display().to_string(),
            reason: crate::diag::io_reason(e),
        };
        // Directories first: a target that is a directory, or under a file, fails here.
        let mut created: Vec<PathBuf> = Vec::new();
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        let mut superseded: Vec<PathBuf> = Vec::new();
        for path in self.files.keys() {
            let dir = parent(path);
            if dirs.insert(dir.to_path_buf()) {
                if let Err(e) = create_dirs(dir, &mut created) {
                    remove_dirs(&created);
                    return Err(stage_err(path, &e));
                }
                sweep_stale(dir);
                superseded.extend(self.superseded_parts(dir));
            }
            if path.is_dir() {
                remove_dirs(&created);
                return Err(WriteError::Stage {
                    path: path.display().to_string(),
                    reason: "it is a directory".into(),
                });
            }
        }
        let mut staged: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(self.files.len());
        for (path, (_, bytes)) in &self.files {
            match stage(path, bytes) {
                Ok(tmp) => staged.push((tmp, path.clone())),
                Err(e) => {
                    for (tmp, _) in &staged {
                        let _ = std::fs::remove_file(tmp);
                    }
                    remove_dirs(&created);
                    return Err(stage_err(path, &e));
                }
            }
        }
        let mut written = Vec::with_capacity(staged.len());
        let mut rest = staged.into_iter();
        while let Some((tmp, path)) = rest.next() {
            if let Err(e) = std::fs::rename(&tmp, &path) {
                let _ = std::fs::remove_file(&tmp);
                for (tmp, _) in rest {
                    let _ = std::fs::remove_file(&tmp);
                }
                return Err(WriteError::Replace {
                    path: path.display().to_string(),
                    reason: crate::diag::io_reason(&e),
                    replaced: written.len(),
                });
            }
            written.push(path);
        }
        for path in &superseded {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(WriteError::Retire {
                        path: path.display().to_string(),
                        reason: crate::diag::io_reason(&e),
                        replaced: written.len(),
                    });
                }
            }
        }
        for d in &dirs {
            sync_dir(d);
        }
        Ok(written)
    }
}

/// Writes one file atomically: a temporary in the target's directory, fsynced, then renamed
/// over the target. A reader sees the old file or the new one, never a partial one. The
/// target keeps its permission bits.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent(path);
    std::fs::create_dir_all(dir)?;
    sweep_stale(dir);
    let tmp = stage(path, bytes)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir);
    Ok(())
}

/// Removes the `.tightrole-*.tmp` files older than [`STALE_AFTER`] in `dir`: a killed run's
/// leftovers (a younger one may belong to a run still going). Errors are ignored.
pub fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX)) {
            continue;
        }
        let Ok(meta) = e.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if meta.is_file() && old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `a/./b` and `a//b` are `a/b`, so that one path given two ways is one key.
fn normalize(path: &Path) -> PathBuf {
    let mut out: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// `create_dir_all`, remembering the directories it made (outermost first).
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .collect();
    std::fs::create_dir_all(dir)?;
    created.extend(missing.into_iter().rev().map(Path::to_path_buf));
    Ok(())
}

/// Removes the directories a failed set made, innermost first, if they are empty.
fn remove_dirs(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}

/// Writes `bytes` to a new temporary file beside `target`, with the target's permission bits
/// when it exists, fsynced. Returns its path.
fn stage(target: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent(target);
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = dir.join(format!(
            "{TMP_PREFIX}{}-{n}-{nanos:08x}{TMP_SUFFIX}",
            std::process::id()
        ));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = (|| {
        file.write_all(bytes)?;
        if let Ok(meta) = std::fs::metadata(target)
            && meta.is_file()
        {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()
    })();
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Makes the renames in `dir` durable; best effort (not every platform can open a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(dir.path().join("a")).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn file_names_stay_in_their_directory() {
        for (name, stem) in [
            ("payments-role", "payments-role"),
            ("a.b@c+d=e,f_g", "a.b@c+d=e,f_g"),
            ("../../escaped", "_._.._escaped"),
            ("/tmp/xyz/ESCAPED-absolute", "_tmp_xyz_ESCAPED-absolute"),
            ("..", "_."),
            (".", "_"),
            ("", "_"),
            ("-rf", "_rf"),
            ("a\\b\0c\nd", "a_b_c_d"),
            ("con", "_con"),
            ("LPT1.x", "_LPT1.x"),
            ("COM0", "COM0"),
            ("é", "_"),
        ] {
            assert_eq!(safe_file_name(name), stem, "{name:?}");
        }
        let long_a = "a".repeat(300);
        let long_b = format!("{}b", "a".repeat(299));
        let (a, b) = (safe_file_name(&long_a), safe_file_name(&long_b));
        assert!(a.len() <= MAX_STEM && b.len() <= MAX_STEM);
        assert_ne!(a, b, "a hash of the whole name keeps cut names apart");
        assert_eq!(safe_file_name(&"é".repeat(200)).len(), MAX_STEM);
    }

    #[test]
    fn the_account_is_added_only_to_a_name_in_several_accounts() {
        let stems = principal_stems(&[
            ("role", "app", "111111111111"),
            ("role", "app", "222222222222"),
            ("role", "other", "111111111111"),
            ("user", "app", "111111111111"),
        ]);
        assert_eq!(
            stems,
            ["app@111111111111", "app@222222222222", "other", "app"]
        );
    }

    #[test]
    fn a_set_is_all_or_nothing_and_keeps_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept.json");
        std::fs::write(&kept, "old").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();

        let mut set = FileSet::new();
        set.add(&kept, "new", "one").unwrap();
        set.add(&dir.path().join("file/under-a-file.json"), "x", "two")
            .unwrap();
        let err = set.commit().unwrap_err().to_string();
        assert!(err.contains("no file was changed"), "{err}");
        assert_eq!(std::fs::read(&kept).unwrap(), b"old");

        let mut set = FileSet::new();
        set.add(&kept, "new", "one").unwrap();
        set.add(&dir.path().join("d/new.json"), "x", "two").unwrap();
        let err = set
            .add(&dir.path().join("./d//new.json"), "y", "three")
            .unwrap_err()
            .to_string();
        assert!(err.contains("two and three"), "{err}");
        set.commit().unwrap();
        assert_eq!(std::fs::read(&kept).unwrap(), b"new");
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn stale_temporaries_are_swept_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".tightrole-stale.tmp");
        let fresh = dir.path().join(".tightrole-fresh.tmp");
        let other = dir.path().join(".other.tmp");
        for p in [&stale, &fresh, &other] {
            std::fs::write(p, "").unwrap();
        }
        let old = SystemTime::now() - 2 * STALE_AFTER;
        for p in [&stale, &other] {
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        atomic_write(&dir.path().join("x.json"), b"x").unwrap();
        assert!(!stale.exists() && fresh.exists() && other.exists());
    }
}
