//! Azure Sphere app manifests for Tessera: parse, resolve `$NAME`s, check against a board, and produce the grants and their binary form.
//!
//! The pipeline, one module per step:
//!
//! 1. [`json`]: the document, with duplicate keys refused and a size limit;
//! 2. [`app_manifest`]: the manifest's fields checked for form
//!    (`SchemaVersion`, `Name`, `ComponentId`, `EntryPoint`, `CmdArgs`,
//!    `ApplicationType`, `MallocVersion`, `TargetBetaApis`, `Capabilities`);
//! 3. [`hardware`]: the hardware definition and its imports, which turn
//!    `$NAME`s into the values a board knows;
//! 4. [`board`]: what each board (QEMU virt, MT3620) can grant;
//! 5. [`grants`]: the grants, refusals and conflicts, a readable listing,
//!    and the binary form of `tessera_abi::manifest` that the loader reads.
//!
//! [`corpus`] checks a tree of manifests (the Azure Sphere samples), and
//! [`fuzzing`] holds the bodies of the fuzz targets. Every error names the
//! JSON field (`Capabilities.Gpio[1]`) and the reason; nothing here panics
//! on bad input. `docs/manifests.md` describes what is accepted and why.
#![forbid(unsafe_code)]

pub mod app_manifest;
pub mod board;
pub mod corpus;
pub mod fuzzing;
pub mod grants;
pub mod hardware;
pub mod json;

use std::fmt;
use std::path::{Path, PathBuf};

pub use app_manifest::AppManifest;
pub use board::BoardId;
pub use grants::Grants;
pub use hardware::{DefinitionFiles, DiskFiles, HardwareDefinition, MemoryFiles};

/// What is wrong, and where: `field` is a JSON path such as
/// `Capabilities.Gpio[1]` (prefixed by a file name for hardware
/// definitions), `reason` says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The field (or file) the error is about.
    pub field: String,
    /// Why it is refused.
    pub reason: String,
}

impl Error {
    /// An error about `field`.
    pub fn new(field: &str, reason: impl Into<String>) -> Error {
        Error { field: field.to_string(), reason: reason.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

impl std::error::Error for Error {}

/// How to check one manifest.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// The hardware definition that resolves the manifest's `$NAME`s.
    pub hardware_definition: Option<PathBuf>,
    /// The board; by default the one the hardware definition describes, or
    /// QEMU virt without a definition.
    pub board: Option<BoardId>,
    /// Where imports not found beside the importing file are looked for,
    /// and where each board's base definition is (xtask passes
    /// `userland/hardware-definitions/`).
    pub search_dirs: Vec<PathBuf>,
}

/// A manifest that passed every check.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The manifest.
    pub manifest: AppManifest,
    /// The hardware definition used, if any.
    pub definition: Option<HardwareDefinition>,
    /// What the board grants it.
    pub grants: Grants,
    /// The binary form (`None` for a capabilities fragment).
    pub binary: Option<Vec<u8>>,
}

/// Picks the board and loads the hardware definition for `options`.
pub fn board_and_definition(
    options: &CheckOptions,
    files: &dyn DefinitionFiles,
) -> Result<(BoardId, Option<HardwareDefinition>), Error> {
    match &options.hardware_definition {
        Some(path) => {
            let definition = HardwareDefinition::load(path, &options.search_dirs, files)?;
            let described = definition.board()?;
            let board = match (options.board, described) {
                (Some(asked), Some(described)) if asked != described => {
                    return Err(Error::new(
                        "--board",
                        format!("{} describes the {described}, not the {asked}", path.display()),
                    ))
                }
                (Some(asked), _) => asked,
                (None, Some(described)) => described,
                (None, None) => {
                    return Err(Error::new(
                        &path.display().to_string(),
                        format!(
                            "cannot tell which board this definition is for (neither it nor its imports is named {}); \
                             pass --board",
                            BoardId::ALL.map(|board| board.board().definition_name).join(" or ")
                        ),
                    ))
                }
            };
            Ok((board, Some(definition)))
        }
        None => {
            let board = options.board.unwrap_or(BoardId::QemuVirt);
            // The board's own base definition, so chip-level names resolve.
            let base = options
                .search_dirs
                .iter()
                .map(|dir| dir.join(board.board().definition_file))
                .find(|path| files.is_file(path));
            let definition = match base {
                Some(path) => Some(HardwareDefinition::load(&path, &options.search_dirs, files)?),
                None => None,
            };
            Ok((board, definition))
        }
    }
}

/// Checks the manifest in `bytes` (`document` names it in messages).
pub fn check_bytes(
    bytes: &[u8],
    document: &str,
    options: &CheckOptions,
    files: &dyn DefinitionFiles,
) -> Result<Checked, Error> {
    let manifest = AppManifest::parse(bytes, document)?;
    let (board, definition) = board_and_definition(options, files)?;
    let grants = grants::compute(&manifest, board, definition.as_ref())?;
    let binary = match grants.identity {
        Some(_) => Some(grants.encode()?),
        None => None,
    };
    Ok(Checked { manifest, definition, grants, binary })
}

/// Reads and checks the manifest at `path`.
pub fn check_file(path: &Path, options: &CheckOptions) -> Result<Checked, Error> {
    let label = path.display().to_string();
    let bytes = DiskFiles.read(path).map_err(|reason| Error::new(&label, reason))?;
    check_bytes(&bytes, &label, options, &DiskFiles)
}
