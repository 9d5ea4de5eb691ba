//! The Pluton security server: the device's identity, randomness, sealed
//! data and device authentication, without the app ever holding a key.
//!
//! Every app gets the server (`init` grants it to all of them): an
//! endpoint badged with the app's client number and a one-page request
//! buffer the server was given when `init` recorded the app: requests
//! that move bytes put them there
//! (`tessera_abi::app::pluton` is the protocol, docs/pluton.md the
//! design). Keys stay in the server; what an app gets is bound to its
//! ComponentId: [`Pluton::seal`]ed data unseals only in the same app, on
//! the same device, and [`Pluton::sign_challenge`] needs the manifest's
//! `DeviceAuthentication`.
//!
//! ```ignore
//! let pluton = app.pluton()?;
//! let mut nonce = [0u8; 16];
//! pluton.random(&mut nonce)?;
//!
//! let mut sealed = [0u8; 64];
//! let n = pluton.seal(b"wifi password", &mut sealed)?;
//! let mut plain = [0u8; 64];
//! let m = pluton.unseal(&sealed[..n], &mut plain)?;
//! assert_eq!(&plain[..m], b"wifi password");
//!
//! log!("device {}", pluton.device_id()?);
//! match pluton.sign_challenge(b"server's challenge") {
//!     Ok(signature) => log!("signed with {:02x?}", &signature.public_key[..4]),
//!     Err(Error::NotGranted(_)) => log!("no DeviceAuthentication in the manifest"),
//!     Err(other) => return Err(other),
//! }
//! ```

use core::fmt;

use tessera_abi::app::pluton::{
    BUFFER_BYTES, DEVICE_ID, DEVICE_ID_BYTES, MAX_CHALLENGE, MAX_SEAL_INPUT, RANDOM, SEAL, SEAL_OVERHEAD,
    SIGN_CHALLENGE, UNSEAL,
};
use tessera_abi::Handle;
use tessera_rt::{call, Mapping, Message, Timeout};

use crate::error::{request, Error};

/// The most bytes [`Pluton::seal`] seals in one piece.
pub const MAX_SEALED_INPUT: usize = MAX_SEAL_INPUT;
/// How many bytes sealing adds.
pub const OVERHEAD: usize = SEAL_OVERHEAD;

/// The app's connection to the Pluton security server.
#[derive(Clone, Copy, Debug)]
pub struct Pluton {
    endpoint: Handle,
    buffer: Mapping,
}

/// The device's public DeviceID identifier (the same across software
/// updates): what the DeviceID certificate's subject names, in hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceId(pub [u8; DEVICE_ID_BYTES]);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// A signature by the app's device authentication key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// ECDSA P-256 over SHA-256 of the challenge: r || s, 32 bytes each.
    pub signature: [u8; 64],
    /// The key's public half, SEC1 uncompressed (0x04 || x || y).
    pub public_key: [u8; 65],
}

impl Pluton {
    pub(crate) fn new(endpoint: Handle, buffer: Mapping) -> Pluton {
        Pluton { endpoint, buffer }
    }

    /// One request that moves bytes: `input` goes into the buffer, the
    /// answer's length comes back (its bytes are in the buffer).
    fn exchange(&self, label: u32, length: usize, input: &[u8]) -> Result<usize, Error> {
        self.buffer.write_bytes(0, input);
        let message = Message::new(label, [length as u32, 0, 0, 0]);
        let reply = call(self.endpoint, &message, Timeout::Millis(5000))?;
        match reply.message.label {
            0 => {
                let len = reply.message.words[0] as usize;
                if len > BUFFER_BYTES {
                    return Err(Error::InvalidArgument);
                }
                Ok(len)
            }
            code => Err(tessera_abi::Error::from_code(code).map_or(Error::InvalidArgument, |error| match error {
                tessera_abi::Error::BadImage => Error::Tampered,
                // Sealing draws its nonce from the generator too.
                tessera_abi::Error::NotFound if label == RANDOM || label == SEAL => Error::NoEntropy,
                tessera_abi::Error::PermissionDenied if label == SIGN_CHALLENGE => {
                    Error::NotGranted("DeviceAuthentication")
                }
                other => Error::from(other),
            })),
        }
    }

    /// The device's DeviceID identifier.
    ///
    /// ```ignore
    /// log!("running on device {}", app.pluton()?.device_id()?);
    /// ```
    pub fn device_id(&self) -> Result<DeviceId, Error> {
        let mut id = [0u8; DEVICE_ID_BYTES];
        for (part, chunk) in id.chunks_mut(16).enumerate() {
            let words = request(self.endpoint, DEVICE_ID, [part as u32, 0, 0, 0])?;
            let bytes = words.map(u32::to_le_bytes);
            chunk.copy_from_slice(&bytes.as_flattened()[..chunk.len()]);
        }
        Ok(DeviceId(id))
    }

    /// Fills `out` with random bytes from the server's generator (seeded
    /// from the device's entropy source); [`Error::NoEntropy`] rather than
    /// predictable bytes if it has none.
    ///
    /// ```ignore
    /// let mut session_key = [0u8; 32];
    /// app.pluton()?.random(&mut session_key)?;
    /// ```
    pub fn random(&self, out: &mut [u8]) -> Result<(), Error> {
        for chunk in out.chunks_mut(BUFFER_BYTES) {
            let len = self.exchange(RANDOM, chunk.len(), &[])?;
            if len != chunk.len() {
                return Err(Error::InvalidArgument);
            }
            chunk.copy_from_slice(&self.buffer.as_bytes()[..len]);
        }
        Ok(())
    }

    /// Seals `plaintext` (at most [`MAX_SEALED_INPUT`] bytes) for this app
    /// into `out` (needs [`OVERHEAD`] more bytes); returns the sealed
    /// length. Only this app (its ComponentId) on this device unseals it,
    /// after a reboot or an update too.
    ///
    /// ```ignore
    /// let mut sealed = [0u8; 64 + tessera_sdk::pluton::OVERHEAD];
    /// let n = app.pluton()?.seal(b"api token", &mut sealed)?;
    /// // keep &sealed[..n] wherever: it is useless to anyone else
    /// ```
    pub fn seal(&self, plaintext: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if plaintext.len() > MAX_SEALED_INPUT || out.len() < plaintext.len() + OVERHEAD {
            return Err(Error::InvalidArgument);
        }
        let len = self.exchange(SEAL, plaintext.len(), plaintext)?;
        let sealed = out.get_mut(..len).ok_or(Error::InvalidArgument)?;
        sealed.copy_from_slice(&self.buffer.as_bytes()[..len]);
        Ok(len)
    }

    /// Unseals what [`seal`](Self::seal) gave this app into `out`; returns
    /// the plaintext's length. [`Error::Tampered`] if the bytes were
    /// changed or sealed by another app.
    ///
    /// ```ignore
    /// let mut token = [0u8; 64];
    /// match app.pluton()?.unseal(&sealed[..n], &mut token) {
    ///     Ok(len) => use_token(&token[..len]),
    ///     Err(Error::Tampered) => log!("stored token damaged: ask again"),
    ///     Err(other) => return Err(other),
    /// }
    /// ```
    pub fn unseal(&self, sealed: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if sealed.len() > BUFFER_BYTES || sealed.len() < OVERHEAD {
            return Err(Error::InvalidArgument);
        }
        let len = self.exchange(UNSEAL, sealed.len(), sealed)?;
        let plain = out.get_mut(..len).ok_or(Error::InvalidArgument)?;
        plain.copy_from_slice(&self.buffer.as_bytes()[..len]);
        Ok(len)
    }

    /// Signs `challenge` (1 to 1024 bytes) with this app's device
    /// authentication key, a P-256 key bound to the device and to the app;
    /// [`Error::NotGranted`] without the manifest's `DeviceAuthentication`,
    /// [`Error::BudgetExceeded`] beyond the app's share of such requests
    /// (3 at once, then one a second).
    ///
    /// ```ignore
    /// let signature = app.pluton()?.sign_challenge(&challenge_from_server)?;
    /// send(&signature.signature, &signature.public_key)?;
    /// ```
    pub fn sign_challenge(&self, challenge: &[u8]) -> Result<Signature, Error> {
        if challenge.is_empty() || challenge.len() > MAX_CHALLENGE {
            return Err(Error::InvalidArgument);
        }
        let len = self.exchange(SIGN_CHALLENGE, challenge.len(), challenge)?;
        let answer = self.buffer.as_bytes().get(..len).filter(|answer| answer.len() == 64 + 65);
        let answer = answer.ok_or(Error::InvalidArgument)?;
        let mut signature = Signature { signature: [0; 64], public_key: [0; 65] };
        signature.signature.copy_from_slice(&answer[..64]);
        signature.public_key.copy_from_slice(&answer[64..]);
        Ok(signature)
    }
}
