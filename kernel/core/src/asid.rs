//! Address-space identifiers: 255 ASIDs handed out on first run, and all
//! taken back at once when they run out.
//!
//! A process gets an ASID the first time it runs and keeps it, so switching
//! to it needs no TLB flush. When all 255 are taken (ASID 0 is never used:
//! it tags nothing), the kernel takes every one back: it flushes the whole
//! TLB once and clears every live process's ASID, so each gets a fresh one
//! the next time it runs. A process's ASID is therefore 0 or its own: no
//! other live process holds it, and the TLB holds no entry tagged with it
//! but its own (`Kernel::check_invariants`). The A7's fast paths rely on
//! it: a process whose ASID is not 0 can run at once. [`Asids::assign`]
//! says what a process's ASID is to be and whether every ASID must be taken
//! back first.

/// The ASIDs handed out since they were last taken back. All zero at first,
/// so a kernel's static state holding one stays in `.bss`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Asids {
    handed_out: u32,
    rolled_over: bool,
}

/// What running a process needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Its ASID from now on (1..=255).
    pub asid: u8,
    /// Take every ASID back first: clear every live process's and flush the
    /// whole TLB (they ran out).
    pub take_back: bool,
    /// This is the first time the ASIDs ran out (worth one log line).
    pub first_rollover: bool,
}

impl Asids {
    /// ASIDs there are to hand out (1..=255).
    pub const COUNT: u32 = 255;

    /// Nothing handed out.
    pub const fn new() -> Asids {
        Asids { handed_out: 0, rolled_over: false }
    }

    /// How many are handed out: every ASID a process holds is at most this.
    pub fn handed_out(&self) -> u32 {
        self.handed_out
    }

    /// The ASID a process holding `asid` runs with: the same, or for 0 a new
    /// one (after taking every ASID back if none is left).
    #[inline(always)]
    pub fn assign(&mut self, asid: u8) -> Assignment {
        if asid != 0 {
            return Assignment { asid, take_back: false, first_rollover: false };
        }
        let mut take_back = false;
        let mut first_rollover = false;
        if self.handed_out >= Asids::COUNT {
            first_rollover = !self.rolled_over;
            self.rolled_over = true;
            self.handed_out = 0;
            take_back = true;
        }
        self.handed_out += 1;
        Assignment { asid: self.handed_out as u8, take_back, first_rollover }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn first_run_gets_an_asid_and_keeps_it() {
        let mut asids = Asids::new();
        let first = asids.assign(0);
        assert_eq!(first, Assignment { asid: 1, take_back: false, first_rollover: false });
        assert_eq!(asids.assign(first.asid), Assignment { asid: 1, take_back: false, first_rollover: false });
        assert_eq!(asids.assign(0).asid, 2);
        assert_eq!(asids.handed_out(), 2);
    }

    #[test]
    fn running_out_takes_every_asid_back_once() {
        let mut asids = Asids::new();
        let handed: Vec<u8> = (0..255).map(|_| asids.assign(0).asid).collect();
        assert_eq!(handed, (1..=255).collect::<Vec<u8>>());
        assert_eq!(asids.assign(0), Assignment { asid: 1, take_back: true, first_rollover: true });
        assert_eq!(asids.assign(0), Assignment { asid: 2, take_back: false, first_rollover: false });
        for _ in 0..253 {
            asids.assign(0);
        }
        // The second time is not the first.
        assert_eq!(asids.assign(0), Assignment { asid: 1, take_back: true, first_rollover: false });
    }

    /// Processes that run in any order, with every ASID cleared when the
    /// allocator says so (as the kernel does), never share an ASID, and
    /// every one they hold is at most `handed_out` (a shared ASID would let
    /// one see the other's TLB entries).
    #[test]
    fn held_asids_never_collide() {
        let mut random = tessera_testing::Rng::new(0xa51d);
        for _ in 0..8 {
            let mut asids = Asids::new();
            let mut held = [0u8; 300];
            let mut rollovers = 0;
            for _ in 0..2000 {
                let process = random.below(held.len());
                let assignment = asids.assign(held[process]);
                rollovers += usize::from(assignment.first_rollover);
                if assignment.take_back {
                    held = [0; 300];
                    assert_eq!(assignment.asid, 1);
                }
                held[process] = assignment.asid;
                let mut current: Vec<u8> = held.iter().copied().filter(|&asid| asid != 0).collect();
                assert!(current.iter().all(|&asid| u32::from(asid) <= asids.handed_out()));
                let count = current.len();
                current.sort_unstable();
                current.dedup();
                assert_eq!(current.len(), count, "two live processes share an ASID");
            }
            assert!(rollovers <= 1);
        }
    }
}
