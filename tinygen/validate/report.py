"""The validation report: every sample's device output beside the reference, and a summary.

Results are appended one sample at a time, so a run that fails midway still has a report with
what was measured before the failure (and the failure's message in `error`).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np


def _bytes_differing(a: np.ndarray, b: np.ndarray) -> int:
    a8, b8 = np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8)
    if a8.size != b8.size:
        return max(a8.size, b8.size)
    return int(np.count_nonzero(a8 != b8))


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    if a.size != b.size or a.size == 0:
        return 0.0 if a.size == b.size else float("inf")
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


@dataclass
class SampleResult:
    """One inference: the reference's outputs beside the device's, byte for byte."""

    index: int
    mode: str                           # "features" (INFER) or "raw" (INFER_RAW)
    expected: list[np.ndarray]          # one array per model output (its dtype)
    got: list[np.ndarray]
    net_cycles: int = 0
    fe_cycles: Optional[int] = None
    expected_features: Optional[np.ndarray] = None
    got_features: Optional[np.ndarray] = None
    label: Optional[int] = None

    def _pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        pairs = list(zip(self.expected, self.got))
        if self.expected_features is not None and self.got_features is not None:
            pairs.append((self.expected_features, self.got_features))
        return pairs

    @property
    def differing_bytes(self) -> int:
        return sum(_bytes_differing(a, b) for a, b in self._pairs())

    @property
    def exact(self) -> bool:
        return len(self.expected) == len(self.got) and self.differing_bytes == 0

    @property
    def max_abs_diff(self) -> float:
        return max((_max_abs(a, b) for a, b in self._pairs()), default=0.0)

    def to_dict(self) -> dict:
        as_list = (lambda a: None if a is None else a.tolist())
        return {"index": self.index, "mode": self.mode,
                "expected": [a.tolist() for a in self.expected],
                "got": [a.tolist() for a in self.got], "net_cycles": self.net_cycles,
                "fe_cycles": self.fe_cycles, "expected_features": as_list(self.expected_features),
                "got_features": as_list(self.got_features), "label": self.label,
                "exact": self.exact}


@dataclass
class Report:
    board: str
    port: str
    model: Optional[str] = None
    model_sha256: Optional[str] = None
    device: Optional[dict] = None
    cpu_hz: int = 0
    output_zero_point: int = 0
    num_classes: Optional[int] = None
    class_names: Optional[list] = None
    samples: list[SampleResult] = field(default_factory=list)
    requested: int = 0
    error: Optional[str] = None
    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    emulated: bool = False
    integrity: Optional[dict] = None     # the constants' check (tinygen.validate.check_integrity)
    resends: int = 0                     # inferences sent again after a line error (twins only)

    def add(self, result: SampleResult) -> None:
        self.samples.append(result)

    # -- figures ----------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return self.error is None and len(self.samples) == self.requested

    @property
    def bit_exact(self) -> int:
        return sum(1 for s in self.samples if s.exact)

    @property
    def differing_bytes(self) -> int:
        return sum(s.differing_bytes for s in self.samples)

    @property
    def ok(self) -> bool:
        return self.complete and self.bit_exact == len(self.samples) and len(self.samples) > 0

    def cosine(self) -> Optional[float]:
        """Mean cosine similarity of device and reference first outputs (zero point removed)."""
        if not self.samples:
            return None
        vals = []
        for s in self.samples:
            a = s.expected[0].astype(np.float64) - self.output_zero_point
            b = s.got[0].astype(np.float64) - self.output_zero_point
            na, nb = np.linalg.norm(a), np.linalg.norm(b)
            if na == 0 and nb == 0:
                vals.append(1.0)
            elif na == 0 or nb == 0:
                vals.append(0.0)
            else:
                vals.append(float(a @ b / (na * nb)))
        return float(np.mean(vals))

    def labelled(self) -> list[SampleResult]:
        return [s for s in self.samples if s.label is not None]

    def accuracy(self) -> Optional[dict]:
        lab = self.labelled()
        if not lab:
            return None
        dev = sum(1 for s in lab if int(np.argmax(s.got[0])) == s.label) / len(lab)
        ref = sum(1 for s in lab if int(np.argmax(s.expected[0])) == s.label) / len(lab)
        return {"device": dev, "reference": ref, "samples": len(lab)}

    def confusion(self) -> Optional[list[list[int]]]:
        lab = self.labelled()
        if not lab:
            return None
        k = self.num_classes or (max(max(s.label for s in lab), lab[0].got[0].size - 1) + 1)
        m = [[0] * k for _ in range(k)]
        for s in lab:
            pred = int(np.argmax(s.got[0]))
            if 0 <= s.label < k and 0 <= pred < k:
                m[s.label][pred] += 1
        return m

    def cycles(self) -> dict:
        out: dict = {}
        for key, vals in (("network", [s.net_cycles for s in self.samples]),
                          ("front_end", [s.fe_cycles for s in self.samples if s.fe_cycles is not None])):
            if not vals:
                continue
            mean = float(np.mean(vals))
            out[key] = {"mean": mean, "min": int(min(vals)), "max": int(max(vals)),
                        "ms": (mean / self.cpu_hz * 1e3) if self.cpu_hz and mean else None}
        return out

    def summary(self) -> dict:
        maxdiff = max((s.max_abs_diff for s in self.samples), default=0)
        return {
            "status": "ok" if self.ok else ("mismatch" if self.complete else "incomplete"),
            "board": self.board, "port": self.port, "emulated": self.emulated,
            "model": self.model, "model_sha256": self.model_sha256,
            "samples": len(self.samples), "requested": self.requested,
            "bit_exact": self.bit_exact, "differing_bytes": self.differing_bytes,
            "max_abs_diff": maxdiff, "cosine_similarity": self.cosine(),
            "accuracy": self.accuracy(), "confusion_matrix": self.confusion(),
            "class_names": self.class_names,
            "cycles": self.cycles(), "cpu_hz": self.cpu_hz, "device": self.device,
            "error": self.error, "seconds": round(self.seconds, 3),
            "integrity": self.integrity, "resends": self.resends,
        }

    def to_dict(self) -> dict:
        d = self.summary()
        d["results"] = [s.to_dict() for s in self.samples]
        return d

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
        return path

    # -- text ---------------------------------------------------------------------------------
    def table(self) -> str:
        s = self.summary()
        rows = [("board", f"{self.board}" + (" (QEMU twin)" if self.emulated else "")),
                ("port", self.port)]
        if self.model:
            rows.append(("model", f"{self.model} (sha256 {str(self.model_sha256)[:12]}...)"))
        if self.integrity:
            rows.append(("integrity", self.integrity["summary"]))
        rows += [("samples", f"{s['samples']} of {s['requested']}"),
                 ("bit-exact", f"{s['bit_exact']} / {s['samples']}"),
                 ("differing bytes", str(s["differing_bytes"])),
                 ("max |diff|", f"{s['max_abs_diff']:g}")]
        cos = s["cosine_similarity"]
        rows.append(("cosine similarity", "-" if cos is None else f"{cos:.6f}"))
        acc = s["accuracy"]
        if acc:
            rows.append(("accuracy", f"device {acc['device']:.3f}, reference {acc['reference']:.3f} "
                                     f"({acc['samples']} labelled)"))
        for key, label in (("front_end", "front-end cycles"), ("network", "network cycles")):
            c = s["cycles"].get(key)
            if c is None:
                continue
            if c["mean"] == 0:
                rows.append((label, "not measured (no cycle counter; use tinygen bench --emulate)"))
            elif self.emulated:
                rows.append((label, f"{c['mean']:.0f} (the emulator's counter: not real timing; "
                                    "use tinygen bench --emulate)"))
            else:
                ms = f" = {c['ms']:.3f} ms at {self.cpu_hz / 1e6:g} MHz" if c["ms"] else ""
                rows.append((label, f"{c['mean']:.0f}{ms}"))
        if self.resends:
            rows.append(("line", f"{self.resends} inference(s) sent again after a line error "
                                  "(the twin's console loses bytes under load; CRC-checked)"))
        rows.append(("status", s["status"] + (f": {self.error}" if self.error else "")))
        w = max(len(k) for k, _ in rows)
        lines = [f"{k.ljust(w)}  {v}" for k, v in rows]
        cm = s["confusion_matrix"]
        if cm:
            lines.append("confusion matrix (rows: label, columns: device prediction)")
            cw = max(3, max(len(str(v)) for r in cm for v in r))
            lines.append(" " * 5 + " ".join(str(j).rjust(cw) for j in range(len(cm))))
            names = self.class_names if self.class_names and len(self.class_names) == len(cm) else None
            for i, r in enumerate(cm):
                tail = f"  {names[i]}" if names else ""
                lines.append(f"{i:>4} " + " ".join(str(v).rjust(cw) for v in r) + tail)
        return "\n".join(lines)
class Progress:
    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.tty:
            sys.stderr.write(f"\r{self.label} {done}/{total}")
            sys.stderr.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            self.shown = False
