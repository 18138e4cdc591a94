"""The vectorised cell readers of registry sheets read every cell as the one-cell readers do."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from geoland.pipeline.register_cells import ID_LENGTHS, Cells, Problems, Sheet, digits, plot_refs, text, texts

CELLS = ["  Lò  Văn Pọm ", None, "", "x\u00a0y", 12.0, 3, 1.5, dt.date(2020, 1, 2), float("nan"), " \t ",
         "a\u2003 b", "Cầm\nVăn", 1080012345, 1080012345.0, "1080012345", "01 0801 2345", "abc", "12345678"]


@pytest.mark.parametrize("column", [CELLS, [c for c in CELLS if c is None or isinstance(c, str)]],
                         ids=["workbook (mixed types)", "csv (text only)"])
def test_texts_reads_every_cell_as_text_does(column):
    assert texts(column).tolist() == [text(v) for v in column]


@pytest.mark.parametrize("text_too", [True, False])
def test_digits_of_a_column_are_those_of_each_cell(text_too):
    sheet = Sheet("parties", "Chủ sử dụng", pd.DataFrame({"id_number": pd.Series(CELLS, dtype=object)}),
                  np.arange(2, len(CELLS) + 2))
    got = Cells(sheet, Problems()).digits("id_number", ID_LENGTHS, text_too=text_too)
    assert got == [digits(v, ID_LENGTHS, text_too=text_too) for v in CELLS]
    assert got[12] == "001080012345"                     # typed as a number: its zero back either way
    assert got[14] == ("001080012345" if text_too else "1080012345")


def test_plot_references_codes_mx_and_bad_cells():
    refs, bad = plot_refs(["W7X8BCDEFGHJ", "03646.25.112", " 03646.03649.25.112 ", None, "3646.25.0",
                           "03646.25.112.", "w7x8bcdefghj", "w7x8abcdefgh"])
    assert refs[:4] == [("code", "w7x8bcdefghj"), ("mx", "03646.25.112", "03646", 25, 112, None),
                        ("mx", "03646.03649.25.112", "03646", 25, 112, "03649"), None]
    assert refs[6] == ("code", "w7x8bcdefghj")
    assert set(bad) == {4, 5, 7} and "neither an identification code" in bad[4]
