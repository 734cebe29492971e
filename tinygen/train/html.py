"""run/report.html: one self-contained page (pictures inlined as PNG data URIs, no script, no
external resource) from metrics.json and the learning curves. Opens offline in any browser.

Every figure is drawn with matplotlib's Agg backend; every number is printed from metrics."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

SET_TITLES = {"test": "test set", "in_distribution": "in-distribution test", "val": "validation"}


def write_report(path: Path, m: dict, curves: dict) -> None:
    Path(path).write_text(render(m, curves), encoding="utf-8")


def render(m: dict, curves: dict) -> str:
    parts = [_head(m), _summary(m), _teacher_vs_student(m), _on_device(m), _distillation(m),
             _quantization(m), _size_table(m), _confusions(m), _per_class(m), _curves(curves),
             "</body></html>\n"]
    return "\n".join(parts)


def _e(x) -> str:
    return html.escape(str(x))


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _table(header, rows, cls="") -> str:
    out = [f'<table class="{cls}">' + ("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"
                                       if header else "")]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    return "\n".join(out) + "</table>"


def _png(fig) -> str:
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(src: str, alt: str, ident: str) -> str:
    return f'<img id="{ident}" alt="{_e(alt)}" src="{src}">'


def _head(m: dict) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>tinygen training report</title>
<style>
body {{ font-family: sans-serif; max-width: 70em; margin: 1em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.2em; }}
th, td {{ border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: right; }}
th {{ background: #eee; }} td:first-child, th:first-child {{ text-align: left; }}
tr.deployed td {{ font-weight: bold; }} img {{ max-width: 100%; }}
.note {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>tinygen training report</h1>
<p class="note">tinygen {_e(m.get('tinygen_version'))}, seed {_e(m.get('seed'))}; data: {_e(_data_line(m))}</p>"""


def _data_line(m: dict) -> str:
    d = m.get("data", {})
    kind = d.get("kind", "?")
    axes = d.get("axes", 1)
    what = (f"synthetic, {d.get('machines')} machines, {axes} axis" + ("es" if axes > 1 else "")
            if kind == "synthetic" else d.get("data_dir", kind))
    held = m.get("holdout") or []
    return f"{what}; held out: {' '.join(held) if held else 'nothing (test = segments of trained recordings)'}"


def _summary(m: dict) -> str:
    w = m["windows"]
    acc = m["accuracy_test"]
    held = bool(m.get("holdout"))
    rows = [("classes", _e(", ".join(m["classes"]))),
            ("windows", _e(", ".join(f"{k} {v}" for k, v in w.items()))),
            ("deployed int8 student on the test set" + (" (held-out recordings)" if held else ""),
             _pct(acc["student_int8_tflm"])),
            ("int8 flash (weights + tables) / MACs / arena",
             f"{m['sizes']['student_flash_bytes']:,} B / {m['macs']['student']:,} / "
             f"{m['sizes']['student_arena_bytes']:,} B")]
    return "<h2>Summary</h2>" + _table(None, rows)


def _teacher_vs_student(m: dict) -> str:
    sets = [("accuracy_test", "test")] + ([("accuracy_in_distribution", "in-distribution test")]
                                          if "accuracy_in_distribution" in m else [])
    keys = (("teacher_float", "teacher (float, never ships)"),
            ("teacher_int8_tflm", "teacher, int8 via TFLite-Micro"),
            ("student_alone_float", "student alone (float)"),
            ("student_distilled_float", "student distilled (float)"),
            ("student_int8_tflm", "deployed student, int8 via TFLite-Micro"))
    val = dict(m.get("validation_accuracy", {}))
    val["teacher_int8_tflm"] = ((m.get("teacher_int8") or {}).get("scores") or {}).get("val")
    val_keys = {"teacher_float": "teacher", "student_alone_float": "student_alone",
                "student_distilled_float": "student_distilled", "student_int8_tflm": "student_int8_tflm",
                "teacher_int8_tflm": "teacher_int8_tflm"}
    rows = [[_e(title)] + [_pct(m[s].get(k)) for s, _ in sets] + [_pct(val.get(val_keys[k]))]
            for k, title in keys if k in m["accuracy_test"]]
    note = ("<p class='note'>The test set holds whole recordings (machines, conditions) that "
            "training never saw; the in-distribution test holds unseen segments of recordings it "
            "did see.</p>" if len(sets) > 1 else "")
    return ("<h2>Teacher vs student</h2>" + _table(["model"] + [t for _, t in sets] + ["validation"], rows)
            + note + f"<p class='note'>teacher {m['sizes']['teacher_params']:,} parameters, "
            f"{m['macs']['teacher']:,} MACs; student {m['sizes']['student_params']:,} parameters.</p>")


def _on_device(m: dict) -> str:
    """Teacher and deployed student on the Cortex-M7 twin: what distillation buys on the target."""
    from .report import device_rows
    rows = device_rows(m)
    if not rows:
        why = (m.get("teacher_int8") or {}).get("error")
        return ("<h2>Teacher on the device</h2><p id='device-missing'>Not measured"
                + (f": {_e(why)}" if why else "") + ".</p>") if why else ""
    d = m["on_device"]
    body = []
    for r in rows:
        if "error" in r:
            body.append([_e(r["model"]), f"not measured: {_e(r['error'])}", "", "", "", "", "", "", ""])
            continue
        a = r["accuracy"]
        body.append([_e(f"{r['model']} (int8)"), _pct(a["test"]), _pct(a["in_distribution"]),
                     f"{r['weight_bytes']:,} B", f"{r['firmware_flash_bytes']:,} B",
                     f"{r['arena_bytes']:,} + {r['state_bytes']:,} + {r['stack_bytes']:,} B",
                     f"{r['macs']:,}", f"{r['instructions']:,}",
                     "yes" if r["fits"] else "<b>no</b>"])
    table = _table(["model", "test", "in-distribution", "weights", "firmware flash",
                    "RAM: arena + state + stack", "MACs", "instructions", f"fits the {d['board']}"],
                   body, "device")
    return ("<h2>Teacher on the device</h2>" + table
            + f"<p class='note'>Both networks compiled by tinygen and built as the {_e(d['board'])} "
              "twin's firmware (network only, the same harness in both), one inference run on the "
              "twin: instructions counted by an emulator, not cycles; the stack is painted. "
              "Accuracy is the int8 model through TFLite-Micro. The teacher's LSTM is unrolled "
              "(TensorFlow's converter cannot calibrate the fused one), and its input views have no "
              "C front end, so neither network's front end is counted here.</p>")


def _distillation(m: dict) -> str:
    d = m["distillation"]
    names = [k for k in ("test", "in_distribution", "val") if f"gain_{k}_pp" in d]
    rows = []
    for kind in ("alone", "distilled"):
        rows.append([_e(f"student {kind}")] + [_mean_std(d[kind][n]) for n in names])
    rows.append(["<b>distillation gain</b>"] + [
        f"<b>{d[f'gain_{n}_pp']['mean']:+.2f} ± {d[f'gain_{n}_pp']['std']:.2f} pp</b>" for n in names])
    g = d["gain_test_pp"]
    if g["n"] < 2:
        verdict = "was measured on one seed only (no spread; train with --seeds 5)"
    else:
        verdict = ("helped" if g["mean"] - g["std"] > 0 else
                   "hurt" if g["mean"] + g["std"] < 0 else "made no clear difference")
    return (f"<h2>Distillation over {d['seeds']} seed(s), same split</h2>"
            + _table(["float student"] + [SET_TITLES[n] for n in names], rows)
            + f"<p id='distillation-verdict'>On the test set distillation {verdict} "
              f"({g['mean']:+.2f} ± {g['std']:.2f} points, mean ± std over {g['n']} seeds). "
              f"Deployed: the {_e(d['chosen']['kind'])} student, seed {d['chosen']['seed_index'] + 1}, "
              "chosen on validation only.</p>")


def _mean_std(values) -> str:
    import numpy as np
    v = np.asarray(values, dtype=float) * 100
    std = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{v.mean():.2f} ± {std:.2f} %"


def _quantization(m: dict) -> str:
    q = m["quantization"]
    names = [n for n in ("test", "in_distribution", "val") if n in q["float"]]
    rows = [["float student"] + [_pct(q["float"][n]) for n in names],
            ["int8 post-training (PTQ)"] + [_pct(q["ptq"][n]) for n in names]]
    if "qat" in q:
        rows.append(["int8 quantization-aware (QAT)"] + [_pct(q["qat"][n]) for n in names])
    return ("<h2>Quantization</h2>" + _table(["deployed student"] + [SET_TITLES[n] for n in names], rows)
            + f"<p class='note'>PTQ lost {q['ptq_loss_val_pp']:.2f} points on validation (QAT runs "
              f"when asked or above {q['qat_trigger_pp']} points); deployed: {_e(q['deployed'])}.</p>")


def _size_table(m: dict) -> str:
    rows = m["size_table"]
    names = [n for n in ("test", "in_distribution", "val") if n in rows[0]["accuracy"]]
    body = []
    for r in rows:
        body.append(["/".join(map(str, r["widths"])) + (" (deployed)" if r["deployed"] else ""),
                     f"{r['flash_bytes']:,} B", f"{r['macs']:,}", f"{r['arena_bytes']:,} B",
                     _e(r["int8"])] + [_pct(r["accuracy"][n]) for n in names])
    table = _table(["conv channels", "flash (weights + tables)", "MACs", "arena", "int8"]
                   + [SET_TITLES[n] for n in names], body, "sizes")
    budget = m.get("budget") or {}
    note = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in budget.items() if v is not None)
    return ("<h2>Accuracy vs size (int8, TFLite-Micro)</h2>" + table
            + "<p class='note'>Smaller students are the deployed one with its least valuable conv "
              "channels pruned and fine-tuned with the teacher; sizes as tinygen compiles them."
            + (f" Budget: {_e(note)}." if note else "") + "</p>")


def _confusion_figure(cm, names, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    a = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * len(names), 1.0 + 0.6 * len(names)))
    ax.imshow(a / np.maximum(a.sum(axis=1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, str(a[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if a[i, j] > 0.6 * a[i].sum() else "black")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _png(fig)


def _confusions(m: dict) -> str:
    names = m["classes"]
    items = [("test", "int8 student, test set"), ("in_distribution", "int8 student, in-distribution"),
             ("teacher_test", "teacher, test set")]
    imgs = [_img(_confusion_figure(m["confusion"][k], names, title), f"confusion matrix: {title}",
                 f"confusion-{k.replace('_', '-')}")
            for k, title in items if k in m["confusion"]]
    return "<h2>Confusion matrices</h2>" + "\n".join(imgs)


def _per_class(m: dict) -> str:
    out = ["<h2>Per-class precision and recall (int8 student)</h2>"]
    for name in sorted(m["per_class"], key=list(SET_TITLES).index):
        rows = m["per_class"][name]
        out.append(f"<h3>{_e(SET_TITLES.get(name, name))}</h3>")
        out.append(_table(["class", "windows", "precision", "recall"],
                          [[_e(r["class"]), r["windows"], _pct(r["precision"]), _pct(r["recall"])]
                           for r in rows]))
    return "\n".join(out)


def _curves(curves: dict) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
    for name, c in curves.items():
        epochs = range(1, len(c["loss"]) + 1)
        a1.plot(epochs, c["loss"], label=name.replace("_", " "))
        a2.plot(epochs, [100 * v for v in c["val_accuracy"]], label=name.replace("_", " "))
    a1.set_yscale("log")
    a1.set_title("training loss (distillation adds the soft-target term)")
    a2.set_title("validation accuracy (%)")
    for a in (a1, a2):
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    return "<h2>Learning curves</h2>" + _img(_png(fig), "learning curves", "learning-curves")
