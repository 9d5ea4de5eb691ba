//! The Pluton security server's request decoder and its table of clients:
//! what `plutond` checks before it acts (decode, then invoke), without
//! syscalls, so it can be tested and fuzzed on the host
//! (`fuzzing::request_decoding`).
//!
//! # Callers
//!
//! `init` mints one badge per client on `plutond`'s endpoint, and the
//! kernel delivers it with every call (nobody can forge it):
//!
//! | badge | caller |
//! |---|---|
//! | 0 | [`Caller::Loader`]: `init`'s loader |
//! | 1..=[`MAX_CLIENTS`] (16) | [`Caller::App`]`(n)`: the app the loader recorded as client `n` |
//! | anything else | refused: `PermissionDenied` |
//!
//! # Requests
//!
//! The labels and limits are `tessera_abi::app::pluton`'s. "Buffer" requests
//! move bytes through a frame of [`BUFFER_BYTES`] that `plutond` maps
//! while it answers: an app's is the one the loader handed over when it
//! recorded the app (`RECORD_APP` carries it), so an app's request carries
//! no capability; the loader's carries its frame (one capability).
//! `ENTROPY_SOURCE` carries two.
//!
//! | label | request | words | capabilities (app / loader) | who |
//! |---|---|---|---|---|
//! | 1 `DEVICE_ID` | [`Request::DeviceId`] | word 0 = part, 0 or 1 | 0 / 0 | anyone |
//! | 2 `ATTEST` | [`Request::Attest`] | word 0 = nonce length, 8..=64 | 0 / 1 | anyone |
//! | 3 `RANDOM` | [`Request::Random`] | word 0 = length, 1..=4096 | 0 / 1 | anyone |
//! | 4 `SEAL` | [`Request::Seal`] | word 0 = length, 0..=[`MAX_SEAL_INPUT`] (4067) | 0 | apps |
//! | 5 `UNSEAL` | [`Request::Unseal`] | word 0 = length, [`SEAL_OVERHEAD`] (29)..=4096 | 0 | apps |
//! | 6 `SIGN_CHALLENGE` | [`Request::SignChallenge`] | word 0 = length, 1..=[`MAX_CHALLENGE`] (1024) | 0 | apps |
//! | 7 `VERIFY_PACKAGE` | [`Request::VerifyPackage`] | word 0 = boot-image entry | 0 | the loader |
//! | 8 `RECORD_APP` | [`Request::RecordApp`] | word 0 = boot-image entry, word 1 = client, 1..=16 | 1 (the app's buffer) | the loader |
//! | 9 `ENTROPY_SOURCE` | [`Request::EntropySource`] | none | 2 | the loader |
//!
//! Words a request does not use are ignored (the kernel puts received
//! capabilities' handles in the last words).
//!
//! # Errors
//!
//! [`decode`] checks, in this order, and answers the first failure:
//!
//! 1. the badge names a caller, else `PermissionDenied`;
//! 2. the label is known, else `InvalidArgument`;
//! 3. the caller may make the request, else `PermissionDenied` (the
//!    loader has no ComponentId, so it cannot seal, unseal or sign; an
//!    app cannot verify or record packages or give an entropy source);
//! 4. the number of capabilities, else `InvalidArgument`;
//! 5. the words (lengths, part, client), else `InvalidArgument`.
//!
//! What [`decode`] cannot see, `plutond` checks after it (still before it
//! changes anything): that an app's client number was recorded in
//! [`Clients`] (else `PermissionDenied`), that `SIGN_CHALLENGE` comes from
//! an app whose record has `DeviceAuthentication` (else
//! `PermissionDenied`), that an app's `ATTEST` or `SIGN_CHALLENGE` is
//! within its share ([`crate::share`], else `Busy`), the capabilities'
//! types and rights, and that the entropy source is given once.
//!
//! # Clients
//!
//! [`Clients`] holds up to [`MAX_CLIENTS`] app records by client number.
//! Recording the same boot-image entry with the same measurement for the
//! same client again is a restart ([`RecordOutcome::AlreadyRecorded`],
//! nothing changes); any other app for a taken client number, or a second
//! client with a ComponentId another client has, is refused with
//! `SlotOccupied` (two clients with one ComponentId would share a seal
//! key).

use tessera_abi::app::pluton::{
    ATTEST, BUFFER_BYTES, DEVICE_ID, ENTROPY_SOURCE, MAX_CHALLENGE, MAX_CLIENTS, MAX_SEAL_INPUT, RANDOM, RECORD_APP,
    SEAL, SEAL_OVERHEAD, SIGN_CHALLENGE, UNSEAL, VERIFY_PACKAGE,
};
use tessera_abi::Error;

use crate::app::AppRecord;
use crate::eat::{MAX_NONCE, MIN_NONCE};

/// The loader's badge.
pub const LOADER_BADGE: u32 = 0;
/// The number of capabilities a buffer request carries: the loader's
/// frame; an app's buffer was recorded with it.
pub const fn buffer_capabilities(caller: Caller) -> u32 {
    match caller {
        Caller::Loader => 1,
        Caller::App(_) => 0,
    }
}
/// The number of capabilities `ENTROPY_SOURCE` carries: the virtio-mmio
/// transport page and a 16 KiB frame for its queue and buffer.
pub const ENTROPY_SOURCE_CAPABILITIES: u32 = 2;

/// Who sent a request, from its badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// `init`'s loader (badge 0).
    Loader,
    /// The app recorded as this client number (1..=[`MAX_CLIENTS`]).
    App(u32),
}

impl Caller {
    /// The caller with `badge`; `PermissionDenied` for a badge that names
    /// none.
    pub fn from_badge(badge: u32) -> Result<Caller, Error> {
        match badge {
            LOADER_BADGE => Ok(Caller::Loader),
            client if (1..=MAX_CLIENTS).contains(&client) => Ok(Caller::App(client)),
            _ => Err(Error::PermissionDenied),
        }
    }
}

/// A checked request (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Part 0 or 1 of the DeviceID identifier.
    DeviceId {
        /// 0: bytes 0..16, 1: bytes 16..20.
        part: u32,
    },
    /// Evidence for the nonce at the start of the buffer.
    Attest {
        /// 8..=64.
        nonce_len: usize,
    },
    /// Random bytes into the buffer.
    Random {
        /// 1..=[`BUFFER_BYTES`].
        len: usize,
    },
    /// Seal the buffer's first `len` bytes.
    Seal {
        /// 0..=[`MAX_SEAL_INPUT`].
        len: usize,
    },
    /// Unseal the buffer's first `len` bytes.
    Unseal {
        /// [`SEAL_OVERHEAD`]..=[`BUFFER_BYTES`].
        len: usize,
    },
    /// Sign the buffer's first `len` bytes with the app's device
    /// authentication key.
    SignChallenge {
        /// 1..=[`MAX_CHALLENGE`].
        len: usize,
    },
    /// Verify the package at a boot-image entry.
    VerifyPackage {
        /// The boot-image entry (checked by `plutond` against the image).
        entry: u32,
    },
    /// Record the package at a boot-image entry as a client.
    RecordApp {
        /// The boot-image entry.
        entry: u32,
        /// 1..=[`MAX_CLIENTS`].
        client: u32,
    },
    /// The entropy source's two capabilities.
    EntropySource,
}

/// Who may make a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Allowed {
    Anyone,
    Apps,
    Loader,
}

/// Checks a request: its `label`, `words`, number of capabilities `caps`
/// and `badge` (module docs). Changes nothing; never panics.
pub fn decode(label: u32, words: [u32; 4], caps: u32, badge: u32) -> Result<(Caller, Request), Error> {
    let caller = Caller::from_badge(badge)?;
    let (allowed, wanted_caps) = match label {
        DEVICE_ID => (Allowed::Anyone, 0),
        ATTEST | RANDOM => (Allowed::Anyone, buffer_capabilities(caller)),
        SEAL | UNSEAL | SIGN_CHALLENGE => (Allowed::Apps, buffer_capabilities(caller)),
        VERIFY_PACKAGE => (Allowed::Loader, 0),
        RECORD_APP => (Allowed::Loader, 1),
        ENTROPY_SOURCE => (Allowed::Loader, ENTROPY_SOURCE_CAPABILITIES),
        _ => return Err(Error::InvalidArgument),
    };
    let permitted = match allowed {
        Allowed::Anyone => true,
        Allowed::Apps => matches!(caller, Caller::App(_)),
        Allowed::Loader => caller == Caller::Loader,
    };
    if !permitted {
        return Err(Error::PermissionDenied);
    }
    if caps != wanted_caps {
        return Err(Error::InvalidArgument);
    }
    let in_range = |range: core::ops::RangeInclusive<usize>| match usize::try_from(words[0]) {
        Ok(len) if range.contains(&len) => Ok(len),
        _ => Err(Error::InvalidArgument),
    };
    let request = match label {
        DEVICE_ID => match words[0] {
            part @ (0 | 1) => Request::DeviceId { part },
            _ => return Err(Error::InvalidArgument),
        },
        ATTEST => Request::Attest { nonce_len: in_range(MIN_NONCE..=MAX_NONCE)? },
        RANDOM => Request::Random { len: in_range(1..=BUFFER_BYTES)? },
        SEAL => Request::Seal { len: in_range(0..=MAX_SEAL_INPUT)? },
        UNSEAL => Request::Unseal { len: in_range(SEAL_OVERHEAD..=BUFFER_BYTES)? },
        SIGN_CHALLENGE => Request::SignChallenge { len: in_range(1..=MAX_CHALLENGE)? },
        VERIFY_PACKAGE => Request::VerifyPackage { entry: words[0] },
        RECORD_APP => {
            if !(1..=MAX_CLIENTS).contains(&words[1]) {
                return Err(Error::InvalidArgument);
            }
            Request::RecordApp { entry: words[0], client: words[1] }
        }
        _ => Request::EntropySource,
    };
    Ok((caller, request))
}

/// What [`Clients::record`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The client number was free; the app is now recorded there.
    Recorded,
    /// The same app (entry and measurement) was already recorded there:
    /// a restart. Nothing changed.
    AlreadyRecorded,
}

/// A recorded client: its boot-image entry and record.
#[derive(Clone, Debug)]
struct Client {
    entry: u32,
    record: AppRecord,
}

/// The apps `plutond` answers, by client number (module docs).
#[derive(Clone, Debug)]
pub struct Clients {
    slots: [Option<Client>; MAX_CLIENTS as usize],
}

impl Clients {
    /// No clients.
    pub const fn new() -> Clients {
        Clients { slots: [const { None }; MAX_CLIENTS as usize] }
    }

    /// Records `record`, from boot-image `entry`, as client `client`
    /// (1..=[`MAX_CLIENTS`], else `InvalidArgument`). A different app for
    /// a taken client number, or a ComponentId another client has, is
    /// `SlotOccupied`.
    pub fn record(&mut self, client: u32, entry: u32, record: AppRecord) -> Result<RecordOutcome, Error> {
        let index = Self::index(client).ok_or(Error::InvalidArgument)?;
        if let Some(existing) = &self.slots[index] {
            let same = existing.entry == entry && existing.record.measurement() == record.measurement();
            return if same { Ok(RecordOutcome::AlreadyRecorded) } else { Err(Error::SlotOccupied) };
        }
        if self.iter().any(|(_, other)| other.component_id() == record.component_id()) {
            return Err(Error::SlotOccupied);
        }
        self.slots[index] = Some(Client { entry, record });
        Ok(RecordOutcome::Recorded)
    }

    /// The app recorded as `client`, if any.
    pub fn get(&self, client: u32) -> Option<&AppRecord> {
        let slot = self.slots.get(Self::index(client)?)?;
        slot.as_ref().map(|client| &client.record)
    }

    /// The recorded apps with their client numbers, in client order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &AppRecord)> + '_ {
        (1..).zip(self.slots.iter()).filter_map(|(client, slot)| slot.as_ref().map(|slot| (client, &slot.record)))
    }

    /// How many apps are recorded.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether no app is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn index(client: u32) -> Option<usize> {
        (1..=MAX_CLIENTS).contains(&client).then(|| client as usize - 1)
    }
}

impl Default for Clients {
    fn default() -> Self {
        Clients::new()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::app::record_package;
    use crate::app::testing::{content, manifest, package, trusted_keys};
    use tessera_abi::package::TrustedKeys;

    const APP: u32 = 3;

    fn app_record(name: &str, id: u8, uarts: &'static [u8]) -> AppRecord {
        let keys = trusted_keys(&[1]);
        let mut content = content("App", id);
        content.uarts = uarts;
        let package = package(b"\x7fELF app", &manifest(&content), 1);
        record_package(name, &package, &TrustedKeys::parse(&keys).unwrap()).unwrap()
    }

    #[test]
    fn badges_name_callers() {
        assert_eq!(Caller::from_badge(0), Ok(Caller::Loader));
        assert_eq!(Caller::from_badge(1), Ok(Caller::App(1)));
        assert_eq!(Caller::from_badge(MAX_CLIENTS), Ok(Caller::App(MAX_CLIENTS)));
        assert_eq!(Caller::from_badge(MAX_CLIENTS + 1), Err(Error::PermissionDenied));
        assert_eq!(Caller::from_badge(u32::MAX), Err(Error::PermissionDenied));
        assert_eq!(decode(DEVICE_ID, [0; 4], 0, MAX_CLIENTS + 1), Err(Error::PermissionDenied));
    }

    #[test]
    fn good_requests_decode() {
        let cases = [
            (DEVICE_ID, [1, 0, 0, 0], 0, APP, Request::DeviceId { part: 1 }),
            (ATTEST, [8, 0, 0, 0], 1, 0, Request::Attest { nonce_len: 8 }),
            (ATTEST, [64, 0, 0, 0], 0, APP, Request::Attest { nonce_len: 64 }),
            (RANDOM, [1, 0, 0, 0], 1, 0, Request::Random { len: 1 }),
            (RANDOM, [4096, 0, 0, 0], 0, APP, Request::Random { len: 4096 }),
            (SEAL, [0, 0, 0, 0], 0, APP, Request::Seal { len: 0 }),
            (SEAL, [4067, 0, 0, 0], 0, APP, Request::Seal { len: 4067 }),
            (UNSEAL, [29, 0, 0, 0], 0, APP, Request::Unseal { len: 29 }),
            (UNSEAL, [4096, 0, 0, 0], 0, APP, Request::Unseal { len: 4096 }),
            (SIGN_CHALLENGE, [1, 0, 0, 0], 0, APP, Request::SignChallenge { len: 1 }),
            (SIGN_CHALLENGE, [1024, 0, 0, 0], 0, APP, Request::SignChallenge { len: 1024 }),
            (VERIFY_PACKAGE, [7, 0, 0, 0], 0, 0, Request::VerifyPackage { entry: 7 }),
            (RECORD_APP, [7, 16, 0, 0], 1, 0, Request::RecordApp { entry: 7, client: 16 }),
            (ENTROPY_SOURCE, [0, 0, 9, 10], 2, 0, Request::EntropySource),
        ];
        for (label, words, caps, badge, request) in cases {
            let caller = if badge == 0 { Caller::Loader } else { Caller::App(badge) };
            assert_eq!(decode(label, words, caps, badge), Ok((caller, request)), "label {label} words {words:?}");
        }
    }

    #[test]
    fn limits_are_checked() {
        let cases = [
            (DEVICE_ID, 2, APP),
            (ATTEST, 7, APP),
            (ATTEST, 65, APP),
            (RANDOM, 0, APP),
            (RANDOM, 4097, APP),
            (SEAL, 4068, APP),
            (SEAL, u32::MAX, APP),
            (UNSEAL, 28, APP),
            (UNSEAL, 4097, APP),
            (SIGN_CHALLENGE, 0, APP),
            (SIGN_CHALLENGE, 1025, APP),
        ];
        for (label, word, badge) in cases {
            assert_eq!(decode(label, [word, 0, 0, 0], 0, badge), Err(Error::InvalidArgument), "{label} {word}");
        }
        assert_eq!(decode(RECORD_APP, [1, 0, 0, 0], 1, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(RECORD_APP, [1, MAX_CLIENTS + 1, 0, 0], 1, 0), Err(Error::InvalidArgument));
    }

    #[test]
    fn capability_counts_are_checked() {
        assert_eq!(decode(DEVICE_ID, [0; 4], 1, APP), Err(Error::InvalidArgument));
        assert_eq!(decode(RANDOM, [16, 0, 0, 0], 1, APP), Err(Error::InvalidArgument));
        assert_eq!(decode(RANDOM, [16, 0, 0, 0], 0, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(SEAL, [16, 0, 0, 0], 1, APP), Err(Error::InvalidArgument));
        assert_eq!(decode(VERIFY_PACKAGE, [1, 0, 0, 0], 1, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(RECORD_APP, [1, 1, 0, 0], 0, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(ENTROPY_SOURCE, [0; 4], 1, 0), Err(Error::InvalidArgument));
        assert_eq!(decode(ENTROPY_SOURCE, [0; 4], 3, 0), Err(Error::InvalidArgument));
    }

    #[test]
    fn callers_are_checked() {
        for label in [VERIFY_PACKAGE, RECORD_APP, ENTROPY_SOURCE] {
            let caps = [0, 1, 2][usize::from(label == RECORD_APP) + 2 * usize::from(label == ENTROPY_SOURCE)];
            assert_eq!(decode(label, [1, 1, 0, 0], caps, APP), Err(Error::PermissionDenied), "label {label}");
        }
        for label in [SEAL, UNSEAL, SIGN_CHALLENGE] {
            assert_eq!(decode(label, [100, 0, 0, 0], 1, 0), Err(Error::PermissionDenied), "label {label}");
        }
        // The caller is checked before the rest of the request.
        assert_eq!(decode(SEAL, [u32::MAX, 0, 0, 0], 5, 0), Err(Error::PermissionDenied));
    }

    #[test]
    fn unknown_labels_are_refused() {
        for label in [0, 10, 11, u32::MAX] {
            assert_eq!(decode(label, [0; 4], 0, 0), Err(Error::InvalidArgument));
        }
    }

    #[test]
    fn clients_are_recorded_once() {
        let mut clients = Clients::new();
        assert!(clients.is_empty());
        let hello = app_record("hello", 0x11, &[]);
        assert_eq!(clients.record(2, 5, hello.clone()), Ok(RecordOutcome::Recorded));
        // A restart of the same app.
        assert_eq!(clients.record(2, 5, hello.clone()), Ok(RecordOutcome::AlreadyRecorded));
        // Another entry, or another version of the app, for the same client.
        assert_eq!(clients.record(2, 6, hello.clone()), Err(Error::SlotOccupied));
        assert_eq!(clients.record(2, 5, app_record("hello", 0x11, &[1])), Err(Error::SlotOccupied));
        // The same ComponentId for another client.
        assert_eq!(clients.record(3, 6, app_record("hello-2", 0x11, &[1])), Err(Error::SlotOccupied));
        assert_eq!(clients.record(0, 6, app_record("zero", 0x12, &[])), Err(Error::InvalidArgument));
        assert_eq!(clients.record(MAX_CLIENTS + 1, 6, app_record("x", 0x12, &[])), Err(Error::InvalidArgument));
        let world = app_record("world", 0x22, &[0]);
        assert_eq!(clients.record(1, 7, world.clone()), Ok(RecordOutcome::Recorded));
        assert_eq!(clients.get(2), Some(&hello));
        assert_eq!(clients.get(1), Some(&world));
        assert_eq!(clients.get(3), None);
        assert_eq!(clients.get(0), None);
        assert_eq!(clients.get(u32::MAX), None);
        let listed: std::vec::Vec<(u32, &str)> = clients.iter().map(|(client, app)| (client, app.name())).collect();
        assert_eq!(listed, [(1, "world"), (2, "hello")]);
        assert_eq!(clients.len(), 2);
    }

    #[test]
    fn every_client_number_can_be_used() {
        let mut clients = Clients::new();
        for client in 1..=MAX_CLIENTS {
            let record = app_record("app", client as u8, &[]);
            assert_eq!(clients.record(client, client, record), Ok(RecordOutcome::Recorded));
        }
        assert_eq!(clients.len(), MAX_CLIENTS as usize);
        assert!(clients.iter().map(|(client, _)| client).eq(1..=MAX_CLIENTS));
    }
}
