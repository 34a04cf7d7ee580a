//! Where this process's code is loaded, for the profile's mapping table:
//! each executable, file-backed region of `/proc/self/maps` with its file
//! and, where the file has one, its GNU build id (the note the linker puts
//! in an ELF file, which `go tool pprof` and symbol servers match binaries
//! by). Without mappings pprof says "Main binary filename not available"
//! and cannot tell which addresses belong to which file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// One executable region of the address space.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Region {
    pub start: u64,
    pub limit: u64,
    /// Offset in the file of the region's first byte.
    pub offset: u64,
    pub path: String,
    /// Lowercase hex, as pprof and `file(1)` print it.
    pub build_id: Option<String>,
    /// What to add to an address of the file (as its symbols and debug
    /// info give them) to find it in memory here (position-independent
    /// binaries load anywhere).
    pub bias: Option<u64>,
}

/// The main binary's functions by address, from its symbol table: the
/// full paths that its debug info leaves out of inlined and closure names.
#[derive(Debug, Default)]
pub(crate) struct Functions {
    /// (file address, size, demangled name without its hash), by address.
    by_address: Vec<(u64, u64, String)>,
}

impl Functions {
    /// The function whose code holds file address `addr`.
    pub(crate) fn containing(&self, addr: u64) -> Option<&str> {
        let i = self
            .by_address
            .partition_point(|&(start, _, _)| start <= addr);
        let (start, size, name) = self.by_address.get(i.checked_sub(1)?)?;
        (addr < start + size.max(&1)).then_some(name.as_str())
    }
}

/// The executable regions of this process, the main binary first (pprof
/// takes the first mapping for the main binary), and the main binary's
/// functions; nothing where the OS has no `/proc/self/maps`.
pub(crate) fn of_this_process() -> (Vec<Region>, Functions) {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return (Vec::new(), Functions::default());
    };
    let mut regions = parse_maps(&maps);
    let mut main = false;
    if let Ok(exe) = std::env::current_exe() {
        let exe = exe.to_string_lossy();
        if let Some(i) = regions.iter().position(|r| r.path == exe) {
            let region = regions.remove(i);
            regions.insert(0, region);
            main = true;
        }
    }
    let mut functions = Functions::default();
    for (i, r) in regions.iter_mut().enumerate() {
        let Some(mut elf) = Elf::open(Path::new(&r.path)) else {
            continue;
        };
        r.build_id = elf.build_id();
        r.bias = elf.bias(r.offset, r.start);
        if i == 0 && main {
            functions = elf.functions().unwrap_or_default();
        }
    }
    (regions, functions)
}

/// Executable, file-backed lines of a `/proc/<pid>/maps` text
/// (`start-limit perms offset dev inode path`).
fn parse_maps(text: &str) -> Vec<Region> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (range, perms, offset) = (fields.next()?, fields.next()?, fields.next()?);
            let path = fields.nth(2)?;
            if !perms.contains('x') || !path.starts_with('/') {
                return None;
            }
            let (start, limit) = range.split_once('-')?;
            Some(Region {
                start: u64::from_str_radix(start, 16).ok()?,
                limit: u64::from_str_radix(limit, 16).ok()?,
                offset: u64::from_str_radix(offset, 16).ok()?,
                path: path.to_string(),
                build_id: None,
                bias: None,
            })
        })
        .collect()
}

/// ELF's note type for a build id, under the note name "GNU".
const NT_GNU_BUILD_ID: u32 = 3;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const SHT_SYMTAB: u32 = 2;
const STT_FUNC: u8 = 2;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// A 64-bit little-endian ELF file, read piece by piece (a binary with
/// debug info is tens of megabytes; only headers, notes and the symbol
/// table are read).
struct Elf {
    file: File,
    header: [u8; 64],
    /// (type, file offset, file address, size in the file, flags).
    segments: Vec<(u32, u64, u64, u64, u32)>,
}

impl Elf {
    fn open(path: &Path) -> Option<Elf> {
        let mut file = File::open(path).ok()?;
        let mut header = [0u8; 64];
        file.read_exact(&mut header).ok()?;
        // "\x7fELF", 64-bit, little-endian.
        if header[..4] != *b"\x7fELF" || header[4] != 2 || header[5] != 1 {
            return None;
        }
        let (phoff, size, count) = (
            u64_at(&header, 32),
            usize::from(u16_at(&header, 54)),
            usize::from(u16_at(&header, 56)),
        );
        if size < 56 || count > 4096 {
            return None;
        }
        let mut elf = Elf {
            file,
            header,
            segments: Vec::new(),
        };
        let table = elf.read(phoff, size * count)?;
        elf.segments = (table.chunks_exact(size))
            .map(|ph| {
                let flags = u32_at(ph, 4);
                (
                    u32_at(ph, 0),
                    u64_at(ph, 8),
                    u64_at(ph, 16),
                    u64_at(ph, 32),
                    flags,
                )
            })
            .collect();
        Some(elf)
    }

    fn read(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        if len > 256 << 20 {
            return None;
        }
        let mut buf = vec![0u8; len];
        self.file.seek(SeekFrom::Start(offset)).ok()?;
        self.file.read_exact(&mut buf).ok()?;
        Some(buf)
    }

    /// The GNU build id, from the note segments.
    fn build_id(&mut self) -> Option<String> {
        let notes: Vec<(u64, u64)> = (self.segments.iter())
            .filter(|s| s.0 == PT_NOTE && s.3 <= 1 << 20)
            .map(|s| (s.1, s.3))
            .collect();
        notes
            .into_iter()
            .find_map(|(offset, size)| gnu_build_id(&self.read(offset, size as usize)?))
    }

    /// Memory address minus file address, for the executable region
    /// mapping file offset `offset` at `start`. The kernel maps whole
    /// pages, so the region starts at the segment's offset rounded down to
    /// a page: the segment whose rounded offset is `offset` is the one.
    fn bias(&self, offset: u64, start: u64) -> Option<u64> {
        const PF_X: u32 = 1;
        const PAGE: u64 = 4096;
        let &(_, seg_offset, seg_addr, _, _) = self
            .segments
            .iter()
            .find(|s| s.0 == PT_LOAD && s.4 & PF_X != 0 && s.1 / PAGE * PAGE == offset)?;
        start.checked_sub(seg_addr.checked_sub(seg_offset - offset)?)
    }

    /// The function symbols of the symbol table, demangled.
    fn functions(&mut self) -> Option<Functions> {
        let (shoff, size, count) = (
            u64_at(&self.header, 40),
            usize::from(u16_at(&self.header, 58)),
            usize::from(u16_at(&self.header, 60)),
        );
        if size < 64 || count > 65_536 {
            return None;
        }
        let sections = self.read(shoff, size * count)?;
        let section = |i: usize| sections.get(i * size..(i + 1) * size);
        let symtab = (0..count)
            .filter_map(section)
            .find(|s| u32_at(s, 4) == SHT_SYMTAB)?;
        let strtab = section(u32_at(symtab, 40) as usize)?;
        let symbols = self.read(u64_at(symtab, 24), u64_at(symtab, 32) as usize)?;
        let names = self.read(u64_at(strtab, 24), u64_at(strtab, 32) as usize)?;
        let mut by_address: Vec<(u64, u64, String)> = symbols
            .chunks_exact(24)
            .filter(|sym| sym[4] & 0xf == STT_FUNC && u64_at(sym, 8) != 0)
            .filter_map(|sym| {
                let at = u32_at(sym, 0) as usize;
                let end = at + names.get(at..)?.iter().position(|&b| b == 0)?;
                let raw = std::str::from_utf8(&names[at..end]).ok()?;
                let name = format!("{:#}", rustc_demangle::demangle(raw));
                Some((u64_at(sym, 8), u64_at(sym, 16), name))
            })
            .collect();
        by_address.sort_unstable_by_key(|f| f.0);
        Some(Functions { by_address })
    }
}

/// The build id among the notes of one note segment.
fn gnu_build_id(mut notes: &[u8]) -> Option<String> {
    let align4 = |n: usize| n.div_ceil(4) * 4;
    while notes.len() >= 12 {
        let word = |at: usize| u32::from_le_bytes(notes[at..at + 4].try_into().unwrap()) as usize;
        let (namesz, descsz, kind) = (word(0), word(4), word(8) as u32);
        let name_end = 12 + align4(namesz);
        let desc_end = name_end + align4(descsz);
        if desc_end > notes.len() {
            return None;
        }
        if kind == NT_GNU_BUILD_ID && notes[12..12 + namesz] == *b"GNU\0" {
            let desc = &notes[name_end..name_end + descsz];
            return Some(desc.iter().map(|b| format!("{b:02x}")).collect());
        }
        notes = &notes[desc_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_file_regions_are_read_off_maps() {
        let maps = "\
55d0c0000000-55d0c0100000 r--p 00000000 fd:01 123 /usr/bin/spigo
55d0c0100000-55d0c0900000 r-xp 00100000 fd:01 123 /usr/bin/spigo
7f0000000000-7f0000021000 rw-p 00000000 00:00 0
7f1000000000-7f1000180000 r-xp 00028000 fd:01 77 /usr/lib/x86_64-linux-gnu/libc.so.6
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
";
        let r = parse_maps(maps);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].start, r[0].limit, r[0].offset),
            (0x55d0_c010_0000, 0x55d0_c090_0000, 0x10_0000)
        );
        assert_eq!(r[1].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    }

    #[test]
    fn a_build_id_note_is_found_among_others() {
        let mut notes = Vec::new();
        // An ABI-tag note first (type 1, 16-byte descriptor).
        notes.extend([4u32, 16, 1].iter().flat_map(|w| w.to_le_bytes()));
        notes.extend(b"GNU\0");
        notes.extend([0u8; 16]);
        notes.extend(
            [4u32, 4, NT_GNU_BUILD_ID]
                .iter()
                .flat_map(|w| w.to_le_bytes()),
        );
        notes.extend(b"GNU\0");
        notes.extend([0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(gnu_build_id(&notes).as_deref(), Some("deadbeef"));
        assert_eq!(gnu_build_id(&notes[..20]), None);
    }

    #[test]
    fn this_process_maps_its_own_binary_first_and_finds_its_functions() {
        let (regions, functions) = of_this_process();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(regions[0].path, exe.to_string_lossy());
        assert!(regions[0].start < regions[0].limit);
        // Rust's linker run gives every Linux binary a build id.
        assert!(regions[0]
            .build_id
            .as_ref()
            .is_some_and(|id| id.len() >= 16));
        // This very function, found by its address in memory.
        let here = this_process_maps_its_own_binary_first_and_finds_its_functions as *const ()
            as usize as u64;
        let file_address = here - regions[0].bias.unwrap();
        let name = functions.containing(file_address).unwrap();
        assert!(
            name.ends_with("tests::this_process_maps_its_own_binary_first_and_finds_its_functions"),
            "{name}"
        );
    }
}
