"""The printed summary of metrics.json."""
from __future__ import annotations

ROWS = (("teacher_float", "LSTM teacher (float)"),
        ("student_alone_float", "1D-CNN student alone (float)"),
        ("student_distilled_float", "1D-CNN student distilled (float)"),
        ("student_float", "student (float)"),
        ("student_int8_tflm", "student int8 via TFLite-Micro"))


def format_table(m: dict) -> str:
    lines = [f"test accuracy on {m['windows']['test']} held-out windows "
             f"({len(m['classes'])} classes):"]
    for key, title in ROWS:
        if key in m["accuracy_test"]:
            lines.append(f"  {title:<36} {100 * m['accuracy_test'][key]:6.2f} %")
    unseen = m.get("accuracy_unseen_machines")
    if unseen:
        lines.append(f"  {'int8 on ' + str(unseen['windows']) + ' windows of unseen machines':<36} "
                     f"{100 * unseen['student_int8_tflm']:6.2f} %")
    val = m.get("validation_accuracy") or {}
    if val:
        lines.append("  validation accuracy (selection only): " +
                     ", ".join(f"{k} {100 * v:.2f} %" for k, v in val.items()))
    if "deployed_student" in m:
        lines.append(f"  deployed student: {m['deployed_student']} (better on validation); "
                     f"int8 - teacher = {m['int8_minus_teacher_pp']:+.2f} pp")
    names = m["classes"]
    width = max(len(n) for n in names)
    lines.append("confusion (rows = true, columns = int8 prediction):")
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
