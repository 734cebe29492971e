"""Stand-in for PlatformIO's tool-scons package (written by tinygen into this project's pio-core).

`pio run` starts `python scons.py ...` from its tool-scons package, which PlatformIO would fetch
from its registry. Offline, this runs the SCons that pip installed beside PlatformIO instead.
"""
import sys

try:
    import SCons.Script
except ImportError:
    sys.exit("tool-scons stand-in: SCons is not installed in this Python; run: pip install scons")

if __name__ == "__main__":
    sys.exit(SCons.Script.main())
