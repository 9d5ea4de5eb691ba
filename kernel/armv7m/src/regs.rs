//! The Armv7-M system registers the kernel drives (the Architecture
//! Reference Manual's addresses: system control block, SysTick, NVIC, MPU,
//! FPU), named once for every part of the kernel.

/// System control block.
pub const CPUID: u32 = 0xE000_ED00;
pub const ICSR: u32 = 0xE000_ED04;
pub const VTOR: u32 = 0xE000_ED08;
pub const SHPR1: u32 = 0xE000_ED18;
pub const SHPR2: u32 = 0xE000_ED1C;
pub const SHPR3: u32 = 0xE000_ED20;
pub const SHCSR: u32 = 0xE000_ED24;
pub const CFSR: u32 = 0xE000_ED28;
pub const MMFAR: u32 = 0xE000_ED34;
pub const BFAR: u32 = 0xE000_ED38;
pub const CPACR: u32 = 0xE000_ED88;
pub const FPCCR: u32 = 0xE000_EF34;

/// `ICSR`: pend or clear PendSV and SysTick; SysTick pending.
pub const ICSR_PENDSVSET: u32 = 1 << 28;
#[cfg(feature = "checks")]
pub const ICSR_PENDSVCLR: u32 = 1 << 27;
pub const ICSR_PENDSTSET: u32 = 1 << 26;
#[cfg(feature = "checks")]
pub const ICSR_PENDSTCLR: u32 = 1 << 25;

/// SysTick: control and status, reload value, current value.
pub const SYST_CSR: u32 = 0xE000_E010;
pub const SYST_RVR: u32 = 0xE000_E014;
pub const SYST_CVR: u32 = 0xE000_E018;

/// NVIC: set and clear enable, clear pending, priorities (bytes).
pub const NVIC_ISER: u32 = 0xE000_E100;
pub const NVIC_ICER: u32 = 0xE000_E180;
pub const NVIC_ICPR: u32 = 0xE000_E280;
pub const NVIC_IPR: u32 = 0xE000_E400;

/// MPU: type, control, region base and attributes (the aliases A1-A3
/// follow `MPU_RASR`).
pub const MPU_TYPE: u32 = 0xE000_ED90;
pub const MPU_CTRL: u32 = 0xE000_ED94;
pub const MPU_RBAR: u32 = 0xE000_ED9C;
pub const MPU_RASR: u32 = 0xE000_EDA0;
