"""RP2040 images: the second-stage boot loader's CRC, and UF2 files.

The RP2040's boot ROM copies the first 256 bytes of flash (`.boot2`, which sets up the flash
interface for execute-in-place) into SRAM and runs them only if their last 4 bytes hold the
CRC-32 of the first 252: polynomial 0x04c11db7, initial value 0xffffffff, no reflection, no final
XOR (CRC-32/MPEG-2), stored little-endian. The linker cannot compute it, so the builder fills it
in after linking (the ELF is patched in place; .bin/.hex/.uf2 are made from it afterwards).

UF2 (Microsoft's USB flashing format, used by the RP2040's BOOTSEL mass-storage mode): 512-byte
blocks, each carrying 256 bytes for one flash address, with the RP2040's family id.
"""
import struct

BOOT2_SIZE = 256
FLASH_BASE = 0x10000000
UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
UF2_FLAG_FAMILY = 0x00002000
UF2_FAMILY_RP2040 = 0xE48BFF56


def crc32_mpeg2(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _sections(data: bytes):
    """(name, file offset, size, address) of every section of a little-endian ELF32."""
    shoff, = struct.unpack_from("<I", data, 32)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 46)
    heads = [struct.unpack_from("<IIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    names = heads[shstrndx][4]
    for name_off, _, _, addr, off, size in heads:
        end = data.index(b"\0", names + name_off)
        yield data[names + name_off:end].decode(), off, size, addr


def fill_boot2_crc(elf_path: str) -> None:
    data = bytearray(open(elf_path, "rb").read())
    for name, off, size, _ in _sections(bytes(data)):
        if name == ".boot2":
            if size != BOOT2_SIZE:
                raise SystemExit("Error: .boot2 is %d bytes; the RP2040 boot ROM loads exactly %d"
                                 % (size, BOOT2_SIZE))
            crc = crc32_mpeg2(bytes(data[off:off + BOOT2_SIZE - 4]))
            struct.pack_into("<I", data, off + BOOT2_SIZE - 4, crc)
            open(elf_path, "wb").write(bytes(data))
            return
    raise SystemExit("Error: %s has no .boot2 section; an RP2040 image needs one" % elf_path)


def _flash_image(data: bytes) -> dict:
    """Flash contents by address from the ELF's loadable segments (load addresses)."""
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    image = {}
    for i in range(phnum):
        p_type, off, _, paddr, filesz, _, _, _ = struct.unpack_from("<IIIIIIII", data,
                                                                   phoff + i * phentsize)
        if p_type == 1 and filesz and paddr >= FLASH_BASE:
            for k in range(filesz):
                image[paddr + k] = data[off + k]
    return image


def write_uf2(elf_path: str, uf2_path: str) -> None:
    image = _flash_image(open(elf_path, "rb").read())
    pages = sorted({a & ~0xFF for a in image})
    blocks = []
    for n, page in enumerate(pages):
        payload = bytes(image.get(page + k, 0) for k in range(256))
        head = struct.pack("<IIIIIIII", UF2_MAGIC[0], UF2_MAGIC[1], UF2_FLAG_FAMILY, page, 256, n,
                           len(pages), UF2_FAMILY_RP2040)
        blocks.append(head + payload + bytes(476 - 256) + struct.pack("<I", UF2_MAGIC[2]))
    open(uf2_path, "wb").write(b"".join(blocks))
