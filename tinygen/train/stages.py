"""The stages of `train()`, in order, sharing one Run: data, teacher, students, deploy, size table,
write. Each stage reads what the earlier ones left on the Run and records its figures in
`self.m` (metrics.json) and its learning curves in `self.curves` (the report's plots)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..data import split_windows
from ..features.training_stats import training_stats
from . import evaluate
from .pipeline import (TrainOptions, TrainResult, _import_tf, _say, evaluation_sets,
                       features_document, holdout_globs, load_data, make_front_end)
from .progress import bar


class Run:
    def __init__(self, out_dir: Path, options: TrainOptions, seed: int, progress, data_dir):
        self.out_dir, self.o, self.seed, self.progress = out_dir, options, seed, progress
        self.data_dir = data_dir
        self.init = seed if options.init_seed is None else options.init_seed
        self.timings: dict = {}
        self.curves: dict = {}
        self.m: dict = {"tinygen_version": __version__, "seed": seed, "init_seed": self.init}

    def say(self, msg: str) -> None:
        _say(self.progress, msg)

    # ---- data ------------------------------------------------------------------------------
    def data(self, sample_rate, channel, window) -> None:
        o = self.o
        self.say("loading data" if self.data_dir else
                 f"generating synthetic vibration data (seed {self.seed}, {o.machines} machines, "
                 f"{o.axes} axis{'es' if o.axes > 1 else ''})")
        with bar(o.bars and self.data_dir is None, 1, "data", "recording") as b:
            def tick(done, total):
                b.total = total
                b.update(1)
            ds = load_data(self.data_dir, sample_rate, channel, self.seed, o, tick)
        self.holdout = holdout_globs(self.data_dir, o)
        self.splits = split_windows(ds, window, self.seed, holdout=self.holdout or None)
        self.ds, self.fe = ds, make_front_end(ds, window, o.n_bands)
        self.fe.calibrate(self.splits["train"][0])
        self.sets = evaluation_sets(self.splits)
        self.feats = {k: self.fe.compute(w) for k, (w, _) in self.sets.items()}
        self.feats["train"] = self.fe.compute(self.splits["train"][0])
        self.labels = {k: y for k, (_, y) in self.sets.items()}
        self.labels["train"] = self.splits["train"][1]
        # At least ~24 steps per epoch: a small data set gets smaller batches, not fewer updates.
        self.batch = min(o.batch_size, max(16, len(self.labels["train"]) // 24))
        self.x = {k: v.reshape(len(v), self.fe.n_bands, self.fe.channels).astype(np.float32)
                  for k, v in self.feats.items()}
        counts = ", ".join(f"{k} {len(v)}" for k, v in self.labels.items())
        self.say(f"front end: {window}-sample windows x {self.fe.channels} channel(s) -> "
                 f"{self.fe.n_features} int8 features; windows: {counts}"
                 + (f"; held out: {' '.join(self.holdout)}" if self.holdout else ""))
        self.m.update({"data": ds.source, "classes": ds.class_names, "holdout": list(self.holdout),
                       "windows": {k: int(len(v)) for k, v in self.labels.items()},
                       "batch_size": self.batch,
                       "recordings": {"total": len(ds.recordings),
                                      "held_out": int(sum(1 for _ in self._held_names()))},
                       "front_end": {"window": self.fe.window, "channels": self.fe.channels,
                                     "n_features": self.fe.n_features, "sample_rate": ds.sample_rate,
                                     "params_hash": self.fe.params_hash()}})

    def _held_names(self):
        from ..data.dataset import held_out
        mask = held_out(self.ds, self.holdout or None)
        return (n for n, h in zip(self.ds.names, mask) if h)

    def import_tf(self) -> None:
        self.tf, self.keras = _import_tf(self.init)

    # ---- teacher ---------------------------------------------------------------------------
    def teacher(self) -> None:
        from . import distill
        from .teacher import build_teacher, teacher_view
        o, keras = self.o, self.keras
        t0 = time.perf_counter()
        self.say("teacher views: spectrum and envelope spectrum of every window")
        fe = self.fe
        windows = {k: w for k, (w, _) in self.sets.items()}
        windows["train"] = self.splits["train"][0]
        self.tx = {k: teacher_view(w, fe.window, fe.channels, self.ds.sample_rate) for k, w in windows.items()}
        teacher = build_teacher(keras, self.tx["train"].shape[1:], len(self.ds.class_names),
                                self.tx["train"], o.teacher_units)
        self.say(f"training the teacher ({o.teacher_epochs} epochs)")
        with bar(o.bars, o.teacher_epochs, "teacher (conv + BiLSTM)") as b:
            val, curve = distill.fit(keras, teacher, self.tx["train"], self.labels["train"],
                                     self.tx["val"], self.labels["val"], o.teacher_epochs,
                                     self.batch, o.teacher_lr, bar=b)
        self.teacher_model, self.curves["teacher"] = teacher, curve
        self.soft = distill.softmax(distill.predict_logits(teacher, self.tx["train"]), o.temperature)
        self.teacher_pred = {k: distill.predict_logits(teacher, v).argmax(1) for k, v in self.tx.items()
                             if k != "train"}
        self.timings["teacher_s"] = round(time.perf_counter() - t0, 2)

    # ---- students --------------------------------------------------------------------------
    def new_student(self, widths=None, batch_size=None):
        from . import models
        return models.build_student(self.keras, self.fe.n_bands, len(self.ds.class_names),
                                    widths or self.o.student_channels, self.o.student_kernels,
                                    batch_size=batch_size, in_channels=self.fe.channels)

    def fit_student(self, model, epochs, lr, soft, b):
        from . import distill
        o = self.o
        return distill.fit(self.keras, model, self.x["train"], self.labels["train"], self.x["val"],
                           self.labels["val"], epochs, self.batch, lr, soft, o.temperature,
                           o.alpha, bar=b)

    def float_scores(self, model) -> dict:
        from . import distill
        return {k: evaluate.accuracy(self.labels[k], distill.predict_logits(model, self.x[k]).argmax(1))
                for k in self.sets}

    def students(self) -> None:
        """The same student alone and distilled, one initialisation per seed, same split."""
        o = self.o
        t0 = time.perf_counter()
        self.trained = {"alone": [], "distilled": []}
        for s in range(o.seeds):
            for kind in ("alone", "distilled"):
                self.keras.utils.set_random_seed(self.init * 1000 + s + 1)
                model = self.new_student()
                self.say(f"training the student {kind}, seed {s + 1}/{o.seeds} ({o.student_epochs} epochs)")
                with bar(o.bars, o.student_epochs, f"student {kind}, seed {s + 1}/{o.seeds}") as b:
                    val, curve = self.fit_student(model, o.student_epochs, o.student_lr,
                                                  self.soft if kind == "distilled" else None, b)
                self.trained[kind].append({"model": model, "val": val, "curve": curve,
                                           "scores": self.float_scores(model)})
        self.timings["students_s"] = round(time.perf_counter() - t0, 2)
        self._choose()

    def _choose(self) -> None:
        """The kind with the better mean validation accuracy, then its best seed on validation.
        The test sets never take part."""
        mean = {k: np.mean([r["val"] for r in v]) for k, v in self.trained.items()}
        kind = "distilled" if mean["distilled"] >= mean["alone"] else "alone"
        self.best = {k: max(range(len(runs)), key=lambda i: (runs[i]["val"], -i))
                     for k, runs in self.trained.items()}
        self.chosen_kind = kind
        self.student = self.trained[kind][self.best[kind]]["model"]
        for k, runs in self.trained.items():
            self.curves[f"student_{k}"] = runs[self.best[k]]["curve"]
        self.m["distillation"] = self._distillation_summary(kind, self.best[kind])

    def _distillation_summary(self, kind, best) -> dict:
        out = {"temperature": self.o.temperature, "alpha_hard_labels": self.o.alpha,
               "seeds": self.o.seeds, "chosen": {"kind": kind, "seed_index": best}}
        for k, runs in self.trained.items():
            out[k] = {"val": [round(r["val"], 4) for r in runs]}
            out[k].update({name: [r["scores"][name] for r in runs] for name in self.sets if name != "val"})
        for name in self.sets:
            gains = [100 * (d - a) for d, a in zip(out["distilled"][name], out["alone"][name])]
            out[f"gain_{name}_pp"] = evaluate.spread(gains)
        return out

    # ---- deploy: budget, int8 --------------------------------------------------------------
    def deploy(self) -> None:
        from . import prune
        o = self.o
        t0 = time.perf_counter()
        model = self.student
        self.base_widths = prune.conv_widths(model)
        if o.max_flash is not None or o.max_macs is not None:
            widths = prune.widths_for_budget(self.base_widths, self.size_of, o.max_flash, o.max_macs)
            self.say(f"budget: {'/'.join(map(str, widths))} conv channels fit "
                     f"(from {'/'.join(map(str, self.base_widths))})")
            if widths != self.base_widths:
                model = self.pruned(widths)
        self.deployed_widths = prune.conv_widths(model)
        self.deployed_float = model
        ptq = self.int8(model, "PTQ")
        self.m["quantization"] = {"ptq": ptq["scores"], "float": self.float_scores(model),
                                  "qat_trigger_pp": 0.5}
        chosen = ptq
        loss = 100 * (self.m["quantization"]["float"]["val"] - ptq["scores"]["val"])
        if o.qat or loss > 0.5:
            self.say("quantization-aware fine-tuning" + ("" if o.qat else
                     f" (PTQ lost {loss:.2f} points on validation)"))
            qat = self.int8(self.qat(model), "QAT")
            self.m["quantization"]["qat"] = qat["scores"]
            if qat["scores"]["val"] >= ptq["scores"]["val"]:
                chosen = qat
        self.m["quantization"]["deployed"] = chosen["method"]
        self.m["quantization"]["ptq_loss_val_pp"] = round(loss, 2)
        self.final = chosen
        self.timings["deploy_s"] = round(time.perf_counter() - t0, 2)

    def pruned(self, widths):
        """The chosen student pruned to `widths` conv channels, fine-tuned with the teacher."""
        from . import prune
        o = self.o
        self.keras.utils.set_random_seed(self.init + 7)
        small = prune.prune(self.keras, self.student, widths, lambda w: self.new_student(w))
        label = "/".join(map(str, widths))
        self.say(f"fine-tuning the pruned student {label} ({o.finetune_epochs} epochs)")
        with bar(o.bars, o.finetune_epochs, f"fine-tune pruned {label}") as b:
            self.fit_student(small, o.finetune_epochs, o.student_lr / 3, self.soft, b)
        return small

    def qat(self, model):
        from . import distill, prune, qat
        o, keras = self.o, self.keras
        widths = prune.conv_widths(model)
        args = (keras, self.fe.n_bands, self.fe.channels, len(self.ds.class_names), widths,
                o.student_kernels)
        trainee = qat.build_folded(*args, fake_quant=True)
        qat.fold_into(model, trainee)
        with bar(o.bars, o.finetune_epochs, "quantization-aware fine-tuning") as b:
            distill.fit(keras, trainee, self.x["train"], self.labels["train"], self.x["val"],
                        self.labels["val"], o.finetune_epochs, self.batch, o.student_lr / 10,
                        self.soft, o.temperature, o.alpha, bar=b)
        folded = qat.build_folded(*args)
        qat.copy_weights(trainee, folded)
        return folded

    def int8(self, model, method: str) -> dict:
        """Full-integer int8 conversion, TFLite-Micro predictions on every evaluation set."""
        from . import convert, models, prune
        self.say(f"int8 conversion ({method}) and TFLite-Micro evaluation")
        deploy = models.with_softmax(self.keras, model, batch_size=1)
        buf = convert.to_int8_tflite(self.tf, deploy, self.x["train"], seed=self.seed)
        quant = convert.io_quantization(buf)
        convert.check_input_is_identity(quant)
        arena = convert.tflm_min_arena(buf)
        pred = {k: convert.tflm_predict(buf, self.feats[k], arena).argmax(1) for k in self.sets}
        return {"method": method, "model": deploy, "buf": buf, "quant": quant, "arena": arena,
                "pred": pred, "size": prune.measure(buf),
                "scores": {k: evaluate.accuracy(self.labels[k], p) for k, p in pred.items()}}

    def size_of(self, widths) -> dict:
        """Compiled size of an untrained student with these widths (sizes depend on shapes only)."""
        from . import convert, models, prune
        deploy = models.with_softmax(self.keras, self.new_student(widths), batch_size=1)
        return prune.measure(convert.to_int8_tflite(self.tf, deploy, self.x["train"], 32, self.seed))

    # ---- the teacher in int8, and both networks on the device ---------------------------------
    def teacher_int8(self) -> None:
        """The teacher converted to int8 (unrolled, teacher_int8.py) and scored through
        TFLite-Micro on the test sets. A crash of the converter or TFLite-Micro is recorded, not
        raised."""
        from . import convert, teacher_int8
        from ..errors import DataError
        t0 = time.perf_counter()
        self.teacher_buf = None
        self.say("int8 teacher: unrolled LSTM, full-integer conversion, TFLite-Micro evaluation")
        try:
            deploy = teacher_int8.deployable(self.keras, self.teacher_model)
            buf, outs, arena = teacher_int8.convert_and_score(
                deploy, self.tx["train"], {k: self.tx[k] for k in self.sets if k != "val"},
                seed=self.seed)       # the test sets only: ~50 ms per window in TFLite-Micro
        except DataError as err:
            self.m["teacher_int8"] = {"error": str(err)}
            self.say(f"no int8 teacher: {err}")
            return
        quant = convert.io_quantization(buf)
        pred = {k: o.argmax(1) for k, o in outs.items()}
        self.teacher_buf = buf
        self.m["teacher_int8"] = {
            "scores": {k: evaluate.accuracy(self.labels[k], p) for k, p in pred.items()},
            "io": quant, "tflite_bytes": len(buf), "tflm_arena_total_host64": arena,
            "ops": len(convert.op_names(buf)),
            "op_types": sorted(set(convert.op_names(buf)))}
        self.timings["teacher_int8_s"] = round(time.perf_counter() - t0, 2)

    def on_device(self) -> None:
        """Teacher and deployed student compiled by tinygen and counted once on the Cortex-M7
        twin (device.py); skipped with a reason when the int8 teacher is missing."""
        from . import device
        if self.teacher_buf is None or not self.o.on_device:
            return
        t0 = time.perf_counter()
        self.say(f"teacher vs student on the {device.BOARD} twin: build and count one inference each")
        work = self.out_dir / "device"
        work.mkdir(exist_ok=True)
        models = {"teacher": work / "teacher_int8.tflite", "student": work / "student_int8.tflite"}
        models["teacher"].write_bytes(self.teacher_buf)
        models["student"].write_bytes(self.final["buf"])
        import shutil
        try:
            self.m["on_device"] = device.side_by_side(models, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.timings["on_device_s"] = round(time.perf_counter() - t0, 2)

    # ---- accuracy vs size ------------------------------------------------------------------
    def size_table(self) -> None:
        from . import prune
        t0 = time.perf_counter()
        rows = [self._row(self.final, self.deployed_widths, deployed=True)]
        if self.o.size_table:
            for fraction in prune.TABLE_FRACTIONS:
                widths = prune.widths_at(self.base_widths, fraction)
                if widths in [tuple(r["widths"]) for r in rows]:
                    continue
                model = self.student if widths == self.base_widths else self.pruned(widths)
                rows.append(self._row(self.int8(model, "PTQ"), widths))
        rows.sort(key=lambda r: -r["flash_bytes"])
        self.m["size_table"] = rows
        self.timings["size_table_s"] = round(time.perf_counter() - t0, 2)

    def _row(self, q: dict, widths, deployed: bool = False) -> dict:
        return {"widths": list(widths), "deployed": deployed, "int8": q["method"], **q["size"],
                "accuracy": q["scores"]}

    # ---- files -----------------------------------------------------------------------------
    def write(self) -> TrainResult:
        from . import convert, models
        out, q = self.out_dir, self.final
        paths = {"teacher": out / "teacher.keras", "student": out / "student.keras",
                 "tflite": out / "student_int8.tflite", "features": out / "features.json",
                 "metrics": out / "metrics.json", "test_windows": out / "test_windows.npz",
                 "report": out / "report.html", "teacher_int8": out / "teacher_int8.tflite"}
        if self.teacher_buf is not None:
            paths["teacher_int8"].write_bytes(self.teacher_buf)
        self.teacher_model.save(paths["teacher"])
        self._clean_copy(q["model"]).save(paths["student"])
        paths["tflite"].write_bytes(q["buf"])
        doc = features_document(self.fe, self.ds, self.seed, self.holdout)
        doc["training_stats"] = training_stats(self.fe, *self.splits["train"], self.ds.class_names)
        paths["features"].write_text(json.dumps(doc, indent=2) + "\n")
        test_w, test_y = self.sets["test"]
        np.savez_compressed(paths["test_windows"], windows=test_w, labels=test_y,
                            class_names=np.array(self.ds.class_names))
        self._final_metrics(convert, models)
        paths["metrics"].write_text(json.dumps(self.m, indent=2) + "\n")
        from .html import write_report
        write_report(paths["report"], self.m, self.curves)
        return TrainResult(out, paths["tflite"], paths["features"], paths["metrics"], self.m,
                           paths["report"])

    def _clean_copy(self, model):
        """The same weights without the training compile state (the distillation loss is a
        closure Keras cannot save), so student.keras loads anywhere."""
        clean = self.keras.models.clone_model(model)
        clean.set_weights(model.get_weights())
        return clean

    def _final_metrics(self, convert, models) -> None:
        q, names, n = self.final, self.ds.class_names, len(self.ds.class_names)
        d = self.m["distillation"]
        for name, key in (("test", "accuracy_test"), ("in_distribution", "accuracy_in_distribution")):
            if name not in self.sets:
                continue
            self.m[key] = {
                "teacher_float": evaluate.accuracy(self.labels[name], self.teacher_pred[name]),
                "student_alone_float": d["alone"][name][self._seed_of("alone")],
                "student_distilled_float": d["distilled"][name][self._seed_of("distilled")],
                "student_int8_tflm": q["scores"][name]}
            if self.teacher_buf is not None:
                self.m[key]["teacher_int8_tflm"] = self.m["teacher_int8"]["scores"][name]
        self.m["validation_accuracy"] = {
            "teacher": round(max(self.curves["teacher"]["val_accuracy"]), 4),
            "student_alone": d["alone"]["val"][self._seed_of("alone")],
            "student_distilled": d["distilled"]["val"][self._seed_of("distilled")],
            "student_int8_tflm": q["scores"]["val"]}
        self.m["deployed_student"] = self.chosen_kind
        self.m["int8_minus_teacher_pp"] = round(
            100 * (self.m["accuracy_test"]["student_int8_tflm"] - self.m["accuracy_test"]["teacher_float"]), 2)
        self.m["confusion"] = {}
        self.m["per_class"] = {}
        for name in self.sets:
            cm = evaluate.confusion(self.labels[name], q["pred"][name], n)
            self.m["confusion"][name] = cm
            self.m["per_class"][name] = evaluate.per_class(cm, names)
        self.m["confusion"]["teacher_test"] = evaluate.confusion(self.labels["test"],
                                                                 self.teacher_pred["test"], n)
        self.m["confusion_int8_tflm"] = self.m["confusion"]["test"]
        self.m["sizes"] = {
            "teacher_params": int(self.teacher_model.count_params()),
            "student_params": int(self.deployed_float.count_params()),
            "student_widths": list(self.deployed_widths),
            "student_int8_weight_bytes": convert.weight_bytes(q["buf"]),
            "student_int8_tflite_bytes": len(q["buf"]),
            "student_flash_bytes": q["size"]["flash_bytes"],
            "student_arena_bytes": q["size"]["arena_bytes"],
            "tflm_arena_bytes_host64": q["arena"]}
        self.m["macs"] = {"teacher": models.count_macs(self.teacher_model),
                          "student": q["size"]["macs"]}
        self.m["int8_io"] = q["quant"]
        self.m["int8_ops"] = convert.op_names(q["buf"])
        self.m["budget"] = {"max_flash": self.o.max_flash, "max_macs": self.o.max_macs}
        self.m["wall_time_s"] = self.timings

    def _seed_of(self, kind: str) -> int:
        """The seed of each kind that validation picks (the one that would ship)."""
        return self.best[kind]
