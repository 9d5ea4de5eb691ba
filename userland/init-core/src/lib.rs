//! The decisions of Tessera's root task, `init`, kept apart from its
//! syscalls so they are tested on the host:
//!
//! - [`grants`]: what an app's decoded manifest gets on this board, or the
//!   capability that makes `init` refuse it;
//! - [`admission`]: which of the apps that passed their own checks run,
//!   across all of them: one app per `ComponentId`, each GPIO pin and UART
//!   granted to one app;
//! - [`lifecycle`]: an app's states (checked, refused, running, waiting to
//!   restart, held, finished, failed) and the events that move it;
//! - [`supervisor`]: when a crashed app restarts (exponential back-off),
//!   when it is held instead, and the bounded failure log.
//!
//! `docs/apps.md` describes the design; `userland/programs/src/bin/init/`
//! acts on these decisions.
#![no_std]
#![forbid(unsafe_code)]

pub mod admission;
pub mod grants;
pub mod lifecycle;
pub mod supervisor;
