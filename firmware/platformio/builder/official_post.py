"""PlatformIO extra script (post:) for a board's official environment (the registry's platform):
the image steps tinygen's own dev-platform does after linking, where the official platform does
not do them for a bare-metal build. For the RP2040: fill in the CRC of `.boot2` (the boot ROM
refuses an image without it) and make firmware.uf2 (rp2040.py). Other chips: nothing.
Not run here: the official platforms need PlatformIO's registry."""
import os
import sys

Import("env")  # noqa: F821 (SCons)

sys.path.insert(0, os.path.join(env.subst("$PROJECT_DIR"), "platforms", "tinygen", "builder"))  # noqa: F821

if env.BoardConfig().get("build.mcu", "").upper() == "RP2040":  # noqa: F821
    from rp2040 import fill_boot2_crc, write_uf2

    elf = os.path.join("$BUILD_DIR", "${PROGNAME}.elf")

    def _image(target, source, env):
        path = target[0].get_abspath()
        fill_boot2_crc(path)
        write_uf2(path, os.path.splitext(path)[0] + ".uf2")

    env.AddPostAction(elf, _image)  # noqa: F821
