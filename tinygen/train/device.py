"""Teacher and student on the device, side by side: each int8 network compiled by tinygen, built
as the board's twin firmware (network only, no front end, so the two builds differ only in the
model) and run once on the twin with the instruction counter.

Per model: weights (flash), the twin firmware's flash (weights + code; the harness is the same in
both builds), the arena, the recurrent state area, the stack high-water mark of one inference
(painted), and the instructions of one inference (an emulator's count, not cycles). `fits` says
whether the network would fit the real board's flash and RAM; a teacher that does not fit is
reported, never an error.
"""
from __future__ import annotations

from pathlib import Path

BOARD = "stm32h7"


def measure(model_path: Path, work: Path, board_id: str = BOARD) -> dict:
    """The figures above for one .tflite; raises TinygenError (a missing toolchain, a model
    tinygen refuses, a build failure) for the caller to report. The model is compiled once
    (an unrolled teacher has ~1,000 ops) and counted once."""
    import numpy as np

    from ..boards import board_twin, get_board
    from ..builder import build, check_offline
    from ..codegen import compile_model, generate
    from ..commands.bench import bench_frame
    from ..project import write_project
    from ..validate.instructions import count_instructions

    board = get_board(board_id)
    twin = board_twin(board)
    check_offline([twin.arch])
    compiled = compile_model(Path(model_path))
    gen = generate(compiled, Path(work) / "gen", name="model")
    project = write_project(board, Path(work) / "project", gen)
    fw = build(project, project.envs["twin"])
    counts = count_instructions(fw.elf, twin, bench_frame(compiled, None, np.random.default_rng(0)))
    stack = int(counts.network_stack or 0)
    ram = compiled.plan.arena_bytes + compiled.state_bytes + stack
    return {
        "board": board.id, "twin": twin.id, "core": twin.core,
        "macs": int(compiled.macs), "ops": len(compiled.ops),
        "weight_bytes": int(compiled.weight_bytes), "firmware_flash_bytes": fw.flash,
        "arena_bytes": int(compiled.plan.arena_bytes), "state_bytes": int(compiled.state_bytes),
        "stack_bytes": stack, "ram_bytes": ram, "instructions": int(counts.network),
        "fits": fw.flash <= board.flash_bytes and ram <= board.ram_bytes,
        "board_flash_bytes": board.flash_bytes, "board_ram_bytes": board.ram_bytes,
    }


def side_by_side(models: dict[str, Path], work: Path, board_id: str = BOARD) -> dict:
    """{"teacher": figures or {"error": why}, "student": ..., "unit": ...}: one twin build and
    one count per model."""
    from ..errors import TinygenError

    out: dict = {"board": board_id,
                 "unit": "instructions of one inference on the twin (unicorn), not cycles"}
    for name, path in models.items():
        try:
            out[name] = measure(path, Path(work) / name, board_id)
        except TinygenError as err:
            out[name] = {"error": str(err).splitlines()[0][:300]}
    return out
