//! `cargo xtask manifest`: check an Azure Sphere app manifest and show its grants, or check a whole corpus of them.
//!
//! The work is done by the `tessera-manifest` crate (`xtask/manifest/`);
//! this module is the command line. See `docs/manifests.md`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tessera_manifest::corpus::{self, CorpusEntry};
use tessera_manifest::{check_file, BoardId, CheckOptions};

use crate::{show, workspace_root, Result};

/// The environment variable that overrides where the Azure Sphere samples corpus is.
pub const CORPUS_ENV: &str = "TESSERA_CORPUS";

/// Options of `cargo xtask manifest`.
#[derive(clap::Args)]
pub struct ManifestArgs {
    #[command(subcommand)]
    command: ManifestCommand,
}

#[derive(clap::Subcommand)]
enum ManifestCommand {
    /// Check one app_manifest.json and print the grants it would get.
    Check(CheckArgs),
    /// Check every app_manifest.json below DIR (default: the Azure Sphere
    /// samples corpus, ../shared/corpus/azure-sphere-samples or $TESSERA_CORPUS).
    Corpus {
        /// The directory to search.
        dir: Option<PathBuf>,
    },
}

/// The board named on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
enum BoardArg {
    /// QEMU's virt machine (PL061 GPIO 0-7, virtio-console UART0).
    Qemu,
    /// The MediaTek MT3620.
    Mt3620,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The app_manifest.json to check.
    manifest: PathBuf,
    /// The hardware definition that resolves the manifest's $NAMEs (its
    /// imports are looked for beside it, then in userland/hardware-definitions/).
    #[arg(long, value_name = "FILE")]
    hardware_definition: Option<PathBuf>,
    /// The board (default: the one the hardware definition describes, else qemu).
    #[arg(long, value_enum)]
    board: Option<BoardArg>,
    /// Also write the binary form the loader reads to FILE.
    #[arg(long, value_name = "FILE")]
    write_binary: Option<PathBuf>,
}

/// The directory of Tessera's own hardware definitions.
pub fn definitions_dir() -> PathBuf {
    workspace_root().join("userland").join("hardware-definitions")
}

/// The corpus directory: `$TESSERA_CORPUS`, else
/// `../shared/corpus/azure-sphere-samples` beside the workspace.
pub fn default_corpus_dir() -> PathBuf {
    match env::var_os(CORPUS_ENV).filter(|value| !value.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("..").join("shared").join("corpus").join("azure-sphere-samples"),
    }
}

/// `cargo xtask manifest`.
pub fn run(args: &ManifestArgs) -> Result<ExitCode> {
    match &args.command {
        ManifestCommand::Check(check) => run_check(check),
        ManifestCommand::Corpus { dir } => {
            let dir = dir.clone().unwrap_or_else(default_corpus_dir);
            let summary = check_corpus(&dir, true)?;
            println!("{summary}");
            Ok(if summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

fn run_check(args: &CheckArgs) -> Result<ExitCode> {
    let options = CheckOptions {
        hardware_definition: args.hardware_definition.clone(),
        board: args.board.map(|board| match board {
            BoardArg::Qemu => BoardId::QemuVirt,
            BoardArg::Mt3620 => BoardId::Mt3620,
        }),
        search_dirs: vec![definitions_dir()],
    };
    let checked = check_file(&args.manifest, &options).map_err(|err| err.to_string())?;
    println!("{}: ok", args.manifest.display());
    match &checked.definition {
        Some(definition) => {
            let files: Vec<String> = definition.files().iter().map(|file| show(&file.path)).collect();
            println!("hardware definition: {}", files.join(" <- "));
        }
        None => println!("hardware definition: none (raw values only)"),
    }
    print!("{}", checked.grants.describe());
    match (&checked.binary, &args.write_binary) {
        (Some(binary), Some(path)) => {
            fs::write(path, binary).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
            println!("binary form: {} bytes, written to {}", binary.len(), path.display());
        }
        (Some(binary), None) => println!("binary form: {} bytes", binary.len()),
        (None, Some(_)) => {
            return Err("ComponentId: missing: a capabilities fragment has no binary form to write".to_string())
        }
        (None, None) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The result of a corpus check.
pub struct CorpusSummary {
    /// Manifests checked.
    pub checked: usize,
    /// Manifests that failed.
    pub failed: usize,
    /// One line per failure (`path: error`).
    pub failures: Vec<String>,
}

impl std::fmt::Display for CorpusSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} manifests checked, {} failed", self.checked, self.failed)
    }
}

fn relative<'a>(path: &'a Path, root: &Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

fn describe_entry(entry: &CorpusEntry, root: &Path) -> String {
    let definition = match &entry.definition {
        Some(path) => relative(path, root).display().to_string(),
        None => "no hardware definition".to_string(),
    };
    format!("{} ({definition})", relative(&entry.manifest, root).display())
}

/// Checks every manifest below `dir`; with `verbose`, prints a line per
/// manifest. Fails (naming the path and [`CORPUS_ENV`]) if `dir` is missing.
pub fn check_corpus(dir: &Path, verbose: bool) -> Result<CorpusSummary> {
    if !dir.is_dir() {
        return Err(format!(
            "the manifest corpus {} does not exist; fetch it there or set {CORPUS_ENV} to its directory \
             (the azure-sphere-samples folder)",
            dir.display()
        ));
    }
    let entries = corpus::check_corpus(dir, &[definitions_dir()])?;
    if entries.is_empty() {
        return Err(format!("no app_manifest.json found below {}", dir.display()));
    }
    let mut failures = Vec::new();
    for entry in &entries {
        match &entry.outcome {
            Ok(checked) => {
                if verbose {
                    let grants = &checked.grants;
                    let kind = if checked.binary.is_some() { "app" } else { "fragment" };
                    let notes = match grants.notes.len() {
                        0 => String::new(),
                        count => format!(" ({})", plural(count, "note")),
                    };
                    println!(
                        "ok      {}: {kind}, {} on {}{notes}",
                        describe_entry(entry, dir),
                        plural(grants.count(), "grant"),
                        grants.board
                    );
                }
            }
            Err(err) => {
                let line = format!("{}: {err}", describe_entry(entry, dir));
                if verbose {
                    println!("FAILED  {line}");
                }
                failures.push(line);
            }
        }
    }
    Ok(CorpusSummary { checked: entries.len(), failed: failures.len(), failures })
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_corpus_fails_naming_the_path_and_variable() {
        let missing = workspace_root().join("no-such-corpus");
        let err = check_corpus(&missing, false).err().unwrap();
        assert!(err.contains("no-such-corpus") && err.contains(CORPUS_ENV), "{err}");
    }

    #[test]
    fn command_line_parses() {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ManifestArgs,
        }
        let wrapper = Wrapper::try_parse_from([
            "manifest",
            "check",
            "app_manifest.json",
            "--hardware-definition",
            "hw.json",
            "--board",
            "mt3620",
        ])
        .unwrap();
        assert!(matches!(
            wrapper.args.command,
            ManifestCommand::Check(CheckArgs { board: Some(BoardArg::Mt3620), .. })
        ));
        assert!(Wrapper::try_parse_from(["manifest", "check", "x.json", "--board", "pc"]).is_err());
        let wrapper = Wrapper::try_parse_from(["manifest", "corpus"]).unwrap();
        assert!(matches!(wrapper.args.command, ManifestCommand::Corpus { dir: None }));
    }
}
