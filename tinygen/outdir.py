"""Output folders and files tinygen writes: checked before any work, owned through a manifest.

Every folder a command writes (`generate --out`, `build --out`, `train --out`, `quantize --out`,
the build folders of `validate` and `bench`) gets `.tinygen-manifest.json`: the kind of output,
and each file tinygen wrote there with its SHA-256. That list is what tinygen may replace:

- a missing or empty folder is fine;
- a folder whose every file is in its manifest (same kind, unchanged) is regenerated: the files
  listed are removed just before the new ones are written, so nothing stale survives;
- anything else (a file tinygen did not write, a listed file the user has edited, another kind of
  output) is refused in one line naming it, before any work; `--force` writes over the folder
  anyway and records the files it found as not its own (later runs leave them alone);
- a command that fails or is interrupted after claiming the folder removes what it wrote and the
  folders it created (`with claim(...) as out:` rolls back unless `out.commit()` ran). The files of
  the previous run go only at `begin()`, just before the new ones are written: a command refused
  before that (a bad model, a model too big) leaves the last good output as it was.

A sub-folder holding its own manifest is another tinygen output (`validate`'s twin build inside
`build/`): the enclosing folder neither refuses, tracks nor removes it.

Tool state under `.pio/`, `pio-core/` and `__pycache__/` (PlatformIO's build cache and core, kept
between builds) is never tracked, never refused and never removed.

Single output files (`validate --report`, `analyze --plot`) are checked with `check_file`: not a
folder, its folder writable, and an existing file only replaced when tinygen wrote it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional

from . import __version__
from .errors import TinygenError

MANIFEST = ".tinygen-manifest.json"
TOOL_STATE = (".pio", "pio-core", "__pycache__")   # folders other tools fill; never tracked


class OutputError(TinygenError):
    """An output path that cannot be written, or that holds files tinygen did not write."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _is_tool_state(rel: str) -> bool:
    return any(part in TOOL_STATE for part in Path(rel).parts[:-1])


def _files(root: Path) -> list[str]:
    """Every file under root (relative, '/'-separated, sorted), the manifest itself and nested
    tinygen outputs (sub-folders with their own manifest) excluded."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath, d) / MANIFEST).is_file())
        for name in filenames:
            rel = Path(dirpath, name).relative_to(root).as_posix()
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def _nearest_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def _explain(path: Path, flag: str) -> str:
    return f"{flag} {path}"


def _first_file_ancestor(path: Path) -> Optional[Path]:
    existing = _nearest_existing(path)
    return existing if existing.exists() and not existing.is_dir() else None


def check_folder_path(path: Path, flag: str = "--out") -> None:
    """A folder can be made at `path`: not a file, no file on the way (one line otherwise)."""
    blocker = _first_file_ancestor(path)
    if blocker == path:
        raise OutputError(f"{_explain(path, flag)} is a file, not a folder; give a folder path")
    if blocker is not None:
        raise OutputError(f"{_explain(path, flag)}: {blocker} is a file, so no folder can be made "
                          f"there; give another path")


class Output:
    """One claimed output folder. Use `claim()`; see the module docstring."""

    def __init__(self, given: Path, kind: str, force: bool, flag: str):
        self.given = given                   # as the user wrote it (for messages)
        self.root = given.resolve()
        self.kind, self.force, self.flag = kind, force, flag
        self.created: list[Path] = []        # folders this run made (deepest last)
        self.previous: list[str] = []        # files of the last run (its manifest)
        self.kept: list[str] = []            # files tinygen did not write, left alone
        self.kept_sha: dict[str, str] = {}   # ... and their content when checked
        self.keep_inputs: set[str] = set()   # listed files this run reads: never removed
        self.begun = False
        self.committed = False

    # ---- before any work ---------------------------------------------------------------------
    def check(self) -> "Output":
        check_folder_path(self.given, self.flag)
        if self.root.is_dir():
            self._check_owner()
        try:
            self._make_dirs()
            self._probe()
        except BaseException:
            self.rollback()             # the folders made on the way go too
            raise
        return self

    def _check_owner(self) -> None:
        doc = self._manifest()
        owned = {f["path"]: f.get("sha256") for f in doc.get("files", [])} if doc else {}
        kept = set(doc.get("kept", [])) if doc else set()
        foreign, edited = [], []
        for rel in _files(self.root):
            if rel in kept or (_is_tool_state(rel) and rel not in owned):
                continue
            if rel not in owned:
                foreign.append(rel)
            elif owned[rel] and _sha256(self.root / rel) != owned[rel]:
                edited.append(rel)
        other_kind = doc is not None and doc.get("kind") != self.kind and bool(owned)
        if (foreign or edited or other_kind) and not self.force:
            raise OutputError(self._refusal(doc, foreign, edited, other_kind))
        self.previous = [] if other_kind else [r for r in owned if r not in edited]
        self.kept = sorted(kept | set(foreign) | set(edited) |
                           (set(owned) if other_kind else set()))
        self.kept_sha = {r: _sha256(self.root / r) for r in self.kept
                         if (self.root / r).is_file()}

    def _refusal(self, doc, foreign, edited, other_kind) -> str:
        where = _explain(self.given, self.flag)
        if other_kind:
            why = f"holds tinygen's {doc.get('kind')} output, not {self.kind} output"
        elif foreign:
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            why = f"holds files tinygen did not write ({', '.join(foreign[:3])}{more})"
        else:
            why = f"holds tinygen files edited since it wrote them ({', '.join(edited[:3])})"
        return f"{where} {why}; choose another folder, or pass --force to write over it"

    def _manifest(self) -> Optional[dict]:
        path = self.root / MANIFEST
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return doc if isinstance(doc, dict) and doc.get("tool") == "tinygen" else None

    def _make_dirs(self) -> None:
        missing = []
        p = self.root
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except OSError as exc:
                raise OutputError(f"cannot create {_explain(self.given, self.flag)}: "
                                  f"{exc.strerror or exc}; choose a writable folder") from None
            self.created.append(d)

    def _probe(self) -> None:
        try:
            fd, name = tempfile.mkstemp(dir=self.root, prefix=".tinygen-probe-")
            os.close(fd)
            os.unlink(name)
        except OSError as exc:
            raise OutputError(f"cannot write to {_explain(self.given, self.flag)}: "
                              f"{exc.strerror or exc}; choose a writable folder") from None

    # ---- writing -----------------------------------------------------------------------------
    def keep(self, *paths) -> None:
        """Files this run reads from inside the folder (a model an earlier build trained there):
        begin() leaves them, or everything under a folder given here, in place."""
        for p in paths:
            if p is None:
                continue
            try:
                rel = Path(p).resolve().relative_to(self.root).as_posix()
            except ValueError:
                continue
            self.keep_inputs.add(rel)
            self.keep_inputs.update(r for r in self.previous if r.startswith(rel + "/"))

    def begin(self) -> None:
        """Remove the files of the previous run, just before this run writes its own (once)."""
        if self.begun:
            return
        for rel in self.previous:
            if rel not in self.keep_inputs:
                (self.root / rel).unlink(missing_ok=True)
        _prune_empty(self.root)
        self.begun = True

    def commit(self) -> list[str]:
        """Record every file now in the folder (but those not its own) as tinygen's. A kept file
        this run wrote over (--force into a project with a platformio.ini) is tinygen's now."""
        kept = {r for r in self.kept if (self.root / r).is_file()
                and _sha256(self.root / r) == self.kept_sha.get(r)}
        files = [r for r in _files(self.root) if r not in kept and not _is_tool_state(r)]
        doc = {"tool": "tinygen", "version": __version__, "kind": self.kind,
               "files": [{"path": r, "sha256": _sha256(self.root / r)} for r in files],
               "kept": sorted(kept)}
        tmp = self.root / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        tmp.replace(self.root / MANIFEST)
        self.committed = True
        return files

    def rollback(self) -> None:
        """Undo this run: its files (once begun), then the folders it created (with whatever
        tools left in them, e.g. a failed build's .pio: nothing was there before this run)."""
        if self.created:
            shutil.rmtree(self.created[0], ignore_errors=True)
            return
        if self.begun:
            kept = set(self.kept) | self.keep_inputs
            for rel in _files(self.root):
                if rel not in kept and not _is_tool_state(rel):
                    (self.root / rel).unlink(missing_ok=True)
            _prune_empty(self.root)

    def __enter__(self) -> "Output":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and not self.committed:
            self.rollback()


def _prune_empty(root: Path) -> None:
    """Remove empty folders under root (bottom up), root itself kept."""
    for dirpath, _dirnames, _filenames in sorted(os.walk(root), key=lambda w: -len(w[0])):
        d = Path(dirpath)
        if d != root:
            try:
                d.rmdir()
            except OSError:
                pass


def claim(path, kind: str, *, force: bool = False, flag: str = "--out") -> Output:
    """Check `path` before any work and return its Output (a context manager)."""
    return Output(Path(path), kind, force, flag).check()


# ---- single output files ------------------------------------------------------------------------

def check_file(path, flag: str, *, ours: Callable[[Path], bool], force: bool = False,
               what: str = "file") -> Path:
    """`path` can be written as one output file: not a folder, its folder exists or can be made,
    writable; an existing file is replaced only when `ours(path)` says tinygen wrote it."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{flag} {path} is a folder; give the {what}'s file path")
    if path.exists() and not force and not ours(path):
        raise OutputError(f"{flag} {path} exists and is not a {what} tinygen wrote; choose another "
                          f"path, or pass --force to replace it")
    blocker = _first_file_ancestor(path.parent)
    if blocker is not None:
        raise OutputError(f"{flag} {path}: {blocker} is a file, not a folder; give another path")
    existing = _nearest_existing(path.parent.resolve())
    try:
        fd, name = tempfile.mkstemp(dir=existing, prefix=".tinygen-probe-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise OutputError(f"cannot write {flag} {path}: {exc.strerror or exc}; choose another "
                          f"path") from None
    return path


def is_png(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8) == b"\x89PNG\r\n\x1a\n"
    except OSError:
        return False


def is_validation_report(path: Path) -> bool:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(doc, dict) and {"status", "board", "bit_exact", "samples"} <= set(doc)

