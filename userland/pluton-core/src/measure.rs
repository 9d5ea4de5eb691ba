//! Measured boot: the Pluton security server's measurement log and the
//! layer-0 DICE inputs it gives.
//!
//! Every measurement is a name and the SHA-256 of what ran. `plutond`
//! makes the first entries itself at start, from the two read-only
//! capabilities the kernel gives it (docs/pluton.md, "The boot chain"):
//!
//! 1. `kernel`: the kernel's code and read-only data as loaded in RAM (the
//!    kernel ELF's read-only `PT_LOAD` segments, byte for byte);
//! 2. each system program in the boot image (the entries that are ELF
//!    files: `plutond`, `init`, the servers), by its boot-image name, in
//!    boot-image order.
//!
//! These are layer 0. Later entries (the apps the loader starts) are
//! appended by the loader alone; nothing removes or rewrites an entry
//! ([`MeasurementLog`] has no method that could).
//!
//! # Layer-0 inputs
//!
//! | input | value |
//! |---|---|
//! | code | SHA-256 over every layer-0 entry in order: `len(name) (1 byte) \|\| name \|\| sha256` |
//! | config | SHA-256 of the boot arguments without the words that start with `attest.` (the verifier's nonce must not change the device's keys) |
//! | authority | SHA-256 of the boot image's first `trusted-keys` entry (the keys app packages must be signed with, the one package verification reads), zeros if it has none |
//! | mode | [`Mode::Debug`]: on QEMU the host can read and change all guest memory at any time |
//! | hidden | the code input again: nothing signs the system software yet, so CDI_Seal (which leaves out code, for updates an authority signs) must not outlive it; a system update makes apps' sealed data unreadable, an app update does not |

use sha2::{Digest, Sha256};
use tessera_abi::bootimage::BootImage;

use crate::dice::{LayerInputs, Mode, HASH_SIZE};

/// The most measurements the log holds (layer 0 and the apps).
pub const MAX_MEASUREMENTS: usize = 64;
/// The longest name a measurement has (a boot-image name or an app's).
pub const MAX_NAME: usize = tessera_abi::NAME_MAX;
/// The boot-argument prefix that is not measured (see the module docs).
pub const UNMEASURED_PREFIX: &str = "attest.";
/// The boot image entry whose hash is the authority input.
pub const TRUSTED_KEYS: &str = "trusted-keys";

/// One measurement: a name and a SHA-256 hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Measurement {
    name: [u8; MAX_NAME],
    name_len: u8,
    /// The SHA-256 of what was measured.
    pub sha256: [u8; HASH_SIZE],
}

impl Measurement {
    /// A measurement; `None` if the name is empty or longer than
    /// [`MAX_NAME`] bytes.
    pub fn new(name: &str, sha256: [u8; HASH_SIZE]) -> Option<Measurement> {
        if name.is_empty() || name.len() > MAX_NAME {
            return None;
        }
        let mut bytes = [0; MAX_NAME];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Some(Measurement { name: bytes, name_len: name.len() as u8, sha256 })
    }

    /// What was measured.
    pub fn name(&self) -> &str {
        // Only `new` fills the name, from a `&str`, cut at its length.
        core::str::from_utf8(&self.name[..self.name_len as usize]).unwrap_or("")
    }
}

impl core::fmt::Debug for Measurement {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(formatter, "{} {}", self.name(), crate::Hex(&self.sha256))
    }
}

/// Why the log refused an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogError {
    /// It holds [`MAX_MEASUREMENTS`] entries already.
    Full,
}

/// The append-only measurement log.
#[derive(Clone)]
pub struct MeasurementLog {
    entries: [Measurement; MAX_MEASUREMENTS],
    len: usize,
    layer_zero: usize,
}

impl MeasurementLog {
    const EMPTY: Measurement = Measurement { name: [0; MAX_NAME], name_len: 0, sha256: [0; HASH_SIZE] };

    /// An empty log.
    pub const fn new() -> MeasurementLog {
        MeasurementLog { entries: [Self::EMPTY; MAX_MEASUREMENTS], len: 0, layer_zero: 0 }
    }

    /// Appends `measurement`.
    pub fn append(&mut self, measurement: Measurement) -> Result<(), LogError> {
        let slot = self.entries.get_mut(self.len).ok_or(LogError::Full)?;
        *slot = measurement;
        self.len += 1;
        Ok(())
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> &[Measurement] {
        &self.entries[..self.len]
    }

    /// The layer-0 entries (the kernel and the system programs).
    pub fn layer_zero(&self) -> &[Measurement] {
        &self.entries[..self.layer_zero]
    }
}

impl Default for MeasurementLog {
    fn default() -> Self {
        MeasurementLog::new()
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; HASH_SIZE] {
    Sha256::digest(bytes).into()
}

/// Why layer 0 could not be measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeasureError {
    /// A boot-image name longer than [`MAX_NAME`].
    NameTooLong,
    /// More system programs than the log holds.
    TooMany,
}

/// Measures layer 0: the kernel's code (`kernel_code`), the system
/// programs in `boot_image`, and the boot arguments; returns the log with
/// its layer-0 entries and the layer's DICE inputs (module docs).
pub fn measure_layer_zero(
    kernel_code: &[u8],
    boot_image: &BootImage<'_>,
    bootargs: &str,
) -> Result<(MeasurementLog, LayerInputs), MeasureError> {
    let mut log = MeasurementLog::new();
    let inputs = measure_layer_zero_into(&mut log, kernel_code, boot_image, bootargs)?;
    Ok((log, inputs))
}

/// [`measure_layer_zero`] into a log the caller keeps (on the device, on
/// its heap: the log is a few KiB); the log must be empty.
pub fn measure_layer_zero_into(
    log: &mut MeasurementLog,
    kernel_code: &[u8],
    boot_image: &BootImage<'_>,
    bootargs: &str,
) -> Result<LayerInputs, MeasureError> {
    if !log.entries().is_empty() {
        return Err(MeasureError::TooMany);
    }
    let kernel = Measurement::new("kernel", sha256(kernel_code)).ok_or(MeasureError::NameTooLong)?;
    log.append(kernel).map_err(|_| MeasureError::TooMany)?;
    for program in boot_image.iter() {
        if program.elf.starts_with(b"\x7fELF") {
            let measurement = Measurement::new(program.name, sha256(program.elf)).ok_or(MeasureError::NameTooLong)?;
            log.append(measurement).map_err(|_| MeasureError::TooMany)?;
        }
    }
    // The first entry of that name: the one package verification uses.
    let authority = boot_image.find(TRUSTED_KEYS).map_or([0; HASH_SIZE], |keys| sha256(keys.elf));
    log.layer_zero = log.len;
    let code = code_hash(log.layer_zero());
    Ok(LayerInputs {
        code,
        config: config_hash(bootargs),
        authority,
        mode: Mode::Debug,
        // No one signs the system software yet, so the authority does not
        // vouch for it: the code goes into the hidden input too, which
        // binds CDI_Seal (and every app's seal key) to this exact layer 0.
        hidden: code,
    })
}

/// The layer's code input: SHA-256 over `len(name) || name || sha256` of
/// each measurement in order.
pub fn code_hash(measurements: &[Measurement]) -> [u8; HASH_SIZE] {
    let mut hasher = Sha256::new();
    for measurement in measurements {
        hasher.update([measurement.name_len]);
        hasher.update(measurement.name().as_bytes());
        hasher.update(measurement.sha256);
    }
    hasher.finalize().into()
}

/// The layer's config input: SHA-256 of the boot arguments' words, without
/// those starting with [`UNMEASURED_PREFIX`], joined by one space.
pub fn config_hash(bootargs: &str) -> [u8; HASH_SIZE] {
    let mut hasher = Sha256::new();
    let mut first = true;
    for word in bootargs.split_ascii_whitespace().filter(|word| !word.starts_with(UNMEASURED_PREFIX)) {
        if !first {
            hasher.update(b" ");
        }
        hasher.update(word.as_bytes());
        first = false;
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attest_words_do_not_change_the_config() {
        assert_eq!(config_hash("bench  quiet"), config_hash("attest.nonce=00ff bench quiet attest.x"));
        assert_eq!(config_hash(""), sha256(b""));
        assert_eq!(config_hash(" a b "), sha256(b"a b"));
        assert_ne!(config_hash("bench"), config_hash("kernel.panic-test"));
    }

    #[test]
    fn the_log_is_bounded_and_keeps_its_order() {
        let mut log = MeasurementLog::new();
        for index in 0..MAX_MEASUREMENTS {
            log.append(Measurement::new("app", [index as u8; 32]).unwrap()).unwrap();
        }
        assert_eq!(log.append(Measurement::new("one-more", [0; 32]).unwrap()), Err(LogError::Full));
        assert_eq!(log.entries().len(), MAX_MEASUREMENTS);
        assert!(log.entries().iter().enumerate().all(|(index, entry)| entry.sha256 == [index as u8; 32]));
        assert!(log.layer_zero().is_empty());
    }

    #[test]
    fn names_are_checked() {
        assert!(Measurement::new("", [0; 32]).is_none());
        assert!(Measurement::new(core::str::from_utf8(&[b'a'; MAX_NAME + 1]).unwrap(), [0; 32]).is_none());
        assert_eq!(Measurement::new("init", [1; 32]).unwrap().name(), "init");
    }

    #[test]
    fn layer_zero_binds_seal_inputs_to_the_code_and_the_first_key_list() {
        extern crate std;
        let programs: [(&str, &[u8]); 4] = [
            ("init", b"\x7fELF init"),
            ("trusted-keys", b"TKEY first"),
            ("app", b"TPKG app"),
            ("trusted-keys", b"TKEY second"),
        ];
        let mut bytes = std::vec![0u8; tessera_abi::bootimage::image_size(programs.iter().map(|(_, b)| b.len()))];
        tessera_abi::bootimage::write(&programs, &mut bytes).unwrap();
        let image = BootImage::parse(&bytes).unwrap();
        let (log, inputs) = measure_layer_zero(b"kernel code", &image, "attest.nonce=00").unwrap();
        let names: std::vec::Vec<&str> = log.layer_zero().iter().map(Measurement::name).collect();
        assert_eq!(names, ["kernel", "init"], "only the kernel and ELF entries are layer 0");
        assert_eq!(inputs.authority, sha256(b"TKEY first"));
        assert_eq!(inputs.hidden, inputs.code, "CDI_Seal is bound to the code");
        assert_eq!(inputs.config, config_hash(""));
        assert_eq!(inputs.mode, Mode::Debug);
    }

    #[test]
    fn the_code_hash_depends_on_every_name_and_hash() {
        let one = [Measurement::new("kernel", [1; 32]).unwrap(), Measurement::new("init", [2; 32]).unwrap()];
        let renamed = [Measurement::new("kernel", [1; 32]).unwrap(), Measurement::new("initx", [2; 32]).unwrap()];
        let changed = [Measurement::new("kernel", [1; 32]).unwrap(), Measurement::new("init", [3; 32]).unwrap()];
        assert_ne!(code_hash(&one), code_hash(&renamed));
        assert_ne!(code_hash(&one), code_hash(&changed));
        assert_ne!(code_hash(&one), code_hash(&one[..1]));
    }
}
