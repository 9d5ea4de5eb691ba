//! Logging to the device's debug console.
//!
//! `log!` formats like `println!` and writes one line. Start each line
//! with the app's name, so the console stays readable with many apps:
//!
//! ```ignore
//! log!("blinky: LED {}", level);
//! ```

/// Writes one formatted line to the debug console.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::__rt::println!($($arg)*)
    };
}
