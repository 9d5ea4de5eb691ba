//! Checking a tree of app manifests (the Azure Sphere samples), picking the hardware definition each one's build would use.
//!
//! For each `app_manifest.json` the definition is, in order:
//!
//! 1. the one its directory's `CMakeLists.txt` names with
//!    `azsphere_target_hardware_definition(... TARGET_DIRECTORY "<dir>"
//!    TARGET_DEFINITION "<file>")`, as the sample's build would use;
//! 2. otherwise the nearest `HardwareDefinitions/mt3620_rdb/` folder in the
//!    manifest's directory or above it (the samples' default target is the
//!    MT3620 reference board), and in it the one definition that no other
//!    file there imports (a sample-local folder such as
//!    `ExternalMcuLowPower/HardwareDefinitions/` comes before the shared one).
//!
//! Manifests without a definition are checked against the MT3620 board.

use std::fs;
use std::path::{Path, PathBuf};

use crate::board::BoardId;
use crate::json::{self, expect_array, expect_object, expect_string};
use crate::{check_file, CheckOptions, Checked, DiskFiles, Error};

/// The file name of an app manifest.
pub const MANIFEST_FILE_NAME: &str = "app_manifest.json";
/// Deepest directory searched below the corpus root.
pub const MAX_DEPTH: usize = 24;
/// Most directory entries visited in one corpus.
pub const MAX_ENTRIES: usize = 200_000;
/// The board folder the samples target by default.
pub const DEFAULT_BOARD_FOLDER: &str = "mt3620_rdb";

/// The outcome for one manifest of a corpus.
#[derive(Debug)]
pub struct CorpusEntry {
    /// The manifest.
    pub manifest: PathBuf,
    /// The hardware definition used, if any.
    pub definition: Option<PathBuf>,
    /// Its grants, or why it failed.
    pub outcome: Result<Checked, Error>,
}

/// Every `app_manifest.json` below `root`, sorted. Does not follow
/// symbolic links.
pub fn find_manifests(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut pending = vec![(root.to_path_buf(), 0usize)];
    let mut visited = 0usize;
    while let Some((dir, depth)) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|err| format!("cannot list {}: {err}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|err| format!("cannot list {}: {err}", dir.display()))?;
            visited += 1;
            if visited > MAX_ENTRIES {
                return Err(format!("{} has more than {MAX_ENTRIES} entries", root.display()));
            }
            let file_type =
                entry.file_type().map_err(|err| format!("cannot stat {}: {err}", entry.path().display()))?;
            let path = entry.path();
            if file_type.is_dir() {
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if !hidden && depth < MAX_DEPTH {
                    pending.push((path, depth + 1));
                }
            } else if file_type.is_file() && entry.file_name() == MANIFEST_FILE_NAME {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The hardware definition a `CMakeLists.txt` names, if it has an
/// `azsphere_target_hardware_definition` call with both arguments.
pub fn definition_from_cmake(text: &str, dir: &Path) -> Option<PathBuf> {
    let start = text.find("azsphere_target_hardware_definition")?;
    let call = &text[start..];
    let call = &call[..call.find(')').unwrap_or(call.len())];
    let directories = arguments_after(call, "TARGET_DIRECTORY");
    let definition = arguments_after(call, "TARGET_DEFINITION").into_iter().next()?;
    let path = directories.iter().map(|directory| dir.join(directory).join(&definition)).find(|path| path.is_file());
    path.or_else(|| directories.first().map(|directory| dir.join(directory).join(&definition)))
}

/// The (unquoted) words after `keyword` in a CMake call, up to the next
/// upper-case keyword.
fn arguments_after(call: &str, keyword: &str) -> Vec<String> {
    let mut words = call.split_whitespace().map(|word| word.trim_matches('"'));
    let mut values = Vec::new();
    if words.by_ref().any(|word| word == keyword) {
        for word in words {
            let is_keyword = !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            if is_keyword {
                break;
            }
            values.push(word.to_string());
        }
    }
    values
}

/// The `Imports` paths of a definition file, or nothing if it is unreadable
/// (the full check reports that).
fn imports_of(path: &Path) -> Vec<String> {
    let Ok(bytes) = crate::DefinitionFiles::read(&DiskFiles, path) else { return Vec::new() };
    let Ok(document) = json::parse(&bytes, "") else { return Vec::new() };
    let Ok(top) = expect_object(&document, "") else { return Vec::new() };
    let Some((_, imports)) = top.iter().find(|(key, _)| key == "Imports") else { return Vec::new() };
    let Ok(imports) = expect_array(imports, "") else { return Vec::new() };
    imports
        .iter()
        .filter_map(|import| {
            let members = expect_object(import, "").ok()?;
            let (_, path) = members.iter().find(|(key, _)| key == "Path")?;
            expect_string(path, "").ok().map(str::to_string)
        })
        .collect()
}

/// The top definition of a folder: the `.json` file no other file there imports.
fn top_definition(folder: &Path) -> Result<PathBuf, String> {
    let mut files: Vec<PathBuf> = fs::read_dir(folder)
        .map_err(|err| format!("cannot list {}: {err}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let imported: Vec<PathBuf> = files
        .iter()
        .flat_map(|file| imports_of(file).into_iter().map(|import| crate::hardware::normalize(&folder.join(import))))
        .collect();
    let tops: Vec<&PathBuf> =
        files.iter().filter(|file| !imported.contains(&crate::hardware::normalize(file))).collect();
    match tops.as_slice() {
        [top] => Ok((*top).clone()),
        [] => Err(format!("{} holds no hardware definition that nothing else imports", folder.display())),
        many => Err(format!(
            "{} holds {} top-level definitions ({}); name one in the sample's CMakeLists.txt",
            folder.display(),
            many.len(),
            many.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The hardware definition for `manifest` (see the module documentation);
/// `root` bounds the search upwards.
pub fn definition_for(manifest: &Path, root: &Path) -> Result<Option<PathBuf>, String> {
    let Some(manifest_dir) = manifest.parent() else { return Ok(None) };
    let cmake = manifest_dir.join("CMakeLists.txt");
    if let Ok(text) = fs::read_to_string(&cmake) {
        if let Some(path) = definition_from_cmake(&text, manifest_dir) {
            return Ok(Some(path));
        }
    }
    let mut dir = Some(manifest_dir);
    while let Some(current) = dir {
        let folder = current.join("HardwareDefinitions").join(DEFAULT_BOARD_FOLDER);
        if folder.is_dir() {
            return top_definition(&folder).map(Some);
        }
        if current == root {
            break;
        }
        dir = current.parent().filter(|parent| parent.starts_with(root));
    }
    Ok(None)
}

/// Checks every manifest below `root`. `search_dirs` is where imports
/// not found beside a definition are looked for.
pub fn check_corpus(root: &Path, search_dirs: &[PathBuf]) -> Result<Vec<CorpusEntry>, String> {
    let manifests = find_manifests(root)?;
    let mut entries = Vec::new();
    for manifest in manifests {
        let definition = definition_for(&manifest, root);
        let (definition, outcome) = match definition {
            Err(reason) => (None, Err(Error::new("(hardware definition)", reason))),
            Ok(definition) => {
                let options = CheckOptions {
                    hardware_definition: definition.clone(),
                    board: if definition.is_none() { Some(BoardId::Mt3620) } else { None },
                    search_dirs: search_dirs.to_vec(),
                };
                (definition, check_file(&manifest, &options))
            }
        };
        entries.push(CorpusEntry { manifest, definition, outcome });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmake_names_the_definition() {
        let text = r#"
            azsphere_target_hardware_definition(${PROJECT_NAME}
                TARGET_DIRECTORY "../../../HardwareDefinitions/mt3620_rdb"
                TARGET_DEFINITION "sample_appliance.json")
        "#;
        let path = definition_from_cmake(text, Path::new("/s/Samples/ADC/App")).unwrap();
        assert_eq!(path, Path::new("/s/Samples/ADC/App/../../../HardwareDefinitions/mt3620_rdb/sample_appliance.json"));
        assert!(definition_from_cmake("project(x)", Path::new("/")).is_none());
        assert!(definition_from_cmake("azsphere_target_hardware_definition(x TARGET_DIRECTORY d)", Path::new("/"))
            .is_none());
    }
}
