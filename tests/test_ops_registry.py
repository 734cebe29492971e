"""The op registry is the one source of what tinygen supports: `tinygen ops` and the README."""
from __future__ import annotations

import re
from pathlib import Path

from tinygen.commands.ops import markdown
from tinygen.ir import OpType
from tinygen.ops import registry, support_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_op_table_is_the_registry():
    text = README.read_text()
    m = re.search(r"<!-- ops-table:begin -->\n(.*?)\n<!-- ops-table:end -->", text, re.S)
    assert m, "README lacks the generated op table markers"
    assert m.group(1) == markdown(), ("README op table is stale: replace it with the output of "
                                      "`tinygen ops --markdown`")


def test_every_supported_op_declares_types_and_notes():
    table = support_table()
    assert set(table) == set(registry())
    assert OpType.UNKNOWN not in table
    for op_type, s in table.items():
        assert s.notes, f"{op_type.value}: SUPPORT has no notes"
        assert all(d in ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")
                   for d in s.dtypes), (op_type, s.dtypes)
