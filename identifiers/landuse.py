"""Land-use type codes (loại đất): the current list, legacy codes and combinations.

Current codes: Circular 08/2024/TT-BTNMT as amended by 23/2025/TT-BNNMT. Field data still carries older
codes (``BHK``, ``NHK``: annual crops on flat land / on swidden, now ``HNK``) and combinations
(``ONT+CLN``: a rural residential plot with perennial crops). Legacy codes are mapped, combinations
split; nothing is dropped. No I/O.
"""

from __future__ import annotations

import re

import numpy as np

CURRENT = frozenset({
    # agricultural land
    "LUC", "LUK", "HNK", "CLN", "RDD", "RPH", "RSX", "NTS", "CNT", "LMU", "NKH",
    # residential land
    "ONT", "ODT",
    # land for offices, defence, security, public services, production and business
    "TSC", "CQP", "CAN", "DVH", "DXH", "DYT", "DGD", "DTT", "DKH", "DMT", "DKT", "DNG", "DSK",
    "SKK", "SKN", "SKC", "TMD", "SKS", "DGT", "DTL", "DDT", "DDL", "DRA", "DNL", "DBV", "DCH", "DKV",
    # religion, belief, cemeteries, water, other
    "TON", "TIN", "NTD", "SON", "MNC", "PNK",
    # unused land
    "BCS", "DCS", "NCS",
})

# Legacy code → current code.
LEGACY = {"BHK": "HNK", "NHK": "HNK", "LUN": "LUK", "COC": "HNK"}

_SPLIT = re.compile(r"\s*[+,;/]\s*")


def classify_land_use(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classify land-use values: current codes, legacy flags, unknown parts.

    For each land-use value: the current codes it stands for (``"ONT+CLN"`` for a combination, None
    when missing), whether it used a legacy code or a combination, and the parts that are not codes at
    all (``""`` when none).

    >>> current, legacy, unknown = classify_land_use(["ont", "BHK", "ONT+CLN", "XYZ", None, "LUC+QQQ"])
    >>> current.tolist(), legacy.tolist(), unknown.tolist()
    (['ONT', 'HNK', 'ONT+CLN', None, None, 'LUC'], [False, True, True, False, False, True],
     ['', '', '', 'XYZ', '', 'QQQ'])
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
            known = [p if p in CURRENT else LEGACY[p] for p in parts if p in CURRENT or p in LEGACY]
            bad = [p for p in parts if p not in CURRENT and p not in LEGACY]
            cache[key] = ("+".join(dict.fromkeys(known)) or None, len(parts) > 1 or any(p in LEGACY for p in parts),
                          "+".join(bad))
        current[i], legacy[i], unknown[i] = cache[key]
    return current, legacy, unknown
