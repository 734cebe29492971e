"""Deterministic instruction counts of one inference, on the twin's ELF, with the `unicorn` emulator
(Cortex-M twins) or QEMU's own execution trace (`count_with_qemu`: the cross-check, and RISC-V).

Why unicorn rather than a QEMU TCG plugin: it is a pip package (nothing to compile at run time,
no plugin ABI to match against the installed QEMU, no header Debian does not ship), it runs the
very same ELF the QEMU twin runs, and a Python code hook sees every executed instruction, so the
count is exact and repeatable. Its CPU models come from QEMU's TCG, like the twin's.

Stack: at each region's start the free stack below the stack pointer (down to the end of .bss,
`_ebss`, at most STACK_PAINT_MAX bytes) is painted with a pattern; at its end the deepest
overwritten word gives the region's high-water mark, measured from the stack pointer at the
call of tg_mark_begin: every frame of the inference (invoke, kernels, library calls) counts.

How: the ELF boots from its reset vector as on the twin; the UART is a memory-mapped model fed
with one INFER_RAW (or INFER_FEATURES) frame; the counter runs from the call of
tg_mark_begin(id) to the call of tg_mark_end(id) (id 1 = front end, 2 = network; see
firmware/harness/tg_protocol.h). The regions include the two bsp_cycles() reads around the timed
call (a few instructions). These are instructions executed on an emulator, not cycles.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from ..errors import EmulatorError, ToolchainMissing

MARK_FRONT_END = 1
MARK_NETWORK = 2
STACK_PAINT = 0x5A7C_9E31          # unlikely as data: not 0, not -1, not a small int or address
STACK_PAINT_MAX = 256 << 10


# -- a small ELF32 reader (program headers and the symbol table) ------------------------------
@dataclass
class Elf:
    machine: int
    entry: int
    segments: list[tuple[int, bytes, int]]          # (address, file bytes, memory size)
    symbols: dict[str, int] = field(default_factory=dict)
    functions: list[tuple[int, int, str]] = field(default_factory=list)   # (start, size, name)


def read_elf(path: Path | str) -> Elf:
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise EmulatorError(f"{path} is not a little-endian 32-bit ELF")
    (_, machine, _, entry, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
     _) = struct.unpack_from("<HHIIIIIHHHHHH", data, 16)
    segs = []
    for i in range(phnum):
        p_type, off, vaddr, paddr, filesz, memsz, _, _ = struct.unpack_from("<IIIIIIII", data, phoff + i * phentsize)
        if p_type == 1 and memsz:
            segs.append((paddr, data[off:off + filesz], memsz))
    syms: dict[str, int] = {}
    funcs: list[tuple[int, int, str]] = []
    sections = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    for sh in sections:
        if sh[1] == 2:  # SHT_SYMTAB
            strtab = sections[sh[6]]
            for j in range(sh[5] // 16):
                name_off, value, size, info, _, _ = struct.unpack_from("<IIIBBH", data, sh[4] + j * 16)
                if info & 0xF in (0, 1, 2) and name_off:  # linker symbols (_ebss), objects, functions
                    end = data.index(b"\0", strtab[4] + name_off)
                    name = data[strtab[4] + name_off:end].decode()
                    syms[name] = value
                    if info & 0xF == 2 and size:
                        funcs.append((value & ~1, size, name))
    return Elf(machine, entry, segs, syms, sorted(funcs))


def by_function(elf: Elf, per_address: dict[int, int]) -> dict[str, int]:
    """Fold per-address counts into per-function counts (the ELF's function symbols)."""
    import bisect

    starts = [f[0] for f in elf.functions]
    out: dict[str, int] = {}
    for addr, n in per_address.items():
        i = bisect.bisect_right(starts, addr) - 1
        name = "?"
        if i >= 0 and addr < elf.functions[i][0] + elf.functions[i][1]:
            name = elf.functions[i][2]
        out[name] = out.get(name, 0) + n
    return out


def _thumb32(hw: int) -> bool:
    return (hw >> 11) in (0b11101, 0b11110, 0b11111)


def _it_candidates(elf: Elf) -> set[int]:
    """Half-word addresses holding an IT encoding (0xBFxy, y != 0). The code hook only fires at
    real instruction starts, so a hit there is a real IT instruction."""
    out = set()
    for addr, blob, _ in elf.segments:
        for off in range(0, len(blob) - 1, 2):
            if blob[off + 1] == 0xBF and blob[off] & 0x0F:
                out.add(addr + off)
    return out


def _it_block(mu, address: int) -> list[int]:
    """Addresses of the 1-4 instructions an IT at `address` covers."""
    mask = mu.mem_read(address, 1)[0] & 0x0F
    n = 4 - ((mask & -mask).bit_length() - 1)
    out, a = [], address + 2
    for _ in range(n):
        hw = int.from_bytes(mu.mem_read(a, 2), "little")
        out.append(a)
        a += 4 if _thumb32(hw) else 2
    return out


# -- UART models ------------------------------------------------------------------------------
# Register offsets of the UART models a twin file may name (boards.UART_MODELS): where the data
# register and the status register are, and the status bits that say "a byte is waiting" (or "no
# byte", for the PL011's RX-empty flag) and "ready to send" (the TX side never fills here).
UART_MODELS = {
    "cmsdk": {"data": 0x00, "status": 0x04, "rx_full": 0x2, "rx_empty": 0x0, "ready": 0x0},
    "stm32": {"data": 0x04, "status": 0x00, "rx_full": 1 << 5, "rx_empty": 0x0, "ready": 1 << 7},
    "pl011": {"data": 0x00, "status": 0x18, "rx_full": 0x0, "rx_empty": 0x10, "ready": 0x0},
}


class _Uart:
    def __init__(self, rx: bytes, then: Sequence[bytes] = ()):
        from ..wire import FrameDecoder

        self.rx = bytearray(rx)
        self.tx = bytearray()
        self.queue = [bytes(f) for f in then]   # frames sent one at a time after each reply
        self.replies = 0                        # replies (not BOOT frames) sent so far
        self.ends: list[int] = []               # instructions run when each reply was out
        self._decoder = FrameDecoder() if then else None

    def sent(self, byte: int) -> None:
        from ..wire import CMD_BOOT

        self.tx.append(byte)
        if self._decoder is not None:
            self._decoder.feed(bytes([byte]))
            self.replies += sum(1 for f in self._decoder.frames() if f.cmd != CMD_BOOT)

    def idle(self, n: int) -> bool:
        """The firmware polls an empty line: after a reply, note `n` and send the next frame.
        False when no frame is left (the run is over)."""
        if self._decoder is None or self.replies <= len(self.ends):
            return True
        self.ends.append(n)
        if not self.queue:
            return False
        self.rx += self.queue.pop(0)
        return True


def _page(x: int) -> int:
    return x & ~0xFFF


def _pages(n: int) -> int:
    return (n + 0xFFF) & ~0xFFF


@dataclass
class Counts:
    front_end: Optional[int]
    network: int
    total_run: int
    functions: Optional[dict[str, int]] = None    # per function, inside the network region
    network_stack: Optional[int] = None           # bytes: the network region's stack high-water mark
    front_end_stack: Optional[int] = None
    regions: dict = field(default_factory=dict)   # every marked region counted: id -> instructions
    requests: list = field(default_factory=list)  # with `then`: each later frame's whole request
    first_reply: Optional[int] = None             # with `then`: from reset to the first reply out

    @property
    def stack(self) -> int:
        """The deeper of the two regions: the stack one inference needs."""
        return max(self.network_stack or 0, self.front_end_stack or 0)

    @property
    def inference(self) -> int:
        return self.network + (self.front_end or 0)


def count_instructions(elf_path: Path | str, twin, frame: bytes, max_instructions: int = 200_000_000,
                       per_function: bool = False, until: int = MARK_NETWORK,
                       then: Sequence[bytes] = ()) -> Counts:
    """Run the ELF on unicorn until the network's end marker; return the counts (and, with
    `per_function`, the network's instructions per function: per-layer `<model>_op<i>_run`
    functions make that a per-layer profile).

    With `then` (more frames), each is sent when the firmware, its reply to the one before out,
    polls the empty line again, and the run ends at the poll after the last reply:
    `Counts.requests` holds the instructions of each of those whole requests (receiving and
    checking the frame, the field layer's gate and bookkeeping, front end, network, the reply).
    What the first frame's request costs is left out: it carries the boot."""
    try:
        import unicorn as uc
        from unicorn import arm_const as A
    except ImportError:
        raise ToolchainMissing("instruction counting needs the unicorn emulator: pip install unicorn") from None
    if twin.arch != "arm":
        raise EmulatorError(f"instruction counting supports the Cortex-M twins; {twin.name} is {twin.arch}")
    elf = read_elf(elf_path)
    for sym in ("tg_mark_begin", "tg_mark_end"):
        if sym not in elf.symbols:
            raise EmulatorError(f"{Path(elf_path).name} has no {sym}(); rebuild it with tinygen's protocol")
    cpu = getattr(A, "UC_CPU_ARM_" + twin.core.upper().replace("-", "_"), None)
    if cpu is None:
        raise EmulatorError(f"unicorn has no {twin.core} model to count the {twin.name} twin with")
    mu = uc.Uc(uc.UC_ARCH_ARM, uc.UC_MODE_THUMB | uc.UC_MODE_MCLASS)
    mu.ctl_set_cpu_model(cpu)

    # Memory, from the twin file: code (also at 0x0, where the core fetches its vectors, when it
    # is linked elsewhere), RAM, the system control space; other peripherals the firmware touches
    # (a watchdog, clocks) read as plain memory, mapped on first use.
    regions = [(twin.flash_base, _pages(twin.flash_bytes)), (twin.ram_base, _pages(twin.ram_bytes))]
    if twin.flash_base:
        regions.append((0x0, _pages(twin.flash_bytes)))
    for base, size in regions:
        mu.mem_map(base, size)
    mu.mem_map(0xE0000000, 0x100000)  # SCB, DWT: plain memory here
    for addr, blob, memsz in elf.segments:
        mu.mem_write(addr, blob)
        if twin.flash_base and twin.flash_base <= addr < twin.flash_base + twin.flash_bytes:
            mu.mem_write(addr - twin.flash_base, blob)  # the alias at 0x0

    def on_unmapped(_uc, _access, address, _size, _value, _data):
        if not 0x40000000 <= address < 0x60000000:
            return False                                  # a real fault: stop, report the PC
        mu.mem_map(_page(address), 0x1000)
        return True

    mu.hook_add(uc.UC_HOOK_MEM_READ_UNMAPPED | uc.UC_HOOK_MEM_WRITE_UNMAPPED, on_unmapped)
    port = _Uart(frame, then)
    model = UART_MODELS[twin.uart]

    def uart_read(_uc, offset, _size, _data):
        if offset == model["data"]:
            return port.rx.pop(0) if port.rx else 0
        if offset == model["status"]:
            if not port.rx and not port.idle(state["n"]):
                _uc.emu_stop()                            # the last reply is out: done
            return model["ready"] | (model["rx_full"] if port.rx else model["rx_empty"])
        return 0

    def uart_write(_uc, offset, _size, value, _data):
        if offset == model["data"]:
            port.sent(value & 0xFF)

    mu.mmio_map(twin.uart_base, 0x1000, uart_read, None, uart_write, None)

    sp, reset = struct.unpack("<II", bytes(mu.mem_read(twin.flash_base, 8)))
    mu.reg_write(A.UC_ARM_REG_SP, sp)
    # Unicorn keeps its own copy of CPACR: grant the FPU as the reset handler does on the twin.
    try:
        mu.reg_write(A.UC_ARM_REG_C1_C0_2, mu.reg_read(A.UC_ARM_REG_C1_C0_2) | (0xF << 20))
    except uc.UcError:
        pass

    begin = elf.symbols["tg_mark_begin"] & ~1
    end = elf.symbols["tg_mark_end"] & ~1
    state = {"n": 0, "open": {}, "done": {}, "stack": {}, "paint": {}}
    stack_floor = elf.symbols.get("_ebss", 0)
    hist: dict[int, int] = {}
    it_sites = _it_candidates(elf)
    in_block: set[int] = set()

    def on_code(_uc, address, _size, _data):
        # Unicorn does not call the hook for an IT-block instruction whose condition fails,
        # though the core executes it (as a no-op) and QEMU's TCG plugins count it. Count the
        # whole block when its IT executes, and skip the block's instructions when they show up.
        if in_block:
            if address in in_block:
                in_block.discard(address)
                return _markers(address)
            in_block.clear()
        state["n"] += 1
        if address in it_sites:
            block = _it_block(mu, address)
            state["n"] += len(block)
            in_block.update(block)
            if per_function and MARK_NETWORK in state["open"]:
                hist[address] = hist.get(address, 0) + len(block)
        if per_function and MARK_NETWORK in state["open"]:
            hist[address] = hist.get(address, 0) + 1
        _markers(address)

    def _markers(address):
        if address == begin:
            mark = mu.reg_read(A.UC_ARM_REG_R0)
            state["open"][mark] = state["n"]
            state["paint"][mark] = _paint_stack(mu, mu.reg_read(A.UC_ARM_REG_SP), stack_floor)
        elif address == end:
            mark = mu.reg_read(A.UC_ARM_REG_R0)
            if mark in state["open"]:
                state["done"][mark] = state["n"] - state["open"].pop(mark)
                state["stack"][mark] = _stack_depth(mu, *state["paint"].pop(mark))
            if mark == until and not then:
                mu.emu_stop()
        if state["n"] >= max_instructions:
            mu.emu_stop()

    mu.hook_add(uc.UC_HOOK_CODE, on_code)
    try:
        mu.emu_start(reset | 1, 0xFFFFFFFF, count=max_instructions)
    except uc.UcError as exc:
        pc = mu.reg_read(A.UC_ARM_REG_PC)
        raise EmulatorError(f"unicorn stopped at 0x{pc:08x} after {state['n']} instructions: {exc}") from None
    if then and len(port.ends) != len(then) + 1:
        raise EmulatorError(f"{len(port.ends)} of {len(then) + 1} replies came within "
                            f"{state['n']} instructions (device replied {bytes(port.tx[:16]).hex()}...)")
    if MARK_NETWORK not in state["done"] or until not in state["done"]:
        raise EmulatorError(f"the end marker {until} was not reached within {state['n']} instructions "
                            f"(device replied {bytes(port.tx[:16]).hex()}...)")
    return Counts(state["done"].get(MARK_FRONT_END), state["done"][MARK_NETWORK], state["n"],
                  by_function(elf, hist) if per_function else None,
                  state["stack"].get(MARK_NETWORK), state["stack"].get(MARK_FRONT_END),
                  dict(state["done"]), [b - a for a, b in zip(port.ends, port.ends[1:])],
                  port.ends[0] if port.ends else None)


def _paint_stack(mu, sp: int, floor: int) -> tuple[int, int]:
    """Fill the free stack [lo, sp) with STACK_PAINT; return (lo, sp)."""
    lo = max(floor, sp - STACK_PAINT_MAX, 0x20000000 if sp >= 0x20000000 else 0)
    lo = (lo + 3) & ~3
    if sp > lo:
        mu.mem_write(lo, struct.pack("<I", STACK_PAINT) * ((sp - lo) // 4))
    return lo, sp


def _stack_depth(mu, lo: int, sp: int) -> int:
    """Bytes below `sp` written since painting: up to the deepest word that lost the pattern."""
    if sp <= lo:
        return 0
    words = struct.unpack(f"<{(sp - lo) // 4}I", bytes(mu.mem_read(lo, sp - lo)))
    for i, w in enumerate(words):
        if w != STACK_PAINT:
            if i == 0:
                raise EmulatorError(f"the stack reached the end of the painted area ({sp - lo} "
                                    "bytes below the stack pointer): it may have overflowed")
            return sp - (lo + 4 * i)
    return 0


# -- the same count from QEMU itself (a cross-check, and the way for the RISC-V twin) ----------
def count_with_qemu(elf_path: Path | str, twin, frame: bytes, timeout: float = 120.0) -> Counts:
    """Run the twin in QEMU one instruction per translation block (-singlestep) with an
    execution trace, send `frame`, and count traced instructions between the marker entries.
    Slower than unicorn (a log line per instruction) but it is QEMU's own CPU model; it also
    counts IT-block instructions whose condition fails, as TCG plugins do."""
    import re
    import tempfile

    from .protocol import CMD_INFER_RAW

    elf = read_elf(elf_path)
    for sym in ("tg_mark_begin", "tg_mark_end"):
        if sym not in elf.symbols:
            raise EmulatorError(f"{Path(elf_path).name} has no {sym}(); rebuild it with tinygen's protocol")
    begin = elf.symbols["tg_mark_begin"] & ~1
    end = elf.symbols["tg_mark_end"] & ~1
    with tempfile.TemporaryDirectory(prefix="tinygen-trace-") as tmp:
        log = Path(tmp) / "exec.log"
        for attempt in range(TRACE_ATTEMPTS):
            try:
                _trace_two_requests(twin, elf_path, log, frame, timeout)
                break
            except EmulatorError:
                if attempt == TRACE_ATTEMPTS - 1:
                    raise
        pattern = re.compile(rb"^Trace \S+ \S+ \[[0-9a-f]+/([0-9a-f]+)/", re.M)
        hits = []
        n = 0
        with open(log, "rb") as f:
            for chunk in iter(lambda: f.readlines(1 << 20), []):
                for line in chunk:
                    m = pattern.match(line)
                    if not m:
                        continue
                    pc = int(m.group(1), 16)
                    if pc == begin or pc == end:
                        hits.append((pc, n))
                    n += 1
    spans = [b[1] - a[1] for a, b in zip(hits, hits[1:]) if a[0] == begin and b[0] == end]
    raw = frame[1] == CMD_INFER_RAW
    per_request = (len(spans) - len(spans) % 2) // 2
    if per_request < (2 if raw else 1):
        raise EmulatorError(f"the trace holds {len(spans)} marked region(s); expected at least "
                            f"{2 if raw else 1} per request")
    mine = spans[-per_request:]            # the second request's regions, in firmware order
    return Counts(mine[0] if raw else None, mine[1] if raw else mine[0], n)


# Traced runs per count. Should a twin's line lose a byte (the Xtensa twin's simcall console did
# under load, before its line became QEMU's stdio: tinygen/twin.py), that request never gets its
# reply, and a resend inside the same run would add marked regions the count cannot tell apart,
# so the whole run starts again.
TRACE_ATTEMPTS = 3
# Seconds for a traced guest's first byte: start-up runs traced too, one log line per instruction,
# and the boot check reads every constant (fc_autoencoder's twin, 528 KB of widened FC rows, sent
# nothing within 30 s, twice, at load 11 on this 2-core machine).
TRACE_READY_TIMEOUT = 180.0


def _trace_two_requests(twin, elf_path, log: Path, frame: bytes, timeout: float) -> None:
    """One traced QEMU run (the log starts afresh) answering two equal requests."""
    from ..twin import QemuTwin

    log.unlink(missing_ok=True)
    q = QemuTwin(twin, elf_path, ready_timeout=TRACE_READY_TIMEOUT,
                 extra_args=("-singlestep", "-d", "exec,nochain", "-D", str(log)))
    with q:
        # Twice: the trace cannot read a marker's id, but the regions of two equal requests
        # (front end 1, network 2, field bookkeeping 3) after the boot check (4, once or not
        # at all) tell themselves apart by count: the boot region makes the total odd.
        for _ in range(2):
            _request(q, frame, timeout, twin.machine)


def _request(q, frame: bytes, timeout: float, machine: str) -> None:
    """Send one request frame to the twin and wait for its reply."""
    import time

    from .protocol import FrameDecoder, reply_cmd

    want = reply_cmd(frame[1])
    dec = FrameDecoder()
    q.transport.write(frame)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dec.feed(q.transport.read(min(deadline, time.monotonic() + 0.2)))
        if any(f.cmd == want for f in dec.frames()):
            return
    raise EmulatorError(f"no reply from the {machine} twin within {timeout:g} s while tracing "
                        "instructions")
