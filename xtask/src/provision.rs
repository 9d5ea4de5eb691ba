//! `cargo xtask provision`: this checkout's development device identity,
//! what a factory would give a real device.
//!
//! # The files
//!
//! In `.tessera/` (git-ignored, a 0700 directory), each file mode 0600:
//!
//! | File | What it holds |
//! |---|---|
//! | `uds.bin` | the Unique Device Secret: 32 bytes from the operating system's random number generator, the root of every DICE derivation (`tessera_pluton_core::dice`) |
//! | `manufacturer-ca.key` | the development manufacturer CA's P-256 private key, PKCS#8 PEM (`openssl pkey` reads it) |
//! | `manufacturer-ca.pem` | the CA's self-signed certificate, PEM |
//! | `device-id.pem` | the DeviceID certificate: the DeviceID public key (derived from the UDS) signed by the CA, PEM |
//!
//! The device derives its DeviceID key from the UDS at every boot; only
//! the certificate comes from outside, because only the CA can sign it.
//!
//! # The rules (as for the development signing key, `signing.rs`)
//!
//! - A secret (`uds.bin`, `manufacturer-ca.key`) is never overwritten. One
//!   that cannot be read, has the wrong size or format, or that other users
//!   may read is an error that names the fix (delete it, or `chmod 600`).
//! - The certificates are derived data. A missing one is made again: the
//!   DeviceID certificate comes out byte for byte the same (deterministic
//!   signatures), the CA certificate gets a new notBefore. An existing one
//!   that no longer fits is replaced only when this run has just made the
//!   secret it depends on (a new UDS, or a new CA after
//!   `manufacturer-ca.key` was deleted), and the output says so; otherwise
//!   it is an error naming the fix.
//! - Every file appears whole (written aside, then linked or renamed into
//!   place).
//!
//! [`ensure`] does all of this and is what later steps (`cargo xtask qemu`,
//! `test`) call on first use; it prints a line for each file it makes or
//! replaces. `cargo xtask provision` also lists what it found.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use tessera_pluton_core::dice::p256_key_from_seed;
use tessera_pluton_core::{
    ca_certificate, device_id_certificate, device_id_key, identifier, is_signed_by, public_key_of, Hex, SigningKey, Uds,
};
use zeroize::Zeroizing;

use crate::signing::set_mode;
use crate::{show, workspace_root, Result};

/// The directory of the checkout's secrets, relative to the workspace root.
pub const DIRECTORY: &str = ".tessera";
/// The Unique Device Secret.
pub const UDS_FILE: &str = "uds.bin";
/// The manufacturer CA's private key.
pub const CA_KEY_FILE: &str = "manufacturer-ca.key";
/// The manufacturer CA's certificate.
pub const CA_CERTIFICATE_FILE: &str = "manufacturer-ca.pem";
/// The DeviceID certificate.
pub const DEVICE_ID_FILE: &str = "device-id.pem";

/// The PEM label of a certificate.
const CERTIFICATE_LABEL: &str = "CERTIFICATE";

/// This checkout's device identity, loaded or just made.
pub struct Provisioned {
    /// `.tessera/`.
    pub directory: PathBuf,
    /// The Unique Device Secret.
    pub uds: Uds,
    /// The manufacturer CA's key.
    pub ca_key: SigningKey,
    /// The manufacturer CA's certificate (DER).
    pub ca_certificate: Vec<u8>,
    /// The DeviceID key (from the UDS).
    pub device_id_key: SigningKey,
    /// The DeviceID certificate (DER).
    pub device_id_certificate: Vec<u8>,
    /// The files that were there already and were kept.
    pub found: Vec<PathBuf>,
}

impl Provisioned {
    /// The path of one of the files, e.g. [`DEVICE_ID_FILE`].
    pub fn path(&self, file: &str) -> PathBuf {
        self.directory.join(file)
    }

    /// The DeviceID identifier: the DeviceID certificate's serial number
    /// and, in hex, its subject.
    pub fn device_id(&self) -> [u8; 20] {
        identifier(self.device_id_key.verifying_key())
    }
}

/// Runs `cargo xtask provision`.
pub fn run() -> Result<ExitCode> {
    let provisioned = ensure(&workspace_root())?;
    for path in &provisioned.found {
        println!("==> already provisioned {}", show(path));
    }
    println!("DeviceID       {}", Hex(&provisioned.device_id()));
    println!("CA key id      {}", Hex(&identifier(provisioned.ca_key.verifying_key())));
    println!("trust anchor   {}", show(&provisioned.path(CA_CERTIFICATE_FILE)));
    Ok(ExitCode::SUCCESS)
}

/// Makes sure the workspace at `root` has its device identity, making
/// what is missing (see the module docs), and returns it.
pub fn ensure(root: &Path) -> Result<Provisioned> {
    let directory = root.join(DIRECTORY);
    if !directory.exists() {
        fs::create_dir_all(&directory).map_err(|err| format!("cannot create {}: {err}", show(&directory)))?;
        set_mode(&directory, 0o700).map_err(|err| format!("cannot make {} private: {err}", show(&directory)))?;
    }
    let mut found = Vec::new();

    // The UDS.
    let uds_path = directory.join(UDS_FILE);
    let uds_fix = "delete it to make a new device identity (a new UDS gives a new DeviceID key and certificate)";
    let (uds, new_uds) = match read_file(&uds_path, "Unique Device Secret", uds_fix, true)? {
        Some(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let secret: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                format!(
                    "{} is {} bytes long, not a 32-byte Unique Device Secret; it was left as it is: {uds_fix}",
                    show(&uds_path),
                    bytes.len()
                )
            })?;
            found.push(uds_path);
            (Uds::from_bytes(secret), false)
        }
        None => {
            let mut secret = Zeroizing::new([0u8; 32]);
            random(&mut *secret)?;
            write_new(&uds_path, &*secret)?;
            println!("==> provisioned {}: a new Unique Device Secret", show(&uds_path));
            (Uds::from_bytes(*secret), true)
        }
    };

    // The manufacturer CA's key.
    let ca_key_path = directory.join(CA_KEY_FILE);
    let ca_key_fix = format!(
        "delete it and {CA_CERTIFICATE_FILE} to make a new development CA (the DeviceID certificate is then re-issued)"
    );
    let (ca_key, new_ca) = match read_file(&ca_key_path, "manufacturer CA key", &ca_key_fix, true)? {
        Some(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let key = std::str::from_utf8(&bytes)
                .map_err(|err| err.to_string())
                .and_then(|text| SigningKey::from_pkcs8_pem(text).map_err(|err| err.to_string()))
                .map_err(|problem| {
                    format!(
                        "{} is not a P-256 private key in PKCS#8 PEM ({problem}); it was left as it is: {ca_key_fix}",
                        show(&ca_key_path)
                    )
                })?;
            found.push(ca_key_path);
            (key, false)
        }
        None => {
            let mut seed = Zeroizing::new([0u8; 32]);
            random(&mut *seed)?;
            let key = p256_key_from_seed(&seed);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|err| format!("cannot encode the manufacturer CA key: {err}"))?;
            write_new(&ca_key_path, pem.as_bytes())?;
            if new_uds {
                println!("==> provisioned {}: a new development manufacturer CA", show(&ca_key_path));
            } else {
                println!(
                    "==> provisioned {}: a new development manufacturer CA (there was none); its certificate and \
                     the DeviceID certificate are issued again",
                    show(&ca_key_path)
                );
            }
            (key, true)
        }
    };

    // The CA's certificate.
    let ca_path = directory.join(CA_CERTIFICATE_FILE);
    let ca_fix = format!("delete it to make a new one from {CA_KEY_FILE}");
    let fresh_ca_certificate = || {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|_| "the clock is before 1970".to_string())?;
        ca_certificate(&ca_key, now).map_err(|err| format!("cannot make the manufacturer CA certificate: {err}"))
    };
    let ca_certificate = match read_certificate(&ca_path, "manufacturer CA certificate", &ca_fix)? {
        Some(der) => {
            let fits = public_key_of(&der).is_ok_and(|key| key == *ca_key.verifying_key())
                && is_signed_by(&der, ca_key.verifying_key()).unwrap_or(false);
            if fits {
                found.push(ca_path);
                der
            } else if new_ca {
                let der = fresh_ca_certificate()?;
                replace(&ca_path, pem(&der)?.as_bytes())?;
                println!("==> provisioned {}: replaced, for the new CA key", show(&ca_path));
                der
            } else {
                return Err(format!(
                    "{} is not the self-signed certificate of {CA_KEY_FILE}; it was left as it is: {ca_fix}",
                    show(&ca_path)
                ));
            }
        }
        None => {
            let der = fresh_ca_certificate()?;
            write_new(&ca_path, pem(&der)?.as_bytes())?;
            println!("==> provisioned {}", show(&ca_path));
            der
        }
    };

    // The DeviceID certificate: what this UDS and CA give, byte for byte.
    let device_key = device_id_key(&uds);
    let device_path = directory.join(DEVICE_ID_FILE);
    let device_fix = "delete it and run `cargo xtask provision` to issue it again";
    let expected = device_id_certificate(device_key.verifying_key(), &ca_key, &ca_certificate)
        .map_err(|err| format!("cannot issue the DeviceID certificate: {err}"))?;
    match read_certificate(&device_path, "DeviceID certificate", device_fix)? {
        Some(der) if der == expected => found.push(device_path),
        Some(_) if new_uds || new_ca => {
            replace(&device_path, pem(&expected)?.as_bytes())?;
            let cause = if new_uds { "the new UDS" } else { "the new manufacturer CA" };
            println!("==> provisioned {}: issued again, for {cause}", show(&device_path));
        }
        Some(_) => {
            return Err(format!(
                "{} is not the DeviceID certificate this checkout's {UDS_FILE} and manufacturer CA give (it was \
                 made for another UDS or CA, or by another version of xtask); it was left as it is: {device_fix}",
                show(&device_path)
            ))
        }
        None => {
            write_new(&device_path, pem(&expected)?.as_bytes())?;
            println!(
                "==> provisioned {} (DeviceID {})",
                show(&device_path),
                Hex(&identifier(device_key.verifying_key()))
            );
        }
    }

    Ok(Provisioned {
        directory,
        uds,
        ca_key,
        ca_certificate,
        device_id_key: device_key,
        device_id_certificate: expected,
        found,
    })
}

/// `der` as PEM with `label` (e.g. `CERTIFICATE`), LF line endings.
pub fn to_pem(der: &[u8], label: &str) -> Result<String> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).map_err(|err| format!("cannot encode PEM: {err}"))
}

fn pem(certificate: &[u8]) -> Result<String> {
    to_pem(certificate, CERTIFICATE_LABEL)
}

fn random(bytes: &mut [u8]) -> Result<()> {
    getrandom::fill(bytes).map_err(|err| format!("the operating system's random number generator failed: {err}"))
}

/// Reads a file, or `None` if there is none. A file that cannot be read
/// is an error ending with `fix`; so is a `secret` other users may read.
fn read_file(path: &Path, what: &str, fix: &str, secret: bool) -> Result<Option<Vec<u8>>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(format!(
                "cannot read the {what} {}: {err}; make it a file readable by you, or {fix}",
                show(path)
            ))
        }
    };
    if secret {
        check_private(path, what)?;
    }
    Ok(Some(bytes))
}

/// Reads a PEM certificate file, or `None` if there is none; returns its
/// DER. Certificates are public: their mode is not checked.
fn read_certificate(path: &Path, what: &str, fix: &str) -> Result<Option<Vec<u8>>> {
    let Some(bytes) = read_file(path, what, fix, false)? else { return Ok(None) };
    match der::pem::decode_vec(&bytes) {
        Ok((CERTIFICATE_LABEL, der)) if tessera_pluton_core::subject_of(&der).is_ok() => Ok(Some(der)),
        Ok((label, _)) if label != CERTIFICATE_LABEL => {
            Err(format!("{} holds a PEM `{label}`, not a certificate; it was left as it is: {fix}", show(path)))
        }
        Ok(_) => Err(format!("{} is not an X.509 certificate; it was left as it is: {fix}", show(path))),
        Err(err) => Err(format!("{} is not a PEM certificate ({err}); it was left as it is: {fix}", show(path))),
    }
}

/// Refuses a secret other users may read (as ssh does).
fn check_private(path: &Path, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(|err| format!("cannot stat {}: {err}", show(path)))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "the {what} {} is accessible by other users (mode {:o}); run `chmod 600 {}`",
                show(path),
                mode & 0o777,
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
    Ok(())
}

/// Writes `bytes` to a new file aside `path`, mode 0600, and returns its
/// path.
fn write_aside(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let directory = path.parent().ok_or_else(|| std::io::Error::other("the path has no directory"))?;
    let name = path.file_name().ok_or_else(|| std::io::Error::other("the path has no file name"))?;
    let aside = directory.join(format!(".{}.{}.new", name.to_string_lossy(), std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&aside).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    match written {
        Ok(()) => Ok(aside),
        Err(err) => {
            let _ = fs::remove_file(&aside);
            Err(err)
        }
    }
}

/// Makes `path`, which must not exist: the whole file appears at once
/// (hard-linked into place), and an existing file is never replaced.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let cannot = |err: std::io::Error| format!("cannot write {}: {err}", show(path));
    let aside = write_aside(path, bytes).map_err(cannot)?;
    let linked = fs::hard_link(&aside, path);
    let _ = fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == ErrorKind::AlreadyExists => Err(format!(
            "{} appeared while it was being made (another xtask?); it was left as it is: run `cargo xtask provision` \
             again",
            show(path)
        )),
        Err(err) => Err(cannot(err)),
    }
}

/// Replaces the derived file `path` at once (renamed into place).
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let cannot = |err: std::io::Error| format!("cannot write {}: {err}", show(path));
    let aside = write_aside(path, bytes).map_err(cannot)?;
    fs::rename(&aside, path).map_err(|err| {
        let _ = fs::remove_file(&aside);
        cannot(err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;
    use std::process::{Command, Output};
    use tessera_pluton_core::{alias_certificate, alias_key, subject_of, Cdi, LayerInputs, Mode};

    impl Scratch {
        fn file(&self, name: &str) -> PathBuf {
            self.0.join(DIRECTORY).join(name)
        }
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    const FILES: [&str; 4] = [UDS_FILE, CA_KEY_FILE, CA_CERTIFICATE_FILE, DEVICE_ID_FILE];

    #[test]
    fn provisions_once_and_keeps_the_files_private() {
        let scratch = Scratch::new("provision");
        let made = ensure(&scratch.0).unwrap();
        assert!(made.found.is_empty());
        assert_eq!(mode(&scratch.0.join(DIRECTORY)), 0o700);
        for file in FILES {
            assert_eq!(mode(&scratch.file(file)), 0o600, "{file}");
        }
        // Nothing else is left behind.
        assert_eq!(fs::read_dir(scratch.0.join(DIRECTORY)).unwrap().count(), FILES.len());
        assert_eq!(fs::read(scratch.file(UDS_FILE)).unwrap(), made.uds.expose());

        let again = ensure(&scratch.0).unwrap();
        assert_eq!(again.found.len(), FILES.len());
        assert_eq!(again.uds.expose(), made.uds.expose());
        assert_eq!(again.ca_certificate, made.ca_certificate);
        assert_eq!(again.device_id_certificate, made.device_id_certificate);
        assert_eq!(again.device_id(), made.device_id());

        // Another checkout is another device.
        let other = Scratch::new("provision");
        assert_ne!(ensure(&other.0).unwrap().device_id(), made.device_id());
    }

    #[test]
    fn derived_certificates_are_issued_again() {
        let scratch = Scratch::new("provision");
        let first = ensure(&scratch.0).unwrap();
        let device_pem = fs::read(scratch.file(DEVICE_ID_FILE)).unwrap();

        // A deleted DeviceID certificate comes back byte for byte.
        fs::remove_file(scratch.file(DEVICE_ID_FILE)).unwrap();
        ensure(&scratch.0).unwrap();
        assert_eq!(fs::read(scratch.file(DEVICE_ID_FILE)).unwrap(), device_pem);

        // A deleted CA certificate is made again from the key.
        fs::remove_file(scratch.file(CA_CERTIFICATE_FILE)).unwrap();
        let remade = ensure(&scratch.0).unwrap();
        assert_eq!(public_key_of(&remade.ca_certificate).unwrap(), *first.ca_key.verifying_key());
        assert_eq!(fs::read(scratch.file(DEVICE_ID_FILE)).unwrap(), device_pem);

        // No CA (key and certificate gone): a new CA, the same DeviceID key,
        // a DeviceID certificate issued again by the new CA.
        fs::remove_file(scratch.file(CA_KEY_FILE)).unwrap();
        fs::remove_file(scratch.file(CA_CERTIFICATE_FILE)).unwrap();
        let new_ca = ensure(&scratch.0).unwrap();
        assert_ne!(new_ca.ca_key.verifying_key(), first.ca_key.verifying_key());
        assert_eq!(new_ca.device_id(), first.device_id());
        assert_ne!(fs::read(scratch.file(DEVICE_ID_FILE)).unwrap(), device_pem);
        assert!(is_signed_by(&new_ca.device_id_certificate, new_ca.ca_key.verifying_key()).unwrap());

        // Only the key gone: a new CA replaces the stale certificate too.
        fs::remove_file(scratch.file(CA_KEY_FILE)).unwrap();
        let newer = ensure(&scratch.0).unwrap();
        assert_eq!(public_key_of(&newer.ca_certificate).unwrap(), *newer.ca_key.verifying_key());
        assert!(is_signed_by(&newer.device_id_certificate, newer.ca_key.verifying_key()).unwrap());

        // A new UDS: a new DeviceID, its certificate issued again.
        fs::remove_file(scratch.file(UDS_FILE)).unwrap();
        let new_device = ensure(&scratch.0).unwrap();
        assert_ne!(new_device.device_id(), first.device_id());
        assert_eq!(
            public_key_of(&new_device.device_id_certificate).unwrap(),
            *new_device.device_id_key.verifying_key()
        );
        for file in FILES {
            assert_eq!(mode(&scratch.file(file)), 0o600, "{file}");
        }
    }

    #[test]
    fn bad_files_are_errors_and_left_alone() {
        let scratch = Scratch::new("provision");
        ensure(&scratch.0).unwrap();
        let check = |file: &str, contents: &[u8], expected: &[&str]| {
            let path = scratch.file(file);
            let saved = fs::read(&path).unwrap();
            fs::write(&path, contents).unwrap();
            set_mode(&path, 0o600).unwrap();
            let error = ensure(&scratch.0).err().unwrap();
            for part in expected {
                assert!(error.contains(part), "{file}: {error}");
            }
            assert_eq!(fs::read(&path).unwrap(), contents, "{file} was changed");
            fs::write(&path, saved).unwrap();
        };
        check(UDS_FILE, &[7; 31], &["31 bytes long", "delete it to make a new device identity"]);
        check(
            CA_KEY_FILE,
            b"not a key",
            &["not a P-256 private key in PKCS#8 PEM", "delete it and manufacturer-ca.pem"],
        );
        check(CA_CERTIFICATE_FILE, b"junk", &["not a PEM certificate", "delete it to make a new one"]);
        let key_pem = fs::read(scratch.file(CA_KEY_FILE)).unwrap();
        check(CA_CERTIFICATE_FILE, &key_pem, &["holds a PEM `PRIVATE KEY`, not a certificate"]);
        check(
            DEVICE_ID_FILE,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            &["not an X.509 certificate", "issue it again"],
        );
        // A valid certificate, but not this CA's: left alone.
        let stranger = Scratch::new("provision");
        let other = ensure(&stranger.0).unwrap();
        check(
            CA_CERTIFICATE_FILE,
            pem(&other.ca_certificate).unwrap().as_bytes(),
            &["is not the self-signed certificate of manufacturer-ca.key"],
        );
        check(
            DEVICE_ID_FILE,
            pem(&other.device_id_certificate).unwrap().as_bytes(),
            &["is not the DeviceID certificate this checkout's uds.bin and manufacturer CA give"],
        );

        // Secrets readable by others: refused, not fixed behind the user's back.
        for file in [UDS_FILE, CA_KEY_FILE] {
            set_mode(&scratch.file(file), 0o644).unwrap();
            let error = ensure(&scratch.0).err().unwrap();
            assert!(error.contains("accessible by other users (mode 644)") && error.contains("chmod 600"), "{error}");
            set_mode(&scratch.file(file), 0o600).unwrap();
        }
        // Unreadable (a directory where the file should be).
        let uds = fs::read(scratch.file(UDS_FILE)).unwrap();
        fs::remove_file(scratch.file(UDS_FILE)).unwrap();
        fs::create_dir(scratch.file(UDS_FILE)).unwrap();
        let error = ensure(&scratch.0).err().unwrap();
        assert!(error.contains("cannot read the Unique Device Secret"), "{error}");
        fs::remove_dir(scratch.file(UDS_FILE)).unwrap();
        fs::write(scratch.file(UDS_FILE), uds).unwrap();
        set_mode(&scratch.file(UDS_FILE), 0o600).unwrap();
        assert_eq!(ensure(&scratch.0).unwrap().found.len(), FILES.len());
    }

    /// Runs openssl in `directory`; fails the test, naming the fix, if it
    /// is not installed.
    fn openssl(directory: &Path, args: &[&str]) -> Output {
        match Command::new("openssl").args(args).current_dir(directory).output() {
            Ok(output) => output,
            Err(err) if err.kind() == ErrorKind::NotFound => panic!(
                "openssl is not installed ({err}); these tests check the certificates with it: install it with \
                 `apt-get install openssl`"
            ),
            Err(err) => panic!("cannot run openssl: {err}"),
        }
    }

    fn text(output: &Output) -> String {
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    }

    #[test]
    fn openssl_accepts_the_chain_and_refuses_a_forged_alias() {
        let scratch = Scratch::new("provision");
        let provisioned = ensure(&scratch.0).unwrap();
        let directory = scratch.0.join(DIRECTORY);
        let inputs = LayerInputs {
            code: [0x11; 32],
            config: [0x22; 32],
            authority: [0; 32],
            mode: Mode::Normal,
            hidden: [0; 32],
        };
        let measurements = [("init", [0xaa; 32]), ("pluton", [0xbb; 32])];
        let alias_public = *alias_key(&Cdi::from_bytes([0x42; 32])).verifying_key();
        let device_subject = subject_of(&provisioned.device_id_certificate).unwrap();
        let alias =
            alias_certificate(&alias_public, &provisioned.device_id_key, &device_subject, &inputs, &measurements)
                .unwrap();
        fs::write(directory.join("alias.pem"), pem(&alias).unwrap()).unwrap();

        // The DeviceID against the CA, the Alias through the DeviceID; and
        // again with -x509_strict (RFC 5280's stricter checks).
        for strict in [&[][..], &["-x509_strict"][..]] {
            let output =
                openssl(&directory, &[&["verify"], strict, &["-CAfile", CA_CERTIFICATE_FILE, DEVICE_ID_FILE]].concat());
            assert!(output.status.success(), "{}", text(&output));
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("{DEVICE_ID_FILE}: OK"));
            let args =
                [&["verify"], strict, &["-CAfile", CA_CERTIFICATE_FILE, "-untrusted", DEVICE_ID_FILE, "alias.pem"]];
            let output = openssl(&directory, &args.concat());
            assert!(output.status.success(), "{}", text(&output));
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "alias.pem: OK");
        }

        // openssl reads the extension and the CA key.
        let output = openssl(&directory, &["x509", "-noout", "-text", "-in", "alias.pem"]);
        assert!(output.status.success(), "{}", text(&output));
        let shown = text(&output);
        assert!(shown.contains("1.3.6.1.4.1.11129.2.1.24"), "{shown}");
        assert!(shown.contains("CA:FALSE") && shown.contains("Digital Signature"), "{shown}");
        assert!(shown.contains("Not After : Dec 31 23:59:59 9999 GMT"), "{shown}");
        let output = openssl(&directory, &["pkey", "-noout", "-in", CA_KEY_FILE]);
        assert!(output.status.success(), "{}", text(&output));

        // An Alias certificate naming the right DeviceID as its issuer but
        // signed by another DeviceID key is refused: its authority key
        // identifier names the other key, which no certificate holds.
        let verify = |file: &str| {
            openssl(&directory, &["verify", "-CAfile", CA_CERTIFICATE_FILE, "-untrusted", DEVICE_ID_FILE, file])
        };
        let stranger = device_id_key(&Uds::from_bytes([0x99; 32]));
        let forged = alias_certificate(&alias_public, &stranger, &device_subject, &inputs, &measurements).unwrap();
        fs::write(directory.join("forged.pem"), pem(&forged).unwrap()).unwrap();
        let output = verify("forged.pem");
        assert!(!output.status.success(), "openssl accepted a forged Alias certificate: {}", text(&output));
        assert!(text(&output).contains("unable to get local issuer certificate"), "{}", text(&output));
        // The genuine one with a measurement changed after signing: the
        // issuer is found, the signature does not match.
        let mut tampered = alias.clone();
        let at = tampered.windows(32).position(|window| window == [0xaa; 32]).unwrap();
        tampered[at] ^= 1;
        fs::write(directory.join("tampered.pem"), pem(&tampered).unwrap()).unwrap();
        let output = verify("tampered.pem");
        assert!(!output.status.success(), "openssl accepted a tampered Alias certificate: {}", text(&output));
        assert!(text(&output).contains("certificate signature failure"), "{}", text(&output));
        // And without the DeviceID certificate the chain is incomplete.
        let output = openssl(&directory, &["verify", "-CAfile", CA_CERTIFICATE_FILE, "alias.pem"]);
        assert!(!output.status.success(), "{}", text(&output));
    }
}
