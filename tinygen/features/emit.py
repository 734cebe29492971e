"""Write the C twin of a front end: tg_features.{h,c} (hand-written, copied) and the generated
tg_features_config.h (sizes, calibration constants and const tables computed here)."""
from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..resources import firmware_dir, templates_dir
from .frontend import LOG_FRAC_BITS, LOG_TABLE_BITS, MAP_SHIFT, FrontEnd


def _table(name: str, ctype: str, values) -> dict:
    return {"name": name, "ctype": ctype, "data": [int(v) for v in values]}


def tables(fe: FrontEnd) -> list[dict]:
    """The const tables of tg_features_config.h, in the order it declares them."""
    return [
        _table("tg_features_hann_q15", "int16_t", fe.hann),
        _table("tg_features_order", "uint16_t", fe.order),
        # a trailing 0: a 16-sample window has no radix-4 stage, and C has no empty arrays
        _table("tg_features_twiddle_q30", "int32_t", np.concatenate([w.ravel() for w in fe.twiddles] + [[0]])),
        _table("tg_features_quarter", "int32_t", fe.quarter.ravel()),
        _table("tg_features_band_edges", "uint16_t", fe.edges),
        _table("tg_features_log2_table", "int16_t", fe.log_table),
    ]


def config_context(fe: FrontEnd) -> dict:
    from ..integrity import front_end_set, template_values

    c = fe.config
    table_list = tables(fe)
    return {
        "version": __version__,
        "params_hash": fe.params_hash(),
        "window": fe.window,
        "log2_window": fe.window.bit_length() - 1,
        "n_features": fe.n_features,
        "n_bands": fe.n_bands,
        "channels": fe.channels,
        "raw_samples": fe.raw_samples,
        "sample_rate_hz": int(round(c.sample_rate)),
        "log_frac_bits": LOG_FRAC_BITS,
        "log_table_bits": LOG_TABLE_BITS,
        "log_lo": int(c.log_lo),
        "log_mult": int(c.log_mult),
        "map_shift": MAP_SHIFT,
        "prescale_shift": fe.prescale,
        "first_radix": fe.first,
        "tables": table_list,
        **template_values(front_end_set(table_list)),     # the integrity check's table
    }


def render_config(fe: FrontEnd) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "features")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    return env.get_template("tg_features_config.h.j2").render(**config_context(fe))


def emit_c(front_end: FrontEnd, out_dir: Path) -> list[Path]:
    """Write tg_features.h, tg_features.c and tg_features_config.h into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("tg_features.h", "tg_features.c"):
        dst = out_dir / name
        shutil.copyfile(firmware_dir() / "features" / name, dst)
        written.append(dst)
    cfg = out_dir / "tg_features_config.h"
    cfg.write_text(render_config(front_end))
    written.append(cfg)
    return written
