"""Issue 14's rest of the Cortex-M family, end to end: the Raspberry Pi Pico (RP2040, Cortex-M0+,
ARMv6-M) and the NUCLEO-U575ZI-Q (Cortex-M33 with DSP). `tinygen build --emulate` builds both
the real board's firmware and the twin's offline, validates the twin bit-exact against
TFLite-Micro over the serial socket, and counts one inference's instructions.

The Pico's twin is QEMU's lm3s6965evb run with `-cpu cortex-m0`: a real ARMv6-M core, which
faults on Thumb-2-only instructions (checked below), so a bit-exact run proves the code needs
nothing beyond what the M0+ has. Counts are instructions on an emulator, not cycles; bounds are
measured figures plus ~1 %."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tinygen.boards import get_board
from tinygen.cli import main as cli_main

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "tflm" / "examples"
MICRO_SPEECH = CORPUS / "micro_speech_quantized.tflite"

pytestmark = [pytest.mark.emulated, pytest.mark.cross,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None
                                 or shutil.which("qemu-system-arm") is None,
                                 reason="needs arm-none-eabi-gcc and qemu-system-arm")]

# micro_speech_quantized (336,000 MACs): measured 2,777,601 (Pico twin, portable kernels: M0 has
# no DSP; 2,822,827 before tg_smull replaced libgcc's 64-bit multiply) and 560,932 (U5 twin,
# SMLAD route); the U5's portable route measured 1,230,216. QEMU's own trace counts the same.
NETWORK_MOST = {"pico": 2_800_000, "stm32u5": 566_000}


def _build_emulate(board: str, out: Path, capsys) -> dict:
    pytest.importorskip("tflite_micro")
    if not MICRO_SPEECH.is_file():
        pytest.skip(f"{MICRO_SPEECH} not present")
    rc = cli_main(["build", "--board", board, "--model", str(MICRO_SPEECH), "--out", str(out),
                   "--emulate", "--samples", "4", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return json.loads(captured.out)


def _check(doc: dict, board: str) -> dict:
    b = get_board(board)
    envs = {r["env"]: r for r in doc["builds"]}
    assert set(envs) == {f"{board}_offline", f"{board}_twin"}
    off = envs[f"{board}_offline"]
    assert off["linked"] and off["flash_limit"] == b.flash_bytes and off["ram_limit"] == b.ram_bytes
    assert off["flash"] > doc["weight_bytes"] == 32_960 and off["bss"] >= b.stack_bytes
    v = doc["validation"]
    assert (v["samples"], v["bit_exact"], v["differing_bytes"]) == (4, 4, 0), v
    lat = doc["latency"]
    assert 0 < lat["network_instructions"] <= NETWORK_MOST[board], lat
    return envs


def _crc32_mpeg2(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def test_pico_builds_offline_and_its_m0_twin_is_bit_exact(tmp_path, capsys):
    doc = _build_emulate("pico", tmp_path / "pico", capsys)
    envs = _check(doc, "pico")
    elf = Path(envs["pico_offline"]["elf"])
    # The flash image starts with boot2: 256 bytes whose last word is the CRC the boot ROM checks,
    # then the vector table at 0x10000100 (stack pointer in SRAM, reset handler in flash, Thumb).
    image = elf.with_suffix(".bin").read_bytes()
    assert struct.unpack_from("<I", image, 252)[0] == _crc32_mpeg2(image[:252])
    sp, reset = struct.unpack_from("<II", image, 256)
    assert 0x20000000 < sp <= 0x20040000 and 0x10000100 < reset < 0x10200000 and reset & 1
    # UF2 for the BOOTSEL drive: one 512-byte block per 256 bytes of flash, RP2040 family id
    uf2 = elf.with_suffix(".uf2").read_bytes()
    assert len(uf2) == 512 * ((len(image) + 255) // 256)
    assert struct.unpack_from("<IIIIIIII", uf2, 0)[3] == 0x10000000
    assert struct.unpack_from("<I", uf2, 28)[0] == 0xE48BFF56


def test_stm32u5_builds_offline_and_its_m33_twin_runs_the_dsp_route(tmp_path, capsys):
    doc = _build_emulate("stm32u5", tmp_path / "u5", capsys)
    envs = _check(doc, "stm32u5")
    for env in ("stm32u5_offline", "stm32u5_twin"):
        dis = subprocess.run(["arm-none-eabi-objdump", "-d", envs[env]["elf"]],
                             capture_output=True, text=True, timeout=60).stdout
        assert "smlad" in dis, env                # the kernels' DSP route, on the real core too


def test_the_pico_twin_is_a_real_armv6m_core(tmp_path):
    """A Thumb-2 instruction the M0+ lacks (UDIV) faults on the twin: what runs there is v6-M."""
    twin = get_board("pico").twin
    src = tmp_path / "udiv.c"
    src.write_text(
        "#include <stdint.h>\n"
        "extern uint32_t _estack;\n"
        "static void ex(int c){static volatile uint32_t b[2];b[0]=0x20026;b[1]=(uint32_t)c;"
        "__asm__ volatile(\"mov r0,#0x20\\n mov r1,%0\\n bkpt 0xAB\"::\"r\"(b):\"r0\",\"r1\",\"memory\");}\n"
        "void fault(void){ex(3);}\n"
        "volatile uint32_t n=100u,d=7u;\n"
        "void reset(void){uint32_t q;"
        "__asm__ volatile(\".arch armv7-m\\n udiv %0,%1,%2\\n .arch armv6-m\":\"=r\"(q):\"r\"(n),\"r\"(d));"
        "ex(q==14u?0:1);}\n"
        "__attribute__((section(\".vectors\"),used)) void (*const v[4])(void)="
        "{(void(*)(void))(uintptr_t)&_estack,reset,fault,fault};\n")
    ld = tmp_path / "l.ld"
    ld.write_text("MEMORY { F (rx) : ORIGIN = 0, LENGTH = 256K\n R (rwx) : ORIGIN = 0x20000000, "
                  "LENGTH = 64K }\nSECTIONS { .text : { KEEP(*(.vectors)) *(.text*) } > F\n"
                  ".bss : { *(.bss*) *(.data*) } > R\n_estack = 0x20010000; }\n")
    elf = tmp_path / "udiv.elf"
    subprocess.run(["arm-none-eabi-gcc", *twin.cflags, "-O2", "-nostdlib", "-T", str(ld),
                    str(src), "-o", str(elf)], check=True, timeout=60)
    run = subprocess.run([twin.qemu, "-M", twin.machine, *twin.args, "-nographic", "-monitor",
                          "none", "-kernel", str(elf)], capture_output=True, timeout=60)
    assert run.returncode == 3, run.stderr            # the fault handler, not "14"


def test_a_model_the_pico_runs_but_its_twin_cannot_is_refused_in_one_line(tmp_path, capsys):
    pytest.importorskip("tflite_micro")
    model = CORPUS / "person_detect.tflite"
    if not model.is_file():
        pytest.skip(f"{model} not present")
    rc = cli_main(["build", "--board", "pico", "--model", str(model), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    err = err.strip().splitlines()[-1]                # after the progress lines: one error line
    assert "does not fit pico twin (lm3s6965evb) flash" in err and "262,144 B" in err
    assert "--env offline" in err


def test_armv6m_product_equals_the_int64_product(tmp_path):
    """tg_smull's ARMv6-M route (16x16 partial products; the twin tests run it on the M0 core) is
    the exact int64 product: edge values pairwise and 2 M random pairs, on the host with the route
    forced on (and UBSan watching the shifts and products)."""
    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("no host gcc")
    runtime = Path(__file__).resolve().parents[1] / "firmware" / "runtime"
    src = tmp_path / "smull.c"
    src.write_text(
        "#include \"tg_runtime.h\"\n#include <stdio.h>\n"
        "static uint64_t s = 88172645463325252ull;\n"
        "static uint32_t rnd(void){ s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (uint32_t)s; }\n"
        "int main(void){\n"
        "  const int32_t e[] = {0, 1, -1, 2, -2, 32767, -32768, 32768, 65535, 65536, -65535, -65536,\n"
        "    0x40000000, -0x40000000, 0x7fff0000, (int32_t)0x8000ffff, INT32_MAX, INT32_MIN + 1, INT32_MIN};\n"
        "  const int n = (int)(sizeof e / sizeof e[0]); long bad = 0, k; int i, j;\n"
        "  for (i = 0; i < n; i++) for (j = 0; j < n; j++) bad += tg_smull(e[i], e[j]) != (int64_t)e[i] * e[j];\n"
        "  for (k = 0; k < 2000000; k++) { int32_t a = (int32_t)rnd(), b = (int32_t)rnd();\n"
        "    if (k & 1) b >>= rnd() & 31;\n"
        "    bad += tg_smull(a, b) != (int64_t)a * b; }\n"
        "  printf(\"%ld\\n\", bad); return bad != 0; }\n")
    exe = tmp_path / "smull"
    subprocess.run([cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-D__ARM_ARCH_6M__=1",
                    "-Wno-builtin-macro-redefined", "-fsanitize=undefined",
                    "-fno-sanitize-recover=undefined", "-I", str(runtime), str(src), "-o", str(exe)],
                   check=True, timeout=120)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "0", run.stdout + run.stderr
