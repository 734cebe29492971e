"""Issue 16 outside the model parser, tried as a hostile user would: every defect the issue lists
has a test here that failed before the fix.

- output folders: a manifest of what tinygen wrote; a folder holding anything else (another
  PlatformIO project, user sources, an edited generated file) is refused in one line, `--force`
  writes over it; regeneration replaces exactly tinygen's files and removes the stale ones; a
  refused or failed command leaves nothing behind;
- output paths checked before any work (a file where a folder goes, an unwritable place,
  `analyze --plot DIR`);
- arguments refused while parsing, in one line (board ids, timeouts, samples, window, seeds);
- the leftovers: `--name int`'s suggestion, the features error naming the user's file, a model
  that trips TFLite-Micro's flatbuffer walk (struct.error) or crashes it (SIGSEGV), `--port
  loop://` (queue.Full), and analyze and build agreeing on the RAM a model needs.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures"
FC = FIX / "validate_fc_a.tflite"
CONV = ROOT.parent / "shared" / "anchors" / "cnn_fft_flatten.tflite"
CORPUS = ROOT.parent / "shared" / "corpus" / "tflm" / "examples"
MANIFEST = ".tinygen-manifest.json"
UNWRITABLE = Path("/proc/tinygen-cannot-write-here")   # even root cannot create files in /proc


def run_cli(capsys, *args: str) -> tuple[int, str]:
    """tinygen in this process: (exit status, stderr). argparse's refusals exit via SystemExit."""
    try:
        rc = cli_main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and lines and lines[-1].startswith("tinygen: error: "), err
    errors = [ln for ln in lines if ln.startswith("tinygen: error: ")]
    assert len(errors) == 1, err
    return errors[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def manifest_files(folder: Path) -> set[str]:
    return {f["path"] for f in json.loads((folder / MANIFEST).read_text())["files"]}


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and p.name != MANIFEST}


def foreign_project(folder: Path) -> dict[str, bytes]:
    """Another PlatformIO project: what `generate`/`build --out` used to overwrite silently."""
    (folder / "src").mkdir(parents=True)
    (folder / "platformio.ini").write_text("[env:mine]\nplatform = ststm32\n")
    (folder / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    return snapshot(folder)


# ---- output folders ----------------------------------------------------------------------------

def test_generate_refuses_a_foreign_project_and_force_keeps_its_other_files(tmp_path, capsys):
    out = tmp_path / "proj"
    before = foreign_project(out)
    rc, err = run_cli(capsys, "generate", FC, "--out", out)
    line = one_line(err)
    assert rc == 2 and "files tinygen did not write" in line and "platformio.ini" in line \
        and "--force" in line
    assert snapshot(out) == before                      # not one byte touched
    rc, err = run_cli(capsys, "generate", FC, "--out", out, "--force")
    assert rc == 0, err
    after = snapshot(out)
    assert after["platformio.ini"] == before["platformio.ini"]
    assert after["src/main.c"] == before["src/main.c"]
    doc = json.loads((out / MANIFEST).read_text())
    assert doc["kept"] == ["platformio.ini", "src/main.c"]
    assert manifest_files(out) == files_in(out) - {"platformio.ini", "src/main.c"}
    # later runs leave the kept files alone and need no --force
    rc, err = run_cli(capsys, "generate", FC, "--out", out)
    assert rc == 0, err
    assert snapshot(out)["src/main.c"] == before["src/main.c"]


def test_regeneration_replaces_its_own_files_and_removes_stale_ones(tmp_path, capsys):
    out = tmp_path / "gen"
    assert run_cli(capsys, "generate", CONV, "--out", out)[0] == 0
    conv_files = files_in(out)
    assert manifest_files(out) == conv_files and {"tg_conv.c", "tg_pool.c"} <= conv_files
    assert run_cli(capsys, "generate", FC, "--out", out)[0] == 0
    fc_files = files_in(out)
    assert manifest_files(out) == fc_files
    assert not fc_files & {"tg_conv.c", "tg_conv.h", "tg_pool.c", "tg_softmax.c"}  # stale: gone
    fresh = tmp_path / "fresh"
    assert run_cli(capsys, "generate", FC, "--out", fresh)[0] == 0
    assert snapshot(fresh) == {k: v for k, v in snapshot(out).items() if k != MANIFEST} | \
        {MANIFEST: (fresh / MANIFEST).read_bytes()}


def test_an_edited_generated_file_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "gen"
    assert run_cli(capsys, "generate", FC, "--out", out)[0] == 0
    (out / "model.c").write_text((out / "model.c").read_text() + "/* my change */\n")
    rc, err = run_cli(capsys, "generate", FC, "--out", out)
    assert rc == 2 and "edited" in one_line(err) and "model.c" in err
    assert (out / "model.c").read_text().endswith("/* my change */\n")


def test_a_refused_generate_leaves_nothing_behind(tmp_path, capsys):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(FC.read_bytes()[:300])
    out = tmp_path / "a" / "b" / "gen"
    rc, err = run_cli(capsys, "generate", bad, "--out", out)
    assert rc == 2 and one_line(err)
    assert not (tmp_path / "a").exists()                # nor the folders made on the way
    owned = tmp_path / "owned"
    assert run_cli(capsys, "generate", FC, "--out", owned)[0] == 0
    before = snapshot(owned)
    assert run_cli(capsys, "generate", bad, "--out", owned)[0] == 2
    assert snapshot(owned) == before                    # the last good output stays


def test_another_kind_of_output_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "gen"
    assert run_cli(capsys, "generate", FC, "--out", out)[0] == 0
    doc = json.loads((out / MANIFEST).read_text())
    doc["kind"] = "train"
    (out / MANIFEST).write_text(json.dumps(doc))
    rc, err = run_cli(capsys, "generate", FC, "--out", out)
    assert rc == 2 and "train output" in one_line(err)


def test_force_over_a_colliding_file_makes_it_tinygens(tmp_path, capsys):
    """--force over a user's model.c: tinygen wrote it, so it is tinygen's from then on."""
    out = tmp_path / "gen"
    out.mkdir()
    (out / "model.c").write_text("/* the user's */\n")
    (out / "notes.txt").write_text("mine\n")
    assert run_cli(capsys, "generate", FC, "--out", out)[0] == 2
    assert run_cli(capsys, "generate", FC, "--out", out, "--force")[0] == 0
    doc = json.loads((out / MANIFEST).read_text())
    assert doc["kept"] == ["notes.txt"] and "model.c" in manifest_files(out)
    assert (out / "notes.txt").read_text() == "mine\n"


def test_a_nested_output_is_neither_refused_nor_removed(tmp_path, capsys):
    """validate's twin build lands in build/validate-twin-<board>, inside build/: the next
    build must neither refuse build/ for it nor delete it."""
    out = tmp_path / "gen"
    assert run_cli(capsys, "generate", CONV, "--out", out)[0] == 0
    assert run_cli(capsys, "generate", FC, "--out", out / "inner")[0] == 0
    inner = snapshot(out / "inner")
    assert run_cli(capsys, "generate", FC, "--out", out)[0] == 0
    assert snapshot(out / "inner") == inner
    assert not any(f.startswith("inner/") for f in manifest_files(out))


def test_build_refuses_another_platformio_project(tmp_path, capsys):
    out = tmp_path / "proj"
    before = foreign_project(out)
    rc, err = run_cli(capsys, "build", "--board", "stm32h7", "--model", FC, "--out", out)
    assert rc == 2 and "files tinygen did not write" in one_line(err)
    assert snapshot(out) == before


def test_train_fails_on_its_data_and_leaves_nothing(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    out = tmp_path / "run"
    rc, err = run_cli(capsys, "train", "--data", tmp_path / "data", "--out", out)
    assert rc == 2 and "no class sub-folders" in one_line(err)
    assert not out.exists()


# ---- output paths checked before any work ----------------------------------------------------

@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command starts its long work (training, compiling, pio)."""
    import tinygen.builder
    import tinygen.codegen
    import tinygen.train.pipeline

    def forbidden(*a, **k):
        raise AssertionError("work started before the output path was checked")

    for mod, name in ((tinygen.train.pipeline, "train"), (tinygen.codegen, "compile_model"),
                      (tinygen.builder, "build"), (tinygen.builder, "build_twin_firmware")):
        monkeypatch.setattr(mod, name, forbidden)


@pytest.mark.parametrize("where", ["file", "below a file", "unwritable"])
@pytest.mark.parametrize("command", [
    ["generate", FC], ["train", "--seeds", "1"], ["quantize", FC],
    ["build", "--board", "stm32h7", "--model", FC],
    ["bench", "--board", "stm32h7", "--emulate", "--model", FC]])
def test_an_unusable_out_is_one_line_before_any_work(tmp_path, capsys, no_work, command, where):
    a_file = tmp_path / "a_file"
    a_file.write_text("mine\n")
    out = {"file": a_file, "below a file": a_file / "gen", "unwritable": UNWRITABLE}[where]
    rc, err = run_cli(capsys, *command, "--out", out)
    line = one_line(err)
    assert rc == 2 and str(out) in line and "OSError" not in line
    assert a_file.read_text() == "mine\n"


def test_analyze_plot_into_a_folder_writes_nothing_beside_it(tmp_path, capsys, no_work):
    folder = tmp_path / "plots"
    folder.mkdir()
    rc, err = run_cli(capsys, "analyze", FC, "--plot", folder)
    assert rc == 2 and ".png" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plots"]     # no plots.png
    (tmp_path / "a_file").write_text("mine\n")
    for bad in (tmp_path / "a_file" / "y.png", UNWRITABLE / "p.png"):
        rc, err = run_cli(capsys, "analyze", FC, "--plot", bad)
        assert rc == 2 and one_line(err)
    mine = tmp_path / "mine.png"
    mine.write_text("not a picture tinygen drew\n")
    rc, err = run_cli(capsys, "analyze", FC, "--plot", mine)
    assert rc == 2 and "--force" in one_line(err)


def test_validate_report_path_is_checked_before_validation(tmp_path, capsys):
    for report, what in ((tmp_path, "is a folder"), (UNWRITABLE / "r.json", "cannot write")):
        rc, err = run_cli(capsys, "validate", "--board", "stm32h7", "--port", "loop://",
                          "--model", FC, "--report", report)
        assert rc == 2 and what in one_line(err)
    mine = tmp_path / "notes.json"
    mine.write_text('{"mine": true}\n')
    rc, err = run_cli(capsys, "validate", "--board", "stm32h7", "--port", "loop://",
                      "--model", FC, "--report", mine)
    assert rc == 2 and "not a validation report" in one_line(err)
    assert mine.read_text() == '{"mine": true}\n'


# ---- arguments ----------------------------------------------------------------------------------

BAD_ARGS = [
    (["analyze", FC, "--board", ""], "unknown board ''"),
    (["analyze", FC, "--board", "foo"], "unknown board 'foo'"),
    (["validate", "--board", "foo", "--port", "loop://"], "unknown board"),
    (["build", "--board", "foo"], "unknown board"),
    (["bench", "--board", "foo", "--emulate"], "unknown board"),
    (["flash", "--board", "foo"], "unknown board"),
    (["validate", "--board", "stm32h7", "--port", "loop://", "--timeout", "0"], "--timeout"),
    (["validate", "--board", "stm32h7", "--port", "loop://", "--timeout", "-1"], "--timeout"),
    (["validate", "--board", "stm32h7", "--port", "loop://", "--timeout", "nan"], "finite"),
    (["validate", "--board", "stm32h7", "--port", "loop://", "--samples", "0"], "--samples"),
    (["build", "--board", "stm32h7", "--timeout", "0"], "--timeout"),
    (["build", "--board", "stm32h7", "--samples", "-3"], "--samples"),
    (["flash", "--board", "stm32h7", "--timeout", "inf"], "finite"),
    (["monitor", "--board", "foo", "--port", "loop://"], "unknown board"),
    (["monitor", "--board", "stm32h7", "--port", "loop://", "--windows", "0"], "--windows"),
    (["monitor", "--board", "stm32h7", "--port", "loop://", "--threshold", "-1"], "--threshold"),
    (["train", "--max-flash", "0", "--out", "x"], "--max-flash"),
    (["train", "--machines", "1x", "--out", "x"], "not a whole number"),
    (["train", "--window", "0", "--out", "x"], "window 0 is not a power of two"),
    (["train", "--window", "1000", "--out", "x"], "power of two"),
    (["train", "--seed", "-1", "--out", "x"], "--seed"),
    (["train", "--seeds", "0", "--out", "x"], "--seeds"),
    (["train", "--temperature", "nan", "--out", "x"], "finite"),
    (["train", "--alpha", "2", "--out", "x"], "outside 0..1"),
    (["train", "--sample-rate", "-8000", "--out", "x"], "--sample-rate"),
    (["quantize", "m.keras", "--window", "0", "--out", "x"], "power of two"),
    (["generate", FC, "--optimize", "fast"], "invalid choice"),
]


@pytest.mark.parametrize("args,what", BAD_ARGS, ids=lambda v: " ".join(map(str, v))
                         if isinstance(v, list) else None)
def test_bad_arguments_are_refused_while_parsing(tmp_path, capsys, monkeypatch, no_work, args,
                                                what):
    monkeypatch.chdir(tmp_path)           # nothing may appear in the working folder
    rc, err = run_cli(capsys, *args)
    line = one_line(err)
    assert rc == 2 and what in line, line
    assert list(tmp_path.iterdir()) == []


def test_name_suggestion_is_itself_accepted(tmp_path, capsys):
    from tinygen.codegen import check_name
    from tinygen.errors import TinygenError

    for name in ("int", "main", "123", "my-model", "tg_x", "_X", "", "a b", "return", "9lives"):
        with pytest.raises(TinygenError) as info:
            check_name(name)
        hint = str(info.value).rsplit("--name ", 1)[1]
        assert hint != name and check_name(hint) == hint, (name, str(info.value))
    rc, err = run_cli(capsys, "generate", FC, "--name", "int", "--out", tmp_path / "g")
    assert rc == 2 and one_line(err).endswith("try --name model_int")


def test_the_features_error_names_the_file_given(tmp_path):
    from tinygen.errors import DataError
    from tinygen.features import FrontEnd

    for text in ('{"front_end": {"window": "abc"}}', "[1, 2]", '{"front_end": {"window": 1024, '
                 '"n_bands": 4, "band_edges": [5, 4, 3, 2, 1]}}'):
        path = tmp_path / "my_front_end.json"
        path.write_text(text)
        with pytest.raises(DataError) as info:
            FrontEnd.from_json(path)
        assert str(path) in str(info.value) and "features.json:" not in str(info.value)


# ---- models that trip TFLite-Micro; serial ports that misbehave -------------------------------

def mutant(tmp_path: Path, name: str, edits: list[tuple[int, int]]) -> Path:
    """validate_fc_a.tflite with a few bytes changed: tinygen's importer still accepts it (the
    bytes are fields it does not read), TFLite-Micro does not. Found by a seeded byte mutator."""
    b = bytearray(FC.read_bytes())
    for offset, value in edits:
        b[offset] = value
    path = tmp_path / name
    path.write_bytes(bytes(b))
    return path


@pytest.mark.parametrize("name,edits", [
    ("struct_error.tflite", [(330, 228), (741, 181), (1464, 204)]),   # struct.error in TFLM's walk
    ("bad_uint32.tflite", [(120, 54)]),                               # TypeError in TFLM's walk
    # SIGSEGV in TFLite-Micro's AllocateTensors: a buffer index past the table, which tinygen's
    # importer now refuses itself (tests/test_checks.py); validate still says so in one line
    ("segfault.tflite", [(1039, 216), (1477, 170), (1521, 61)]),
])
def test_validate_with_a_model_that_trips_tflite_micro_is_one_line(tmp_path, name, edits):
    pytest.importorskip("tflite_micro")
    from tinygen.codegen import compile_model
    from tinygen.errors import ModelError

    model = mutant(tmp_path, name, edits)
    if name == "segfault.tflite":
        with pytest.raises(ModelError, match="buffer .* does not exist"):
            compile_model(model)
    else:
        compile_model(model)              # tinygen accepts it: the failure is TFLite-Micro's
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "tinygen", "validate", "--board", "stm32h7",
                        "--port", "loop://", "--model", str(model), "--timeout", "1",
                        "--report", str(tmp_path / "r.json")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    line = one_line(r.stderr)
    assert r.returncode == 2 and name in line, r.stderr
    assert "TFLite-Micro" in line or "does not exist" in line, r.stderr


def test_validate_on_loop_port_is_one_line(tmp_path, capsys):
    pytest.importorskip("tflite_micro")
    rc, err = run_cli(capsys, "validate", "--board", "stm32h7", "--port", "loop://", "--model",
                      FC, "--timeout", "1", "--report", tmp_path / "r.json")
    assert rc == 2 and "loop://" in one_line(err)


# ---- one RAM figure -----------------------------------------------------------------------------

def test_analyze_and_build_agree_on_ram(tmp_path, capsys, monkeypatch):
    """simple_add_model's two 16 KB inputs make the protocol's frame buffers big: analyze's old
    fixed 9 KB estimate said 9 KB less than the 64 KB the build's refusal counted."""
    pytest.importorskip("tflite_micro")
    from tinygen.boards import get_board
    from tinygen.codegen import compile_model
    from tinygen.project import model_fit, static_ram_bytes

    model = CORPUS / "simple_add_model.tflite"
    rc = cli_main(["analyze", str(model), "--board", "stm32f4", "--json"])
    fit = json.loads(capsys.readouterr().out)["board"]
    compiled = compile_model(model)
    est = model_fit(get_board("stm32f4"), compiled, None, check=False)
    assert fit["ram_bytes"] == est.ram == (compiled.plan.arena_bytes + compiled.state_bytes
                                           + get_board("stm32f4").stack_bytes
                                           + static_ram_bytes(compiled))
    assert static_ram_bytes(compiled) > 2 * 2 * 128 * 128          # both frame buffers counted
    # a board whose RAM is just short of that figure: analyze says it does not fit (exit 1),
    # build refuses with the same number
    import dataclasses

    import tinygen.boards as boards

    small = dataclasses.replace(get_board("stm32f4"), ram_bytes=est.ram - 1)
    monkeypatch.setattr(boards, "get_board", lambda board_id, directory=None: small)
    rc = cli_main(["analyze", str(model), "--board", "stm32f4"])
    assert rc == 1 and "DOES NOT FIT" in capsys.readouterr().out
    rc, err = run_cli(capsys, "build", "--board", "stm32f4", "--model", model, "--out",
                      tmp_path / "b", "--env", "offline")
    assert rc == 2 and f"= {est.ram:,} B > {est.ram - 1:,} B" in one_line(err)
    assert not (tmp_path / "b").exists()
