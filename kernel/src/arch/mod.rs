//! The architecture layer. Tessera has one architecture today, Armv7-A; a
//! second one would provide a module with the same names.

pub mod armv7a;
pub use armv7a::*;
