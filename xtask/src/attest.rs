//! `cargo xtask attest`: boots the device, hands it a verifier's nonce,
//! collects its attestation evidence and checks it on the host, as a
//! remote verifier would (docs/pluton.md, "Attestation").
//!
//! The nonce reaches the device as the boot argument `attest.nonce=HEX`
//! (`init` asks the Pluton security server for evidence once the apps have
//! started and prints it as `ATTEST evidence` lines); the boot argument is
//! not part of the measured configuration, so the nonce does not change the
//! device's keys. The check ([`check`]) is first
//! `tessera_pluton_core::verifier::verify`: the chain to this checkout's
//! manufacturer CA, the signature, the nonce, the layer-0 measurements
//! against the ones computed here from the kernel ELF and boot image just
//! built, and the Alias certificate's other layer-0 inputs (configuration
//! hash, authority hash, mode) against the ones computed from the boot
//! arguments and that boot image ([`Reference`]). The boot arguments
//! xtask gives are only the nonce's `attest.` word, which the
//! configuration leaves out, so the expected configuration is that of no
//! boot arguments. Then the requester: `init` asked, so the evidence names
//! no app as requester ([`check_requester`]). Then the apps
//! ([`check_apps`]) against the ones `init` starts from that boot image
//! ([`apps_in`]: every package entry whose name does not start with
//! `test-`):
//!
//! - every app claim names one of them, once, with the SHA-256 of its
//!   package (the whole boot-image entry), the SHA-256 of the package's
//!   manifest section (its grants) and the manifest's ComponentId;
//! - every one of them is claimed (an app `init` refused or did not start
//!   fails the check);
//! - every measurement after layer 0 is one claimed app's: its name, and
//!   the app measurement SHA-256(package SHA-256 || grants SHA-256) as
//!   hash (what `plutond` logs for an app, `AppRecord::measurement`), of
//!   its claim and of the boot image's package alike; each claimed app is
//!   measured once.
//!
//! `openssl verify` then checks the written chain too: `openssl` must be
//! installed ([`qemu::ensure_openssl`] installs it as root), or nothing
//! passes.
//!
//! Written to `target/attest/`: `evidence.cbor` (the COSE_Sign1, also when
//! the check fails), `chain.pem` (Alias, DeviceID, CA) and `claims.json`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use tessera_abi::bootimage::{self, BootImage};
use tessera_abi::manifest::{self, ComponentId, Manifest, ManifestContent};
use tessera_abi::package::{self, Package, PackageSigner};
use tessera_pluton_core::measure::{measure_layer_zero, sha256};
use tessera_pluton_core::verifier::{self, Expected, ExpectedInputs, Verified};
use tessera_pluton_core::Hex;

use crate::image::{self, Image};
use crate::provision::{self, Provisioned};
use crate::qemu::{self, Console};
use crate::signing::DevelopmentKey;
use crate::{show, target_dir, workspace_root, Result};

/// How long a boot may take to give its evidence.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default nonce's length.
const NONCE_BYTES: usize = 32;
/// The app `qemu:attest` changes after provisioning ([`with_app_changed`]).
const CHANGED_APP: &str = "crasher";
/// The GPIO pin the changed app's manifest gains: one no other app of the
/// user image holds (blinky has 5, hostile 6), so `init` still admits it.
const ADDED_PIN: u16 = 7;
/// The folder under `target/tessera` the changed user image is built in.
const CHANGED_IMAGE: &str = "attest-changed-app";
/// The folder under `target/tessera` the user image with another kernel
/// is built in ([`changed_kernel`]).
const CHANGED_KERNEL: &str = "attest-changed-kernel";
/// The kernel features that make [`changed_kernel`]'s kernel: the test
/// image's boot-argument hooks, which are more code and nothing else.
const CHANGED_KERNEL_FEATURES: &str = "test-hooks";

/// Options of `cargo xtask attest`.
#[derive(clap::Args)]
pub struct AttestArgs {
    /// The verifier's nonce, 8 to 64 bytes in hex; 32 random bytes if not given.
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
    /// Which image to boot.
    #[arg(long, value_enum, default_value = "user")]
    image: Image,
}

/// `target/attest`.
pub fn output_dir() -> PathBuf {
    target_dir().join("attest")
}

/// A nonce given in hex, checked.
pub fn parse_nonce(hex: &str) -> Result<Vec<u8>> {
    let hex = hex.trim();
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(format!("the nonce `{hex}` is not hex (two digits per byte)"));
    }
    let nonce: Vec<u8> =
        (0..hex.len()).step_by(2).map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap_or(0)).collect();
    let range = tessera_pluton_core::eat::MIN_NONCE..=tessera_pluton_core::eat::MAX_NONCE;
    if !range.contains(&nonce.len()) {
        return Err(format!("the nonce is {} bytes; RFC 9711 allows 8 to 64", nonce.len()));
    }
    Ok(nonce)
}

/// The evidence in a boot's output: the hex of the `ATTEST evidence`
/// lines up to `ATTEST end`.
pub fn evidence_in(output: &str) -> Result<Vec<u8>> {
    let mut hex = String::new();
    for line in output.lines() {
        let line = line.trim_end_matches('\r');
        let Some(at) = line.find("ATTEST ") else { continue };
        let rest = &line[at + "ATTEST ".len()..];
        if let Some(chunk) = rest.strip_prefix("evidence ") {
            hex.push_str(chunk.trim());
        } else if rest.starts_with("end") {
            return (0..hex.len())
                .step_by(2)
                .map(|at| {
                    hex.get(at..at + 2)
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                        .ok_or_else(|| "the evidence lines are not hex".to_string())
                })
                .collect();
        } else if rest.starts_with("failed") {
            return Err("the device could not make evidence (see its output above)".to_string());
        }
    }
    Err("the device printed no complete evidence (no `ATTEST end` line)".to_string())
}

/// An app the evidence should claim: what the boot image holds for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedApp {
    /// Its boot-image entry's name.
    pub name: String,
    /// Its manifest's ComponentId.
    pub component_id: [u8; 16],
    /// SHA-256 of its package (the whole entry).
    pub package: [u8; 32],
    /// SHA-256 of its package's manifest section.
    pub grants: [u8; 32],
}

impl ExpectedApp {
    /// Its measurement: [`app_measurement`] of its package and grants.
    pub fn measurement(&self) -> [u8; 32] {
        app_measurement(&self.package, &self.grants)
    }
}

/// An app's measurement as `plutond` logs it
/// (`tessera_pluton_core::app::AppRecord::measurement`):
/// SHA-256(package SHA-256 || grants SHA-256).
pub fn app_measurement(package: &[u8; 32], grants: &[u8; 32]) -> [u8; 32] {
    sha256(&[&package[..], &grants[..]].concat())
}

/// What one boot's evidence must show, computed from the kernel ELF and
/// the boot image that booted.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The layer-0 measurements, in order.
    pub layer_zero: Vec<(String, [u8; 32])>,
    /// The layer-0 inputs the Alias certificate carries besides the code
    /// hash.
    pub inputs: ExpectedInputs,
    /// The apps `init` starts.
    pub apps: Vec<ExpectedApp>,
}

impl Reference {
    /// For `image`, built already.
    pub fn of(image: Image) -> Result<Reference> {
        Reference::of_files(&image::kernel_elf_path(image), &image::boot_image_path(image))
    }

    /// For the kernel ELF at `kernel` built around the boot image at
    /// `boot_image`: layer 0 measured as `plutond` measures it, and the
    /// apps [`apps_in`] the boot image.
    pub fn of_files(kernel: &Path, boot_image: &Path) -> Result<Reference> {
        let code =
            crate::elf::measured_kernel_code(&read(kernel)?).map_err(|err| format!("{}: {err}", show(kernel)))?;
        let boot = read(boot_image)?;
        let parsed = BootImage::parse(&boot).map_err(|err| format!("{}: {err:?}", show(boot_image)))?;
        // The boot arguments without their `attest.` words: xtask boots
        // with `attest.nonce=...` alone.
        let (log, inputs) = measure_layer_zero(&code, &parsed, "").map_err(|err| format!("cannot measure: {err:?}"))?;
        Ok(Reference {
            layer_zero: log.layer_zero().iter().map(|entry| (entry.name().to_string(), entry.sha256)).collect(),
            inputs: ExpectedInputs::from(&inputs),
            apps: apps_in(&boot)?,
        })
    }
}

/// The apps `init` starts from the boot image `boot`, in boot-image
/// order: every package entry (it starts with `TPKG`) whose name does not
/// start with `test-` (`tessera_programs::apps`, `start_all`).
pub fn apps_in(boot: &[u8]) -> Result<Vec<ExpectedApp>> {
    let image = BootImage::parse(boot).map_err(|err| format!("the boot image is damaged: {err:?}"))?;
    let mut apps = Vec::new();
    for entry in image.iter() {
        if !entry.elf.starts_with(&package::MAGIC) || crate::apps::is_test_app(entry.name) {
            continue;
        }
        let name = entry.name;
        let package = Package::parse(entry.elf).map_err(|err| format!("the app `{name}`'s package: {err}"))?;
        let manifest =
            Manifest::decode(package.manifest()).map_err(|err| format!("the app `{name}`'s manifest: {err}"))?;
        apps.push(ExpectedApp {
            name: name.to_string(),
            component_id: manifest.component_id().0,
            package: sha256(entry.elf),
            grants: sha256(package.manifest()),
        });
    }
    Ok(apps)
}

/// The file at `path`.
fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|err| format!("cannot read {}: {err}", show(path)))
}

/// Boots `kernel` (built from `image`) with `nonce`; returns the whole
/// console output.
pub fn boot_for_evidence(image: Image, kernel: &Path, nonce: &[u8], extra: &str) -> Result<String> {
    let append = format!("attest.nonce={} {extra}", Hex(nonce));
    let command = qemu::command(image, kernel, Console::Captured, Some(append.trim()))?;
    let outcome = qemu::capture_until(command, Some(BOOT_TIMEOUT), |output| {
        output.contains("ATTEST end") || output.contains("ATTEST failed") || output.contains("kernel panic")
    })?;
    if outcome.timed_out {
        return Err(format!(
            "no evidence within {} s; the device's output:\n{}",
            BOOT_TIMEOUT.as_secs(),
            crate::indent(&outcome.output)
        ));
    }
    Ok(outcome.output)
}

/// Checks `evidence`, which `init` asked for, against this checkout's
/// identity, the nonce and `reference` (module docs).
pub fn check(evidence: &[u8], nonce: &[u8], provisioned: &Provisioned, reference: &Reference) -> Result<Verified> {
    let verified = verifier::verify(
        evidence,
        &Expected {
            nonce,
            ca_certificate: &provisioned.ca_certificate,
            device_id_certificate: &provisioned.device_id_certificate,
            layer_zero: Some(&reference.layer_zero),
            layer_zero_inputs: Some(reference.inputs),
        },
    )
    .map_err(|error| error.to_string())?;
    check_requester(&verified)?;
    check_apps(&verified, reference.layer_zero.len(), &reference.apps)?;
    Ok(verified)
}

/// Checks that `verified` names no requester: `init` asked for it, and
/// the claim is only there when an app asked.
pub fn check_requester(verified: &Verified) -> Result<()> {
    match verified.requester {
        None => Ok(()),
        Some(requester) => Err(format!(
            "the evidence says the app {} asked for it, but init did (did an app's evidence take its place?)",
            ComponentId(requester)
        )),
    }
}

/// Checks the apps of `verified`, whose first `layer_zero` measurements
/// are layer 0, against `expected` (module docs).
pub fn check_apps(verified: &Verified, layer_zero: usize, expected: &[ExpectedApp]) -> Result<()> {
    let claims = &verified.apps;
    for (index, claim) in claims.iter().enumerate() {
        let name = &claim.name;
        if claims[..index].iter().any(|earlier| earlier.name == *name) {
            return Err(format!("the evidence claims the app `{name}` twice"));
        }
        let Some(app) = expected.iter().find(|app| app.name == *name) else {
            return Err(format!("the evidence claims an app `{name}`, which the boot image does not start"));
        };
        if claim.package != app.package {
            return Err(format!(
                "app `{name}`: the evidence's package hash is {}, the boot image's package {}",
                Hex(&claim.package),
                Hex(&app.package)
            ));
        }
        if claim.grants != app.grants {
            return Err(format!(
                "app `{name}`: the evidence's grants hash is {}, the package's manifest {}",
                Hex(&claim.grants),
                Hex(&app.grants)
            ));
        }
        if claim.component_id != app.component_id {
            return Err(format!(
                "app `{name}`: the evidence's ComponentId is {}, the manifest's {}",
                ComponentId(claim.component_id),
                ComponentId(app.component_id)
            ));
        }
    }
    if let Some(app) = expected.iter().find(|app| !claims.iter().any(|claim| claim.name == app.name)) {
        return Err(format!(
            "the boot image's app `{}` is not in the evidence's apps claim (did init refuse it?)",
            app.name
        ));
    }
    let measured = verified.measurements.get(layer_zero..).unwrap_or_default();
    for (index, (name, hash)) in measured.iter().enumerate() {
        if measured[..index].iter().any(|(earlier, _)| earlier == name) {
            return Err(format!("the app `{name}` is measured twice"));
        }
        let Some(claim) = claims.iter().find(|claim| claim.name == *name) else {
            return Err(format!("measurement '{name}' follows layer 0 but no app claim has that name"));
        };
        let claimed = app_measurement(&claim.package, &claim.grants);
        if *hash != claimed {
            return Err(format!(
                "app `{name}`: its measurement is {}, but SHA-256(package hash || grants hash) of its claim is {}",
                Hex(hash),
                Hex(&claimed)
            ));
        }
        // The claim's hashes are the boot image's (checked above), so this
        // holds too; said once more against the boot image itself.
        if let Some(app) = expected.iter().find(|app| app.name == *name) {
            if *hash != app.measurement() {
                return Err(format!(
                    "app `{name}`: its measurement is {}, the boot image's package and manifest give {}",
                    Hex(hash),
                    Hex(&app.measurement())
                ));
            }
        }
    }
    if let Some(claim) = claims.iter().find(|claim| !measured.iter().any(|(name, _)| *name == claim.name)) {
        return Err(format!("the app `{}` is claimed but has no measurement", claim.name));
    }
    Ok(())
}

/// The claims as JSON.
pub fn claims_json(verified: &Verified) -> serde_json::Value {
    let measurements: Vec<_> = verified
        .measurements
        .iter()
        .map(|(name, hash)| serde_json::json!({ "name": name, "sha256": Hex(hash).to_string() }))
        .collect();
    let apps: Vec<_> = verified
        .apps
        .iter()
        .map(|app| {
            serde_json::json!({
                "name": app.name,
                "component_id": Hex(&app.component_id).to_string(),
                "package_sha256": Hex(&app.package).to_string(),
                "grants_sha256": Hex(&app.grants).to_string(),
                "grants": app.summary,
            })
        })
        .collect();
    serde_json::json!({
        "nonce": Hex(&verified.nonce).to_string(),
        "requester": verified.requester.map(|requester| Hex(&requester).to_string()),
        "ueid": Hex(&verified.ueid).to_string(),
        "dbgstat": verified.dbgstat,
        "eat_profile": verified.profile,
        "swname": verified.software_name,
        "swversion": verified.software_version,
        "measurements": measurements,
        "apps": apps,
    })
}

/// Writes `chain.pem`: Alias, DeviceID, CA.
fn write_chain(directory: &Path, alias: &[u8], provisioned: &Provisioned) -> Result<PathBuf> {
    let mut chain = String::new();
    for der in [alias, &provisioned.device_id_certificate, &provisioned.ca_certificate] {
        chain.push_str(&provision::to_pem(der, "CERTIFICATE")?);
    }
    let path = directory.join("chain.pem");
    fs::write(&path, chain).map_err(|err| format!("cannot write {}: {err}", show(&path)))?;
    Ok(path)
}

/// Runs `openssl verify` on the Alias certificate with the DeviceID
/// certificate as untrusted intermediate and the CA as trust anchor: its
/// output when it accepted, an error when it refused or could not run
/// ([`qemu::ensure_openssl`] comes first).
pub fn openssl_verify(directory: &Path, alias: &[u8], provisioned: &Provisioned) -> Result<String> {
    let alias_path = directory.join("alias.pem");
    fs::write(&alias_path, provision::to_pem(alias, "CERTIFICATE")?)
        .map_err(|err| format!("cannot write {}: {err}", show(&alias_path)))?;
    let mut command = Command::new(qemu::OPENSSL);
    command
        .arg("verify")
        .arg("-CAfile")
        .arg(provisioned.path(provision::CA_CERTIFICATE_FILE))
        .arg("-untrusted")
        .arg(provisioned.path(provision::DEVICE_ID_FILE))
        .arg(&alias_path);
    let output = command.output().map_err(|err| {
        format!("cannot run `{}`: {err}; install it with: sudo apt-get install openssl", crate::describe(&command))
    })?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(text.trim().to_string())
    } else {
        Err(format!("openssl refused the chain:\n{}", crate::indent(&text)))
    }
}

/// `cargo xtask attest`.
pub fn run(args: &AttestArgs) -> Result<ExitCode> {
    qemu::ensure_qemu()?;
    qemu::ensure_openssl()?;
    let provisioned = provision::ensure(&crate::workspace_root())?;
    let nonce = match &args.nonce {
        Some(hex) => parse_nonce(hex)?,
        None => random_nonce()?,
    };
    let kernel = image::build_system(args.image)?;
    let reference = Reference::of(args.image)?;
    println!("==> booting the {} image with nonce {}", args.image.name(), Hex(&nonce));
    let output = boot_for_evidence(args.image, &kernel, &nonce, "")?;
    let evidence =
        evidence_in(&output).map_err(|err| format!("{err}; the device's output:\n{}", crate::indent(&output)))?;
    let directory = output_dir();
    fs::create_dir_all(&directory).map_err(|err| format!("cannot create {}: {err}", show(&directory)))?;
    let evidence_path = directory.join("evidence.cbor");
    fs::write(&evidence_path, &evidence).map_err(|err| format!("cannot write {}: {err}", show(&evidence_path)))?;
    println!("==> {} bytes of evidence in {}", evidence.len(), show(&evidence_path));
    let verified = match check(&evidence, &nonce, &provisioned, &reference) {
        Ok(verified) => verified,
        Err(error) => {
            println!("verdict: FAILED: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let chain = write_chain(&directory, &verified.alias_certificate, &provisioned)?;
    let claims = claims_json(&verified);
    let claims_path = directory.join("claims.json");
    let text = serde_json::to_string_pretty(&claims).map_err(|err| format!("cannot encode the claims: {err}"))?;
    fs::write(&claims_path, text + "\n").map_err(|err| format!("cannot write {}: {err}", show(&claims_path)))?;
    match openssl_verify(&directory, &verified.alias_certificate, &provisioned) {
        Ok(_) => println!("==> openssl verify accepts {}", show(&chain)),
        Err(error) => {
            println!("verdict: FAILED: {error}");
            return Ok(ExitCode::FAILURE);
        }
    }
    println!(
        "verdict: PASSED: signed by the Alias key of DeviceID {}, chained to {}; layer 0 and the {} apps \
         are the ones built",
        Hex(&provisioned.device_id()),
        show(&provisioned.path(provision::CA_CERTIFICATE_FILE)),
        verified.apps.len()
    );
    println!("  nonce        {}", Hex(&verified.nonce));
    if let Some(requester) = verified.requester {
        println!("  requester    {}", ComponentId(requester));
    }
    println!("  ueid         {}", Hex(&verified.ueid));
    println!("  software     {} {}", verified.software_name, verified.software_version);
    println!("  debug status {} (enabled: QEMU's host can read the guest)", verified.dbgstat);
    for (name, hash) in &verified.measurements {
        println!("  measurement  {name:<10} {}", Hex(hash));
    }
    for app in &verified.apps {
        println!("  app          {:<10} {}: {}", app.name, ComponentId(app.component_id), app.summary);
    }
    println!("==> wrote {}, {} and {}", show(&evidence_path), show(&chain), show(&claims_path));
    Ok(ExitCode::SUCCESS)
}

/// A random nonce of [`NONCE_BYTES`].
fn random_nonce() -> Result<Vec<u8>> {
    let mut nonce = vec![0; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(|err| format!("no random nonce: {err}"))?;
    Ok(nonce)
}

/// One boot of `kernel` (run as QEMU runs `image`) and its evidence,
/// checked against `reference` and with `openssl verify`; `label` names
/// the build in errors and the output folder `target/attest/test-<label>`.
/// Returns the nonce, the evidence and what it claims.
fn attested(
    label: &str,
    image: Image,
    kernel: &Path,
    reference: &Reference,
    provisioned: &Provisioned,
) -> Result<(Vec<u8>, Vec<u8>, Verified)> {
    let nonce = random_nonce()?;
    let output = boot_for_evidence(image, kernel, &nonce, "")?;
    let evidence =
        evidence_in(&output).map_err(|err| format!("{err}; the device's output:\n{}", crate::indent(&output)))?;
    let verified = check(&evidence, &nonce, provisioned, reference)
        .map_err(|err| format!("the {label} image's evidence was refused: {err}"))?;
    let directory = output_dir().join(format!("test-{label}"));
    fs::create_dir_all(&directory).map_err(|err| format!("cannot create {}: {err}", show(&directory)))?;
    openssl_verify(&directory, &verified.alias_certificate, provisioned)
        .map_err(|err| format!("the {label} image's evidence: {err}"))?;
    Ok((nonce, evidence, verified))
}

/// The `qemu:attest` test, in four parts (`openssl` must be installed:
/// [`qemu::ensure_openssl`]):
///
/// 1. The user image's evidence passes [`check`] (layer 0, its inputs and
///    the apps) and `openssl verify`; a second boot gives the same Alias
///    key, and the first evidence is refused for the second nonce.
/// 2. The test image (another kernel and `init`) gives a different Alias
///    key and other `kernel` and `init` measurements while the DeviceID
///    (the ueid) stays.
/// 3. An app changed after provisioning (issue 10): [`changed_app`].
/// 4. The kernel alone changed: [`changed_kernel`].
pub fn scenario(user_kernel: &Path, test_kernel: &Path) -> Result<()> {
    qemu::ensure_openssl()?;
    let provisioned = provision::ensure(&workspace_root())?;
    let user = Reference::of(Image::User)?;
    let (first_nonce, first_evidence, first) = attested("user", Image::User, user_kernel, &user, &provisioned)?;
    let (second_nonce, _, second) = attested("user", Image::User, user_kernel, &user, &provisioned)?;
    if first.alias_certificate != second.alias_certificate {
        return Err("two boots of the same image gave different Alias certificates".to_string());
    }
    if check(&first_evidence, &second_nonce, &provisioned, &user).is_ok() {
        return Err(format!("evidence for nonce {} passed for nonce {}", Hex(&first_nonce), Hex(&second_nonce)));
    }
    let test = Reference::of(Image::Test)?;
    let (_, _, other) = attested("test", Image::Test, test_kernel, &test, &provisioned)?;
    if other.alias_certificate == first.alias_certificate {
        return Err("a different kernel and init gave the same Alias certificate".to_string());
    }
    if other.ueid != first.ueid {
        return Err("the ueid (from the DeviceID) changed with the software".to_string());
    }
    for name in ["kernel", "init"] {
        if measurement(&first, name).is_none() || measurement(&first, name) == measurement(&other, name) {
            return Err(format!("the measurement of '{name}' did not change between the user and test images"));
        }
    }
    changed_app(&provisioned, &user, &first)?;
    changed_kernel(&provisioned, &user, &first)
}

/// Part 3 of [`scenario`]: the user image with one app changed after
/// provisioning as an update would change it ([`with_app_changed`]:
/// [`CHANGED_APP`]'s manifest also grants GPIO [`ADDED_PIN`], and the
/// package is signed again with this checkout's development key), built
/// into `target/tessera/attest-changed-app/` and booted. Its evidence
/// passes [`check`] against its own build; compared with `original`, what
/// the user image's evidence claimed (`user` is that image's reference):
///
/// - the changed app's measurement and grants hash differ;
/// - the other apps' measurements are the same;
/// - the ueid is the same: the DeviceID comes from the UDS alone;
/// - the layer-0 measurements are the same apart from `kernel`. The kernel
///   ELF embeds the boot image, so it is another file; but its measured
///   part, code and read-only data, does not hold the boot image (that
///   lies after `.data`), so `kernel` changes only if the code does
///   (the boot image's length is a constant in it, and a larger image
///   moves `.bss`). Changing one manifest leaves every package its size
///   (the ELF starts on the next page), so today `kernel` stays too;
/// - the Alias certificate is the same exactly when layer 0 is: the apps
///   are not among the Alias key's inputs (an app's own keys come from
///   its measurement and ComponentId).
fn changed_app(provisioned: &Provisioned, user: &Reference, original: &Verified) -> Result<()> {
    let (kernel, boot_image) = build_changed_user_image()?;
    let changed = Reference::of_files(&kernel, &boot_image)?;
    let (_, _, verified) = attested("changed-app", Image::User, &kernel, &changed, provisioned)?;
    let before = measurement(original, CHANGED_APP);
    if before.is_none() || before == measurement(&verified, CHANGED_APP) {
        return Err(format!("the measurement of the changed app `{CHANGED_APP}` did not change"));
    }
    let grants = |verified: &Verified| verified.apps.iter().find(|app| app.name == CHANGED_APP).map(|app| app.grants);
    if grants(original) == grants(&verified) {
        return Err(format!("the grants hash of the changed app `{CHANGED_APP}` did not change"));
    }
    let layer_zero = user.layer_zero.len();
    for (name, hash) in original.measurements.get(layer_zero..).unwrap_or_default() {
        if name != CHANGED_APP && measurement(&verified, name) != Some(*hash) {
            return Err(format!("the measurement of the app `{name}` changed although only `{CHANGED_APP}` did"));
        }
    }
    if verified.ueid != original.ueid {
        return Err("the ueid (from the DeviceID) changed with an app".to_string());
    }
    let (before, after) = (&original.measurements[..layer_zero], &verified.measurements[..changed.layer_zero.len()]);
    if before.len() != after.len() {
        return Err(format!("changing an app changed layer 0 from {} to {} measurements", before.len(), after.len()));
    }
    for ((name, hash), (changed_name, changed_hash)) in before.iter().zip(after) {
        if name != changed_name || (name != "kernel" && hash != changed_hash) {
            return Err(format!("changing an app changed the layer-0 measurement '{name}'"));
        }
    }
    if (before == after) != (original.alias_certificate == verified.alias_certificate) {
        return Err(format!(
            "changing an app {} layer 0 but {} the Alias certificate",
            if before == after { "kept" } else { "changed" },
            if before == after { "changed" } else { "kept" },
        ));
    }
    Ok(())
}

/// Part 4 of [`scenario`]: the user image's boot image, unchanged, around
/// another kernel: the user kernel built with [`CHANGED_KERNEL_FEATURES`]
/// (more code, no other difference) into
/// `target/tessera/attest-changed-kernel/`, and booted as the user image
/// is. Its evidence passes [`check`] against its own build; compared with
/// `original`, what the user image's evidence claimed (`user` is that
/// image's reference):
///
/// - the `kernel` measurement and the Alias certificate differ (the Alias
///   key comes from the layer-0 code hash);
/// - every other layer-0 measurement is the same, in the same order: the
///   system programs are the same bytes;
/// - every app measurement is the same: apps are measured by package and
///   grants, which the kernel does not change;
/// - the ueid is the same: the DeviceID comes from the UDS alone.
fn changed_kernel(provisioned: &Provisioned, user: &Reference, original: &Verified) -> Result<()> {
    let boot_image = image::boot_image_path(Image::User);
    let kernel = image::build_variant(CHANGED_KERNEL, CHANGED_KERNEL_FEATURES, &boot_image)?;
    let changed = Reference::of_files(&kernel, &boot_image)?;
    let (_, _, verified) = attested("changed-kernel", Image::User, &kernel, &changed, provisioned)?;
    compare_changed_kernel(original, user.layer_zero.len(), &verified, changed.layer_zero.len())
}

/// [`changed_kernel`]'s comparison of `original` (the user image's
/// evidence, `original_layer_zero` measurements in layer 0) with
/// `changed` (the changed kernel's, `changed_layer_zero` in layer 0).
fn compare_changed_kernel(
    original: &Verified,
    original_layer_zero: usize,
    changed: &Verified,
    changed_layer_zero: usize,
) -> Result<()> {
    // `check` passed both, so each has at least its layer 0.
    let (before, apps_before) = original.measurements.split_at(original_layer_zero.min(original.measurements.len()));
    let (after, apps_after) = changed.measurements.split_at(changed_layer_zero.min(changed.measurements.len()));
    if before.len() != after.len() {
        return Err(format!(
            "changing the kernel changed layer 0 from {} to {} measurements",
            before.len(),
            after.len()
        ));
    }
    for ((name, hash), (changed_name, changed_hash)) in before.iter().zip(after) {
        if name != changed_name {
            return Err(format!("changing the kernel renamed the layer-0 measurement '{name}' to '{changed_name}'"));
        }
        match (name == "kernel", hash == changed_hash) {
            (true, true) => return Err("the kernel changed but its measurement did not".to_string()),
            (false, false) => {
                return Err(format!("changing the kernel alone changed the layer-0 measurement '{name}'"));
            }
            _ => {}
        }
    }
    if !before.iter().any(|(name, _)| name == "kernel") {
        return Err("layer 0 has no 'kernel' measurement".to_string());
    }
    if apps_before.len() != apps_after.len() {
        return Err(format!(
            "changing the kernel changed the number of app measurements from {} to {}",
            apps_before.len(),
            apps_after.len()
        ));
    }
    for (name, hash) in apps_before {
        if !apps_after.iter().any(|(changed_name, changed_hash)| changed_name == name && changed_hash == hash) {
            return Err(format!("changing the kernel changed the measurement of the app `{name}`"));
        }
    }
    if changed.alias_certificate == original.alias_certificate {
        return Err("a changed kernel gave the same Alias certificate".to_string());
    }
    if changed.ueid != original.ueid {
        return Err("the ueid (from the DeviceID) changed with the kernel".to_string());
    }
    Ok(())
}

/// The hash of the measurement `name` in `verified`.
fn measurement(verified: &Verified, name: &str) -> Option<[u8; 32]> {
    verified.measurements.iter().find(|(measured, _)| measured == name).map(|(_, hash)| *hash)
}

/// Builds the user image with [`CHANGED_APP`] changed: the boot image
/// `target/tessera/attest-changed-app/boot.img` and the user kernel
/// around it beside it, leaving the user image's own; returns (kernel,
/// boot image). The user image must be built already.
fn build_changed_user_image() -> Result<(PathBuf, PathBuf)> {
    let key = DevelopmentKey::load_or_create(&workspace_root())?;
    let changed = with_app_changed(&read(&image::boot_image_path(Image::User))?, CHANGED_APP, ADDED_PIN, &key)?;
    let directory = image::tessera_dir().join(CHANGED_IMAGE);
    fs::create_dir_all(&directory).map_err(|err| format!("cannot create {}: {err}", show(&directory)))?;
    let boot_image = directory.join("boot.img");
    // Only when it changed, so cargo need not rebuild the kernel.
    if fs::read(&boot_image).ok().as_deref() != Some(&changed[..]) {
        fs::write(&boot_image, &changed).map_err(|err| format!("cannot write {}: {err}", show(&boot_image)))?;
    }
    let kernel = image::build_kernel_variant(Image::User, CHANGED_IMAGE, &boot_image)?;
    Ok((kernel, boot_image))
}

/// The boot image `boot` with the package `app` changed as an update
/// after provisioning could change it: its manifest also grants GPIO
/// `pin`, and `signer` signs it again. Every other entry stays as it was,
/// in its place.
pub fn with_app_changed(boot: &[u8], app: &str, pin: u16, signer: &impl PackageSigner) -> Result<Vec<u8>> {
    let image = BootImage::parse(boot).map_err(|err| format!("the boot image is damaged: {err:?}"))?;
    let mut entries: Vec<(&str, Vec<u8>)> = Vec::with_capacity(image.len());
    for entry in image.iter() {
        let bytes = if entry.name == app {
            let package = Package::parse(entry.elf).map_err(|err| format!("the app `{app}`'s package: {err}"))?;
            let manifest = manifest_with_gpio(package.manifest(), pin).map_err(|err| format!("app `{app}`: {err}"))?;
            crate::signing::sign_package_with(signer, package.elf(), &manifest)?
        } else {
            entry.elf.to_vec()
        };
        entries.push((entry.name, bytes));
    }
    if !entries.iter().any(|(name, _)| *name == app) {
        return Err(format!("the boot image has no app `{app}`"));
    }
    let entries: Vec<(&str, &[u8])> = entries.iter().map(|(name, bytes)| (*name, bytes.as_slice())).collect();
    let mut out = vec![0; bootimage::image_size(entries.iter().map(|(_, bytes)| bytes.len()))];
    bootimage::write(&entries, &mut out).map_err(|err| format!("cannot pack the changed boot image: {err:?}"))?;
    Ok(out)
}

/// The binary manifest `manifest` granting GPIO `pin` as well, encoded
/// again (`tessera_abi::manifest::encode`); everything else stays.
fn manifest_with_gpio(manifest: &[u8], pin: u16) -> Result<Vec<u8>> {
    let manifest = Manifest::decode(manifest).map_err(|err| format!("the manifest does not decode: {err}"))?;
    if manifest.allows_gpio(pin) {
        return Err(format!("the manifest grants GPIO {pin} already"));
    }
    let mut gpios: Vec<u16> = manifest.gpios().chain([pin]).collect();
    gpios.sort_unstable();
    manifest.with_content(|content| {
        let content = ManifestContent { gpios: &gpios, ..*content };
        let length = content.encoded_len().map_err(|err| format!("GPIO {pin} cannot be added: {err}"))?;
        let mut out = vec![0; length];
        manifest::encode(&content, &mut out).map_err(|err| format!("cannot encode the manifest: {err}"))?;
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_checked() {
        assert_eq!(parse_nonce("0011223344556677").unwrap(), vec![0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]);
        assert!(parse_nonce("00112233445566").is_err(), "7 bytes");
        assert!(parse_nonce(&"ab".repeat(65)).is_err(), "65 bytes");
        assert!(parse_nonce("001122334455667").is_err(), "odd");
        assert!(parse_nonce("zz11223344556677").is_err(), "not hex");
    }

    #[test]
    fn evidence_is_collected_from_the_lines() {
        let output = "init: attestation evidence, 3 bytes\ninit: ATTEST evidence d284\r\ninit: ATTEST evidence 43\ninit: ATTEST end\n";
        assert_eq!(evidence_in(output).unwrap(), vec![0xd2, 0x84, 0x43]);
        assert!(evidence_in("init: ATTEST evidence d284\n").is_err(), "no end");
        assert!(evidence_in("init: ATTEST failed\n").is_err());
        assert!(evidence_in("init: ATTEST evidence d28\ninit: ATTEST end\n").is_err(), "odd digits");
    }

    /// A binary manifest granting `gpios`.
    fn manifest_bytes(name: &str, id: u8, gpios: &[u16]) -> Vec<u8> {
        let content = ManifestContent {
            mutable_storage_kib: 8,
            gpios,
            uarts: &[0],
            allowed_connections: &["example.com"],
            ..ManifestContent::new(name, ComponentId([id; 16]))
        };
        let mut out = vec![0; content.encoded_len().unwrap()];
        manifest::encode(&content, &mut out).unwrap();
        out
    }

    /// A boot image as xtask packs one: `init`, two apps, a test fixture
    /// and the trusted keys, signed with a scratch key.
    fn boot_image(key: &DevelopmentKey) -> Vec<u8> {
        let package = |name: &str, id: u8| {
            crate::signing::sign_package_with(key, b"\x7fELF app", &manifest_bytes(name, id, &[5])).unwrap()
        };
        let keys = crate::signing::trusted_keys_blob(&[key.trusted_key()]).unwrap();
        let entries: [(&str, Vec<u8>); 5] = [
            ("init", b"\x7fELF init".to_vec()),
            ("blinky", package("Blinky", 1)),
            ("crasher", package("Crasher", 2)),
            ("test-fixture", package("Fixture", 3)),
            ("trusted-keys", keys),
        ];
        let entries: Vec<(&str, &[u8])> = entries.iter().map(|(name, bytes)| (*name, bytes.as_slice())).collect();
        let mut out = vec![0; bootimage::image_size(entries.iter().map(|(_, bytes)| bytes.len()))];
        bootimage::write(&entries, &mut out).unwrap();
        out
    }

    #[test]
    fn the_apps_are_the_packages_init_starts() {
        let scratch = crate::scratch::Scratch::new("attest");
        let key = DevelopmentKey::load_or_create(&scratch.0).unwrap();
        let boot = boot_image(&key);
        let apps = apps_in(&boot).unwrap();
        let names: Vec<&str> = apps.iter().map(|app| app.name.as_str()).collect();
        assert_eq!(names, ["blinky", "crasher"], "no ELF, no test fixture, no key list");
        let image = BootImage::parse(&boot).unwrap();
        let package = image.find("crasher").unwrap().elf;
        assert_eq!(apps[1].package, sha256(package));
        assert_eq!(apps[1].grants, sha256(Package::parse(package).unwrap().manifest()));
        assert_eq!(apps[1].component_id, [2; 16]);
        // What `plutond` records and logs for it.
        let keys = package::TrustedKeys::parse(image.find("trusted-keys").unwrap().elf).unwrap();
        let record = tessera_pluton_core::app::record_package("crasher", package, &keys).unwrap();
        assert_eq!(apps[1].measurement(), record.measurement());
        assert_eq!((record.package(), record.grants()), (&apps[1].package, &apps[1].grants));
    }

    #[test]
    fn evidence_init_asked_for_names_no_requester() {
        let mut evidence = verified(&[("blinky", 1, 2, 3)]);
        check_requester(&evidence).unwrap();
        evidence.requester = Some([3; 16]);
        let error = check_requester(&evidence).unwrap_err();
        assert!(error.contains(&format!("the app {} asked for it, but init did", ComponentId([3; 16]))), "{error}");
        assert_eq!(claims_json(&evidence)["requester"], Hex(&[3; 16]).to_string());
        evidence.requester = None;
        assert!(claims_json(&evidence)["requester"].is_null());
    }

    #[test]
    fn a_changed_kernel_may_change_only_the_kernel_and_the_alias() {
        let original =
            Verified { alias_certificate: vec![1], ..verified(&[("blinky", 1, 2, 3), ("crasher", 4, 5, 6)]) };
        let mut changed = original.clone();
        changed.alias_certificate = vec![2];
        changed.measurements[0].1 = [0xb0; 32];
        compare_changed_kernel(&original, 2, &changed, 2).unwrap();
        // The apps measured in another order.
        let mut reordered = changed.clone();
        reordered.measurements.swap(2, 3);
        compare_changed_kernel(&original, 2, &reordered, 2).unwrap();

        let refused = |changed: &Verified, reason: &str| {
            let error = compare_changed_kernel(&original, 2, changed, 2).unwrap_err();
            assert!(error.contains(reason), "{error}");
        };
        let mut same_kernel = changed.clone();
        same_kernel.measurements[0].1 = [0xa0; 32];
        refused(&same_kernel, "the kernel changed but its measurement did not");
        let mut init = changed.clone();
        init.measurements[1].1 = [0xb1; 32];
        refused(&init, "changed the layer-0 measurement 'init'");
        let mut app = changed.clone();
        app.measurements[3].1 = [0xb2; 32];
        refused(&app, "changed the measurement of the app `crasher`");
        let mut fewer = changed.clone();
        fewer.measurements.pop();
        refused(&fewer, "number of app measurements from 2 to 1");
        refused(&Verified { alias_certificate: vec![1], ..changed.clone() }, "the same Alias certificate");
        refused(&Verified { ueid: vec![2; 33], ..changed.clone() }, "the ueid");
        let error = compare_changed_kernel(&original, 2, &changed, 3).unwrap_err();
        assert!(error.contains("from 2 to 3 measurements"), "{error}");
    }

    #[test]
    fn a_changed_app_differs_in_its_package_and_grants_only() {
        let scratch = crate::scratch::Scratch::new("attest");
        let key = DevelopmentKey::load_or_create(&scratch.0).unwrap();
        let boot = boot_image(&key);
        let changed = with_app_changed(&boot, "crasher", 7, &key).unwrap();
        let (before, after) = (apps_in(&boot).unwrap(), apps_in(&changed).unwrap());
        assert_eq!(before[0], after[0], "blinky stays");
        assert_eq!((before[1].name.as_str(), before[1].component_id), (after[1].name.as_str(), after[1].component_id));
        assert_ne!(before[1].package, after[1].package);
        assert_ne!(before[1].grants, after[1].grants);

        // Still signed by the key, still a manifest; only GPIO 7 is new.
        let image = BootImage::parse(&changed).unwrap();
        let keys = package::TrustedKeys::parse(image.find("trusted-keys").unwrap().elf).unwrap();
        let package = package::parse_and_verify(image.find("crasher").unwrap().elf, &keys).unwrap();
        assert_eq!(package.elf(), b"\x7fELF app");
        assert_eq!(package.manifest(), manifest_bytes("Crasher", 2, &[5, 7]));
        let original = BootImage::parse(&boot).unwrap();
        for name in ["init", "blinky", "test-fixture", "trusted-keys"] {
            assert_eq!(image.find(name).unwrap().elf, original.find(name).unwrap().elf, "{name}");
        }

        assert!(with_app_changed(&boot, "uartecho", 7, &key).unwrap_err().contains("no app `uartecho`"));
        assert!(with_app_changed(&boot, "crasher", 5, &key).unwrap_err().contains("grants GPIO 5 already"));
        assert!(with_app_changed(&boot, "init", 7, &key).is_err(), "not a package");
    }

    /// Evidence as `verify` returns it for `apps` (name, package, grants,
    /// component id byte), measured in that order after two layer-0
    /// entries.
    fn verified(apps: &[(&str, u8, u8, u8)]) -> Verified {
        let mut measurements = vec![("kernel".to_string(), [0xa0; 32]), ("init".to_string(), [0xa1; 32])];
        measurements
            .extend(apps.iter().map(|(name, package, grants, _)| {
                (name.to_string(), app_measurement(&[*package; 32], &[*grants; 32]))
            }));
        Verified {
            alias_certificate: Vec::new(),
            nonce: vec![0; 8],
            ueid: vec![1; 33],
            dbgstat: 0,
            profile: tessera_pluton_core::eat::PROFILE.to_string(),
            software_name: "Tessera".to_string(),
            software_version: "0.1.0".to_string(),
            measurements,
            apps: apps
                .iter()
                .map(|(name, package, grants, id)| verifier::App {
                    name: name.to_string(),
                    component_id: [*id; 16],
                    package: [*package; 32],
                    grants: [*grants; 32],
                    summary: "no grants".to_string(),
                })
                .collect(),
            requester: None,
        }
    }

    #[test]
    fn every_app_check_can_fail() {
        let expected = |name: &str, package: u8, grants: u8, id: u8| ExpectedApp {
            name: name.to_string(),
            component_id: [id; 16],
            package: [package; 32],
            grants: [grants; 32],
        };
        let apps = [expected("blinky", 1, 2, 3), expected("crasher", 4, 5, 6)];
        let good = verified(&[("blinky", 1, 2, 3), ("crasher", 4, 5, 6)]);
        check_apps(&good, 2, &apps).unwrap();
        // Claimed and measured in another order than the boot image's.
        check_apps(&verified(&[("crasher", 4, 5, 6), ("blinky", 1, 2, 3)]), 2, &apps).unwrap();

        let refused = |evidence: &Verified, expected: &[ExpectedApp], reason: &str| {
            let error = check_apps(evidence, 2, expected).unwrap_err();
            assert!(error.contains(reason), "{error}");
        };
        refused(&verified(&[("blinky", 1, 2, 3), ("crasher", 9, 5, 6)]), &apps, "package hash");
        refused(&verified(&[("blinky", 1, 2, 3), ("crasher", 4, 9, 6)]), &apps, "grants hash");
        refused(&verified(&[("blinky", 1, 2, 3), ("crasher", 4, 5, 9)]), &apps, "ComponentId");
        refused(&verified(&[("blinky", 1, 2, 3)]), &apps, "app `crasher` is not in the evidence's apps claim");
        refused(&good, &apps[..1], "claims an app `crasher`, which the boot image does not start");
        refused(&verified(&[("blinky", 1, 2, 3), ("blinky", 1, 2, 3)]), &apps, "claims the app `blinky` twice");

        let mut evidence = good.clone();
        evidence.measurements[3].1 = [9; 32];
        refused(&evidence, &apps, "its measurement is 0909");
        // The package hash alone, as the log held it before apps were
        // measured with their grants.
        let mut evidence = good.clone();
        evidence.measurements[3].1 = [4; 32];
        refused(&evidence, &apps, "but SHA-256(package hash || grants hash) of its claim is");
        let mut evidence = good.clone();
        evidence.measurements[3].0 = "hostile".to_string();
        refused(&evidence, &apps, "measurement 'hostile' follows layer 0 but no app claim has that name");
        let mut evidence = good.clone();
        evidence.measurements.pop();
        refused(&evidence, &apps, "the app `crasher` is claimed but has no measurement");
        let mut evidence = good.clone();
        evidence.measurements[3] = evidence.measurements[2].clone();
        refused(&evidence, &apps, "the app `blinky` is measured twice");
    }
}
