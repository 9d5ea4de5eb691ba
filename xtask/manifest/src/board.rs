//! The boards Tessera targets and what each can grant: GPIO pins, peripheral controllers and the pins they share.
//!
//! A hardware definition maps names to the values an app manifest uses
//! (`"ISU0"`, GPIO `8`); the board says which id the binary form gives each
//! controller, which pins a controller takes from the GPIO pool, and who
//! decides what is granted ([`Rules`]). On a board `init` runs on (QEMU
//! virt) that is `init`'s own decision, `tessera_init_core::grants::plan`,
//! so the build and the boot cannot disagree; its entry is generated from
//! its description (`qemu/virt/board.json`, see `build.rs`). The MT3620, a
//! real board with no QEMU model and no `init` yet, keeps its rules in a
//! table here, its facts cited in `userland/hardware-definitions/README.md`.

use std::fmt;
use std::ops::RangeInclusive;

use tessera_init_core::grants::{self as init_grants, BoardOffer};

/// A board xtask can check manifests for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BoardId {
    /// QEMU's `virt` machine with a Cortex-A7, the everyday target.
    QemuVirt,
    /// The MediaTek MT3620 (Azure Sphere's chip), on any board built on it.
    Mt3620,
}

impl BoardId {
    /// Every board.
    pub const ALL: [BoardId; 2] = [BoardId::QemuVirt, BoardId::Mt3620];

    /// The board's description.
    pub fn board(self) -> &'static Board {
        match self {
            BoardId::QemuVirt => &QEMU_VIRT,
            BoardId::Mt3620 => &MT3620,
        }
    }
}

impl fmt::Display for BoardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.board().name)
    }
}

/// A kind of peripheral controller an app manifest can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ControllerKind {
    /// `Uart`.
    Uart,
    /// `I2cMaster`.
    I2cMaster,
    /// `SpiMaster`.
    SpiMaster,
    /// `Adc`.
    Adc,
    /// `Pwm`.
    Pwm,
}

impl ControllerKind {
    /// Every kind, in the order the binary form stores them.
    pub const ALL: [ControllerKind; 5] = [
        ControllerKind::Uart,
        ControllerKind::I2cMaster,
        ControllerKind::SpiMaster,
        ControllerKind::Adc,
        ControllerKind::Pwm,
    ];

    /// The capability (and hardware definition `Type`) name.
    pub fn capability(self) -> &'static str {
        match self {
            ControllerKind::Uart => "Uart",
            ControllerKind::I2cMaster => "I2cMaster",
            ControllerKind::SpiMaster => "SpiMaster",
            ControllerKind::Adc => "Adc",
            ControllerKind::Pwm => "Pwm",
        }
    }

    /// A noun for messages ("an I2C master").
    pub fn noun(self) -> &'static str {
        match self {
            ControllerKind::Uart => "a UART",
            ControllerKind::I2cMaster => "an I2C master",
            ControllerKind::SpiMaster => "an SPI master",
            ControllerKind::Adc => "an ADC controller",
            ControllerKind::Pwm => "a PWM controller",
        }
    }
}

/// One peripheral controller an app may be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Controller {
    /// What it is.
    pub kind: ControllerKind,
    /// The value an app manifest names it by (`"ISU0"`, `"PWM-CONTROLLER-2"`).
    pub manifest_value: &'static str,
    /// Its id in the binary form.
    pub id: u8,
    /// The hardware block it is a role of: controllers of the same block
    /// (ISU0 as UART, I2C or SPI) exclude each other.
    pub block: &'static str,
    /// The GPIO pins it takes when granted.
    pub pins: &'static [u16],
}

/// Who decides what a board grants.
#[derive(Debug)]
pub enum Rules {
    /// `init` runs on it: `tessera_init_core::grants::plan` decides, against
    /// this offer, at build time and at boot.
    Init(&'static BoardOffer),
    /// No `init` runs on it yet: the checker's own table.
    Table(TableRules),
}

/// The grant rules of a board `init` does not run on yet.
#[derive(Debug)]
pub struct TableRules {
    /// The GPIO numbers that exist.
    pub gpio_pins: &'static [RangeInclusive<u16>],
    /// Whether it has a Wi-Fi interface (`WifiConfig`, `EnterpriseWifiConfig`).
    pub has_wifi: bool,
    /// The largest `MutableStorage.SizeKB` it grants.
    pub max_mutable_storage_kib: u32,
}

/// What a board offers to apps.
#[derive(Debug)]
pub struct Board {
    /// Its name in messages.
    pub name: &'static str,
    /// The `Description.Name` of its base hardware definition: a definition
    /// that is, or imports, a file with this name describes this board.
    pub definition_name: &'static str,
    /// The base hardware definition we ship, in `userland/hardware-definitions/`.
    pub definition_file: &'static str,
    /// The controllers an app manifest can name: the value it uses, the id
    /// in the binary form, the block and pins they share.
    pub controllers: &'static [Controller],
    /// Who decides what it grants.
    pub rules: Rules,
}

impl Board {
    /// `init`'s offer, on a board `init` runs on.
    pub fn offer(&self) -> Option<&'static BoardOffer> {
        match self.rules {
            Rules::Init(offer) => Some(offer),
            Rules::Table(_) => None,
        }
    }

    /// The GPIO numbers that exist, as ranges.
    pub fn gpio_ranges(&self) -> Vec<RangeInclusive<u16>> {
        match &self.rules {
            Rules::Table(table) => table.gpio_pins.to_vec(),
            Rules::Init(offer) => {
                let mut ranges: Vec<RangeInclusive<u16>> = Vec::new();
                for pin in (0..32u16).filter(|pin| offer.gpio_pins >> pin & 1 == 1) {
                    match ranges.last_mut() {
                        Some(range) if *range.end() + 1 == pin => *range = *range.start()..=pin,
                        _ => ranges.push(pin..=pin),
                    }
                }
                ranges
            }
        }
    }

    /// Whether GPIO `pin` exists.
    pub fn has_gpio(&self, pin: u64) -> bool {
        self.gpio_ranges().iter().any(|range| u16::try_from(pin).is_ok_and(|pin| range.contains(&pin)))
    }

    /// Whether it grants controllers of `kind` at all (on a board `init`
    /// runs on: whether `init`'s servers grant that field).
    pub fn grants_kind(&self, kind: ControllerKind) -> bool {
        match self.rules {
            Rules::Init(offer) => init_grants::offered(offer, kind.capability()) != 0,
            Rules::Table(_) => self.controllers_of(kind).next().is_some(),
        }
    }

    /// The GPIO numbers as text, `0-23, 26-48, 80`.
    pub fn gpio_list(&self) -> String {
        let parts: Vec<String> = self
            .gpio_ranges()
            .iter()
            .map(|range| {
                if range.start() == range.end() {
                    range.start().to_string()
                } else {
                    format!("{}-{}", range.start(), range.end())
                }
            })
            .collect();
        parts.join(", ")
    }

    /// The controllers of one kind.
    pub fn controllers_of(&self, kind: ControllerKind) -> impl Iterator<Item = &'static Controller> + '_ {
        self.controllers.iter().filter(move |controller| controller.kind == kind)
    }

    /// The controller of `kind` an app manifest names `value`.
    pub fn controller(&self, kind: ControllerKind, value: &str) -> Option<&'static Controller> {
        self.controllers.iter().find(|controller| controller.kind == kind && controller.manifest_value == value)
    }

    /// The kinds of peripheral this board grants, as capability names.
    pub fn offered(&self) -> String {
        if let Rules::Init(offer) = self.rules {
            return init_grants::offered_fields(offer).collect::<Vec<_>>().join(", ");
        }
        let mut offered = Vec::new();
        if !self.gpio_ranges().is_empty() {
            offered.push("Gpio");
        }
        for kind in ControllerKind::ALL {
            if self.grants_kind(kind) {
                offered.push(kind.capability());
            }
        }
        offered.join(", ")
    }
}

// QEMU `virt`: the names of its app UARTs (one, a virtio console), written
// by build.rs from `qemu/virt/board.json` as `QEMU_VIRT`; what it grants is
// `init`'s decision against `tessera_init_core::grants::QEMU_VIRT`.
include!(concat!(env!("OUT_DIR"), "/qemu_virt_board.rs"));

const ISU0_PINS: &[u16] = &[26, 27, 28, 29, 30];
const ISU1_PINS: &[u16] = &[31, 32, 33, 34, 35];
const ISU2_PINS: &[u16] = &[36, 37, 38, 39, 40];
const ISU3_PINS: &[u16] = &[66, 67, 68, 69, 70];
const ISU4_PINS: &[u16] = &[71, 72, 73, 74, 75];

/// The three roles of one ISU (serial interface unit).
macro_rules! isu {
    ($value:literal, $id:literal, $pins:expr) => {
        [
            Controller { kind: ControllerKind::Uart, manifest_value: $value, id: $id, block: $value, pins: $pins },
            Controller { kind: ControllerKind::I2cMaster, manifest_value: $value, id: $id, block: $value, pins: $pins },
            Controller { kind: ControllerKind::SpiMaster, manifest_value: $value, id: $id, block: $value, pins: $pins },
        ]
    };
}

const MT3620_CONTROLLERS: [Controller; 19] = {
    let isu0 = isu!("ISU0", 0, ISU0_PINS);
    let isu1 = isu!("ISU1", 1, ISU1_PINS);
    let isu2 = isu!("ISU2", 2, ISU2_PINS);
    let isu3 = isu!("ISU3", 3, ISU3_PINS);
    let isu4 = isu!("ISU4", 4, ISU4_PINS);
    [
        isu0[0],
        isu0[1],
        isu0[2],
        isu1[0],
        isu1[1],
        isu1[2],
        isu2[0],
        isu2[1],
        isu2[2],
        isu3[0],
        isu3[1],
        isu3[2],
        isu4[0],
        isu4[1],
        isu4[2],
        Controller {
            kind: ControllerKind::Adc,
            manifest_value: "ADC-CONTROLLER-0",
            id: 0,
            block: "ADC-CONTROLLER-0",
            pins: &[41, 42, 43, 44, 45, 46, 47, 48],
        },
        Controller {
            kind: ControllerKind::Pwm,
            manifest_value: "PWM-CONTROLLER-0",
            id: 0,
            block: "PWM-CONTROLLER-0",
            pins: &[0, 1, 2, 3],
        },
        Controller {
            kind: ControllerKind::Pwm,
            manifest_value: "PWM-CONTROLLER-1",
            id: 1,
            block: "PWM-CONTROLLER-1",
            pins: &[4, 5, 6, 7],
        },
        Controller {
            kind: ControllerKind::Pwm,
            manifest_value: "PWM-CONTROLLER-2",
            id: 2,
            block: "PWM-CONTROLLER-2",
            pins: &[8, 9, 10, 11],
        },
    ]
};

/// The MT3620: GPIO 0-23, 26-48, 56-75 and 80; ISU0-ISU4, each a UART, an
/// I2C master or an SPI master; ADC controller 0 (8 channels); PWM
/// controllers 0-2 (4 channels each); Wi-Fi.
pub static MT3620: Board = Board {
    name: "MT3620",
    definition_name: "MT3620",
    definition_file: "mt3620.json",
    controllers: &MT3620_CONTROLLERS,
    rules: Rules::Table(TableRules {
        gpio_pins: &[0..=23, 26..=48, 56..=75, 80..=80],
        has_wifi: true,
        // Azure Sphere's documented maximum for one app's mutable storage.
        max_mutable_storage_kib: 64,
    }),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpio_ranges() {
        assert!(MT3620.has_gpio(0) && MT3620.has_gpio(80) && MT3620.has_gpio(48));
        assert!(!MT3620.has_gpio(24) && !MT3620.has_gpio(81) && !MT3620.has_gpio(u64::MAX));
        assert_eq!(MT3620.gpio_list(), "0-23, 26-48, 56-75, 80");
        assert!(QEMU_VIRT.has_gpio(7) && !QEMU_VIRT.has_gpio(8));
        assert_eq!(QEMU_VIRT.gpio_list(), "0-7");
    }

    #[test]
    fn controllers_are_distinct_and_their_pins_exist() {
        for board in BoardId::ALL.map(BoardId::board) {
            for (index, controller) in board.controllers.iter().enumerate() {
                for other in &board.controllers[index + 1..] {
                    assert!(
                        (controller.kind, controller.id) != (other.kind, other.id)
                            && (controller.kind, controller.manifest_value) != (other.kind, other.manifest_value),
                        "{controller:?} {other:?}"
                    );
                }
                assert!(controller.pins.iter().all(|&pin| board.has_gpio(u64::from(pin))), "{controller:?}");
            }
        }
        assert_eq!(MT3620.controller(ControllerKind::SpiMaster, "ISU1").map(|c| c.id), Some(1));
        assert!(QEMU_VIRT.controller(ControllerKind::I2cMaster, "ISU0").is_none());
        assert_eq!(QEMU_VIRT.offered(), "Gpio, Uart");
        assert_eq!(MT3620.offered(), "Gpio, Uart, I2cMaster, SpiMaster, Adc, Pwm");
    }
}
