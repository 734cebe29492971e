"""tinygen's offline PlatformIO dev-platform: nothing to fetch; the compilers are Debian's."""
from platformio.public import PlatformBase


class TinygenPlatform(PlatformBase):
    pass
