"""SCons builder of tinygen's offline dev-platform.

Bare-metal C99 firmware: the board manifest (the project's boards/<id>.json) gives the
architecture and the machine flags; the project gives sources (src/ + lib/), the linker script
(board_build.ldscript) and warnings (build_flags). The compilers are Debian's, found on PATH:
arm-none-eabi-gcc, riscv64-unknown-elf-gcc, and for Xtensa clang-22 + llvm-mc-22 (through
xtensa_cc.py, with the core's LLVM target features from the manifest) with GNU ld from
binutils-xtensa-lx106.
`-t upload` runs the project's `upload_command` (OpenOCD, pyOCD, or QEMU for a twin).

The manifest's `build.tinygen_output` says what to make: "firmware" (an ELF, .bin and .hex), or
"library" where the real board's image needs a vendor SDK (ESP-IDF): every source of the
environment compiled for the chip and archived into firmware.a, nothing linked.
For the RP2040 (mcu "RP2040") the ELF's `.boot2` section (the second-stage boot loader) gets
its CRC filled in after linking, as the chip's boot ROM checks it, and a firmware.uf2 is made
for the board's USB drag-and-drop loader (rp2040.py).
"""
import os
import shutil
import sys

from SCons.Script import AlwaysBuild, Builder, Default, DefaultEnvironment  # noqa: F401,E402

env = DefaultEnvironment()
board = env.BoardConfig()
# This folder (SConscripts have no __file__): its helpers xtensa_cc.py and rp2040.py.
HERE = os.path.join(env.PioPlatform().get_dir(), "builder")
sys.path.insert(0, HERE)

arch = board.get("build.arch", "arm")
output = board.get("build.tinygen_output", "firmware")
machine = list(board.get("build.tinygen_cflags", []))
features = list(board.get("build.tinygen_features", []))
prefix = {"arm": "arm-none-eabi-", "riscv": "riscv64-unknown-elf-",
          "xtensa": "xtensa-lx106-elf-"}[arch]
debian = {"arm": "gcc-arm-none-eabi libnewlib-arm-none-eabi", "riscv": "gcc-riscv64-unknown-elf",
          "xtensa": "clang-22 llvm-22 binutils-xtensa-lx106"}
need = ["clang-22", "llvm-mc-22", prefix + "ld"] if arch == "xtensa" else [prefix + "gcc"]
for tool in need:
    if shutil.which(tool) is None:
        sys.stderr.write("Error: %s not found; install it: apt-get install --no-install-recommends "
                         "%s\n" % (tool, debian[arch]))
        env.Exit(1)

env.Replace(
    AR=prefix + "gcc-ar",
    AS=prefix + "gcc",
    CC=prefix + "gcc",
    CXX=prefix + "g++",
    GDB=prefix + "gdb",
    OBJCOPY=prefix + "objcopy",
    RANLIB=prefix + "gcc-ranlib",
    SIZETOOL=prefix + "size",
    ARFLAGS=["rc"],
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)
env.Append(CPPDEFINES=[("F_CPU", board.get("build.f_cpu", "0"))])

if arch == "xtensa":
    # clang-22 through xtensa_cc.py (two steps, features as LLVM target features); GNU ld links
    # directly, so the link flags are ld's own. No -ffunction-sections: LLVM's Xtensa backend then
    # misplaces literal pools. clang defines no macro per Xtensa option: the kernels learn of
    # MAC16 from TG_XTENSA_MAC16.
    cc = '"%s" "%s"' % (sys.executable, os.path.join(HERE, "xtensa_cc.py"))
    feature_flag = ["--xtensa-features=" + ",".join(features)]
    env.Replace(AS=cc, CC=cc, AR=prefix + "ar", RANLIB=prefix + "ranlib", LINK=prefix + "ld")
    env.Append(
        ASFLAGS=feature_flag,
        CCFLAGS=feature_flag + ["-O2", "-fno-common"],
        CFLAGS=["-std=c99"],
        CPPDEFINES=["TG_XTENSA_MAC16"] if "mac16" in features else [],
        LINKFLAGS=["--no-relax", "--gc-sections",
                   "-Map", os.path.join("$BUILD_DIR", "firmware.map")],
    )
else:
    env.Append(
        ASFLAGS=machine,
        ASPPFLAGS=["-x", "assembler-with-cpp"],
        CCFLAGS=machine + ["-O2", "-g", "-ffunction-sections", "-fdata-sections", "-fno-common"],
        CFLAGS=["-std=c99"],
        LINKFLAGS=machine + ["-O2", "-nostartfiles", "-Wl,--gc-sections",
                             "-Wl,-Map,%s" % os.path.join("$BUILD_DIR", "firmware.map")],
    )
if arch == "riscv":
    # Debian's riscv64-unknown-elf-gcc ships no C library: freestanding, libgcc only.
    env.Append(CCFLAGS=["-ffreestanding"], LINKFLAGS=["-nostdlib"], LIBS=["gcc"])
elif arch == "arm":
    env.Append(LINKFLAGS=["--specs=nano.specs", "--specs=nosys.specs"], LIBS=["c", "gcc"])

env.Append(
    BUILDERS=dict(
        ElfToBin=Builder(action=env.VerboseAction(
            "$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"), suffix=".bin"),
        ElfToHex=Builder(action=env.VerboseAction(
            "$OBJCOPY -O ihex $SOURCES $TARGET", "Building $TARGET"), suffix=".hex"),
    )
)

upload_cmd = env.GetProjectOption("upload_command", "")


def library_targets():
    """Every source of the environment compiled for the chip, archived, nothing linked (the
    project sets lib_archive = no, so the model library's objects are among PIOBUILDFILES)."""
    env.ProcessProgramDeps()
    env.ProcessCompileDbToolchainOption()
    env.ProcessProjectDeps()
    lib = env.StaticLibrary(os.path.join("$BUILD_DIR", "firmware"), env["PIOBUILDFILES"])
    env.Alias("checkprogsize", lib)      # pio run asks for it; an archive has no image to check
    size = env.AddPlatformTarget(
        "size", lib, env.VerboseAction("$SIZETOOL -t -B -d $SOURCES", "Calculating size $SOURCE"),
        "Program Size", "Calculate program size")
    env.AddPlatformTarget("upload", lib, env.VerboseAction(
        "echo 'this environment compiles, it does not link: flash the official environment'",
        "Upload"), "Upload")
    return [lib, size]


def firmware_targets():
    target_elf = env.BuildProgram()
    if board.get("build.mcu", "").upper() == "RP2040":
        from rp2040 import fill_boot2_crc, write_uf2

        env.AddPostAction(target_elf, env.VerboseAction(
            lambda target, source, env: fill_boot2_crc(target[0].get_abspath()),
            "Checking .boot2 (RP2040 second stage) in $TARGET"))
        uf2 = env.Command(os.path.join("$BUILD_DIR", "${PROGNAME}.uf2"), target_elf,
                          env.VerboseAction(lambda target, source, env: write_uf2(
                              source[0].get_abspath(), target[0].get_abspath()),
                              "Building $TARGET"))
    else:
        uf2 = []
    target_hex = env.ElfToHex(os.path.join("$BUILD_DIR", "${PROGNAME}"), target_elf)
    if arch == "xtensa":
        # Only the twin links here, and QEMU loads its ELF. A raw .bin would span the gap from
        # the code (0x1000) to the reset vector (0xfe000000): 4 GB of zeros.
        target_bin = target_hex
    else:
        target_bin = env.ElfToBin(os.path.join("$BUILD_DIR", "${PROGNAME}"), target_elf)
    env.Depends(target_bin, "checkprogsize")

    AlwaysBuild(env.Alias("nobuild", target_elf))
    target_buildprog = env.Alias("buildprog", [target_bin, target_hex] + list(uf2), target_bin)

    target_size = env.AddPlatformTarget(
        "size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"),
        "Program Size", "Calculate program size")

    # `pio run -t upload`: the project's upload_command ($SOURCE = the ELF), written by tinygen
    # from the board file: OpenOCD or pyOCD for a board, QEMU for a twin.
    if upload_cmd:
        env.AddPlatformTarget("upload", target_elf,
                              env.VerboseAction(upload_cmd, "Uploading $SOURCE"), "Upload")
    else:
        env.AddPlatformTarget("upload", target_elf, env.VerboseAction(
            "echo 'no upload_command in platformio.ini: flash $SOURCE with your probe tool'",
            "Upload"), "Upload")
    return [target_buildprog, target_size]


Default(library_targets() if output == "library" else firmware_targets())
