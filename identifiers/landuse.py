"""Land-use type codes (loại đất): one catalogue of current and legacy codes, each with its source.

The codes a plot's land use is written in have changed with each land law. Cadastral files of one
commune routinely mix the three generations still in use:

* ``08/2024`` — the current list, under the Land Law 2024 (statistics, inventory and current land-use
  maps, in force from 2024-08-01);
* ``27/2018`` and ``28/2014`` — the two lists before it (Land Law 2013); ``DTS`` (office land of public
  service organisations) and ``DSH`` (community activity land) come from them and fill real files;
* ``08/2007`` — older codes still on maps drawn before 2014 (``COC``, grass land for husbandry).

A code is *current* when the 2024 list holds it; otherwise it is *legacy*, mapped to the one current
code that replaces it where there is one (``BHK`` → ``HNK``), kept as written where the 2024 list split
or merged its meaning (``DTS``, ``DSH``: an officer decides). Combinations (``ONT+CLN``) are valid and
kept as their parts. Nothing is dropped. No I/O.

The table was compiled from the code lists of the circulars named in :data:`SOURCES` and cross-checked
against independently published code tables; `docs/land-use-codes.md` lists it with its sources and
what remains to be checked against the gazette text.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

SOURCES = {
    "08/2024": "Thông tư 08/2024/TT-BTNMT (thống kê, kiểm kê đất đai, bản đồ hiện trạng sử dụng đất), Phụ lục II",
    "27/2018": "Thông tư 27/2018/TT-BTNMT (thống kê, kiểm kê đất đai), Phụ lục 01",
    "28/2014": "Thông tư 28/2014/TT-BTNMT (thống kê, kiểm kê đất đai), Phụ lục 01",
    "08/2007": "Thông tư 08/2007/TT-BTNMT (thống kê, kiểm kê đất đai), mã loại đất",
}

_ALL = ("08/2024", "27/2018", "28/2014")
_OLD = ("27/2018", "28/2014")


class LandUseCode(NamedTuple):
    """One land-use code: its name, the lists that hold it, and its replacement when it is legacy."""

    code: str
    name: str                       # Vietnamese name, as in the circular
    sources: tuple[str, ...]        # keys of SOURCES, newest first
    replaced_by: str | None = None  # for a legacy code: the one current code that replaces it, if any

    @property
    def current(self) -> bool:
        """Whether the 2024 list holds the code."""
        return "08/2024" in self.sources


CATALOGUE: tuple[LandUseCode, ...] = (
    # agricultural land (nhóm đất nông nghiệp)
    LandUseCode("LUC", "Đất chuyên trồng lúa", _ALL),
    LandUseCode("LUK", "Đất trồng lúa còn lại", _ALL),
    LandUseCode("LUN", "Đất trồng lúa nương", _OLD, "LUK"),
    LandUseCode("HNK", "Đất trồng cây hằng năm khác", _ALL),
    LandUseCode("BHK", "Đất bằng trồng cây hàng năm khác", _OLD, "HNK"),
    LandUseCode("NHK", "Đất nương rẫy trồng cây hàng năm khác", _OLD, "HNK"),
    LandUseCode("COC", "Đất cỏ dùng vào chăn nuôi", ("08/2007",), "HNK"),
    LandUseCode("CLN", "Đất trồng cây lâu năm", _ALL),
    LandUseCode("RSX", "Đất rừng sản xuất", _ALL),
    LandUseCode("RPH", "Đất rừng phòng hộ", _ALL),
    LandUseCode("RDD", "Đất rừng đặc dụng", _ALL),
    LandUseCode("NTS", "Đất nuôi trồng thủy sản", _ALL),
    LandUseCode("CNT", "Đất chăn nuôi tập trung", ("08/2024",)),
    LandUseCode("LMU", "Đất làm muối", _ALL),
    LandUseCode("NKH", "Đất nông nghiệp khác", _ALL),
    # residential land
    LandUseCode("ONT", "Đất ở tại nông thôn", _ALL),
    LandUseCode("ODT", "Đất ở tại đô thị", _ALL),
    # offices, defence and security, public service works
    LandUseCode("TSC", "Đất xây dựng trụ sở cơ quan", _ALL),
    LandUseCode("DTS", "Đất xây dựng trụ sở của tổ chức sự nghiệp", _OLD),
    LandUseCode("CQP", "Đất quốc phòng", _ALL),
    LandUseCode("CAN", "Đất an ninh", _ALL),
    LandUseCode("DVH", "Đất xây dựng cơ sở văn hóa", _ALL),
    LandUseCode("DXH", "Đất xây dựng cơ sở dịch vụ xã hội", _ALL),
    LandUseCode("DYT", "Đất xây dựng cơ sở y tế", _ALL),
    LandUseCode("DGD", "Đất xây dựng cơ sở giáo dục và đào tạo", _ALL),
    LandUseCode("DTT", "Đất xây dựng cơ sở thể dục thể thao", _ALL),
    LandUseCode("DKH", "Đất xây dựng cơ sở khoa học và công nghệ", _ALL),
    LandUseCode("DMT", "Đất xây dựng cơ sở môi trường", ("08/2024",)),
    LandUseCode("DKT", "Đất xây dựng cơ sở khí tượng thủy văn", ("08/2024",)),
    LandUseCode("DNG", "Đất xây dựng cơ sở ngoại giao", _ALL),
    LandUseCode("DSK", "Đất xây dựng công trình sự nghiệp khác", _ALL),
    # non-agricultural production and business
    LandUseCode("SKK", "Đất khu công nghiệp", _ALL),
    LandUseCode("SKN", "Đất cụm công nghiệp", _ALL),
    LandUseCode("SKT", "Đất khu chế xuất", _OLD),
    LandUseCode("TMD", "Đất thương mại, dịch vụ", _ALL),
    LandUseCode("SKC", "Đất cơ sở sản xuất phi nông nghiệp", _ALL),
    LandUseCode("SKS", "Đất sử dụng cho hoạt động khoáng sản", _ALL),
    LandUseCode("SKX", "Đất sản xuất vật liệu xây dựng, làm đồ gốm", _OLD),
    # public purposes
    LandUseCode("DGT", "Đất giao thông", _ALL),
    LandUseCode("DTL", "Đất thủy lợi", _ALL),
    LandUseCode("DDT", "Đất có di tích lịch sử - văn hóa", _ALL),
    LandUseCode("DDL", "Đất danh lam thắng cảnh", _ALL),
    LandUseCode("DSH", "Đất sinh hoạt cộng đồng", _OLD),
    LandUseCode("DKV", "Đất khu vui chơi, giải trí công cộng", _ALL),
    LandUseCode("DNL", "Đất công trình năng lượng", _ALL),
    LandUseCode("DBV", "Đất công trình bưu chính, viễn thông", _ALL),
    LandUseCode("DCH", "Đất chợ", _ALL),
    LandUseCode("DRA", "Đất bãi thải, xử lý chất thải", _ALL),
    LandUseCode("DCK", "Đất công trình công cộng khác", ("08/2024", "27/2018")),
    # religion, belief, cemeteries, water, other
    LandUseCode("TON", "Đất cơ sở tôn giáo", _ALL),
    LandUseCode("TIN", "Đất cơ sở tín ngưỡng", _ALL),
    LandUseCode("NTD", "Đất làm nghĩa trang, nghĩa địa, nhà tang lễ, nhà hỏa táng", _ALL),
    LandUseCode("SON", "Đất sông, ngòi, kênh, rạch, suối", _ALL),
    LandUseCode("MNC", "Đất có mặt nước chuyên dùng", _ALL),
    LandUseCode("PNK", "Đất phi nông nghiệp khác", _ALL),
    # coastal water surface, followed apart from the land (legacy lists)
    LandUseCode("MVT", "Đất mặt nước ven biển nuôi trồng thủy sản", _OLD),
    LandUseCode("MVR", "Đất mặt nước ven biển có rừng", _OLD),
    LandUseCode("MVK", "Đất mặt nước ven biển có mục đích khác", _OLD),
    # unused land
    LandUseCode("BCS", "Đất bằng chưa sử dụng", _ALL),
    LandUseCode("DCS", "Đất đồi núi chưa sử dụng", _ALL),
    LandUseCode("NCS", "Núi đá không có rừng cây", _ALL),
)

CODES = {c.code: c for c in CATALOGUE}
CURRENT = frozenset(c.code for c in CATALOGUE if c.current)
# Legacy code → the code it is stored as: its one current replacement, or itself when there is none.
LEGACY = {c.code: c.replaced_by or c.code for c in CATALOGUE if not c.current}

_SPLIT = re.compile(r"\s*[+,;/]\s*")


def classify_land_use(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classify land-use values: what they stand for, legacy flags, unknown parts.

    For each land-use value: the codes it stands for (current codes, a legacy code with no single
    current replacement kept as written; ``"ONT+CLN"`` for a combination; None when missing), whether
    it used a legacy code or a combination, and the parts that are no code of any list (``""`` when
    none).

    >>> current, legacy, unknown = classify_land_use(["ont", "BHK", "ONT+CLN", "XYZ", None, "LUC+QQQ", "DTS"])
    >>> current.tolist(), legacy.tolist(), unknown.tolist()
    (['ONT', 'HNK', 'ONT+CLN', None, None, 'LUC', 'DTS'], [False, True, True, False, False, True, True],
     ['', '', '', 'XYZ', '', 'QQQ', ''])
    """
    n = len(values)
    current = np.empty(n, dtype=object)
    legacy = np.zeros(n, dtype=bool)
    unknown = np.full(n, "", dtype=object)
    cache: dict[str, tuple] = {}
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip():
            continue
        key = str(value)
        if key not in cache:
            parts = [p for p in _SPLIT.split(key.strip().upper()) if p]
            known = [p if p in CURRENT else LEGACY[p] for p in parts if p in CODES]
            bad = [p for p in parts if p not in CODES]
            cache[key] = ("+".join(dict.fromkeys(known)) or None, len(parts) > 1 or any(p in LEGACY for p in parts),
                          "+".join(bad))
        current[i], legacy[i], unknown[i] = cache[key]
    return current, legacy, unknown

