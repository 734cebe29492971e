"""Instructions of one tg_features_run on Cortex-M7 code (arm-none-eabi-gcc -O2), counted by
running the compiled function in the unicorn emulator. Instructions, not cycles; deterministic,
so the measured count is the asserted bound. This is the DSP path (SMMUL/SMMLA/SMMLS, the
hand-allocated radix-4 butterfly, paired SMULBB/SMLABB window), which the host tests in
test_features_c.py do not compile: edge windows check it bit for bit here."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tinygen.features import default_front_end, emit_c

# Measured with the window below (seed 0): 98,898 before the radix-4 / fused-stage rewrite.
# Three axes: three FFTs, strided loads without the paired path.
BUDGET = {1: 38_979, 3: 136_515}
FLAGS = ["-mcpu=cortex-m7", "-mthumb", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
         "-pedantic", "-ffreestanding", "-nostdlib"]
CODE, RAM = 0x0, 0x20000000
RETURN = 0x0FFFFFF0          # unmapped-free sentinel inside the code region: stop here


def compile_front_end(folder, channels=1):
    fe = default_front_end(channels=channels)
    fe.config.log_lo, fe.config.log_mult = 2000, 9000     # mid-range: most outputs unclamped
    emit_c(fe, folder)
    elf = folder / "fe.elf"
    subprocess.run(["arm-none-eabi-gcc", *FLAGS, "-I", str(folder), "-Wl,-Ttext=0x0",
                    "-Wl,-e,tg_features_run", str(folder / "tg_features.c"), "-o", str(elf), "-lgcc"],
                   check=True)
    binary = folder / "fe.bin"
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(binary)], check=True)
    nm = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    entry = next(int(line.split()[0], 16) for line in nm.splitlines() if line.endswith(" tg_features_run"))
    return fe, binary.read_bytes(), entry


def run_counted(code: bytes, entry: int, samples: np.ndarray, n_out: int = 64):
    import unicorn
    from unicorn import arm_const as a
    uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
    uc.mem_map(CODE, 0x10000000)
    uc.mem_map(RAM, 0x100000)
    uc.mem_write(CODE, code)
    uc.mem_write(CODE + RETURN, b"\x00\xbf" * 8)          # nops where the function returns to
    inp, out = RAM + 0x1000, RAM + 0x8000
    uc.mem_write(inp, samples.astype("<i2").tobytes())
    count = [0]

    def hook(_uc, address, _size, _data):
        count[0] += 1

    uc.hook_add(unicorn.UC_HOOK_CODE, hook)
    uc.reg_write(a.UC_ARM_REG_SP, RAM + 0x100000 - 16)
    uc.reg_write(a.UC_ARM_REG_R0, inp)
    uc.reg_write(a.UC_ARM_REG_R1, out)
    uc.reg_write(a.UC_ARM_REG_LR, (CODE + RETURN) | 1)
    uc.emu_start(entry | 1, CODE + RETURN)
    result = np.frombuffer(bytes(uc.mem_read(out, n_out)), np.int8)
    return count[0], int(uc.reg_read(a.UC_ARM_REG_R0)), result


@pytest.mark.cross
@pytest.mark.parametrize("channels", [1, 3])
def test_cortex_m7_instructions_and_result(tmp_path, channels):
    """One FFT per channel: x/y/z cost three one-axis runs (the bound scales), bit-exact."""
    pytest.importorskip("unicorn")
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    fe, code, entry = compile_front_end(tmp_path, channels)
    rng = np.random.default_rng(0)
    level = np.array([3000, 800, 12000][:channels])
    window = np.clip(rng.normal(size=(1024, channels)) * level, -32768, 32767).astype(np.int16).ravel()
    count, status, features = run_counted(code, entry, window, fe.n_features)
    print(f"tg_features_run, 1024 x {channels} samples -> {fe.n_features} features: "
          f"{count} Cortex-M7 instructions")
    assert status == 0
    assert np.array_equal(features, fe.compute(window))    # bit-exact on the target ISA too
    assert count <= BUDGET[channels]


@pytest.mark.cross
def test_cortex_m7_edge_windows_bit_exact(tmp_path):
    """Full-scale, railed (all -32768: the paired window's one excluded mean), alternating,
    impulse and quiet windows on the DSP path, against the numpy twin."""
    pytest.importorskip("unicorn")
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    fe, code, entry = compile_front_end(tmp_path)
    n = fe.window
    t = np.arange(n)
    rng = np.random.default_rng(1)
    rows = [np.full(n, -32768), np.full(n, 32767), np.zeros(n), np.where(t % 2, 32767, -32768),
            np.where(t < n // 2, 32767, -32768), 32767 * np.sin(2 * np.pi * 0.25 * t),
            np.where(t == n // 3, 32767, 0), np.full(n, -32767), rng.integers(-3, 4, n),
            np.concatenate([np.full(n - 1, -32768), [-32767]])]
    for row in np.clip(np.round(rows), -32768, 32767).astype(np.int16):
        _, status, features = run_counted(code, entry, row, fe.n_features)
        assert status == 0
        assert np.array_equal(features, fe.compute(row))
