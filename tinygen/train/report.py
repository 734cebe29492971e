"""The printed summary of metrics.json (the full story is in report.html)."""
from __future__ import annotations

ROWS = (("teacher_float", "teacher (float, never ships)"),
        ("teacher_int8_tflm", "teacher int8 via TFLite-Micro"),
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


def device_rows(m: dict) -> list[dict]:
    """The teacher-vs-student rows on the device (metrics' on_device), with each model's int8
    accuracy through TFLite-Micro; [] when they were not measured."""
    d = m.get("on_device") or {}
    keys = {"teacher": "teacher_int8_tflm", "student": "student_int8_tflm"}
    rows = []
    for name in ("teacher", "student"):
        fig = d.get(name)
        if fig is None:
            continue
        acc = {s: (m.get(k) or {}).get(keys[name])
               for s, k in (("test", "accuracy_test"), ("in_distribution", "accuracy_in_distribution"))}
        rows.append(dict(model=name, accuracy=acc, **fig))
    return rows


def device_lines(m: dict) -> list[str]:
    """"Teacher on the device": accuracy, flash, RAM and instructions beside the student's."""
    rows = device_rows(m)
    if not rows:
        t = m.get("teacher_int8") or {}
        return [f"teacher on the device: not measured ({t['error']})"] if "error" in t else []
    d = m["on_device"]
    out = [f"teacher on the device ({d['board']} twin, int8, compiled by tinygen, network only; "
           f"{d['unit']}):",
           f"  {'':8} {'test':>8} {'in-dist':>8} {'weights':>10} {'flash':>11} "
           f"{'RAM':>9} {'instructions':>13}"]
    for r in rows:
        if "error" in r:
            out.append(f"  {r['model']:<8} not measured: {r['error']}")
            continue
        a = r["accuracy"]
        out.append(f"  {r['model']:<8} {_pct(a['test'])} {_pct(a['in_distribution'])} "
                   f"{r['weight_bytes']:>8,} B {r['firmware_flash_bytes']:>9,} B "
                   f"{r['ram_bytes']:>7,} B {r['instructions']:>13,}"
                   + ("" if r["fits"] else f"  DOES NOT FIT the {d['board']}"))
    good = [r for r in rows if "error" not in r]
    if len(good) == 2:
        t, s = good
        out.append(f"  teacher / student: {t['weight_bytes'] / s['weight_bytes']:.0f}x weights, "
                   f"{t['ram_bytes'] / s['ram_bytes']:.1f}x RAM, "
                   f"{t['instructions'] / s['instructions']:.0f}x instructions "
                   "(flash = the twin firmware, harness included; RAM = arena + state + "
                   "stack painted)")
    return out


def format_table(m: dict) -> str:
    lines = accuracy_lines(m) + distillation_lines(m)
    q = m.get("quantization")
    if q:
        lines.append(f"quantization: PTQ loses {q['ptq_loss_val_pp']:+.2f} pp on validation; "
                     f"deployed {q['deployed']}" + (f" (QAT test {_pct(q['qat']['test']).strip()}, "
                                                    f"PTQ {_pct(q['ptq']['test']).strip()})" if "qat" in q else ""))
    lines += size_lines(m)
    lines += device_lines(m)
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
