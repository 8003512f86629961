#!/usr/bin/env python3
"""extract-vmlinux.py BZIMAGE OUT

Write the uncompressed ELF kernel inside a bzImage (xz, zstd, gzip, lzma
payload) to OUT, if it has a PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY, the
kernel was built with CONFIG_PVH). qemu -kernel then boots it directly through
PVH: no BIOS boot loader and no in-guest decompression, which under TCG saves
several seconds per boot. Exit status 1 (and no OUT) when that is not possible.
"""
import os
import struct
import subprocess
import sys

MAGICS = [
    (b"\xfd7zXZ\x00", ["xz", "-dcq", "--single-stream"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dcq"]),
    (b"\x1f\x8b\x08", ["gzip", "-dcq"]),
    (b"\x5d\x00\x00", ["xz", "-dcq", "--format=lzma"]),
]
XEN_ELFNOTE_PHYS32_ENTRY = 18


def has_pvh_note(elf: bytes) -> bool:
    if elf[:4] != b"\x7fELF" or elf[4] != 2:  # 64-bit only
        return False
    e_phoff, = struct.unpack_from("<Q", elf, 0x20)
    e_phentsize, e_phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(e_phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", elf, e_phoff + i * e_phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        off, end = p_offset, p_offset + p_filesz
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, off)
            name = elf[off + 12: off + 12 + namesz].rstrip(b"\x00")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            off += 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)
    return False


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    for magic, cmd in MAGICS:
        start = 0
        while True:
            i = data.find(magic, start)
            if i < 0:
                break
            start = i + 1
            try:
                r = subprocess.run(cmd, input=data[i:], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, check=False)
            except FileNotFoundError:
                break
            elf = r.stdout
            if elf[:4] == b"\x7fELF":
                if not has_pvh_note(elf):
                    print(f"{src}: kernel has no PVH entry point", file=sys.stderr)
                    return 1
                with open(out + ".tmp", "wb") as f:
                    f.write(elf)
                os.replace(out + ".tmp", out)
                return 0
    print(f"{src}: no compressed ELF kernel found", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
