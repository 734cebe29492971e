"""`python -m tinygen.validate.probe MODEL`: load MODEL in TFLite-Micro and run it once, alone.

TFLite-Micro is C++: a corrupt model that tinygen's importer accepts can still crash it (a
segmentation fault in AllocateTensors was seen on a fuzzed file), which no `except` can catch.
The commands that are about to load a user's model as the reference run this first in a child
process (`check_loads`), so a crash becomes one line instead of a dead tinygen.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path

# Exit statuses of the child
OK, REFUSED = 0, 3


def main(argv: list[str]) -> int:
    import numpy as np
    from tflite_micro import runtime

    buf = Path(argv[0]).read_bytes()
    try:
        interp = runtime.Interpreter.from_bytes(buf, arena_size=int(argv[1]))
        i = 0
        while True:
            try:
                d = interp.get_input_details(i)
            except (IndexError, RuntimeError, ValueError):
                break
            interp.set_input(np.zeros(d["shape"], dtype=d["dtype"]), i)
            i += 1
        interp.invoke()
    except Exception as exc:  # noqa: BLE001 - whatever TFLM raises, the parent says it in one line
        print(f"{type(exc).__name__}: {exc}"[:300], file=sys.stderr)
        return REFUSED
    return OK


def check_loads(model_path, arena_size: int = 1 << 22, timeout: float = 300.0) -> None:
    """Raise ModelError if TFLite-Micro crashes, hangs or fails on the model in a child."""
    from .. import procs
    from ..errors import ModelError

    done = procs.run([sys.executable, "-m", "tinygen.validate.probe", str(model_path),
                      str(arena_size)], timeout)
    name = Path(model_path).name
    if done.timed_out:
        raise ModelError(f"TFLite-Micro did not finish loading and running {name} within "
                         f"{timeout:g} s; the model is corrupt or far too big")
    if done.returncode < 0:
        sig = signal.Signals(-done.returncode).name
        raise ModelError(f"TFLite-Micro crashed ({sig}) loading {name}; the model file is "
                         f"corrupt: re-export it")
    if done.returncode != OK:
        last = (done.output.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"TFLite-Micro cannot load {name}: {last}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
