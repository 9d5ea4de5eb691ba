//! Azure Sphere hardware definitions: loading a file and its imports, checking it, and resolving `$NAME`s.
//!
//! A hardware definition is JSON:
//!
//! ```json
//! { "Metadata": { "Type": "Azure Sphere Hardware Definition", "Version": 1 },
//!   "Description": { "Name": "...", "MainCoreHeaderFileTopContent": ["..."] },
//!   "Imports": [ { "Path": "mt3620.json" } ],
//!   "Peripherals": [
//!     { "Name": "SAMPLE_LED", "Type": "Gpio", "Mapping": "MT3620_RDB_LED1_RED" },
//!     { "Name": "MT3620_GPIO8", "Type": "Gpio", "AppManifestValue": 8 } ] }
//! ```
//!
//! A peripheral either maps to another peripheral of the same `Type`
//! (`Mapping`) or gives the value an app manifest uses (`AppManifestValue`);
//! `int` entries are C constants (channel numbers, chip selects) and have no
//! meaning in a manifest. An import's `Path` is looked up next to the
//! importing file first, then in each search directory (xtask passes
//! `userland/hardware-definitions/`, as the Azure Sphere SDK looks in its
//! own `HardwareDefinitions` folder). Imports may nest [`MAX_IMPORT_DEPTH`]
//! deep; a cycle is an error; a file imported twice (a diamond) is read
//! once. Every `Mapping` is checked when the definition loads, so a loaded
//! definition resolves every name it defines.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::board::{BoardId, ControllerKind};
use crate::json::{self, expect_array, expect_integer, expect_object, expect_string, Json, MAX_DOCUMENT_BYTES};
use crate::Error;

/// Deepest chain of imports (the file given is depth 0).
pub const MAX_IMPORT_DEPTH: usize = 8;
/// Most files one definition may load, imports included.
pub const MAX_DEFINITION_FILES: usize = 32;
/// Most peripherals across all the files of one definition.
pub const MAX_PERIPHERALS: usize = 4096;
/// Longest chain of `Mapping`s from a name to its value.
pub const MAX_MAPPING_DEPTH: usize = 16;
/// Longest peripheral name.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest `AppManifestValue` string, `MainCoreHeaderValue`, `Comment` or
/// `Description.Name`.
pub const MAX_TEXT_BYTES: usize = 4096;

/// The `Metadata.Type` every hardware definition carries.
pub const METADATA_TYPE: &str = "Azure Sphere Hardware Definition";

/// Where definition files come from: the disk, or memory (tests, fuzzing).
pub trait DefinitionFiles {
    /// The file's bytes; an error message if it cannot be read or is over
    /// [`MAX_DOCUMENT_BYTES`].
    fn read(&self, path: &Path) -> Result<Vec<u8>, String>;
    /// Whether `path` names a file.
    fn is_file(&self, path: &Path) -> bool;
    /// A name that is the same for every path to the same file (to find
    /// import cycles and files imported twice).
    fn identity(&self, path: &Path) -> PathBuf;
}

/// Definition files on disk.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiskFiles;

impl DefinitionFiles for DiskFiles {
    fn read(&self, path: &Path) -> Result<Vec<u8>, String> {
        let file = File::open(path).map_err(|err| format!("cannot open {}: {err}", path.display()))?;
        let mut bytes = Vec::new();
        file.take(MAX_DOCUMENT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("{} is larger than {MAX_DOCUMENT_BYTES} bytes", path.display()));
        }
        Ok(bytes)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn identity(&self, path: &Path) -> PathBuf {
        path.canonicalize().unwrap_or_else(|_| normalize(path))
    }
}

/// Definition files held in memory, keyed by normalized path.
#[derive(Clone, Debug, Default)]
pub struct MemoryFiles {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemoryFiles {
    /// No files.
    pub fn new() -> MemoryFiles {
        MemoryFiles::default()
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl AsRef<Path>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(normalize(path.as_ref()), bytes.into());
    }
}

impl DefinitionFiles for MemoryFiles {
    fn read(&self, path: &Path) -> Result<Vec<u8>, String> {
        let bytes = self.files.get(&normalize(path)).ok_or_else(|| format!("no file {}", path.display()))?;
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("{} is larger than {MAX_DOCUMENT_BYTES} bytes", path.display()));
        }
        Ok(bytes.clone())
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path))
    }

    fn identity(&self, path: &Path) -> PathBuf {
        normalize(path)
    }
}

/// `path` with `.` removed and `dir/..` folded, without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut parts: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.iter().collect()
}

/// The `Type` of a peripheral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeripheralType {
    /// `Gpio`: a GPIO pin; its value is the pin number.
    Gpio,
    /// A controller (`Uart`, `I2cMaster`, `SpiMaster`, `Adc`, `Pwm`); its
    /// value is a string such as `"ISU0"`.
    Controller(ControllerKind),
    /// `int`: a C constant for the app's code, not a peripheral.
    Int,
}

impl PeripheralType {
    fn parse(text: &str) -> Option<PeripheralType> {
        Some(match text {
            "Gpio" => PeripheralType::Gpio,
            "Uart" => PeripheralType::Controller(ControllerKind::Uart),
            "I2cMaster" => PeripheralType::Controller(ControllerKind::I2cMaster),
            "SpiMaster" => PeripheralType::Controller(ControllerKind::SpiMaster),
            "Adc" => PeripheralType::Controller(ControllerKind::Adc),
            "Pwm" => PeripheralType::Controller(ControllerKind::Pwm),
            "int" => PeripheralType::Int,
            _ => return None,
        })
    }
}

impl fmt::Display for PeripheralType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeripheralType::Gpio => "Gpio",
            PeripheralType::Controller(kind) => kind.capability(),
            PeripheralType::Int => "int",
        })
    }
}

/// The value an app manifest uses for a peripheral.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ManifestValue {
    /// A GPIO number.
    Number(u64),
    /// A controller's name, such as `ISU0`.
    Text(String),
}

impl fmt::Display for ManifestValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestValue::Number(number) => write!(f, "{number}"),
            ManifestValue::Text(text) => f.write_str(text),
        }
    }
}

#[derive(Clone, Debug)]
enum Target {
    Mapping(String),
    Value(ManifestValue),
    Constant,
}

#[derive(Clone, Debug)]
struct Peripheral {
    kind: PeripheralType,
    target: Target,
    /// Where it is defined, for messages: `file: Peripherals[3]`.
    location: String,
}

/// A name resolved to its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The peripheral's type.
    pub kind: PeripheralType,
    /// The value an app manifest would use; `None` for `int` constants.
    pub value: Option<ManifestValue>,
    /// The names followed, from the one asked for to the one holding the value.
    pub chain: Vec<String>,
}

/// One file of a loaded definition.
#[derive(Clone, Debug)]
pub struct DefinitionFile {
    /// Its path, as found.
    pub path: PathBuf,
    /// Its `Description.Name`, if it has one.
    pub description_name: Option<String>,
}

/// A hardware definition with its imports loaded and every mapping checked.
#[derive(Clone, Debug)]
pub struct HardwareDefinition {
    files: Vec<DefinitionFile>,
    peripherals: HashMap<String, Peripheral>,
}

struct Loader<'a> {
    source: &'a dyn DefinitionFiles,
    search_dirs: &'a [PathBuf],
    loaded: Vec<PathBuf>,
    definition: HardwareDefinition,
}

impl HardwareDefinition {
    /// Loads `root` and its imports from `source`, looking for imports next
    /// to the importing file and then in `search_dirs`, and checks them.
    pub fn load(
        root: &Path,
        search_dirs: &[PathBuf],
        source: &dyn DefinitionFiles,
    ) -> Result<HardwareDefinition, Error> {
        let mut loader = Loader {
            source,
            search_dirs,
            loaded: Vec::new(),
            definition: HardwareDefinition { files: Vec::new(), peripherals: HashMap::new() },
        };
        let mut chain = Vec::new();
        loader.visit(root, &mut chain)?;
        let definition = loader.definition;
        definition.check_mappings()?;
        Ok(definition)
    }

    /// Loads a definition from one in-memory document without imports
    /// (an `Imports` entry is then an error), as the fuzz target does.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<HardwareDefinition, Error> {
        let mut files = MemoryFiles::new();
        files.insert(name, bytes);
        HardwareDefinition::load(Path::new(name), &[], &files)
    }

    /// Every file loaded, the one given first.
    pub fn files(&self) -> &[DefinitionFile] {
        &self.files
    }

    /// The file given to [`load`](Self::load).
    pub fn root(&self) -> &Path {
        self.files.first().map_or(Path::new(""), |file| file.path.as_path())
    }

    /// How many peripherals (names) the definition and its imports define.
    pub fn len(&self) -> usize {
        self.peripherals.len()
    }

    /// Whether it defines no names at all.
    pub fn is_empty(&self) -> bool {
        self.peripherals.is_empty()
    }

    /// The board this definition describes: the one whose base definition
    /// (by `Description.Name`) it is or imports. `Ok(None)` if none.
    pub fn board(&self) -> Result<Option<BoardId>, Error> {
        let mut found: Option<(BoardId, &Path)> = None;
        for file in &self.files {
            let Some(name) = &file.description_name else { continue };
            let Some(board) = BoardId::ALL.into_iter().find(|board| board.board().definition_name == name) else {
                continue;
            };
            match found {
                Some((other, other_path)) if other != board => {
                    return Err(Error::new(
                        &self.root().display().to_string(),
                        format!(
                            "imports definitions of two boards: {} ({}) and {} ({})",
                            other,
                            other_path.display(),
                            board,
                            file.path.display()
                        ),
                    ))
                }
                _ => found = Some((board, &file.path)),
            }
        }
        Ok(found.map(|(board, _)| board))
    }

    /// Resolves `name` (without its `$`): follows `Mapping`s to the value.
    /// The error is a reason for the caller to attach to its field.
    pub fn resolve(&self, name: &str) -> Result<Resolved, String> {
        let mut chain = vec![name.to_string()];
        let mut current = name;
        let first = self
            .peripherals
            .get(name)
            .ok_or_else(|| format!("`{name}` is not defined in {} or its imports", self.root().display()))?;
        let kind = first.kind;
        let mut peripheral = first;
        loop {
            match &peripheral.target {
                Target::Value(value) => return Ok(Resolved { kind, value: Some(value.clone()), chain }),
                Target::Constant => return Ok(Resolved { kind, value: None, chain }),
                Target::Mapping(next) => {
                    if chain.iter().any(|seen| seen == next) {
                        chain.push(next.clone());
                        return Err(format!("the mappings of `{name}` loop: {}", chain.join(" -> ")));
                    }
                    if chain.len() > MAX_MAPPING_DEPTH {
                        return Err(format!("`{name}` maps through more than {MAX_MAPPING_DEPTH} names"));
                    }
                    let target = self.peripherals.get(next).ok_or_else(|| {
                        format!("`{current}` ({}) maps to `{next}`, which is not defined", peripheral.location)
                    })?;
                    if target.kind != kind {
                        return Err(format!(
                            "`{current}` is a {} but maps to `{next}`, a {} ({})",
                            peripheral.kind, target.kind, target.location
                        ));
                    }
                    chain.push(next.clone());
                    current = next;
                    peripheral = target;
                }
            }
        }
    }

    fn check_mappings(&self) -> Result<(), Error> {
        let mut names: Vec<(&String, &Peripheral)> = self.peripherals.iter().collect();
        names.sort_by(|a, b| a.1.location.cmp(&b.1.location).then(a.0.cmp(b.0)));
        for (name, peripheral) in names {
            if matches!(peripheral.target, Target::Mapping(_)) {
                self.resolve(name).map_err(|reason| Error::new(&format!("{}.Mapping", peripheral.location), reason))?;
            }
        }
        Ok(())
    }
}

impl Loader<'_> {
    fn visit(&mut self, path: &Path, chain: &mut Vec<(PathBuf, PathBuf)>) -> Result<(), Error> {
        let identity = self.source.identity(path);
        if let Some(start) = chain.iter().position(|(seen, _)| *seen == identity) {
            let mut names: Vec<String> = chain[start..].iter().map(|(_, shown)| shown.display().to_string()).collect();
            names.push(path.display().to_string());
            return Err(Error::new(&path.display().to_string(), format!("import cycle: {}", names.join(" -> "))));
        }
        if self.loaded.contains(&identity) {
            return Ok(());
        }
        if chain.len() > MAX_IMPORT_DEPTH {
            let mut names: Vec<String> = chain.iter().map(|(_, shown)| shown.display().to_string()).collect();
            names.push(path.display().to_string());
            return Err(Error::new(
                &path.display().to_string(),
                format!("imports nest deeper than {MAX_IMPORT_DEPTH}: {}", names.join(" -> ")),
            ));
        }
        if self.loaded.len() >= MAX_DEFINITION_FILES {
            return Err(Error::new(
                &path.display().to_string(),
                format!("a definition may load at most {MAX_DEFINITION_FILES} files with its imports"),
            ));
        }
        self.loaded.push(identity.clone());
        let label = path.display().to_string();
        let bytes = self.source.read(path).map_err(|reason| Error::new(&label, reason))?;
        let document = json::parse(&bytes, &label)?;
        let parsed = parse_file(&document, &label)?;

        self.definition
            .files
            .push(DefinitionFile { path: path.to_path_buf(), description_name: parsed.description_name.clone() });
        for (name, peripheral) in parsed.peripherals {
            if self.definition.peripherals.len() >= MAX_PERIPHERALS {
                return Err(Error::new(
                    &peripheral.location,
                    format!("a definition may have at most {MAX_PERIPHERALS} peripherals with its imports"),
                ));
            }
            if let Some(existing) = self.definition.peripherals.get(&name) {
                return Err(Error::new(
                    &format!("{}.Name", peripheral.location),
                    format!("`{name}` is already defined at {}", existing.location),
                ));
            }
            self.definition.peripherals.insert(name, peripheral);
        }

        chain.push((identity, path.to_path_buf()));
        for (index, import) in parsed.imports.iter().enumerate() {
            let field = format!("{label}: Imports[{index}].Path");
            let found = self.find_import(path, import).map_err(|reason| Error::new(&field, reason))?;
            self.visit(&found, chain)?;
        }
        chain.pop();
        Ok(())
    }

    fn find_import(&self, importer: &Path, import: &str) -> Result<PathBuf, String> {
        let relative = Path::new(import);
        if relative.is_absolute() || relative.has_root() {
            return Err(format!("`{import}` is an absolute path; imports are relative to the importing file"));
        }
        let beside = normalize(&importer.parent().unwrap_or(Path::new("")).join(relative));
        if self.source.is_file(&beside) {
            return Ok(beside);
        }
        for dir in self.search_dirs {
            let candidate = normalize(&dir.join(relative));
            if self.source.is_file(&candidate) {
                return Ok(candidate);
            }
        }
        let mut places = vec![importer.parent().unwrap_or(Path::new(".")).display().to_string()];
        places.extend(self.search_dirs.iter().map(|dir| dir.display().to_string()));
        Err(format!("cannot find `{import}` (looked in {})", places.join(", ")))
    }
}

struct ParsedFile {
    description_name: Option<String>,
    imports: Vec<String>,
    peripherals: Vec<(String, Peripheral)>,
}

/// Refuses keys outside `known` in an object.
fn only_keys(members: &[(String, Json)], path: &str, what: &str, known: &[&str]) -> Result<(), Error> {
    match members.iter().find(|(key, _)| !known.contains(&key.as_str())) {
        Some((key, _)) => Err(json::unknown_key(path, key, what, known)),
        None => Ok(()),
    }
}

fn member<'a>(members: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    members.iter().find(|(name, _)| name == key).map(|(_, value)| value)
}

fn bounded_text<'a>(value: &'a Json, path: &str) -> Result<&'a str, Error> {
    let text = expect_string(value, path)?;
    if text.len() > MAX_TEXT_BYTES {
        return Err(Error::new(path, format!("longer than {MAX_TEXT_BYTES} bytes")));
    }
    Ok(text)
}

/// Whether `name` is a C identifier of at most [`MAX_NAME_BYTES`]: the
/// SDK turns these names into `#define`s.
pub fn is_valid_peripheral_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_NAME_BYTES
        && bytes.next().is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

fn parse_file(document: &Json, label: &str) -> Result<ParsedFile, Error> {
    let at = |field: &str| format!("{label}: {field}");
    let top = expect_object(document, label)?;
    only_keys(top, &at(""), "field", &["Metadata", "Description", "Imports", "Peripherals"]).map_err(|err| {
        // `at("")` ends in ": "; tidy the joined path.
        Error::new(&err.field.replace(": .", ": "), err.reason)
    })?;

    let metadata = member(top, "Metadata").ok_or_else(|| Error::new(&at("Metadata"), "missing"))?;
    let metadata = expect_object(metadata, &at("Metadata"))?;
    only_keys(metadata, &at("Metadata"), "field", &["Type", "Version"])?;
    let kind = member(metadata, "Type").ok_or_else(|| Error::new(&at("Metadata.Type"), "missing"))?;
    let kind = expect_string(kind, &at("Metadata.Type"))?;
    if kind != METADATA_TYPE {
        return Err(Error::new(&at("Metadata.Type"), format!("is `{kind}`, expected `{METADATA_TYPE}`")));
    }
    let version = member(metadata, "Version").ok_or_else(|| Error::new(&at("Metadata.Version"), "missing"))?;
    let version = expect_integer(version, &at("Metadata.Version"))?;
    if version != 1 {
        return Err(Error::new(&at("Metadata.Version"), format!("version {version} is not supported (only 1)")));
    }

    let mut description_name = None;
    if let Some(description) = member(top, "Description") {
        let description = expect_object(description, &at("Description"))?;
        only_keys(description, &at("Description"), "field", &["Name", "MainCoreHeaderFileTopContent"])?;
        if let Some(name) = member(description, "Name") {
            description_name = Some(bounded_text(name, &at("Description.Name"))?.to_string());
        }
        if let Some(lines) = member(description, "MainCoreHeaderFileTopContent") {
            let path = at("Description.MainCoreHeaderFileTopContent");
            for (index, line) in expect_array(lines, &path)?.iter().enumerate() {
                bounded_text(line, &json::item_path(&path, index))?;
            }
        }
    }

    let mut imports = Vec::new();
    if let Some(list) = member(top, "Imports") {
        for (index, import) in expect_array(list, &at("Imports"))?.iter().enumerate() {
            let path = at(&format!("Imports[{index}]"));
            let import = expect_object(import, &path)?;
            only_keys(import, &path, "field", &["Path"])?;
            let file = member(import, "Path").ok_or_else(|| Error::new(&format!("{path}.Path"), "missing"))?;
            let file = bounded_text(file, &format!("{path}.Path"))?;
            if file.is_empty() || file.contains('\0') {
                return Err(Error::new(&format!("{path}.Path"), "is not a file path"));
            }
            imports.push(file.to_string());
        }
    }

    let mut peripherals = Vec::new();
    if let Some(list) = member(top, "Peripherals") {
        let list = expect_array(list, &at("Peripherals"))?;
        if list.len() > MAX_PERIPHERALS {
            return Err(Error::new(&at("Peripherals"), format!("more than {MAX_PERIPHERALS} peripherals")));
        }
        for (index, entry) in list.iter().enumerate() {
            let location = at(&format!("Peripherals[{index}]"));
            peripherals.push(parse_peripheral(entry, &location)?);
        }
    }
    Ok(ParsedFile { description_name, imports, peripherals })
}

fn parse_peripheral(entry: &Json, location: &str) -> Result<(String, Peripheral), Error> {
    let field = |name: &str| format!("{location}.{name}");
    let members = expect_object(entry, location)?;
    only_keys(
        members,
        location,
        "field",
        &["Name", "Type", "Mapping", "AppManifestValue", "MainCoreHeaderValue", "Comment"],
    )?;
    let name = member(members, "Name").ok_or_else(|| Error::new(&field("Name"), "missing"))?;
    let name = expect_string(name, &field("Name"))?;
    if !is_valid_peripheral_name(name) {
        return Err(Error::new(
            &field("Name"),
            format!("`{}` is not a C identifier of at most {MAX_NAME_BYTES} bytes", shorten(name)),
        ));
    }
    let kind_text = member(members, "Type").ok_or_else(|| Error::new(&field("Type"), "missing"))?;
    let kind_text = expect_string(kind_text, &field("Type"))?;
    let kind = PeripheralType::parse(kind_text).ok_or_else(|| {
        Error::new(
            &field("Type"),
            format!("unknown type `{}` (known: Gpio, Uart, I2cMaster, SpiMaster, Adc, Pwm, int)", shorten(kind_text)),
        )
    })?;
    for optional in ["MainCoreHeaderValue", "Comment"] {
        if let Some(value) = member(members, optional) {
            bounded_text(value, &field(optional))?;
        }
    }
    let mapping = member(members, "Mapping");
    let value = member(members, "AppManifestValue");
    let target = match (mapping, value) {
        (Some(_), Some(_)) => {
            return Err(Error::new(location, "has both a Mapping and an AppManifestValue; give one"));
        }
        (Some(mapping), None) => {
            let mapping = expect_string(mapping, &field("Mapping"))?;
            if !is_valid_peripheral_name(mapping) {
                return Err(Error::new(&field("Mapping"), format!("`{}` is not a peripheral name", shorten(mapping))));
            }
            if mapping == name {
                return Err(Error::new(&field("Mapping"), format!("`{name}` maps to itself")));
            }
            Target::Mapping(mapping.to_string())
        }
        (None, Some(value)) => Target::Value(parse_value(kind, value, &field("AppManifestValue"))?),
        (None, None) if kind == PeripheralType::Int => Target::Constant,
        (None, None) => {
            return Err(Error::new(location, format!("a {kind} peripheral needs a Mapping or an AppManifestValue")));
        }
    };
    Ok((name.to_string(), Peripheral { kind, target, location: location.to_string() }))
}

fn parse_value(kind: PeripheralType, value: &Json, path: &str) -> Result<ManifestValue, Error> {
    match kind {
        PeripheralType::Gpio => Ok(ManifestValue::Number(expect_integer(value, path)?)),
        PeripheralType::Controller(_) => {
            let text = bounded_text(value, path)?;
            if text.is_empty() || text.starts_with('$') {
                return Err(Error::new(path, "must name a controller, such as \"ISU0\""));
            }
            json::check_no_control_characters(text, path)?;
            Ok(ManifestValue::Text(text.to_string()))
        }
        PeripheralType::Int => Err(Error::new(path, "an int constant has no app manifest value")),
    }
}

/// At most 40 characters of `text`, for messages about huge inputs.
pub(crate) fn shorten(text: &str) -> String {
    const LIMIT: usize = 40;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#""Metadata": {"Type": "Azure Sphere Hardware Definition", "Version": 1}"#;

    fn definition(peripherals: &str, imports: &str) -> String {
        format!(r#"{{ {HEADER}, "Imports": [{imports}], "Peripherals": [{peripherals}] }}"#)
    }

    fn chip() -> String {
        format!(
            r#"{{ {HEADER}, "Description": {{"Name": "MT3620"}}, "Peripherals": [
                {{"Name": "CHIP_GPIO8", "Type": "Gpio", "AppManifestValue": 8}},
                {{"Name": "CHIP_ISU0_UART", "Type": "Uart", "AppManifestValue": "ISU0"}},
                {{"Name": "CHIP_CHANNEL1", "Type": "int", "MainCoreHeaderValue": "(1)"}} ] }}"#
        )
    }

    fn files() -> MemoryFiles {
        let mut files = MemoryFiles::new();
        files.insert("base/chip.json", chip());
        files.insert(
            "boards/board.json",
            definition(
                r#"{"Name": "BOARD_LED", "Type": "Gpio", "Mapping": "CHIP_GPIO8"},
                   {"Name": "BOARD_UART", "Type": "Uart", "Mapping": "CHIP_ISU0_UART"}"#,
                r#"{"Path": "chip.json"}"#,
            ),
        );
        files.insert(
            "app/hw/app.json",
            definition(
                r#"{"Name": "APP_LED", "Type": "Gpio", "Mapping": "BOARD_LED"},
                   {"Name": "APP_CHANNEL", "Type": "int", "Mapping": "CHIP_CHANNEL1"}"#,
                r#"{"Path": "board.json"}"#,
            ),
        );
        files
    }

    fn search() -> Vec<PathBuf> {
        vec![PathBuf::from("boards"), PathBuf::from("base")]
    }

    #[test]
    fn imports_resolve_beside_the_file_then_in_search_dirs() {
        let files = files();
        let loaded = HardwareDefinition::load(Path::new("app/hw/app.json"), &search(), &files).unwrap();
        assert_eq!(loaded.files().len(), 3);
        assert_eq!(loaded.board().unwrap(), Some(BoardId::Mt3620));
        let led = loaded.resolve("APP_LED").unwrap();
        assert_eq!(led.kind, PeripheralType::Gpio);
        assert_eq!(led.value, Some(ManifestValue::Number(8)));
        assert_eq!(led.chain, ["APP_LED", "BOARD_LED", "CHIP_GPIO8"]);
        let channel = loaded.resolve("APP_CHANNEL").unwrap();
        assert_eq!((channel.kind, channel.value), (PeripheralType::Int, None));
        assert!(loaded.resolve("NOPE").unwrap_err().contains("not defined in app/hw/app.json"));
        // Without the search directories the board file is not found.
        let err = HardwareDefinition::load(Path::new("app/hw/app.json"), &[], &files).unwrap_err();
        assert_eq!(err.field, "app/hw/app.json: Imports[0].Path");
        assert!(err.reason.contains("cannot find `board.json`"), "{err}");
    }

    #[test]
    fn cycles_and_depth_are_refused() {
        let mut files = MemoryFiles::new();
        files.insert("a.json", definition("", r#"{"Path": "b.json"}"#));
        files.insert("b.json", definition("", r#"{"Path": "./a.json"}"#));
        let err = HardwareDefinition::load(Path::new("a.json"), &[], &files).unwrap_err();
        assert!(err.reason.contains("import cycle: a.json -> b.json -> a.json"), "{err}");

        let mut files = MemoryFiles::new();
        for level in 0..20 {
            files.insert(format!("f{level}.json"), definition("", &format!(r#"{{"Path": "f{}.json"}}"#, level + 1)));
        }
        files.insert("f20.json", definition("", ""));
        let err = HardwareDefinition::load(Path::new("f0.json"), &[], &files).unwrap_err();
        assert!(err.reason.contains("imports nest deeper than 8"), "{err}");

        // A diamond loads the shared file once.
        let mut files = MemoryFiles::new();
        files.insert("top.json", definition("", r#"{"Path": "left.json"}, {"Path": "right.json"}"#));
        files.insert(
            "left.json",
            definition(r#"{"Name": "L", "Type": "Gpio", "Mapping": "G"}"#, r#"{"Path": "base.json"}"#),
        );
        files.insert("right.json", definition("", r#"{"Path": "base.json"}"#));
        files.insert("base.json", definition(r#"{"Name": "G", "Type": "Gpio", "AppManifestValue": 3}"#, ""));
        let loaded = HardwareDefinition::load(Path::new("top.json"), &[], &files).unwrap();
        assert_eq!(loaded.files().len(), 4);
        assert_eq!(loaded.resolve("L").unwrap().value, Some(ManifestValue::Number(3)));
    }

    #[test]
    fn bad_mappings_are_found_at_load() {
        let cases = [
            (r#"{"Name": "A", "Type": "Gpio", "Mapping": "B"}"#, "Peripherals[0].Mapping", "which is not defined"),
            (
                r#"{"Name": "A", "Type": "Gpio", "Mapping": "B"}, {"Name": "B", "Type": "Uart", "AppManifestValue": "ISU0"}"#,
                "Peripherals[0].Mapping",
                "a Gpio but maps to `B`, a Uart",
            ),
            (
                r#"{"Name": "A", "Type": "Gpio", "Mapping": "B"}, {"Name": "B", "Type": "Gpio", "Mapping": "A"}"#,
                "Peripherals[0].Mapping",
                "loop: A -> B -> A",
            ),
            (r#"{"Name": "A", "Type": "Gpio", "Mapping": "A"}"#, "Peripherals[0].Mapping", "maps to itself"),
            (r#"{"Name": "A", "Type": "Gpio"}"#, "Peripherals[0]", "needs a Mapping or an AppManifestValue"),
            (
                r#"{"Name": "A", "Type": "Gpio", "AppManifestValue": "8"}"#,
                "AppManifestValue",
                "expected a whole number",
            ),
            (r#"{"Name": "A", "Type": "Uart", "AppManifestValue": 4}"#, "AppManifestValue", "expected a string"),
            (
                r#"{"Name": "A", "Type": "Spi", "AppManifestValue": "ISU0"}"#,
                "Peripherals[0].Type",
                "unknown type `Spi`",
            ),
            (r#"{"Name": "A B", "Type": "Gpio", "AppManifestValue": 1}"#, "Peripherals[0].Name", "not a C identifier"),
            (
                r#"{"Name": "A", "Type": "Gpio", "AppManifestValue": 1}, {"Name": "A", "Type": "Gpio", "AppManifestValue": 2}"#,
                "Peripherals[1].Name",
                "already defined at x.json: Peripherals[0]",
            ),
            (
                r#"{"Name": "A", "Type": "Gpio", "AppManifestValue": 1, "Colour": 1}"#,
                "Peripherals[0].Colour",
                "unknown field",
            ),
        ];
        for (peripherals, field, reason) in cases {
            let err = HardwareDefinition::from_bytes(definition(peripherals, "").as_bytes(), "x.json").unwrap_err();
            assert!(err.field.ends_with(field), "{peripherals}: {err}");
            assert!(err.reason.contains(reason), "{peripherals}: {err}");
        }
    }

    #[test]
    fn metadata_is_checked() {
        let err = HardwareDefinition::from_bytes(br#"{"Peripherals": []}"#, "x.json").unwrap_err();
        assert_eq!(err.to_string(), "x.json: Metadata: missing");
        let wrong = br#"{"Metadata": {"Type": "Something", "Version": 1}}"#;
        assert!(HardwareDefinition::from_bytes(wrong, "x.json").unwrap_err().reason.contains("expected `Azure Sphere"));
        let version = br#"{"Metadata": {"Type": "Azure Sphere Hardware Definition", "Version": 2}}"#;
        assert!(HardwareDefinition::from_bytes(version, "x.json").unwrap_err().reason.contains("not supported"));
        let extra = br#"{"Metadata": {"Type": "Azure Sphere Hardware Definition", "Version": 1}, "Peripheral": []}"#;
        let err = HardwareDefinition::from_bytes(extra, "x.json").unwrap_err();
        assert_eq!(err.to_string(), "x.json: Peripheral: unknown field `Peripheral` (did you mean `Peripherals`?)");
        let absolute = definition("", r#"{"Path": "/etc/passwd"}"#);
        let err = HardwareDefinition::from_bytes(absolute.as_bytes(), "x.json").unwrap_err();
        assert!(err.reason.contains("absolute path"), "{err}");
    }

    #[test]
    fn normalize_folds_dots() {
        assert_eq!(normalize(Path::new("a/./b/../c.json")), PathBuf::from("a/c.json"));
        assert_eq!(normalize(Path::new("../a.json")), PathBuf::from("../a.json"));
    }
}
