"""tinygen's local PlatformIO dev-platform: nothing to fetch, toolchains come via platform_packages."""
from platformio.public import PlatformBase


class TinygenPlatform(PlatformBase):
    def configure_default_packages(self, variables, targets):
        # Toolchains are given by the project as `platform_packages = <name> @ symlink://...`
        # (tinygen sets them up in its cache); never ask the registry for anything.
        return super().configure_default_packages(variables, targets)
