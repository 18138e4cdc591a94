"""The conversion table parser (pure) on hand-made tables and on the real national file."""

import pandas as pd
import pytest

from boundaries import ConversionTableError, classify_change, parse_conversion_table
from geoland.pipeline.units import read_conversion_table

HEADER = ["province_code", "province_name", "commune_code", "commune_name", "old_commune_code",
          "old_commune_name", "change", "old_district_code", "old_district_name", "old_province_code",
          "old_province_name"]


def row(new, new_name, old, old_name, change="Nhập toàn bộ", province="14"):
    return [province, "Tỉnh Sơn La", new, new_name, old, old_name, change, "116", "Thành phố Sơn La",
            province, "Tỉnh Sơn La"]


def frame(*rows):
    return pd.DataFrame([list(r) for r in rows], columns=HEADER)


# Every spelling of the `change` column in the real table (../shared/data/README.md), with its kind.
@pytest.mark.parametrize("text, kind", [
    ("Nhập toàn bộ", "whole"), ("Nhập một phần", "partial"), ("Giữ nguyên", "unchanged"),
    ("Nhập một phần diện tích", "partial"), ("Nhập một phần diện tích, toàn bộ dân số", "partial"),
    ("Nhập một phần  diện tích", "partial"), ("Nhâp một phần diện tích", "partial"),
    ("Nhập một  phần", "partial"), ("Nhập một phần dân số", "partial"), ("Nhập toàn bộ diện tích", "whole"),
    ("Phần còn lại sau khi tách một phần vào xã Canh Vinh", "partial"), ("Đổi tên", "renamed"),
    ("Đổi loại hình", "retyped"), ("Đổi tên từ một phần Phường 15", "renamed"),
    ("Đổi tên, đổi loại hình từ một phần thị trấn Lai Uyên", "renamed"),
    ("Sắp xếp toàn bộ xã Thổ Châu thành đặc khu Thổ Châu", "retyped"),
    ("", "other"), ("Chưa rõ", "other"),
])
def test_classify_change(text, kind):
    assert classify_change(text) == kind


def test_lookups_both_ways_and_kinds():
    t = parse_conversion_table(frame(
        row("03646", "Phường Tô Hiệu", "03646", "Phường Chiềng Lề"),
        row("03646", "Phường Tô Hiệu", "03649", "Phường Tô Hiệu", "Nhập một phần"),
        row("03679", "Xã Mường Bú", "03649", "Phường Tô Hiệu", "Nhập một phần"),
        row("03688", "Xã Chiềng Đen", "03688", "Xã Chiềng Đen", "Giữ nguyên"),
    ))
    assert t.new_codes_for("3649") == ("03646", "03679")
    assert t.old_codes_for("03646") == ("03646", "03649")
    assert t.split_old_codes() == ["03649"]
    assert t.kind_counts() == {"whole": 1, "partial": 2, "unchanged": 1, "renamed": 0, "retyped": 0, "other": 0}
    assert list(t.rows["note"]) == ["Nhập toàn bộ", "Nhập một phần", "Nhập một phần", "Giữ nguyên"]


def test_missing_columns_name_them_on_line_1():
    with pytest.raises(ConversionTableError) as err:
        parse_conversion_table(frame(row("03646", "A", "03646", "B")).drop(columns=["change", "commune_code"]))
    assert err.value.line == 1
    assert "'commune_code'" in err.value.reason and "'change'" in err.value.reason


def test_bad_code_gives_its_line():
    with pytest.raises(ConversionTableError) as err:
        parse_conversion_table(frame(row("03646", "A", "03646", "B"), row("03646", "A", "0364X", "C")))
    assert err.value.line == 3
    assert "old_commune_code" in err.value.reason and "'0364X'" in err.value.reason


def test_duplicate_pair_names_both_lines():
    with pytest.raises(ConversionTableError) as err:
        parse_conversion_table(frame(row("03646", "A", "03646", "B"), row("03646", "A", "03649", "C"),
                                     row("3646", "A", "3646", "B", "Nhập một phần")))
    assert err.value.line == 4
    assert "duplicate pair" in err.value.reason and "line 2" in err.value.reason


def test_blank_code_and_name_are_problems_and_all_are_listed():
    with pytest.raises(ConversionTableError) as err:
        parse_conversion_table(frame(row("", "A", "03646", "B"), row("03646", "", "03649", "C")))
    assert [line for line, _ in err.value.problems] == [2, 3]
    assert "commune_code is blank" in str(err.value) and "commune_name is blank" in str(err.value)


def test_new_commune_under_two_provinces_is_refused():
    with pytest.raises(ConversionTableError, match="several provinces"):
        parse_conversion_table(frame(row("03646", "A", "03646", "B"), row("03646", "A", "03649", "C", province="15")))


def test_padding_is_counted_and_names_are_normalised():
    t = parse_conversion_table(frame(row("3646", "Phường  Tô Hiệu ", "3646", "Phường Chiềng Lề")))
    assert t.padded_codes == 2
    assert t.rows.loc[0, "commune_name"] == "Phường Tô Hiệu"


def test_real_national_table_totals(sample_data):
    t = read_conversion_table(sample_data / "admin_units_2025_conversion.csv")
    s = t.summary()
    assert (s["rows"], s["new_communes"], s["old_communes"], s["provinces"], s["old_provinces"]) == (
        10_565, 3_316, 10_033, 34, 63)
    # README of the data: 9,463 "Nhập toàn bộ" + 1 "Nhập toàn bộ diện tích"; 127 "Giữ nguyên".
    assert s["kinds"]["whole"] == 9_464 and s["kinds"]["unchanged"] == 127 and s["kinds"]["other"] == 0
    son_la = t.for_province("14")
    assert (len(son_la), len(son_la.new_codes), len(son_la.old_codes)) == (200, 75, 200)
    assert son_la.split_old_codes() == []
    ha_noi = t.for_province("01")
    assert ha_noi.kind_counts()["partial"] == 468
    assert len(ha_noi.split_old_codes()) > 0
    split = ha_noi.split_old_codes()[0]
    assert len(t.new_codes_for(split)) >= 2
    assert all(split in t.old_codes_for(new) for new in t.new_codes_for(split))
    # Reused code: 03646 is both an old commune (Chiềng Lề) and the new Tô Hiệu.
    assert t.new_codes_for("03646") == ("03646",)
    assert "03649" in t.old_codes_for("03646")
