"""pytest plugin: hardware-in-the-loop tests in the user's own suite, against a flashed board or
its QEMU twin, compared with TFLite-Micro byte for byte.

    pytest --tinygen-board stm32h7 --tinygen-model student_int8.tflite --tinygen-port auto
    pytest --tinygen-board stm32h7 --tinygen-model student_int8.tflite --tinygen-emulate

    def test_model_on_the_board(tinygen_device):
        x = tinygen_device.random_inputs(seed=1)
        outputs = tinygen_device.infer(*x)            # run on the device
        tinygen_device.assert_bit_exact(*x)           # device == TFLite-Micro, every byte

With --tinygen-emulate and no --tinygen-elf the twin firmware is built for the model through the
generated PlatformIO project. Installed with tinygen (entry point `pytest11`); `-p
tinygen.pytest_plugin` loads it explicitly.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import pytest


def pytest_addoption(parser) -> None:
    group = parser.getgroup("tinygen", "tinygen hardware-in-the-loop (fixture tinygen_device)")
    group.addoption("--tinygen-board", help="board id (tinygen boards)")
    group.addoption("--tinygen-model", help="the .tflite the firmware was built from")
    group.addoption("--tinygen-features", help="its front end (default: features.json beside it)")
    group.addoption("--tinygen-port", default="auto",
                    help="serial port of the flashed board (default: auto, by USB id)")
    group.addoption("--tinygen-emulate", action="store_true",
                    help="run the board's QEMU twin instead of a board")
    group.addoption("--tinygen-elf", help="with --tinygen-emulate: the twin firmware "
                    "(default: build it for the model)")
    group.addoption("--tinygen-timeout", type=float, default=10.0,
                    help="seconds to wait for each reply")


class HilDevice:
    """A connected tinygen firmware and its reference (TFLite-Micro)."""

    def __init__(self, device, reference):
        self.device = device
        self.reference = reference

    @property
    def info(self):
        return self.device.info

    @property
    def board(self):
        return self.device.board

    def random_inputs(self, seed: int = 0) -> list[np.ndarray]:
        from .validate.reference import random_inputs

        return random_inputs(self.reference.inputs, np.random.default_rng(seed))

    def infer(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """One inference on the device: one array per model input -> one per output."""
        return self.device.infer(list(inputs)).outputs

    def expected(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """What TFLite-Micro computes for the same inputs."""
        return self.reference.invoke(list(inputs))

    def assert_bit_exact(self, *inputs: np.ndarray) -> list[np.ndarray]:
        from .hil import compare_outputs

        got, want = self.infer(*inputs), self.expected(*inputs)
        why = compare_outputs(want, got, "output")
        assert not why, f"{self.board.id} on {self.device.name}: {why}"
        return got

    def validate(self, samples: int = 20, seed: int = 0):
        """A whole validation run (tinygen.validate): the report, with every sample's bytes."""
        from .validate import make_inputs, validate

        inputs = make_inputs(self.reference, self.info, samples, seed=seed)
        return validate(self.device, self.reference, inputs=inputs)


@contextlib.contextmanager
def _open(config, work: Path) -> Iterator[HilDevice]:
    from . import builder
    from .boards import get_board
    from .validate import open_device, reference_for

    opt = config.getoption
    board = get_board(opt("--tinygen-board"))
    model = Path(opt("--tinygen-model"))
    reference, features = reference_for(model, opt("--tinygen-features"))
    elf: Optional[Path] = None
    if opt("--tinygen-emulate"):
        elf = Path(opt("--tinygen-elf")) if opt("--tinygen-elf") else \
            builder.build_twin_firmware(board, model, work, features)
    with open_device(board, port=opt("--tinygen-port"), emulate=opt("--tinygen-emulate"),
                     elf=elf, timeout=opt("--tinygen-timeout")) as dev:
        dev.check(reference, model.name)
        yield HilDevice(dev, reference)


@pytest.fixture(scope="session")
def tinygen_device(request, tmp_path_factory) -> Iterator[HilDevice]:
    """The board (or twin) named on the command line, connected and checked against the model:
    built for this board, from this model, with its inputs and outputs."""
    config = request.config
    if not config.getoption("--tinygen-board") or not config.getoption("--tinygen-model"):
        pytest.skip("tinygen_device needs --tinygen-board and --tinygen-model (and "
                    "--tinygen-port or --tinygen-emulate)")
    from .errors import TinygenError

    with contextlib.ExitStack() as stack:
        try:
            hil = stack.enter_context(_open(config, tmp_path_factory.mktemp("tinygen-twin")))
        except TinygenError as err:       # one line, as the CLI says it
            pytest.fail(f"tinygen: {err}", pytrace=False)
        yield hil
