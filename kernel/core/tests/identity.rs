//! The whole kernel on a fake whose user addresses are physical, as under
//! the Cortex-M4's MPU (docs/mt3620.md, step 3.2): programs run where they
//! were linked, their stack is the end of their lowest writable segment,
//! and memory maps only at its own address.

mod support;

use kernel_core::elf::{build_test_elf, FLAGS_RW, FLAGS_RX};
use kernel_core::fault::cfsr;
use kernel_core::kernel::{Platform, UserFault};
use kernel_core::Access;
use support::{
    System, DEVICE, IDENTITY_END, IDENTITY_ROOT_CODE, IDENTITY_ROOT_DATA, IDENTITY_ROOT_STACK_PAGES, IN_PLACE_IMAGE,
    RAM_BYTES, RAM_START, ROOT_OBJECT, UNTYPED,
};
use tessera_abi::layout::BOOTARGS_AREA;
use tessera_abi::{Error, ExitKind, FaultKind, ObjectType, Syscall, FOREVER, PROCESS_OBJECT_BYTES};

const PAGE: u32 = 4096;

/// A program with a code page at `code` and, unless `data` is `None`, two
/// writable pages at `data`.
fn program(code: u32, data: Option<u32>) -> Vec<u8> {
    let mut out = vec![0u8; 8192];
    let text = [0x5Au8; 32];
    let bytes = [0xA5u8; 32];
    let mut segments = vec![(code, FLAGS_RX, &text[..], PAGE)];
    if let Some(data) = data {
        segments.push((data, FLAGS_RW, &bytes[..], 2 * PAGE));
    }
    let len = build_test_elf(code | 1, &segments, &mut out);
    out.truncate(len);
    out
}

#[test]
fn the_root_task_runs_where_it_was_linked() {
    let system = System::boot_identity(&[]);
    let fake = system.fake();
    assert_eq!(
        fake.translate(ROOT_OBJECT, IDENTITY_ROOT_CODE + 8),
        Some((IDENTITY_ROOT_CODE + 8, Access::READ_EXECUTE))
    );
    let data_pages = 1 + IDENTITY_ROOT_STACK_PAGES;
    for page in 0..data_pages {
        let address = IDENTITY_ROOT_DATA + page * PAGE;
        assert_eq!(fake.translate(ROOT_OBJECT, address), Some((address, Access::READ_WRITE)), "page {page}");
    }
    // No stack of the translated layout, nothing past the segment.
    assert_eq!(fake.translate(ROOT_OBJECT, 0x3FFE_F000), None);
    assert_eq!(fake.translate(ROOT_OBJECT, IDENTITY_ROOT_DATA + data_pages * PAGE), None);
    // The stack starts at the segment's end, under the boot arguments.
    let context = system.kernel.context(system.root).expect("the root task lives");
    let top = IDENTITY_ROOT_DATA + data_pages * PAGE;
    assert_eq!(context.sp, top - BOOTARGS_AREA);
    assert_eq!((context.r[0], context.r[1]), (context.sp, 4));
    assert_eq!(fake.read_user_bytes(ROOT_OBJECT, context.sp, 4), b"test");
    assert_eq!(context.pc, IDENTITY_ROOT_CODE);
}

#[test]
fn user_pointers_are_checked_against_the_platform_limit() {
    let mut system = System::boot_identity(&[]);
    // The root's data lies above the translated layout's USER_END
    // (0x4000_0000): under an identity layout that is user memory.
    assert!(IDENTITY_ROOT_DATA >= tessera_abi::layout::USER_END as u32);
    system.fake().write_user_bytes(ROOT_OBJECT, IDENTITY_ROOT_DATA, b"identity\n");
    system.ok(Syscall::DebugWrite, &[IDENTITY_ROOT_DATA, 9]);
    assert!(system.fake().output().contains("init: identity\n"), "{}", system.fake().output());
    // RAM it was not given (the pool just past its segment, the untyped
    // memory, the root object), the end of user addresses, a wrap.
    for address in [IDENTITY_ROOT_DATA + 0x10000, UNTYPED.0, ROOT_OBJECT, IDENTITY_END - 4] {
        assert_eq!(system.now(Syscall::DebugWrite, &[address, 4]).result, Err(Error::BadAddress), "{address:#x}");
    }
    assert_eq!(system.now(Syscall::DebugWrite, &[0xFFFF_FFF0, 0x20]).result, Err(Error::AddressWraps));
    // A range running from its memory into memory it was not given.
    let end = IDENTITY_ROOT_DATA + (1 + IDENTITY_ROOT_STACK_PAGES) * PAGE;
    assert_eq!(system.now(Syscall::DebugWrite, &[end - 4, 8]).result, Err(Error::BadAddress));
}

#[test]
fn memory_maps_only_at_its_own_address() {
    let mut system = System::boot_identity(&[]);
    let frame = system.retype(system.untyped, ObjectType::Frame, 2 * PAGE);
    let at = system.object_at(frame);
    for elsewhere in [at + PAGE, at - 2 * PAGE, 0x0002_0000, IDENTITY_END - 2 * PAGE] {
        let answer = system.now(Syscall::Map, &[frame.0, elsewhere, 0b011, 0]);
        assert_eq!(answer.result, Err(Error::BadAddress), "{elsewhere:#x}");
    }
    // Write and execute at once stays refused.
    assert_eq!(system.now(Syscall::Map, &[frame.0, at, 0b111, 0]).result, Err(Error::InvalidArgument));
    system.ok(Syscall::Map, &[frame.0, at, 0b011, 0]);
    let fake = system.fake();
    assert_eq!(fake.translate(ROOT_OBJECT, at + PAGE + 4), Some((at + PAGE + 4, Access::READ_WRITE)));
    fake.write_user_bytes(ROOT_OBJECT, at + PAGE, b"mapped\n");
    system.ok(Syscall::DebugWrite, &[at + PAGE, 7]);
    assert!(system.fake().output().contains("init: mapped\n"));
    // A device region maps at its physical address only.
    let device = system.device;
    assert_eq!(system.now(Syscall::Map, &[device.0, 0x0001_0000, 0b011, 0]).result, Err(Error::BadAddress));
    system.ok(Syscall::Map, &[device.0, DEVICE.0, 0b011, 0]);
    assert_eq!(system.fake().translate(ROOT_OBJECT, DEVICE.0), Some((DEVICE.0, Access::READ_WRITE)));
}

#[test]
fn a_program_is_placed_where_it_was_linked_or_not_at_all() {
    let base = RAM_START + 0x0012_0000;
    // Its data lands on the root's data: its code page must go back.
    let clash = program(base, Some(IDENTITY_ROOT_DATA));
    // Linked in untyped memory, which the pool does not hold.
    let outside = program(UNTYPED.0 + 0x1_0000, Some(UNTYPED.0 + 0x2_0000));
    // No writable segment: nowhere for a stack.
    let no_stack = program(base, None);
    // Past the end of user addresses.
    let too_high = program(IDENTITY_END, Some(IDENTITY_END + 0x1_0000));
    let fine = program(base, Some(base + 0x4000));
    let mut system = System::boot_identity(&[
        ("clash", &clash),
        ("outside", &outside),
        ("nostack", &no_stack),
        ("toohigh", &too_high),
        ("fine", &fine),
    ]);
    // A process object outside the pool and out of the untyped memory's
    // use in this test: the last 16 KiB of RAM.
    let object = RAM_START + RAM_BYTES - 0x4000;
    let free = system.kernel.free_frames();
    for name in ["clash", "outside", "nostack", "toohigh"] {
        assert_eq!(system.kernel.spawn_program(name, object, 1, b"x"), Err(Error::BadImage), "{name}");
        assert_eq!(system.kernel.free_frames(), free, "{name} left frames taken");
        assert_eq!(system.fake().translate(object, base), None, "{name} left a mapping");
    }
    let pid = system.kernel.spawn_program("fine", object, 1, b"args").expect("a well-placed program starts");
    system.check();
    let fake = system.fake();
    // Three pages, and the fake's table for their MiB (an MPU platform
    // takes none).
    assert_eq!(system.kernel.free_frames(), free - 4);
    assert_eq!(fake.translate(object, base), Some((base, Access::READ_EXECUTE)));
    assert_eq!(fake.read_user_bytes(object, base, 4), [0x5A; 4]);
    assert_eq!(fake.read_user_bytes(object, base + 0x4000, 4), [0xA5; 4]);
    let context = system.kernel.context(pid).expect("it lives");
    assert_eq!(context.sp, base + 0x4000 + 2 * PAGE - BOOTARGS_AREA);
    assert_eq!(fake.read_user_bytes(object, context.sp, 4), b"args");
    // The root's pages are untouched.
    assert_eq!(fake.translate(ROOT_OBJECT, IDENTITY_ROOT_DATA), Some((IDENTITY_ROOT_DATA, Access::READ_WRITE)));
    // The same program again: its pages are taken.
    assert_eq!(system.kernel.spawn_program("fine", object - 0x4000, 1, b""), Err(Error::BadImage));
    assert_eq!(system.kernel.free_frames(), free - 4);
}

/// Where user addresses are physical, a read-only page that lies in the
/// boot image at the very address it was linked for is mapped there and
/// not copied (code in place, docs/mt3620.md); one that does not is not
/// placed at all, and nothing writable is ever mapped from the image.
#[test]
fn read_only_pages_run_where_they_lie_in_the_boot_image() {
    // Where the boot image lies (as in mps2-an386's code memory), and
    // where the program's code page lies in it.
    const IMAGE_AT: u32 = 0x0008_0000;
    let data = RAM_START + 0x0012_4000;
    let placeholder = support::in_place_program(0x0010_0000, data, 2 * PAGE);
    let offset = System::identity_image_offset(&[("inplace", &placeholder)], "inplace");
    let code = IMAGE_AT + offset + PAGE;
    let linked = support::in_place_program(code, data, 2 * PAGE);
    assert_eq!(System::identity_image_offset(&[("inplace", &linked)], "inplace"), offset);
    let object = RAM_START + RAM_BYTES - 0x4000;

    // Copied, it could not be placed: its code page is not the pool's.
    let mut system = System::boot_identity_at(&[("inplace", &linked)], IMAGE_AT + PAGE);
    let free = system.kernel.free_frames();
    assert_eq!(system.kernel.spawn_program("inplace", object, 1, b"x"), Err(Error::BadImage));
    assert_eq!(system.kernel.free_frames(), free);
    assert_eq!(system.fake().translate(object, data), None, "nothing left mapped");

    let mut system = System::boot_identity_at(&[("inplace", &linked)], IMAGE_AT);
    let free = system.kernel.free_frames();
    let pid = system.kernel.spawn_program("inplace", object, 1, b"args").expect("it runs in place");
    system.check();
    let fake = system.fake();
    assert_eq!(fake.translate(object, code + 8), Some((code + 8, Access::READ_EXECUTE)));
    assert_eq!(fake.read_user_bytes(object, data, 4), [0xA5; 4]);
    // Its two data pages and the fake's table for their MiB (and one for
    // the code's): no frame for the code.
    assert_eq!(system.kernel.free_frames(), free - 4);
    assert_eq!(system.kernel.context(pid).expect("it lives").pc, code);

    // A writable segment lying in the image where it was linked is never
    // mapped from it: it cannot be placed.
    let writable = {
        let mut elf = linked.clone();
        // Both segments writable, the data one at the code's place.
        let (flags, address) = (52 + 24, 52 + 32 + 8);
        elf[flags..flags + 4].copy_from_slice(&FLAGS_RW.to_le_bytes());
        elf[address..address + 4].copy_from_slice(&(code + PAGE).to_le_bytes());
        elf[address + 4..address + 8].copy_from_slice(&(code + PAGE).to_le_bytes());
        elf
    };
    assert_eq!(System::identity_image_offset(&[("writable", &writable)], "writable"), offset);
    let mut system = System::boot_identity_at(&[("writable", &writable)], IMAGE_AT);
    let free = system.kernel.free_frames();
    assert_eq!(system.kernel.spawn_program("writable", object, 1, b"x"), Err(Error::BadImage));
    assert_eq!(system.kernel.free_frames(), free);
}

/// The root task linked to run its code where it lies in the boot image
/// gets the image mapped, readable and executable, through the capability
/// to it, which is its code: no page of its own beside it (they would
/// overlap), and no frame from the pool for it.
#[test]
fn the_root_task_runs_its_code_from_its_boot_image_capability() {
    const FRAME: u32 = 0x1_0000;
    let code = IN_PLACE_IMAGE + 2 * PAGE;
    let mut system = System::boot_root_in_place(FRAME, IN_PLACE_IMAGE).expect("the root task starts in place");
    let fake = system.fake();
    // Its code and the rest of the image: one mapping, read and execute.
    assert_eq!(fake.translate(ROOT_OBJECT, code + 4), Some((code + 4, Access::READ_EXECUTE)));
    assert_eq!(fake.translate(ROOT_OBJECT, IN_PLACE_IMAGE), Some((IN_PLACE_IMAGE, Access::READ_EXECUTE)));
    let end = IN_PLACE_IMAGE + FRAME;
    assert_eq!(fake.translate(ROOT_OBJECT, end - PAGE), Some((end - PAGE, Access::READ_EXECUTE)));
    assert_eq!(fake.translate(ROOT_OBJECT, end), None);
    assert_eq!(system.kernel.context(system.root).expect("it lives").pc, code);
    // The capability is that mapping: mapping it again is refused, and it
    // cannot be had writable.
    let image = system
        .kernel
        .capabilities(system.root)
        .find(|(_, capability)| capability.kind == ObjectType::Frame && capability.object == IN_PLACE_IMAGE)
        .expect("the root holds the boot image")
        .0;
    let info = system.ok(Syscall::CapInfo, &[image.0]);
    assert_eq!(
        tessera_abi::Rights::from_bits_truncate(info[1]) & tessera_abi::Rights::WRITE,
        tessera_abi::Rights::empty()
    );
    assert_eq!(system.now(Syscall::Map, &[image.0, IN_PLACE_IMAGE, 0b001, 0]).result, Err(Error::SlotOccupied));
    system.check();

    // An image the kernel was not told about, or none: the root's code
    // would be nowhere, so it does not start.
    for (frame, at) in [(FRAME, IN_PLACE_IMAGE + FRAME), (0, 0)] {
        assert_eq!(System::boot_root_in_place(frame, at).err(), Some(Error::BadImage), "{frame:#x} at {at:#x}");
    }
}

/// An Armv7-M fault is classified against the process's own regions and
/// reported as on the A7: the parent learns the kind and the address.
#[test]
fn an_armv7m_fault_is_classified_against_the_process_regions() {
    for (fault, kind, address) in [
        // A load from RAM it does not have: MemManage, data access, MMFAR valid.
        (
            UserFault::Armv7m { cfsr: cfsr::DACCVIOL | cfsr::MMARVALID, mmfar: UNTYPED.0, bfar: 0 },
            FaultKind::Unmapped,
            UNTYPED.0,
        ),
        // A store to its own code: mapped, so a permission fault.
        (UserFault::Armv7m { cfsr: cfsr::DACCVIOL | cfsr::MMARVALID, mmfar: 0, bfar: 0 }, FaultKind::Permission, 0),
        // An undefined instruction at its pc.
        (UserFault::Armv7m { cfsr: cfsr::UNDEFINSTR, mmfar: 0, bfar: 0 }, FaultKind::UndefinedInstruction, 0),
    ] {
        let mut system = System::boot_identity(&[]);
        let (child, process) = system.spawn("crasher", 1);
        let code = system.kernel.context(child).expect("it lives").pc;
        // The store's address and the undefined instruction's: its code.
        let (fault, address) = match fault {
            UserFault::Armv7m { cfsr, mmfar: 0, bfar } => (UserFault::Armv7m { cfsr, mmfar: code, bfar }, code),
            other => (other, address),
        };
        assert_eq!(system.call(Syscall::Wait, &[process.0, FOREVER]), None);
        assert_eq!(system.current(), child);
        system.kernel.user_fault(fault);
        system.check();
        assert_eq!(system.current(), system.root);
        let answer = system.answer_of(system.root).expect("the root's wait ends");
        assert_eq!((answer.values[1], answer.values[2]), (ExitKind::Faulted as u32, kind as u32), "{fault:?}");
        let output = system.fake().output();
        assert!(output.contains(&format!("{}, address {address:#010x}", kind.name())), "{output}");
        let record_at = system.root_data;
        system.ok(Syscall::ExitRecord, &[record_at]);
        let record = system.fake().read_user_bytes(ROOT_OBJECT, record_at, 16);
        assert_eq!(u32::from_le_bytes(record[12..16].try_into().unwrap()), address, "{fault:?}");
    }
}

/// What an Armv7-M platform asks before it writes a process's exception
/// frame: only the current process's own writable memory passes.
#[test]
fn only_the_current_process_own_writable_memory_takes_a_frame() {
    let mut system = System::boot_identity(&[]);
    let stack_top = IDENTITY_ROOT_DATA + (1 + IDENTITY_ROOT_STACK_PAGES) * PAGE;
    assert!(system.kernel.current_may_write(stack_top - 32, 32));
    assert!(system.kernel.current_may_write(IDENTITY_ROOT_DATA, 32));
    // Its code, past its segment's end, across the end, the kernel's
    // object, a wrap.
    for (address, len) in
        [(IDENTITY_ROOT_CODE, 32), (stack_top, 32), (stack_top - 16, 32), (ROOT_OBJECT, 32), (0xFFFF_FFF0, 32)]
    {
        assert!(!system.kernel.current_may_write(address, len), "{address:#x}");
    }
    // Another process's stack, while it is not the one running.
    let (child, _) = system.spawn("other", 1);
    let child_stack = system.kernel.context(child).expect("it lives").sp;
    assert!(!system.kernel.current_may_write(child_stack - 32, 32));
}

/// A platform finds a process's object from its saved context (the
/// Armv7-M one keeps its MPU state there).
#[test]
fn a_context_lies_in_its_process_object() {
    let mut system = System::boot_identity(&[]);
    let (child, _) = system.spawn("other", 1);
    // The fake's RAM is an allocation: its physical addresses are where
    // `Ram` says (identity on the devices).
    let offset = system.fake().ram().pointer::<u8>(RAM_START) as usize - RAM_START as usize;
    for pid in [system.root, child] {
        let context = system.kernel.context(pid).expect("it lives") as *const _ as usize - offset;
        let object = kernel_core::kernel::process_object_of(context as *const _);
        assert_eq!(object, system.object_of(pid), "{pid:#x}");
    }
}

/// Untyped memory outside the RAM the process table covers (the MT3620's
/// SYSRAM beside its TCM) holds other objects, never a process object:
/// the kernel finds a process's entry from its object's address. Where
/// the object would land decides, after the other checks: refused with
/// `InvalidArgument`, nothing changes.
#[test]
fn a_process_object_only_comes_from_the_ram_the_process_table_covers() {
    let mut system = System::boot_identity(&[]);
    let rights = ObjectType::Untyped.meaningful_rights();
    let ram_end = RAM_START + RAM_BYTES;
    let object = PROCESS_OBJECT_BYTES;
    let untyped =
        |base: u32, bytes: u32| kernel_core::capability::Capability::new(ObjectType::Untyped, rights, base, bytes);
    let outside = system.kernel.give(system.root, untyped(ram_end + 0x10_0000, 4 * object)).unwrap();
    // The last object's worth of RAM and as much past it.
    let straddling = system.kernel.give(system.root, untyped(ram_end - object, 2 * object)).unwrap();
    let refused = |system: &mut System, handle: tessera_abi::Handle, error: Error| {
        let before: Vec<_> = system.kernel.capabilities(system.root).collect();
        let answer = system.now(Syscall::Retype, &[handle.0, ObjectType::Process as u32, object]);
        assert_eq!(answer.result, Err(error), "{handle:?}");
        assert_eq!(system.kernel.capabilities(system.root).collect::<Vec<_>>(), before);
    };
    refused(&mut system, outside, Error::InvalidArgument);
    // The first object of the straddling block lies in RAM; the next would not.
    let process = system.retype(straddling, ObjectType::Process, object);
    assert_ne!(process, tessera_abi::Handle::NULL);
    refused(&mut system, straddling, Error::InvalidArgument);
    // The other checks come first: a device region is the wrong type,
    // wherever it is.
    let device = system.device;
    refused(&mut system, device, Error::WrongType);
}
