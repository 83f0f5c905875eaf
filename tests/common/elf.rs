//! Minimal ELF files for kernel-module tests.

/// A minimal x86-64 relocatable ELF holding the given sections
/// (name, type, data, link).
pub fn build_elf(sections: &[(&str, u32, Vec<u8>, u32)]) -> Vec<u8> {
    fn pad(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
    }
    let mut shstrtab = vec![0u8];
    let mut names = Vec::new();
    for (name, ..) in sections {
        names.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(name.as_bytes());
        shstrtab.push(0);
    }
    let shstrtab_name = shstrtab.len() as u32;
    shstrtab.extend_from_slice(b".shstrtab\0");
    let mut out = vec![0u8; 64];
    let mut offsets = Vec::new();
    for (_, _, data, _) in sections {
        pad(&mut out);
        offsets.push(out.len());
        out.extend_from_slice(data);
    }
    pad(&mut out);
    let shstrtab_off = out.len();
    out.extend_from_slice(&shstrtab);
    pad(&mut out);
    let shoff = out.len();
    let section_header = |out: &mut Vec<u8>,
                          name: u32,
                          ty: u32,
                          off: usize,
                          size: usize,
                          link: u32,
                          entsize: u64| {
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes()); // flags
        out.extend_from_slice(&0u64.to_le_bytes()); // addr
        out.extend_from_slice(&(off as u64).to_le_bytes());
        out.extend_from_slice(&(size as u64).to_le_bytes());
        out.extend_from_slice(&link.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // info
        out.extend_from_slice(&1u64.to_le_bytes()); // addralign
        out.extend_from_slice(&entsize.to_le_bytes());
    };
    out.extend_from_slice(&[0u8; 64]);
    for (i, (_, ty, data, link)) in sections.iter().enumerate() {
        let entsize = if *ty == 2 { 24 } else { 0 };
        section_header(
            &mut out,
            names[i],
            *ty,
            offsets[i],
            data.len(),
            *link,
            entsize,
        );
    }
    section_header(
        &mut out,
        shstrtab_name,
        3,
        shstrtab_off,
        shstrtab.len(),
        0,
        0,
    );
    let shnum = sections.len() as u16 + 2;
    let mut h = Vec::new();
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    h.extend_from_slice(&1u16.to_le_bytes()); // ET_REL
    h.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes()); // entry
    h.extend_from_slice(&0u64.to_le_bytes()); // phoff
    h.extend_from_slice(&(shoff as u64).to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // flags
    h.extend_from_slice(&64u16.to_le_bytes()); // ehsize
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    h.extend_from_slice(&shnum.to_le_bytes());
    h.extend_from_slice(&(shnum - 1).to_le_bytes());
    out[..64].copy_from_slice(&h);
    out
}
