//! iden3's binary section files (`.zkey`, `.ptau`, `.r1cs`; `@iden3/binfileutils`): a 4-byte
//! magic, a u32 version, a u32 section count, then sections, each a u32 type, a u64 size and
//! the content. Every integer is little-endian. Sections are read by offset, a chunk at a time,
//! so no file is held whole in memory.

use super::CeremonyError;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// An open section file and its table of sections.
pub struct BinFile {
    file: File,
    path: PathBuf,
    /// Per section type, its (content offset, content size) in file order.
    sections: BTreeMap<u32, Vec<(u64, u64)>>,
}

impl BinFile {
    /// Opens `path`, checks its magic and version (≤ `max_version`) and reads its section
    /// table; a section running past the end of the file is refused.
    pub fn open(path: &Path, magic: &[u8; 4], max_version: u32) -> Result<Self, CeremonyError> {
        let bad = |m: String| CeremonyError::BadInput(format!("{}: {m}", path.display()));
        let mut file = File::open(path)
            .map_err(|e| CeremonyError::BadInput(format!("cannot read {}: {e}", path.display())))?;
        let len = file.metadata().map_err(|e| bad(e.to_string()))?.len();
        let mut head = [0u8; 12];
        file.read_exact(&mut head)
            .map_err(|_| bad("too short for a section file".into()))?;
        if &head[..4] != magic {
            return Err(bad(format!(
                "not a .{} file (wrong magic bytes)",
                String::from_utf8_lossy(magic)
            )));
        }
        let version = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        if version == 0 || version > max_version {
            return Err(bad(format!("unsupported version {version}")));
        }
        let n = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
        let mut sections: BTreeMap<u32, Vec<(u64, u64)>> = BTreeMap::new();
        let mut at = 12u64;
        for _ in 0..n {
            let mut h = [0u8; 12];
            file.seek(SeekFrom::Start(at))
                .and_then(|_| file.read_exact(&mut h))
                .map_err(|_| bad("truncated section table".into()))?;
            let ty = u32::from_le_bytes(h[..4].try_into().expect("4 bytes"));
            let size = u64::from_le_bytes(h[4..12].try_into().expect("8 bytes"));
            let start = at + 12;
            if size > len.saturating_sub(start) {
                return Err(bad(format!("section {ty} runs past the end of the file")));
            }
            sections.entry(ty).or_default().push((start, size));
            at = start + size;
        }
        Ok(BinFile {
            file,
            path: path.to_path_buf(),
            sections,
        })
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offset and size of the one section of type `ty`.
    pub fn section(&self, ty: u32, what: &str) -> Result<(u64, u64), CeremonyError> {
        match self.sections.get(&ty).map(|v| v.as_slice()) {
            Some([one]) => Ok(*one),
            Some(_) => Err(self.bad(format!("section {ty} ({what}) appears more than once"))),
            None => Err(self.bad(format!("section {ty} ({what}) is missing"))),
        }
    }

    /// Whether a section of type `ty` is present.
    pub fn has(&self, ty: u32) -> bool {
        self.sections.contains_key(&ty)
    }

    /// A bad-input error naming this file.
    pub fn bad(&self, m: impl std::fmt::Display) -> CeremonyError {
        CeremonyError::BadInput(format!("{}: {m}", self.path.display()))
    }

    /// `len` bytes at `offset`.
    pub fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, CeremonyError> {
        let mut b = vec![0u8; len];
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(&mut b))
            .map_err(|e| self.bad(format!("read failed: {e}")))?;
        Ok(b)
    }

    /// The whole content of section `ty` (for the small ones: headers, contributions).
    pub fn read_section(&mut self, ty: u32, what: &str) -> Result<Vec<u8>, CeremonyError> {
        let (at, size) = self.section(ty, what)?;
        self.read_at(at, size as usize)
    }

    /// Copies section `ty` to `w` (its type and size, then its content) in chunks.
    pub fn copy_section<W: Write>(&mut self, ty: u32, w: &mut W) -> io::Result<()> {
        let (at, size) = self.section(ty, "copied").map_err(to_io)?;
        w.write_all(&ty.to_le_bytes())?;
        w.write_all(&size.to_le_bytes())?;
        self.file.seek(SeekFrom::Start(at))?;
        let copied = io::copy(&mut (&mut self.file).take(size), w)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "section ended early",
            ));
        }
        Ok(())
    }

    /// Whether section `ty` has the same bytes here and in `other`.
    pub fn section_equals(&mut self, other: &mut BinFile, ty: u32) -> Result<bool, CeremonyError> {
        let (a, na) = self.section(ty, "compared")?;
        let (b, nb) = other.section(ty, "compared")?;
        if na != nb {
            return Ok(false);
        }
        const CHUNK: u64 = 1 << 22;
        let mut done = 0;
        while done < na {
            let n = CHUNK.min(na - done) as usize;
            if self.read_at(a + done, n)? != other.read_at(b + done, n)? {
                return Ok(false);
            }
            done += n as u64;
        }
        Ok(true)
    }
}

/// A ceremony error carried through an `io::Result` (the atomic file writer's signature).
pub fn to_io(e: CeremonyError) -> io::Error {
    io::Error::other(e)
}

/// Writes the file header: magic, version 1 and the section count.
pub fn write_header<W: Write>(w: &mut W, magic: &[u8; 4], sections: u32) -> io::Result<()> {
    w.write_all(magic)?;
    w.write_all(&1u32.to_le_bytes())?;
    w.write_all(&sections.to_le_bytes())
}

/// Writes a whole section from memory.
pub fn write_section<W: Write>(w: &mut W, ty: u32, content: &[u8]) -> io::Result<()> {
    w.write_all(&ty.to_le_bytes())?;
    w.write_all(&(content.len() as u64).to_le_bytes())?;
    w.write_all(content)
}

/// Starts a section of known size, whose content the caller then writes in chunks.
pub fn start_section<W: Write>(w: &mut W, ty: u32, size: u64) -> io::Result<()> {
    w.write_all(&ty.to_le_bytes())?;
    w.write_all(&size.to_le_bytes())
}
