"""SCons builder of tinygen's offline dev-platform.

Bare-metal C99 firmware: the board manifest (the project's boards/<id>.json) gives the
architecture and the machine flags; the project gives sources (src/ + lib/), the linker script
(board_build.ldscript) and warnings (build_flags). The compilers are Debian's cross GCCs, found on
PATH (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi / gcc-riscv64-unknown-elf).
`-t upload` runs the project's `upload_command` (OpenOCD, pyOCD, or QEMU for a twin).
"""
import os
import shutil
import sys

from SCons.Script import AlwaysBuild, Builder, Default, DefaultEnvironment  # noqa: F401

env = DefaultEnvironment()
board = env.BoardConfig()

arch = board.get("build.arch", "arm")
prefix = {"arm": "arm-none-eabi-", "riscv": "riscv64-unknown-elf-"}[arch]
debian = {"arm": "gcc-arm-none-eabi libnewlib-arm-none-eabi", "riscv": "gcc-riscv64-unknown-elf"}
if shutil.which(prefix + "gcc") is None:
    sys.stderr.write("Error: %sgcc not found; install it: apt-get install --no-install-recommends "
                     "%s\n" % (prefix, debian[arch]))
    env.Exit(1)

machine = list(board.get("build.tinygen_cflags", []))

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

env.Append(
    ASFLAGS=machine,
    ASPPFLAGS=["-x", "assembler-with-cpp"],
    CCFLAGS=machine + ["-O2", "-g", "-ffunction-sections", "-fdata-sections", "-fno-common"],
    CFLAGS=["-std=c99"],
    CPPDEFINES=[("F_CPU", board.get("build.f_cpu", "0"))],
    LINKFLAGS=machine + ["-O2", "-nostartfiles", "-Wl,--gc-sections",
                         "-Wl,-Map,%s" % os.path.join("$BUILD_DIR", "firmware.map")],
)
if arch == "riscv":
    # Debian's riscv64-unknown-elf-gcc ships no C library: freestanding, libgcc only.
    env.Append(CCFLAGS=["-ffreestanding"], LINKFLAGS=["-nostdlib"], LIBS=["gcc"])
else:
    env.Append(LINKFLAGS=["--specs=nano.specs", "--specs=nosys.specs"], LIBS=["c", "gcc"])

env.Append(
    BUILDERS=dict(
        ElfToBin=Builder(action=env.VerboseAction(
            "$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"), suffix=".bin"),
        ElfToHex=Builder(action=env.VerboseAction(
            "$OBJCOPY -O ihex $SOURCES $TARGET", "Building $TARGET"), suffix=".hex"),
    )
)

target_elf = env.BuildProgram()
target_bin = env.ElfToBin(os.path.join("$BUILD_DIR", "${PROGNAME}"), target_elf)
target_hex = env.ElfToHex(os.path.join("$BUILD_DIR", "${PROGNAME}"), target_elf)
env.Depends(target_bin, "checkprogsize")

AlwaysBuild(env.Alias("nobuild", target_elf))
target_buildprog = env.Alias("buildprog", [target_bin, target_hex], target_bin)

target_size = env.AddPlatformTarget(
    "size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"),
    "Program Size", "Calculate program size")

# `pio run -t upload`: the project's upload_command ($SOURCE = the ELF), written by tinygen from
# the board file: OpenOCD or pyOCD for a board, QEMU for a twin.
upload_cmd = env.GetProjectOption("upload_command", "")
if upload_cmd:
    env.AddPlatformTarget("upload", target_elf, env.VerboseAction(upload_cmd, "Uploading $SOURCE"),
                          "Upload")
else:
    env.AddPlatformTarget("upload", target_elf, env.VerboseAction(
        "echo 'no upload_command in platformio.ini: flash $SOURCE with your probe tool'",
        "Upload"), "Upload")

Default([target_buildprog, target_size])
