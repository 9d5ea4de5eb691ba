//! `cargo xtask attest`: boots the device, hands it a verifier's nonce,
//! collects its attestation evidence and checks it on the host, as a
//! remote verifier would (docs/pluton.md, "Attestation").
//!
//! The nonce reaches the device as the boot argument `attest.nonce=HEX`
//! (`init` asks the Pluton security server for evidence once the apps have
//! started and prints it as `ATTEST evidence` lines); the boot argument is
//! not part of the measured configuration, so the nonce does not change the
//! device's keys. The check is `tessera_pluton_core::verifier::verify`:
//! the chain to this checkout's manufacturer CA, the signature, the nonce,
//! and the layer-0 measurements against the ones computed here from the
//! kernel ELF and boot image just built. `openssl verify` then checks the
//! written chain too, when `openssl` is installed.
//!
//! Written to `target/attest/`: `evidence.cbor` (the COSE_Sign1, also when
//! the check fails), `chain.pem` (Alias, DeviceID, CA) and `claims.json`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use tessera_abi::bootimage::BootImage;
use tessera_pluton_core::measure::measure_layer_zero;
use tessera_pluton_core::verifier::{self, Expected, Verified};
use tessera_pluton_core::Hex;

use crate::image::{self, Image};
use crate::provision::{self, Provisioned};
use crate::qemu::{self, Console};
use crate::{show, target_dir, Result};

/// How long a boot may take to give its evidence.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default nonce's length.
const NONCE_BYTES: usize = 32;

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

/// The layer-0 measurements the device should report for the kernel ELF
/// and boot image of `image` (built already), computed as `plutond` does.
pub fn expected_layer_zero(image: Image) -> Result<Vec<(String, [u8; 32])>> {
    let kernel_path = image::kernel_elf_path(image);
    let kernel = fs::read(&kernel_path).map_err(|err| format!("cannot read {}: {err}", show(&kernel_path)))?;
    let code = crate::elf::measured_kernel_code(&kernel).map_err(|err| format!("{}: {err}", show(&kernel_path)))?;
    let boot_path = image::boot_image_path(image);
    let boot = fs::read(&boot_path).map_err(|err| format!("cannot read {}: {err}", show(&boot_path)))?;
    let boot_image = BootImage::parse(&boot).map_err(|err| format!("{}: {err:?}", show(&boot_path)))?;
    let (log, _) = measure_layer_zero(&code, &boot_image, "").map_err(|err| format!("cannot measure: {err:?}"))?;
    Ok(log.layer_zero().iter().map(|entry| (entry.name().to_string(), entry.sha256)).collect())
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

/// Checks `evidence` against this checkout's identity and the expected
/// measurements.
pub fn check(
    evidence: &[u8],
    nonce: &[u8],
    provisioned: &Provisioned,
    layer_zero: &[(String, [u8; 32])],
) -> std::result::Result<Verified, verifier::VerifyError> {
    verifier::verify(
        evidence,
        &Expected {
            nonce,
            ca_certificate: &provisioned.ca_certificate,
            device_id_certificate: &provisioned.device_id_certificate,
            layer_zero: Some(layer_zero),
        },
    )
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
/// certificate as untrusted intermediate and the CA as trust anchor:
/// `Some(output)` when it accepted, an error when it refused, `None` when
/// `openssl` is not installed.
pub fn openssl_verify(directory: &Path, alias: &[u8], provisioned: &Provisioned) -> Result<Option<String>> {
    let alias_path = directory.join("alias.pem");
    fs::write(&alias_path, provision::to_pem(alias, "CERTIFICATE")?)
        .map_err(|err| format!("cannot write {}: {err}", show(&alias_path)))?;
    let output = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(provisioned.path(provision::CA_CERTIFICATE_FILE))
        .arg("-untrusted")
        .arg(provisioned.path(provision::DEVICE_ID_FILE))
        .arg(&alias_path)
        .output();
    let Ok(output) = output else { return Ok(None) };
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(Some(text.trim().to_string()))
    } else {
        Err(format!("openssl refused the chain:\n{}", crate::indent(&text)))
    }
}

/// `cargo xtask attest`.
pub fn run(args: &AttestArgs) -> Result<ExitCode> {
    qemu::ensure_qemu()?;
    let provisioned = provision::ensure(&crate::workspace_root())?;
    let nonce = match &args.nonce {
        Some(hex) => parse_nonce(hex)?,
        None => random_nonce()?,
    };
    let kernel = image::build_system(args.image)?;
    let layer_zero = expected_layer_zero(args.image)?;
    println!("==> booting the {} image with nonce {}", args.image.name(), Hex(&nonce));
    let output = boot_for_evidence(args.image, &kernel, &nonce, "")?;
    let evidence =
        evidence_in(&output).map_err(|err| format!("{err}; the device's output:\n{}", crate::indent(&output)))?;
    let directory = output_dir();
    fs::create_dir_all(&directory).map_err(|err| format!("cannot create {}: {err}", show(&directory)))?;
    let evidence_path = directory.join("evidence.cbor");
    fs::write(&evidence_path, &evidence).map_err(|err| format!("cannot write {}: {err}", show(&evidence_path)))?;
    println!("==> {} bytes of evidence in {}", evidence.len(), show(&evidence_path));
    let verified = match check(&evidence, &nonce, &provisioned, &layer_zero) {
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
        Ok(Some(_)) => println!("==> openssl verify accepts {}", show(&chain)),
        Ok(None) => println!("==> openssl is not installed: the chain was checked here only"),
        Err(error) => {
            println!("verdict: FAILED: {error}");
            return Ok(ExitCode::FAILURE);
        }
    }
    println!(
        "verdict: PASSED: signed by the Alias key of DeviceID {}, chained to {}",
        Hex(&provisioned.device_id()),
        show(&provisioned.path(provision::CA_CERTIFICATE_FILE))
    );
    println!("  nonce        {}", Hex(&verified.nonce));
    println!("  ueid         {}", Hex(&verified.ueid));
    println!("  software     {} {}", verified.software_name, verified.software_version);
    println!("  debug status {} (enabled: QEMU's host can read the guest)", verified.dbgstat);
    for (name, hash) in &verified.measurements {
        println!("  measurement  {name:<10} {}", Hex(hash));
    }
    for app in &verified.apps {
        println!("  app          {} ({}): {}", app.name, Hex(&app.component_id), app.summary);
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

/// One boot's evidence, checked: the nonce, the measurements expected for
/// `image`, the chain (here and with `openssl verify`).
fn attested(image: Image, kernel: &Path, provisioned: &Provisioned) -> Result<(Vec<u8>, Vec<u8>, Verified)> {
    let nonce = random_nonce()?;
    let layer_zero = expected_layer_zero(image)?;
    let output = boot_for_evidence(image, kernel, &nonce, "")?;
    let evidence =
        evidence_in(&output).map_err(|err| format!("{err}; the device's output:\n{}", crate::indent(&output)))?;
    let verified = check(&evidence, &nonce, provisioned, &layer_zero)
        .map_err(|err| format!("the {} image's evidence was refused: {err}", image.name()))?;
    let directory = output_dir().join(format!("test-{}", image.name()));
    fs::create_dir_all(&directory).map_err(|err| format!("cannot create {}: {err}", show(&directory)))?;
    match openssl_verify(&directory, &verified.alias_certificate, provisioned)? {
        Some(_) => Ok((nonce, evidence, verified)),
        None => Err("openssl is not installed (`.ci/run` installs it; or apt-get install openssl)".to_string()),
    }
}

/// The `qemu:attest` test: the user image's evidence passes the host check
/// and `openssl verify`; a second boot gives the same Alias key and its
/// evidence answers only its own nonce; the test image (another kernel and
/// `init`) gives a different Alias key and different measurements while
/// the DeviceID stays.
pub fn scenario(user_kernel: &Path, test_kernel: &Path) -> Result<()> {
    let provisioned = provision::ensure(&crate::workspace_root())?;
    let (first_nonce, first_evidence, first) = attested(Image::User, user_kernel, &provisioned)?;
    let (second_nonce, _, second) = attested(Image::User, user_kernel, &provisioned)?;
    if first.alias_certificate != second.alias_certificate {
        return Err("two boots of the same image gave different Alias certificates".to_string());
    }
    if check(&first_evidence, &second_nonce, &provisioned, &expected_layer_zero(Image::User)?).is_ok() {
        return Err(format!("evidence for nonce {} passed for nonce {}", Hex(&first_nonce), Hex(&second_nonce)));
    }
    let (_, _, other) = attested(Image::Test, test_kernel, &provisioned)?;
    if other.alias_certificate == first.alias_certificate {
        return Err("a different kernel and init gave the same Alias certificate".to_string());
    }
    if other.ueid != first.ueid {
        return Err("the ueid (from the DeviceID) changed with the software".to_string());
    }
    for name in ["kernel", "init"] {
        let hash = |verified: &Verified| verified.measurements.iter().find(|(n, _)| n == name).map(|(_, hash)| *hash);
        if hash(&first).is_none() || hash(&first) == hash(&other) {
            return Err(format!("the measurement of '{name}' did not change between the user and test images"));
        }
    }
    Ok(())
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
}
