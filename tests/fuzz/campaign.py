"""Run a fuzz campaign: N mutants (mutate.py) through `tinygen generate` and `tinygen analyze`.

    python3 tests/fuzz/campaign.py --mutants 10000 [--seed 1] [--workers 2] [--sanitize 200]
    TINYGEN_FUZZ=10000 python3 -m pytest tests/test_fuzz.py -q -s      # the same, as a test

Stage 1: worker processes (each mutant under a soft timeout inside the worker, and a hard one
outside it that kills the worker) run the real CLI entry point, `tinygen.cli.main`, on each
mutant: `generate --out <fresh dir>` then `analyze --json`. Every mutant ends in one class:
  accepted  both commands exit 0
  refused   exit 2 with exactly one line `tinygen: error: ...` on stderr and nothing else
  crash     an exception escaped main() (a traceback for the user); `warning` if it was a
            Python warning (numpy overflow and the like, raised as errors here)
  noisy     refused, but the message is not one clean line
  hang      over the timeout
Stage 2: a sample of the accepted mutants whose C differs from their seed's is compiled with
-std=c99 -Wall -Wextra -Werror -pedantic and ASan + UBSan (portable and DSP-emulated kernels in
turn), run on three inputs (all -128, all 127, random), and compared byte for byte with
TFLite-Micro run in its own process (it aborts on some hostile models) wherever it accepts them.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import io
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Optional

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent

SOFT_TIMEOUT_S = 60      # one mutant's generate + analyze; the slowest seed takes < 1 s idle
HARD_TIMEOUT_S = 90      # then the worker is killed and replaced
TFLM_TIMEOUT_S = 120
MAX_C_BYTES = 200_000    # stage 2 compiles only models this small (the anchors, micro_speech)
FAILURES = ("crash", "warning", "noisy", "hang")


class MutantTimeout(BaseException):
    """Not an Exception: no `except Exception` in tinygen may turn it into a refusal."""


# ---- stage 1, inside a worker --------------------------------------------------------------------

def _crash_site(exc: BaseException) -> str:
    """The innermost tinygen frame of the traceback: where the fix belongs."""
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if "/tinygen/" in f.filename.replace(os.sep, "/")]
    f = (inside or frames or [None])[-1]
    where = f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}" if f else "?"
    return f"{where} {type(exc).__name__}"


def _cli(args: list[str]) -> tuple[Optional[int], str, Optional[BaseException]]:
    from tinygen.cli import main

    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            return main(args), err.getvalue(), None
    except MutantTimeout:
        raise
    except BaseException as exc:   # noqa: BLE001 - this is what the fuzzer looks for
        return None, err.getvalue(), exc


def _c_digest(out: Path, model: bytes) -> str:
    """Hash of the generated files without the model's own hash (which every mutant changes)."""
    sha = hashlib.sha256(model).hexdigest().encode()
    h = hashlib.sha256()
    for p in sorted(out.glob("*")):
        text = re.sub(rb"_sha256\[32\] = \{[^}]*\}", b"", p.read_bytes().replace(sha, b""))
        h.update(p.name.encode() + b"\0" + text)
    return h.hexdigest()[:16]


def run_one(path: Path, workdir: Path) -> dict:
    """generate then analyze through tinygen.cli.main, classified (see the module docstring)."""
    out = workdir / "gen"
    shutil.rmtree(out, ignore_errors=True)
    for args in (["generate", str(path), "--out", str(out)], ["analyze", str(path), "--json"]):
        code, err, exc = _cli(args)
        if exc is not None:
            kind = "warning" if isinstance(exc, Warning) else "crash"
            return dict(outcome=kind, site=_crash_site(exc), detail=f"{type(exc).__name__}: "
                        f"{str(exc)[:300]}", command=args[0])
        lines = err.splitlines()
        if code == 0 and not err:
            continue
        if code == 2 and len(lines) == 1 and lines[0].startswith("tinygen: error: "):
            return dict(outcome="refused", message=lines[0][len("tinygen: error: "):],
                        command=args[0])
        return dict(outcome="noisy", site=f"exit {code}", detail=err[:400], command=args[0])
    return dict(outcome="accepted", digest=_c_digest(out, path.read_bytes()),
                c_bytes=sum(p.stat().st_size for p in out.glob("*")))


def worker_main(role: str, campaign_seed: int) -> None:
    """Read mutant numbers on stdin, write one JSON result per line on the real stdout."""
    import resource

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)   # stray prints cannot corrupt the protocol
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    if role == "tflm":
        return tflm_worker(proto, campaign_seed)
    import warnings

    import numpy as np

    np.seterr(all="warn", under="ignore")           # numpy's defaults, whatever ran before
    warnings.simplefilter("error", RuntimeWarning)  # an overflow or NaN becomes a finding

    def on_alarm(signum, frame):
        raise MutantTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    from fuzz.mutate import Mutator, load_seeds

    mutator = Mutator(load_seeds(), campaign_seed)
    seed_digest: dict[str, str] = {}
    workdir = Path(tempfile.mkdtemp(prefix="tg_fuzz_w"))
    try:
        for line in sys.stdin:
            k = int(line)
            data, seed, what = mutator.mutant(k)
            path = workdir / "mutant.tflite"
            path.write_bytes(data)
            signal.setitimer(signal.ITIMER_REAL, SOFT_TIMEOUT_S)
            try:
                res = run_one(path, workdir)
                if res["outcome"] == "accepted":
                    if seed not in seed_digest:
                        path.write_bytes(next(s.data for s in mutator.seeds if s.name == seed))
                        seed_digest[seed] = run_one(path, workdir).get("digest", "")
                    res["differs"] = res["digest"] != seed_digest[seed]
            except MutantTimeout:
                res = dict(outcome="hang", site="soft timeout", detail=f"> {SOFT_TIMEOUT_S} s")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            res.update(k=k, seed=seed, what=what)
            proto.write(json.dumps(res) + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def tflm_worker(proto, campaign_seed: int) -> None:
    """TFLite-Micro's verdict on each mutant: "runs" (allocates and invokes on zeros) or
    "refuses: <its own message>". An abort ends the process: the parent records it."""
    import numpy as np
    from tflite_micro import runtime

    from fuzz.mutate import Mutator, load_seeds
    from tinygen.importers.tflite import load_model

    mutator = Mutator(load_seeds(), campaign_seed)
    log = tempfile.TemporaryFile()
    os.dup2(log.fileno(), 2)     # TFLite-Micro explains a refusal on the C-level stderr
    for line in sys.stdin:
        k = int(line)
        data = mutator.mutant(k)[0]
        log.seek(0)
        log.truncate()
        try:
            interp = runtime.Interpreter.from_bytes(data, arena_size=16 << 20)
            for i in range(len(load_model(data).inputs)):
                d = interp.get_input_details(i)
                interp.set_input(np.zeros(d["shape"], d["dtype"]), i)
            interp.invoke()
            verdict = "runs"
        except Exception as exc:  # noqa: BLE001 - any refusal is a verdict
            log.seek(0)
            why = [ln for ln in log.read().decode(errors="replace").splitlines() if ln.strip()]
            verdict = "refuses: " + (why[0] if why else f"{type(exc).__name__}: {exc}")[:160]
        proto.write(json.dumps(dict(k=k, tflm=verdict)) + "\n")


# ---- stage 1, the parent ---------------------------------------------------------------------------

class _Worker:
    def __init__(self, role: str, campaign_seed: int):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(TESTS), str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        self.role, self.campaign_seed = role, campaign_seed
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fuzz.campaign", "--worker", role, "--seed", str(campaign_seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
            text=True, bufsize=1, start_new_session=True)
        self.job: Optional[int] = None
        self.deadline = 0.0

    def send(self, k: int) -> None:
        self.job, self.deadline = k, time.monotonic() + HARD_TIMEOUT_S
        self.proc.stdin.write(f"{k}\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def run_pool(role: str, ks: list[int], campaign_seed: int, workers: int, progress=None
             ) -> list[dict]:
    """Mutants `ks` through worker processes of `role` ("tinygen" or "tflm"); a worker that dies
    or passes HARD_TIMEOUT_S is replaced and its mutant reported as a crash / hang."""
    todo = collections.deque(ks)
    results: list[dict] = []
    sel = selectors.DefaultSelector()
    pool = []
    try:
        for _ in range(max(1, min(workers, len(ks)))):
            w = _Worker(role, campaign_seed)
            pool.append(w)
            sel.register(w.proc.stdout, selectors.EVENT_READ, w)
            if todo:
                w.send(todo.popleft())
        while any(w.job is not None for w in pool):
            for key, _ in sel.select(timeout=1.0):
                w = key.data
                line = w.proc.stdout.readline()
                if line:
                    results.append(json.loads(line))
                else:   # the worker died (segfault, out of memory): that mutant is a crash
                    results.append(dict(k=w.job, outcome="crash", site="worker died",
                                        detail=f"exit {w.proc.wait(timeout=30)}"))
                    w = _replace(sel, pool, w)
                w.job = None
                if todo:
                    w.send(todo.popleft())
                if progress:
                    progress(len(results))
            now = time.monotonic()
            for w in list(pool):
                if w.job is not None and now > w.deadline:
                    results.append(dict(k=w.job, outcome="hang", site="hard timeout",
                                        detail=f"> {HARD_TIMEOUT_S} s, worker killed"))
                    w.kill()
                    w = _replace(sel, pool, w)
                    if todo:
                        w.send(todo.popleft())
    finally:
        for w in pool:
            w.close()
        sel.close()
    return sorted(results, key=lambda r: r["k"])


def _replace(sel, pool: list, dead: _Worker) -> _Worker:
    sel.unregister(dead.proc.stdout)
    if dead.proc.poll() is None:
        dead.kill()
    fresh = _Worker(dead.role, dead.campaign_seed)
    pool[pool.index(dead)] = fresh
    sel.register(fresh.proc.stdout, selectors.EVENT_READ, fresh)
    return fresh


# ---- stage 2: sanitizers and TFLite-Micro on a sample of accepted mutants ------------------------

TFLM_SCRIPT = r"""
import sys, json, numpy as np
sys.path[:0] = sys.argv[3:5]
from harness import as_bytes, tflm_run
model = open(sys.argv[1], "rb").read()
saved = np.load(sys.argv[2])
try:
    outs = tflm_run(model, [saved[k] for k in sorted(saved.files)], arena_size=16 << 20)
except Exception as exc:
    print(json.dumps({"refused": f"{type(exc).__name__}: {str(exc)[:200]}"})); sys.exit(0)
print(json.dumps({"rows": as_bytes(outs).tolist()}))
"""


def sample_accepted(results: list[dict], count: int, max_c_bytes: int = MAX_C_BYTES) -> list[dict]:
    """Accepted mutants whose C differs from their seed's, one per distinct C, seeds in turn;
    only models whose C compiles in seconds (person_detect's 1.2 MB takes minutes with ASan)."""
    by_seed: dict[str, list[dict]] = collections.defaultdict(list)
    seen = set()
    for r in results:
        if (r["outcome"] == "accepted" and r.get("differs") and r["digest"] not in seen
                and r["c_bytes"] <= max_c_bytes):
            seen.add(r["digest"])
            by_seed[r["seed"]].append(r)
    for rs in by_seed.values():   # those TFLite-Micro runs first: they can be compared
        rs.sort(key=lambda r: (r.get("tflm") != "runs", r["k"]))
    picked = []
    while len(picked) < count and any(by_seed.values()):
        for seed in sorted(by_seed):
            if by_seed[seed] and len(picked) < count:
                picked.append(by_seed[seed].pop(0))
    return picked


def tflm_reference(model: Path, inputs: list, workdir: Path) -> dict:
    """TFLite-Micro's outputs as raw bytes per record, in a process of its own (it aborts on some
    hostile models): {"rows": ...}, {"refused": why} or {"crashed": how}."""
    import numpy as np

    np.savez(workdir / "inputs.npz", **{f"in{k:03d}": batch for k, batch in enumerate(inputs)})
    try:
        res = subprocess.run([sys.executable, "-c", TFLM_SCRIPT, str(model), str(workdir / "inputs.npz"),
                              str(TESTS), str(REPO)],
                             capture_output=True, text=True, timeout=TFLM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"crashed": f"no answer within {TFLM_TIMEOUT_S} s"}
    if res.returncode != 0:
        return {"crashed": f"exit {res.returncode}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def edge_inputs(gen, batches: list) -> list:
    """Three records per model input: its type's minimum everywhere, its maximum, random."""
    import numpy as np

    for io, batch in zip(gen.inputs, batches):
        if np.dtype(io.dtype).kind in "iu":
            info = np.iinfo(np.dtype(io.dtype))
            batch[0], batch[1] = info.min, info.max
    return batches


def run_stage2(samples: list[dict], campaign_seed: int) -> list[dict]:
    import numpy as np

    from harness import as_bytes, build_host, random_inputs, run_host
    from fuzz.mutate import Mutator, load_seeds
    from tinygen.codegen import generate

    mutator = Mutator(load_seeds(), campaign_seed)
    out = []
    for i, r in enumerate(samples):
        data, _, _ = mutator.mutant(r["k"])
        work = Path(tempfile.mkdtemp(prefix="tg_fuzz_s"))
        try:
            model = work / "mutant.tflite"
            model.write_bytes(data)
            gen = generate(model, work / "gen")
            inputs = edge_inputs(gen, random_inputs(gen, 3, np.random.default_rng(r["k"])))
            dsp = i % 2 == 1
            row = dict(k=r["k"], seed=r["seed"], what=r["what"], path="dsp-emulated" if dsp else "portable")
            try:
                exe = build_host(work / "gen", sanitize=True, opt="-O0", dsp_emulated=dsp, gen=gen)
                spec = [(o.nbytes, np.dtype(o.dtype)) for o in gen.outputs]
                ours = as_bytes(run_host(exe, inputs, spec))
            except AssertionError as err:   # -Werror, a sanitizer report or a failed invoke
                row.update(result="finding", detail=str(err)[:600])
                out.append(row)
                continue
            except subprocess.TimeoutExpired as err:
                row.update(result="timeout", detail=str(err)[-200:])
                out.append(row)
                continue
            ref = tflm_reference(model, inputs, work)
            if "rows" in ref:
                theirs = np.array(ref["rows"], dtype=np.uint8)
                same = theirs.shape == ours.shape and bool((theirs == ours).all())
                row.update(result="bit-exact" if same else "differs",
                           detail="" if same else f"ours {ours.tolist()} vs TFLM {theirs.tolist()}"[:600])
            else:
                row.update(result="tflm-" + ("refuses" if "refused" in ref else "crashes"),
                           detail=ref.get("refused") or ref.get("crashed"))
            out.append(row)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out


# ---- the report ----------------------------------------------------------------------------------

def _category(message: str) -> str:
    """A refusal message with its numbers, names and quoted text folded, to count kinds."""
    m = re.sub(r"^\S*\.tflite: ", "", message)
    m = re.sub(r"(?<![A-Za-z])'[^']*'(?![A-Za-z])", "'_'", m)
    m = re.sub(r"\[layer[^\]]*\]", "", m)
    m = re.sub(r"-?\b\d[\d.e+\-]*\b|\bnan\b|\binf\b", "N", m)
    m = re.sub(r"\(\s*N(,\s*N)*,?\s*\)|\[\s*N(,\s*N)*\s*\]", "(..)", m)
    return m.split(";")[0].strip()[:110]


def summarize(results: list[dict], stage2: list[dict], seconds: float) -> dict:
    counts = collections.Counter(r["outcome"] for r in results)
    sites = collections.defaultdict(list)
    for r in results:
        if r["outcome"] in FAILURES:
            sites[r.get("site", "?")].append(r)
    cats = collections.Counter(_category(r["message"]) for r in results if r["outcome"] == "refused")
    groups = collections.Counter()
    for r in results:
        group = r.get("seed", "?").split("/")[0] + ("/seanet" if "/seanet/" in r.get("seed", "") else "")
        groups[(group, r["outcome"])] += 1
    s2 = collections.Counter(r["result"] for r in stage2)
    tflm = collections.Counter()
    tflm_examples = {}
    for r in results:
        if r["outcome"] == "accepted" and "tflm" in r:
            kind = _category(re.sub(r"^\S+:\d+ ", "", r["tflm"]))
            tflm[kind] += 1
            tflm_examples.setdefault(kind, dict(k=r["k"], seed=r["seed"], what=r["what"],
                                                tflm=r["tflm"]))
    return dict(
        mutants=len(results), seconds=round(seconds, 1), counts=dict(counts),
        failures={site: dict(count=len(rs), example=dict(k=rs[0]["k"], seed=rs[0].get("seed"),
                                                         what=rs[0].get("what"),
                                                         detail=rs[0].get("detail")))
                  for site, rs in sites.items()},
        refusal_kinds=cats.most_common(25),
        by_group={f"{g} {o}": n for (g, o), n in sorted(groups.items())},
        accepted_differing=sum(1 for r in results if r["outcome"] == "accepted" and r.get("differs")),
        tflm_on_accepted=dict(counts=dict(tflm.most_common()), examples=tflm_examples),
        accepted=[{k: r.get(k) for k in ("k", "seed", "what", "differs", "c_bytes", "tflm")}
                  for r in results if r["outcome"] == "accepted"],
        stage2=dict(counts=dict(s2), rows=stage2))


def format_report(rep: dict) -> str:
    c = rep["counts"]
    lines = [f"{rep['mutants']} mutants in {rep['seconds']} s: "
             + ", ".join(f"{k} {c.get(k, 0)}" for k in ("accepted", "refused") + FAILURES),
             f"accepted with C different from the seed's: {rep['accepted_differing']}"]
    for site, f in rep["failures"].items():
        lines.append(f"  FAILURE {site} x{f['count']}: mutant {f['example']['k']} of "
                     f"{f['example']['seed']} ({f['example']['what']}): {f['example']['detail']}")
    t = rep["tflm_on_accepted"]
    lines.append("TFLite-Micro on the accepted mutants: " + ", ".join(
        f"{kind} x{n}" for kind, n in t["counts"].items()))
    for kind, ex in t["examples"].items():
        if kind != "runs":
            lines.append(f"  e.g. mutant {ex['k']} of {ex['seed']} ({ex['what']}): {ex['tflm']}")
    lines.append("refusals by kind:")
    lines += [f"  {n:6d}  {kind}" for kind, n in rep["refusal_kinds"]]
    lines.append("by seed group: " + ", ".join(f"{k} {n}" for k, n in rep["by_group"].items()))
    s2 = rep["stage2"]
    lines.append(f"sanitizer stage: {len(s2['rows'])} accepted mutants compiled with ASan+UBSan "
                 "and run: " + ", ".join(f"{k} {n}" for k, n in sorted(s2["counts"].items())))
    for row in s2["rows"]:
        if row["result"] not in ("bit-exact",):
            lines.append(f"  {row['result']}: mutant {row['k']} of {row['seed']} ({row['what']}, "
                         f"{row['path']}): {row['detail']}")
    return "\n".join(lines)


def run_campaign(mutants: int, campaign_seed: int = 1, workers: int = 2, sanitize: int = 4,
                 first: int = 0, progress: bool = False, keep: Optional[Path] = None) -> dict:
    t0 = time.monotonic()

    def show(done: int) -> None:
        if progress and done % 250 == 0:
            print(f"  {done}/{mutants} mutants, {time.monotonic() - t0:.0f} s", file=sys.stderr,
                  flush=True)

    results = run_pool("tinygen", list(range(first, first + mutants)), campaign_seed, workers, show)
    verdicts = run_pool("tflm", [r["k"] for r in results if r["outcome"] == "accepted"],
                        campaign_seed, workers)
    for r, v in zip([r for r in results if r["outcome"] == "accepted"], verdicts):
        assert r["k"] == v["k"]
        if "tflm" not in v:   # a hostile model before may have corrupted that process: retry alone
            v = run_pool("tflm", [r["k"]], campaign_seed, 1)[0]
        r["tflm"] = v.get("tflm") or f"aborts ({v.get('site')}: {v.get('detail')})"
    if keep:   # stage 1 alone can take an hour: keep it before stage 2 starts
        keep.write_text(json.dumps(summarize(results, [], time.monotonic() - t0), indent=1))
    stage2 = run_stage2(sample_accepted(results, sanitize), campaign_seed)
    return summarize(results, stage2, time.monotonic() - t0)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mutants", type=int, default=300)
    p.add_argument("--seed", type=int, default=1, help="campaign seed (mutant k is fixed by it)")
    p.add_argument("--first", type=int, default=0, help="number of the first mutant")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--sanitize", type=int, default=4, help="accepted mutants for stage 2")
    p.add_argument("--json", type=Path, help="also write the full report here")
    p.add_argument("--save", type=Path, help="write the failing mutants' .tflite files here")
    p.add_argument("--worker", choices=("tinygen", "tflm"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker_main(args.worker, args.seed)
        return 0
    rep = run_campaign(args.mutants, args.seed, args.workers, args.sanitize, args.first, True,
                       args.json)
    print(format_report(rep))
    if args.json:
        args.json.write_text(json.dumps(rep, indent=1))
    if args.save:
        save_failures(rep, args.seed, args.save)
    bad = sum(rep["counts"].get(k, 0) for k in FAILURES)
    bad += sum(1 for r in rep["stage2"]["rows"] if r["result"] in ("finding", "differs"))
    return 1 if bad else 0


def save_failures(rep: dict, campaign_seed: int, folder: Path) -> None:
    from fuzz.mutate import Mutator, load_seeds

    folder.mkdir(parents=True, exist_ok=True)
    mutator = Mutator(load_seeds(), campaign_seed)
    for f in rep["failures"].values():
        k = f["example"]["k"]
        (folder / f"mutant_{campaign_seed}_{k}.tflite").write_bytes(mutator.mutant(k)[0])


if __name__ == "__main__":
    sys.path[:0] = [str(TESTS), str(REPO)]
    sys.exit(main())
