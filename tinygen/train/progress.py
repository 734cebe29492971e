"""Progress bars for the training stages (tqdm on stderr), or nothing at all (`--json`, not a tty)."""
from __future__ import annotations

import contextlib
import sys


class _Null:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass


@contextlib.contextmanager
def bar(enabled: bool, total: int, desc: str, unit: str = "epoch"):
    """A bar that advances `total` times, closed on exit; a silent stand-in when disabled."""
    if not enabled:
        yield _Null()
        return
    from tqdm import tqdm
    with tqdm(total=total, desc=f"tinygen: {desc}", unit=unit, file=sys.stderr, leave=True,
              dynamic_ncols=True, mininterval=0.5) as b:
        yield b


def default_enabled() -> bool:
    return sys.stderr.isatty()
