//! Address-space identifiers: 255 ASIDs handed out on first run, anew in epochs when they run out.
//!
//! A process gets an ASID the first time it runs in an epoch and keeps it
//! while the epoch lasts, so switching to it needs no TLB flush. When all
//! 255 are taken (ASID 0 is never used: it tags nothing), a new epoch
//! starts: the whole TLB is flushed once and every process gets a fresh
//! ASID the next time it runs. A process's (ASID, epoch) pair is stored in
//! its entry; [`Asids::assign`] says what it should be and whether the TLB
//! must be flushed first.

/// The ASIDs handed out so far in the current epoch. All zero at first, so
/// a kernel's static state holding one stays in `.bss`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asids {
    epoch: u32,
    handed_out: u32,
}

/// Where `Asids::epoch` lies, for the architectures' fast paths.
pub(crate) const EPOCH_OFFSET: usize = core::mem::offset_of!(Asids, epoch);
// The fast paths read the epoch as one word: it must stay a `u32`.
const _: fn(&Asids) -> u32 = |asids| asids.epoch;

/// An epoch no allocator is ever in: a process that never ran holds it, so
/// a tag whose epoch is the allocator's always has an ASID (not 0), which
/// the A7's fast paths rely on (they check the epoch alone).
pub const NEVER: u32 = u32::MAX;

/// A process's ASID, valid while its epoch is the allocator's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The ASID (1..=255 once assigned).
    pub asid: u8,
    /// The epoch it was handed out in (meaningless while `asid` is 0).
    pub epoch: u32,
}

impl Tag {
    /// A process that never ran: no ASID, in no epoch.
    pub const UNASSIGNED: Tag = Tag { asid: 0, epoch: NEVER };
}

impl Default for Tag {
    fn default() -> Tag {
        Tag::UNASSIGNED
    }
}

/// What running a process needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Its tag from now on.
    pub tag: Tag,
    /// Flush the whole TLB first (a new epoch began).
    pub flush_all: bool,
    /// This is the first time the ASIDs ran out (worth one log line).
    pub first_rollover: bool,
}

impl Default for Asids {
    fn default() -> Asids {
        Asids::new()
    }
}

impl Asids {
    /// Most ASIDs in one epoch.
    pub const PER_EPOCH: u32 = 255;

    /// The first epoch, nothing handed out.
    pub const fn new() -> Asids {
        Asids { epoch: 0, handed_out: 0 }
    }

    /// The epoch after `epoch`, wrapping past [`NEVER`].
    const fn after(epoch: u32) -> u32 {
        match epoch.wrapping_add(1) {
            NEVER => 0,
            next => next,
        }
    }

    /// The current epoch.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The tag a process holding `tag` runs with, handing out a new ASID
    /// (and starting a new epoch if none is left) when `tag` is stale.
    #[inline(always)]
    pub fn assign(&mut self, tag: Tag) -> Assignment {
        if tag.epoch == self.epoch && tag.asid != 0 {
            return Assignment { tag, flush_all: false, first_rollover: false };
        }
        let mut flush_all = false;
        let mut first_rollover = false;
        if self.handed_out >= Asids::PER_EPOCH {
            first_rollover = self.epoch == 0;
            self.epoch = Asids::after(self.epoch);
            self.handed_out = 0;
            flush_all = true;
        }
        self.handed_out += 1;
        let tag = Tag { asid: self.handed_out as u8, epoch: self.epoch };
        Assignment { tag, flush_all, first_rollover }
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
        let first = asids.assign(Tag::default());
        assert_eq!(first, Assignment { tag: Tag { asid: 1, epoch: 0 }, flush_all: false, first_rollover: false });
        assert_eq!(asids.assign(first.tag).tag, first.tag);
        assert_eq!(asids.assign(Tag::default()).tag, Tag { asid: 2, epoch: 0 });
    }

    #[test]
    fn running_out_starts_an_epoch_with_one_flush() {
        let mut asids = Asids::new();
        let tags: Vec<Tag> = (0..255).map(|_| asids.assign(Tag::default()).tag).collect();
        assert_eq!(tags.last().unwrap().asid, 255);
        let next = asids.assign(Tag::default());
        assert_eq!(next, Assignment { tag: Tag { asid: 1, epoch: 1 }, flush_all: true, first_rollover: true });
        // An old tag is stale now, and gets a fresh ASID without a flush.
        let again = asids.assign(tags[0]);
        assert_eq!(again, Assignment { tag: Tag { asid: 2, epoch: 1 }, flush_all: false, first_rollover: false });
    }

    /// The epoch wraps past `NEVER`, so a process that never ran is never
    /// taken for one of the current epoch.
    #[test]
    fn no_epoch_is_never() {
        let mut asids = Asids { epoch: NEVER - 2, handed_out: Asids::PER_EPOCH };
        let mut epochs = Vec::new();
        for _ in 0..3 {
            asids.handed_out = Asids::PER_EPOCH;
            epochs.push(asids.assign(Tag::UNASSIGNED).tag.epoch);
        }
        assert_eq!(epochs, [NEVER - 1, 0, 1]);
        assert_eq!(Tag::default(), Tag::UNASSIGNED);
    }

    /// Two processes that hold valid tags of the current epoch never share
    /// an ASID, whatever order processes run in (a shared ASID would let one
    /// see the other's TLB entries).
    #[test]
    fn live_tags_of_one_epoch_never_collide() {
        let mut random = tessera_testing::Rng::new(0xa51d);
        for _ in 0..8 {
            let mut asids = Asids::new();
            let mut tags = [Tag::default(); 300];
            let mut rollovers = 0;
            for _ in 0..2000 {
                let process = random.below(tags.len());
                let assignment = asids.assign(tags[process]);
                rollovers += usize::from(assignment.first_rollover);
                if assignment.flush_all {
                    // Everything tagged before is gone from the TLB.
                    assert_eq!(assignment.tag.asid, 1);
                }
                tags[process] = assignment.tag;
                let current: Vec<u8> =
                    tags.iter().filter(|t| t.asid != 0 && t.epoch == asids.epoch).map(|t| t.asid).collect();
                let mut sorted = current.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), current.len(), "two live processes share an ASID");
                assert!(current.iter().all(|&asid| asid != 0));
                // The fast paths' check: a tag of the current epoch has an
                // ASID, whether or not its process has run.
                assert!(tags.iter().all(|t| t.epoch != asids.epoch || t.asid != 0));
            }
            assert!(rollovers <= 1);
        }
    }
}
