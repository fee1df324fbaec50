//! Properties of the built file itself: a static ELF that needs no
//! interpreter or shared library, within the size limit of a rescue tool.

mod common;

/// ELF program header types from elf(5).
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

/// The size limit: 64 KiB. The benchmark goal, 32 KiB, is reported by
/// `cargo xtask bench`, not asserted here.
const SIZE_LIMIT: u64 = 64 * 1024;

/// Returns the `p_type` of each program header of a 64-bit little-endian
/// ELF file.
fn program_header_types(elf: &[u8]) -> Vec<u32> {
    let read_u16 = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let read_u64 = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap()) as usize;
    let table = read_u64(0x20);
    let entry_size = read_u16(0x36);
    let count = read_u16(0x38);
    (0..count)
        .map(|index| {
            let at = table + index * entry_size;
            u32::from_le_bytes(elf[at..at + 4].try_into().unwrap())
        })
        .collect()
}

#[test]
fn binary_is_static_elf() {
    let path = common::nsenter_bin();
    if path.starts_with("/usr") {
        eprintln!("skipped: {} is not this project's binary", path.display());
        return;
    }
    let elf = std::fs::read(&path).expect("read the binary");

    assert_eq!(&elf[..4], b"\x7fELF", "ELF magic");
    assert_eq!(elf[4], 2, "64-bit ELF class");
    let types = program_header_types(&elf);
    assert!(!types.contains(&PT_INTERP), "has an interpreter: {types:?}");
    assert!(
        !types.contains(&PT_DYNAMIC),
        "has a dynamic section: {types:?}"
    );
}

#[test]
fn binary_within_size_limit() {
    let path = common::nsenter_bin();
    if path.starts_with("/usr") {
        eprintln!("skipped: {} is not this project's binary", path.display());
        return;
    }
    let size = std::fs::metadata(&path).expect("stat the binary").len();

    // A debug build is larger and is not what ships.
    if !path.to_string_lossy().contains("/release/") {
        eprintln!(
            "skipped size check: {} is not a release build",
            path.display()
        );
        return;
    }
    assert!(size <= SIZE_LIMIT, "{size} bytes, limit {SIZE_LIMIT}");
}
