//! The network server's decisions, without syscalls: what `netd`
//! (`userland/servers/src/bin/netd.rs`, docs/network.md) checks and keeps
//! before and while it acts, so it can be tested and fuzzed on the host.
//!
//! - [`protocol`]: the request decoder (who calls, which request, every
//!   limit), fuzzed (`fuzzing::request_decoding`).
//! - [`registration`]: the record `init` writes into an app's transfer
//!   window when it registers the app (its ComponentId and the IPv4
//!   literals of its `AllowedConnections`), and the policy check on it;
//!   the decoder is fuzzed (`fuzzing::registration_decoding`).
//! - [`sockets`]: which app owns which socket of the server's pool, by the
//!   app's own socket numbers, and what state each connection is in.
//! - [`pool`]: the pool's smoltcp sockets, in the stack's socket set
//!   only while in use (what the stack walks on every poll).
//! - [`queue`]: the datagrams waiting in one UDP socket, as `netd`'s
//!   device layer steers them there past the stack.
//! - [`delivery`]: which datagram an app was offered or given in its
//!   window, and when it leaves its socket.
//! - [`denials`]: the bounded log of denied attempts (security events).
//! - [`dns`]: the DNS client's wire codec: the A query `netd` sends for
//!   a host name and the reading of the server's response into at most
//!   four addresses; the response decoder is fuzzed
//!   (`fuzzing::dns_response_decoding`).
//! - [`checksum`]: the TCP and UDP checksums of IPv4 frames, which
//!   `netd`'s device layer fills and verifies for the stack; fuzzed
//!   (`fuzzing::checksum_frames`).
//! - [`frame`]: the UDP frames `netd` sends apps' datagrams in without
//!   the stack, and the neighbours it learns from ARP to send them to;
//!   fuzzed (`fuzzing::link_frames`).
//! - [`fuzzing`]: the fuzz bodies, shared by `tests/` and `fuzz/`.
#![no_std]
#![forbid(unsafe_code)]

pub mod checksum;
pub mod delivery;
pub mod denials;
pub mod dns;
pub mod frame;
pub mod fuzzing;
pub mod pool;
pub mod protocol;
pub mod queue;
pub mod registration;
pub mod resolver;
pub mod sockets;
