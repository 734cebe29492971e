"""Jinja environment and the filters that turn Python values into safe C text.

Names from a model file are untrusted: a tensor called `*/ system("x"); /*` must come out as
harmless text. Two functions carry that guarantee: `c_identifier` (the only way a C identifier is
derived from outside text) and `c_comment` (the only way outside text enters a comment).
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

import jinja2
import numpy as np

from .resources import templates_dir

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline int
long register restrict return short signed sizeof static struct switch typedef union unsigned void
volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert
_Thread_local asm typeof bool true false NULL main
""".split())


def c_identifier(text: str, prefix: str = "", used: Optional[set[str]] = None,
                 max_len: int = 48) -> str:
    """Map any text to a C identifier: [A-Za-z_][A-Za-z0-9_]*, not a keyword, unique in `used`."""
    body = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    body = re.sub(r"_+", "_", body)[:max_len].rstrip("_")
    name = f"{prefix}{body}" if prefix else body
    if not name or not (name[0].isalpha() or name[0] == "_") or name in C_KEYWORDS:
        name = f"tg_{name}" if name else "tg_unnamed"
    if name.startswith("__") or (name.startswith("_") and len(name) > 1 and name[1].isupper()):
        name = "tg" + name  # reserved for the implementation
    if used is not None:
        base, k = name, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
    return name


def c_comment(text: str, max_len: int = 96) -> str:
    """Text that is safe inside /* ... */ and // comments: printable ASCII, no comment ends,
    no line splices or trigraphs, one line."""
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in str(text))
    text = text.replace("\\", "/").replace("*/", "* /").replace("/*", "/ *")
    while "??" in text:            # one pass turns "???" into "? ??": a trigraph would survive
        text = text.replace("??", "? ?")
    if len(text) > max_len:
        text = text[: max_len - 3] + "..."
    return text


def c_string(text: str, max_len: int = 96) -> str:
    """A C string literal body (without quotes): printable ASCII, escaped."""
    out = []
    for ch in str(text)[:max_len]:
        if ch in "\\\"":
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127 and ch != "?":
            out.append(ch)
        else:
            out.append("\\x%02x" % (ord(ch) & 0xFF) if ord(ch) < 256 else "?")
    return "".join(out)


def c_int_list(values: Iterable[int] | np.ndarray, per_line: int = 16, indent: str = "    ") -> str:
    """Comma-separated integers, `per_line` a line: the body of a C array initialiser."""
    arr = np.asarray(values).astype(np.int64).ravel()
    if arr.size == 0:
        return indent + "0"
    # INT32_MIN has no literal form in C; spell it as an expression.
    text = [str(v) if v != -(1 << 31) else "(-2147483647 - 1)" for v in arr.tolist()]
    lines = [", ".join(text[i:i + per_line]) for i in range(0, len(text), per_line)]
    return ",\n".join(indent + line for line in lines)


def c_float(value: float) -> str:
    """A float constant that round-trips float32 exactly."""
    return f"{float(np.float32(value))!r}f".replace("inf", "INFINITY")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(c_identifier=c_identifier, c_comment=c_comment, c_string=c_string,
                       c_int_list=c_int_list, c_float=c_float)
    return env
