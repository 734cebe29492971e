"""The printed summary of metrics.json (the full story is in report.html)."""
from __future__ import annotations

ROWS = (("teacher_float", "teacher (float, never ships)"),
        ("student_alone_float", "1D-CNN student alone (float)"),
        ("student_distilled_float", "1D-CNN student distilled (float)"),
        ("student_float", "student (float)"),
        ("student_int8_tflm", "student int8 via TFLite-Micro"))


def _pct(v) -> str:
    return f"{100 * v:6.2f} %" if isinstance(v, (int, float)) else "      - "


def accuracy_lines(m: dict) -> list[str]:
    held = "accuracy_in_distribution" in m
    title = "held-out recordings" if held else "test split"
    lines = [f"accuracy ({len(m['classes'])} classes) on the {title} ({m['windows']['test']} windows)"
             + (f" | in-distribution ({m['windows']['in_distribution']})" if held else "") + ":"]
    for key, name in ROWS:
        if key in m["accuracy_test"]:
            extra = f"   | {_pct(m['accuracy_in_distribution'].get(key))}" if held else ""
            lines.append(f"  {name:<36} {_pct(m['accuracy_test'][key])}{extra}")
    if held:
        lines.append(f"  held out: {' '.join(m['holdout'])}")
    return lines


def distillation_lines(m: dict) -> list[str]:
    d = m.get("distillation") or {}
    if "gain_test_pp" not in d:
        return []
    g, v = d["gain_test_pp"], d["gain_val_pp"]
    return [f"distillation gain over {d['seeds']} seed(s): test {g['mean']:+.2f} ± {g['std']:.2f} pp, "
            f"validation {v['mean']:+.2f} ± {v['std']:.2f} pp; deployed: {d['chosen']['kind']} "
            "(chosen on validation)"]


def size_lines(m: dict) -> list[str]:
    rows = m.get("size_table") or []
    if not rows:
        return []
    out = ["accuracy vs size (int8 via TFLite-Micro; flash = weights + tables):"]
    for r in rows:
        mark = "  <- deployed" if r["deployed"] else ""
        out.append(f"  {'/'.join(map(str, r['widths'])):>7} ch  {r['flash_bytes']:>7,} B  "
                   f"{r['macs']:>9,} MACs  {_pct(r['accuracy']['test'])}{mark}")
    return out


def format_table(m: dict) -> str:
    lines = accuracy_lines(m) + distillation_lines(m)
    q = m.get("quantization")
    if q:
        lines.append(f"quantization: PTQ loses {q['ptq_loss_val_pp']:+.2f} pp on validation; "
                     f"deployed {q['deployed']}" + (f" (QAT test {_pct(q['qat']['test']).strip()}, "
                                                    f"PTQ {_pct(q['ptq']['test']).strip()})" if "qat" in q else ""))
    lines += size_lines(m)
    names = m["classes"]
    width = max(len(n) for n in names)
    lines.append("confusion on the test set (rows = true, columns = int8 prediction):")
    lines.append("  " + " " * width + " " + " ".join(f"{i:>5}" for i in range(len(names))))
    for i, (name, row) in enumerate(zip(names, m["confusion_int8_tflm"])):
        lines.append(f"  {name:>{width}} " + " ".join(f"{v:>5}" for v in row) + f"   ({i})")
    s = m["sizes"]
    lines.append(f"student: {s['student_params']} params, {s['student_int8_weight_bytes']} B int8 "
                 f"weights, {s['student_int8_tflite_bytes']} B .tflite, TFLM arena "
                 f"{s['tflm_arena_bytes_host64']} B (64-bit host), {m['macs']['student']} MACs")
    if "teacher_params" in s:
        lines.append(f"teacher: {s['teacher_params']} params, {m['macs']['teacher']} MACs")
    lines.append("wall time: " + ", ".join(f"{k} {v:.1f} s" for k, v in m["wall_time_s"].items()))
    return "\n".join(lines)
