//! `cargo xtask package`: image package signing on the host, with the
//! checkout's development signing key.
//!
//! # How it is meant to be used
//!
//! The boot image build loads the key once and signs every app with it:
//!
//! ```text
//! let key = DevelopmentKey::load_or_create(&workspace_root())?;  // makes it on first use
//! let package = sign_package_with(&key, &elf_bytes, &manifest_bytes)?;
//! let trusted = trusted_keys_blob(&[key.trusted_key()])?;          // goes in the boot image
//! ```
//!
//! The loader on the device parses each package and checks it against the
//! trusted-keys list with `tessera_abi::package::parse_and_verify`. xtask
//! itself never needs the key to check a package, only to make one.
//!
//! # The development key
//!
//! Each checkout has its own Ed25519 key in `.tessera/dev-signing-key`
//! (git-ignored, mode 0600, in a 0700 directory), made from the operating
//! system's random number generator the first time something is signed.
//! A file that exists but cannot be read, is readable by other users or is
//! not a key is an error that names the fix: it is never overwritten. To
//! rotate the key, delete the file; the next build makes a new one and puts
//! it in the boot image, and packages signed with the old key are refused
//! (`UnknownKey`). See `docs/packages.md`.
//!
//! # Subcommands
//!
//! - `package inspect <file>`: prints the header and checks the signature
//!   against this checkout's key (exit status 1 if the package is refused);
//! - `package sign --elf <file> --manifest <file> --output <file>`;
//! - `package key [--trusted-keys <file>]`: prints (making it if needed) the
//!   checkout's key id and public key, and can write the trusted-keys list.

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use tessera_abi::package::{
    self, KeyId, Package, PackageSigner, TrustedKey, VerifyError, PUBLIC_KEY_SIZE, SIGNATURE_SIZE,
};

use crate::{show, workspace_root, Result};

/// Where the development key lives, relative to the workspace root.
pub const KEY_FILE: &str = ".tessera/dev-signing-key";
/// The line in the key file that holds the secret.
const SECRET_LINE_PREFIX: &str = "ed25519-secret-key ";

/// `cargo xtask package`.
#[derive(Args)]
pub struct PackageArgs {
    #[command(subcommand)]
    command: PackageCommand,
}

#[derive(Subcommand)]
enum PackageCommand {
    /// Print an image package's header and check its signature against this
    /// checkout's development key.
    Inspect {
        /// The package file.
        file: PathBuf,
    },
    /// Pack an ELF file and a binary manifest into an image package signed
    /// with this checkout's development key (made on first use).
    Sign {
        /// The app's ELF file.
        #[arg(long)]
        elf: PathBuf,
        /// The app's manifest, already in its binary form.
        #[arg(long)]
        manifest: PathBuf,
        /// Where to write the package.
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Print this checkout's development key id and public key (making the
    /// key on first use).
    Key {
        /// Also write the trusted-keys list the boot image carries (this key
        /// only) to this file.
        #[arg(long)]
        trusted_keys: Option<PathBuf>,
    },
}

/// Runs `cargo xtask package ...`.
pub fn run(args: &PackageArgs) -> Result<ExitCode> {
    let root = workspace_root();
    match &args.command {
        PackageCommand::Inspect { file } => {
            let bytes = fs::read(file).map_err(|err| format!("cannot read {}: {err}", show(file)))?;
            let key = DevelopmentKey::load(&root)?;
            let (report, accepted) = inspect(&bytes, key.as_ref())
                .map_err(|error| format!("{} is not a valid image package: {error}", show(file)))?;
            println!("package        {} ({} bytes)", show(file), bytes.len());
            print!("{report}");
            Ok(if accepted { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        PackageCommand::Sign { elf, manifest, output } => {
            let elf_bytes = fs::read(elf).map_err(|err| format!("cannot read the ELF file {}: {err}", show(elf)))?;
            let manifest_bytes =
                fs::read(manifest).map_err(|err| format!("cannot read the manifest {}: {err}", show(manifest)))?;
            let package = sign_package(&elf_bytes, &manifest_bytes)?;
            fs::write(output, &package).map_err(|err| format!("cannot write {}: {err}", show(output)))?;
            println!("==> wrote {} ({} bytes)", show(output), package.len());
            Ok(ExitCode::SUCCESS)
        }
        PackageCommand::Key { trusted_keys } => {
            let key = DevelopmentKey::load_or_create(&root)?;
            println!("key file       {}", show(key.path()));
            println!("key id         {}", key.key_id());
            println!("public key     {}", hex(&key.public_key()));
            if let Some(path) = trusted_keys {
                let blob = trusted_keys_blob(&[key.trusted_key()])?;
                fs::write(path, &blob).map_err(|err| format!("cannot write {}: {err}", show(path)))?;
                println!("==> wrote the trusted-keys list to {} ({} bytes)", show(path), blob.len());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// This checkout's development signing key.
pub struct DevelopmentKey {
    signing_key: SigningKey,
    path: PathBuf,
}

impl DevelopmentKey {
    /// The key file of the workspace at `root`.
    pub fn path_in(root: &Path) -> PathBuf {
        root.join(KEY_FILE)
    }

    /// Loads the key of the workspace at `root`, or `None` if it has none
    /// yet. A key file that cannot be read, or is not a key, is an error.
    pub fn load(root: &Path) -> Result<Option<DevelopmentKey>> {
        let path = Self::path_in(root);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(format!(
                    "cannot read the development signing key {}: {err}; make it a file readable by you, or delete \
                     it to make a new key (packages signed with the old one will then be refused)",
                    show(&path)
                ))
            }
        };
        check_private(&path)?;
        let secret = parse_key_file(&text).map_err(|problem| {
            format!(
                "{} is not a Tessera development signing key ({problem}); it was left as it is: delete it to make \
                 a new key (packages signed with the old one will then be refused)",
                show(&path)
            )
        })?;
        Ok(Some(DevelopmentKey { signing_key: SigningKey::from_bytes(&secret), path }))
    }

    /// Loads the key of the workspace at `root`, making it (from the
    /// operating system's random number generator) if there is none.
    pub fn load_or_create(root: &Path) -> Result<DevelopmentKey> {
        if let Some(key) = Self::load(root)? {
            return Ok(key);
        }
        let path = Self::path_in(root);
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|err| format!("the operating system's random number generator failed: {err}"))?;
        let key = DevelopmentKey { signing_key: SigningKey::from_bytes(&secret), path };
        secret.fill(0);
        match key.write_new() {
            Ok(()) => {
                println!("==> made a new development signing key {} (key id {})", show(key.path()), key.key_id());
                Ok(key)
            }
            // Another xtask made one first: use that.
            Err(err) if err.kind() == ErrorKind::AlreadyExists => {
                Self::load(root)?.ok_or_else(|| format!("{} vanished while it was being made", show(&key.path)))
            }
            Err(err) => Err(format!("cannot write the development signing key {}: {err}", show(&key.path))),
        }
    }

    /// Writes the key file, which must not exist yet: the whole file
    /// appears at once (written aside, then hard-linked into place), with
    /// mode 0600, and an existing file is never replaced.
    fn write_new(&self) -> std::io::Result<()> {
        let directory = self.path.parent().ok_or_else(|| std::io::Error::other("the key path has no directory"))?;
        if !directory.exists() {
            fs::create_dir_all(directory)?;
            set_mode(directory, 0o700)?;
        }
        let aside = directory.join(format!(".dev-signing-key.{}.new", std::process::id()));
        let written = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&aside)?;
            file.write_all(self.key_file_text().as_bytes())?;
            file.sync_all()?;
            fs::hard_link(&aside, &self.path)
        })();
        let _ = fs::remove_file(&aside);
        written
    }

    fn key_file_text(&self) -> String {
        format!(
            "# Tessera development signing key (Ed25519). Made by `cargo xtask` for this checkout only:\n\
             # never commit it or copy it to a device. Delete it to make a new one (docs/packages.md).\n\
             # key id {}, public key {}\n\
             {SECRET_LINE_PREFIX}{}\n",
            self.key_id(),
            hex(&self.public_key()),
            hex(self.signing_key.as_bytes()),
        )
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_SIZE] {
        self.signing_key.verifying_key().to_bytes()
    }

    /// The public key as the boot image's trusted-keys list holds it.
    pub fn trusted_key(&self) -> TrustedKey {
        TrustedKey::new(self.public_key())
    }
}

impl PackageSigner for DevelopmentKey {
    fn key_id(&self) -> KeyId {
        self.signing_key.key_id()
    }

    fn sign(&self, signed_bytes: &[u8]) -> [u8; SIGNATURE_SIZE] {
        PackageSigner::sign(&self.signing_key, signed_bytes)
    }
}

/// Refuses a key file other users may read (as ssh does).
fn check_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(|err| format!("cannot stat {}: {err}", show(path)))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "the development signing key {} is accessible by other users (mode {:o}); run `chmod 600 {}`",
                show(path),
                mode & 0o777,
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// The 32-byte secret in a key file's text: comment (`#`) and blank lines,
/// and exactly one `ed25519-secret-key <64 hex digits>` line.
fn parse_key_file(text: &str) -> std::result::Result<[u8; 32], String> {
    let mut secret = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = index + 1;
        let digits = line
            .strip_prefix(SECRET_LINE_PREFIX)
            .ok_or_else(|| format!("line {number} is neither a comment nor `{}<hex>`", SECRET_LINE_PREFIX))?;
        if secret.is_some() {
            return Err(format!("line {number} is a second secret key"));
        }
        let bytes = unhex(digits.trim()).ok_or_else(|| format!("line {number}: the key is not 64 hex digits"))?;
        secret = Some(bytes);
    }
    secret.ok_or_else(|| "no `ed25519-secret-key` line".to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

fn unhex<const N: usize>(digits: &str) -> Option<[u8; N]> {
    if digits.len() != 2 * N || !digits.is_ascii() {
        return None;
    }
    let mut out = [0; N];
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * index..2 * index + 2], 16).ok()?;
    }
    Some(out)
}

/// Packs `elf` and `manifest` (in its binary form) into an image package
/// signed with this checkout's development key, made on first use.
pub fn sign_package(elf: &[u8], manifest: &[u8]) -> Result<Vec<u8>> {
    let key = DevelopmentKey::load_or_create(&workspace_root())?;
    sign_package_with(&key, elf, manifest)
}

/// Packs `elf` and `manifest` into an image package signed by `signer`.
pub fn sign_package_with(signer: &impl PackageSigner, elf: &[u8], manifest: &[u8]) -> Result<Vec<u8>> {
    let size = package::package_size(elf.len(), manifest.len())
        .ok_or_else(|| "the package would be 4 GiB or larger".to_string())?;
    let mut out = vec![0; size];
    package::write(elf, manifest, signer, &mut out).map_err(|error| format!("cannot pack the app: {error}"))?;
    Ok(out)
}

/// The trusted-keys list the boot image carries, holding `keys`.
pub fn trusted_keys_blob(keys: &[TrustedKey]) -> Result<Vec<u8>> {
    let mut out = vec![0; package::trusted_keys_size(keys.len())];
    package::write_trusted_keys(keys, &mut out).map_err(|error| format!("cannot encode the trusted keys: {error}"))?;
    Ok(out)
}

/// Describes a package: its header and, if `key` is given, whether it
/// verifies against that key. Returns the text and whether the package
/// was accepted, or the reason it does not parse.
fn inspect(bytes: &[u8], key: Option<&DevelopmentKey>) -> std::result::Result<(String, bool), package::PackageError> {
    let package = Package::parse(bytes)?;
    let header = package.header();
    let mut text = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(text, "{label:<14} {value}");
    };
    line("format", format!("TPKG version {}, header {} bytes", header.version, header.header_size));
    line("signed by", format!("key {} ({})", header.key_id, header.algorithm.name()));
    line("manifest", format!("offset {:#x}, {} bytes", header.manifest_offset, header.manifest_size));
    line("ELF", format!("offset {:#x}, {} bytes", header.elf_offset, header.elf_size));
    line("signature", format!("offset {:#x}, {} bytes", header.signature_offset, header.signature_size));
    let accepted = match key {
        None => {
            line("verification", format!("not checked: this checkout has no development key yet ({KEY_FILE})"));
            false
        }
        Some(key) => match package::verify(&package, &[key.trusted_key()]) {
            Ok(()) => {
                line("verification", format!("OK: signed by this checkout's development key {}", key.key_id()));
                true
            }
            Err(error @ VerifyError::UnknownKey(_)) => {
                line("verification", format!("REFUSED: {error} (this checkout's development key is {})", key.key_id()));
                false
            }
            Err(error) => {
                line("verification", format!("REFUSED: {error}"));
                false
            }
        },
    };
    Ok((text, accepted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use tessera_abi::package::{parse_and_verify, TrustedKeys};

    impl Scratch {
        fn key_path(&self) -> PathBuf {
            DevelopmentKey::path_in(&self.0)
        }
    }

    #[test]
    fn key_is_made_once_and_kept_private() {
        let scratch = Scratch::new("signing");
        assert!(DevelopmentKey::load(&scratch.0).unwrap().is_none());
        let made = DevelopmentKey::load_or_create(&scratch.0).unwrap();
        let loaded = DevelopmentKey::load_or_create(&scratch.0).unwrap();
        assert_eq!(made.public_key(), loaded.public_key());
        assert_eq!(made.key_id(), package::key_id_of(&made.public_key()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&scratch.key_path()), 0o600);
            assert_eq!(mode(scratch.key_path().parent().unwrap()), 0o700);
        }
        // Only the key file is left behind.
        let entries: Vec<_> = fs::read_dir(scratch.key_path().parent().unwrap()).unwrap().collect();
        assert_eq!(entries.len(), 1);
        let text = fs::read_to_string(scratch.key_path()).unwrap();
        assert!(text.contains(&made.key_id().to_string()));
        // Two keys made independently differ.
        let other = Scratch::new("signing");
        assert_ne!(DevelopmentKey::load_or_create(&other.0).unwrap().public_key(), made.public_key());
    }

    #[test]
    fn bad_key_files_are_errors_and_left_alone() {
        let scratch = Scratch::new("signing");
        fs::create_dir_all(scratch.key_path().parent().unwrap()).unwrap();
        for (contents, problem) in [
            ("", "no `ed25519-secret-key` line"),
            ("ed25519-secret-key 1234\n", "line 1: the key is not 64 hex digits"),
            ("# comment\nsomething else\n", "line 2 is neither a comment"),
        ] {
            fs::write(scratch.key_path(), contents).unwrap();
            set_mode(&scratch.key_path(), 0o600).unwrap();
            let error = DevelopmentKey::load_or_create(&scratch.0).err().unwrap();
            assert!(error.contains(problem), "{error}");
            assert!(error.contains("delete it to make a new key"), "{error}");
            assert_eq!(fs::read_to_string(scratch.key_path()).unwrap(), contents);
        }
        let twice = format!("{SECRET_LINE_PREFIX}{}\n", "ab".repeat(32)).repeat(2);
        assert!(parse_key_file(&twice).unwrap_err().contains("second secret key"));
        assert_eq!(parse_key_file(&format!("  {SECRET_LINE_PREFIX}{}  ", "0f".repeat(32))).unwrap(), [0x0f; 32]);
        assert!(parse_key_file(&format!("{SECRET_LINE_PREFIX}{}", "é".repeat(32))).is_err());

        // Readable by others: refused, not fixed behind the user's back.
        fs::write(scratch.key_path(), format!("{SECRET_LINE_PREFIX}{}\n", "11".repeat(32))).unwrap();
        set_mode(&scratch.key_path(), 0o644).unwrap();
        #[cfg(unix)]
        assert!(DevelopmentKey::load(&scratch.0).err().unwrap().contains("chmod 600"));
        set_mode(&scratch.key_path(), 0o600).unwrap();
        assert!(DevelopmentKey::load(&scratch.0).unwrap().is_some());

        // Unreadable (a directory where the file should be).
        fs::remove_file(scratch.key_path()).unwrap();
        fs::create_dir(scratch.key_path()).unwrap();
        let error = DevelopmentKey::load_or_create(&scratch.0).err().unwrap();
        assert!(error.contains("cannot read the development signing key"), "{error}");
    }

    #[test]
    fn signed_packages_verify_against_the_trusted_keys_blob() {
        let scratch = Scratch::new("signing");
        let key = DevelopmentKey::load_or_create(&scratch.0).unwrap();
        let package = sign_package_with(&key, b"\x7fELF app", b"manifest").unwrap();
        let blob = trusted_keys_blob(&[key.trusted_key()]).unwrap();
        let trusted = TrustedKeys::parse(&blob).unwrap();
        let parsed = parse_and_verify(&package, &trusted).unwrap();
        assert_eq!(parsed.elf(), b"\x7fELF app");
        assert_eq!(parsed.manifest(), b"manifest");
        assert!(sign_package_with(&key, b"", b"manifest").unwrap_err().contains("ELF section is empty"));
    }

    #[test]
    fn inspect_reports_the_verdict() {
        let scratch = Scratch::new("signing");
        let key = DevelopmentKey::load_or_create(&scratch.0).unwrap();
        let package = sign_package_with(&key, b"\x7fELF app", b"manifest").unwrap();
        let (text, accepted) = inspect(&package, Some(&key)).unwrap();
        assert!(accepted);
        assert!(text.contains("ELF            offset 0x1000, 8 bytes"), "{text}");
        assert!(text.contains(&format!("OK: signed by this checkout's development key {}", key.key_id())), "{text}");

        let mut tampered = package.clone();
        tampered[0x1000] ^= 0x80;
        let (text, accepted) = inspect(&tampered, Some(&key)).unwrap();
        assert!(!accepted);
        assert!(text.contains("REFUSED: signature does not match"), "{text}");

        let other = Scratch::new("signing");
        let stranger = DevelopmentKey::load_or_create(&other.0).unwrap();
        let (text, accepted) = inspect(&package, Some(&stranger)).unwrap();
        assert!(!accepted);
        assert!(text.contains("which this device does not trust"), "{text}");
        let (text, accepted) = inspect(&package, None).unwrap();
        assert!(!accepted && text.contains("not checked"), "{text}");
        assert_eq!(inspect(&package[..10], Some(&key)).unwrap_err().to_string(), "truncated: needs 64 bytes, has 10");
    }

    #[test]
    fn subcommands_parse() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: PackageArgs,
        }
        let cli = Cli::try_parse_from(["package", "inspect", "app.tpkg"]).unwrap();
        assert!(matches!(cli.args.command, PackageCommand::Inspect { .. }));
        let cli = Cli::try_parse_from(["package", "sign", "--elf", "a", "--manifest", "b", "-o", "c"]).unwrap();
        assert!(matches!(cli.args.command, PackageCommand::Sign { .. }));
        assert!(Cli::try_parse_from(["package", "sign", "--elf", "a"]).is_err());
        let cli = Cli::try_parse_from(["package", "key", "--trusted-keys", "keys.bin"]).unwrap();
        assert!(matches!(cli.args.command, PackageCommand::Key { trusted_keys: Some(_) }));
    }
}
