"""A synthetic land register for a synthetic province: the registry office's export and its paper register.

``geoland synth`` writes, beside the plot file ``OUT``, the register of its plots as a registry office exports
it (``OUT.register.xlsx``, or a folder ``OUT.register`` of CSV files above :data:`XLSX_MAX_PLOTS` plots, as
registry software writes large exports), the truth of the register checks (``OUT.register-truth.csv``: plot
row, finding type), and a digitised paper register with known discrepancies (``OUT.paper-register.xlsx``,
``.csv`` above that size, truth in ``OUT.paper-register-truth.csv``) for ``geoland register reconcile``.

What the register holds (shares of the plots, documented in :data:`SHARES`):

- every certificate serial of the plot file, with a registry-book number, issue date, authority and the form
  in use that year; every identified holder (a 12- or 9-digit ID number) with the right recorded on it;
- couples: a spouse as co-user, half each; multi-plot certificates: a person's plots of one commune that the
  file gives no serial, on one new certificate; certificates replaced by the current one, and cancelled ones;
- houses on residential plots (owned by the land user, or by someone else), apartments in a building,
  constructions owned by organisations (with tax codes);
- plots on paper only: certificates naming a plot the map does not have (sheet 900 and over), held by
  households (with their members), organisations or persons, an organisation's several on one certificate.

Holders the plot file names without an ID number, or with a number that is not 12 or 9 digits, and plots whose
MX.SB.ST the file gives twice or not in full are not in the export (the registry could not have matched them
either); the paper register lists the certificates of plots without a full MX.SB.ST neither.

Defects are injected at :data:`DEFECTS` and recorded; the truth also holds what the plot file alone makes the
register checks find (holders without ID, one number with other names, plots with holders but no
certificate), so that every register check has its truth. The same seed gives the same files.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geoland.rules.registry import fold
from identifiers.taxcode import check_digit

XLSX_MAX_PLOTS = 100_000
REGISTER_SUFFIXES = (".register.xlsx", ".register", ".paper-register.xlsx", ".paper-register.csv",
                     ".register-truth.csv", ".paper-register-truth.csv")
SHARES = {"couple": 0.08, "replaced": 0.03, "cancelled": 0.01, "house": 0.30, "house_other_owner": 0.10,
          "construction": 0.002, "paper_plot": 0.01, "multi_plot_person": 0.02}
DEFECTS = {"share_sum": 0.003, "certificate_format": 0.003, "certificate_duplicate": 0.002,
           "certificate_communes": 0.001, "party_conflict": 0.001, "tax_code_invalid": 0.0005,
           "spouse_without_id": 0.05, "dangling_right": 0.001, "house_outside_plot": 0.002,
           "house_overlap": 0.001, "house_not_allowed": 0.002}
PAPER_DISCREPANCIES = {"area": 0.005, "purpose": 0.005, "holder_name": 0.003, "holder_id": 0.002,
                       "missing_in_database": 0.002, "missing_in_register": 0.002}

CERT_COLUMNS = ["Số phát hành", "Số vào sổ", "Ngày cấp", "Cơ quan cấp", "Mẫu GCN", "Trạng thái", "Thay thế bởi"]
PLOT_COLUMNS = ["Số phát hành", "Thửa đất", "Diện tích", "Mục đích sử dụng"]
PARTY_COLUMNS = ["Mã chủ", "Loại chủ", "Họ tên", "Số CCCD", "Năm sinh", "Giới tính", "Mã số thuế", "Thuộc hộ",
                 "Quan hệ"]
RIGHT_COLUMNS = ["Mã chủ", "Thửa đất", "Mã tài sản", "Vai trò", "Tỷ lệ", "Mục đích sử dụng", "Thời hạn",
                 "Nguồn gốc sử dụng", "Số phát hành"]
ASSET_COLUMNS = ["Mã tài sản", "Loại tài sản", "Thửa đất", "Tòa nhà", "Diện tích sàn", "Số tầng", "Năm xây dựng",
                 "Kết cấu", "Hình thể"]
PAPER_COLUMNS = ["Số phát hành", "Thửa đất", "Diện tích", "Mục đích sử dụng", "Họ tên", "Số CCCD"]
SHEETS = {"Giấy chứng nhận": CERT_COLUMNS, "Thửa đất": PLOT_COLUMNS, "Chủ sử dụng": PARTY_COLUMNS,
          "Tài sản": ASSET_COLUMNS, "Quyền": RIGHT_COLUMNS}
RESIDENTIAL = ("ONT", "ODT")
_ORIGINS = ("Nhà nước công nhận quyền sử dụng đất", "Nhà nước giao đất có thu tiền sử dụng đất",
            "Nhận chuyển nhượng", "Nhận thừa kế", "Nhận tặng cho")
_AUTHORITIES = ("UBND huyện", "Sở Tài nguyên và Môi trường", "Văn phòng đăng ký đất đai")


@dataclasses.dataclass
class SyntheticRegister:
    """The register's sheets (Vietnamese headers), its check truth, the paper register and its truth."""

    sheets: dict[str, pd.DataFrame]
    truth: pd.DataFrame          # row (the plot file's row), type
    paper: pd.DataFrame
    paper_truth: pd.DataFrame    # series, plot, field (what `register reconcile` must report)


def _form(year: int) -> str:
    return "1993" if year < 2009 else "2009" if year < 2014 else "2014" if year < 2024 else "2024"


class _People:
    """New persons with ID numbers that no one in the plot file has."""

    def __init__(self, rng, taken):
        self.rng, self.taken, self.n = rng, set(taken), 0

    def person(self, female: bool | None = None) -> tuple[str, str, int, str]:
        """(name, ID number, birth year, gender)."""
        from geoland.sample.cadastre import _FAMILY, _GIVEN_F, _GIVEN_M, _MIDDLE_F, _MIDDLE_M

        rng = self.rng
        female = bool(rng.random() < 0.5) if female is None else female
        year = int(rng.integers(1940, 2004))
        name = " ".join((str(rng.choice(_FAMILY)), str(rng.choice(_MIDDLE_F if female else _MIDDLE_M)),
                         str(rng.choice(_GIVEN_F if female else _GIVEN_M))))
        while True:
            self.n += 1
            serial = (900_000 + self.n * 37) % 1_000_000
            number = f"014{(2 if year >= 2000 else 0) + int(female)}{year % 100:02d}{serial:06d}"
            if number not in self.taken:
                self.taken.add(number)
                return name, number, year, "Nữ" if female else "Nam"


def _tax_code(rng, valid: bool = True) -> str:
    while True:
        first = f"{int(rng.integers(1, 99)):02d}{int(rng.integers(1, 9_999_999)):07d}"
        digit = check_digit(first)
        if digit is not None:
            return first + (digit if valid else str((int(digit) + 3) % 10))


def _inside(geom, size: float, rng, shift=(0.0, 0.0)):
    """A house footprint: a square around a point well inside the plot, clipped 0.3 m inside its edge."""
    anchor = shapely.point_on_surface(geom)
    x, y = anchor.x + shift[0], anchor.y + shift[1]
    square = shapely.box(x - size / 2, y - size / 2, x + size / 2, y + size / 2)
    clipped = shapely.intersection(square, shapely.buffer(geom, -0.3))
    parts = shapely.get_parts(clipped)
    parts = [p for p in parts if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else None


def synthesize_register(synthetic, *, seed: int = 0) -> SyntheticRegister:
    """The register of a synthetic province (see the module docstring)."""
    rng = np.random.default_rng(seed + 16)
    data = synthetic.plots.drop(columns="geometry").reset_index(drop=True)
    geoms = synthetic.plots.geometry.to_numpy()
    defects = synthetic.truth["defects"].fillna("").to_numpy()
    n = len(data)
    mx = (data["commune_code"].astype(str) + "." + data["sheet"].astype("Int64").astype(str) + "."
          + data["plot_number"].astype("Int64").astype(str)).to_numpy(dtype=object)
    coded = (data["commune_code"].map(lambda c: isinstance(c, str) and len(c) == 5 and c.isdigit())
             & data["sheet"].notna() & data["plot_number"].notna()).to_numpy()
    mx[~coded] = None                                  # a plot the map gives no full MX.SB.ST: not in the export
    twice = pd.Series(mx).duplicated(keep=False).to_numpy() | ~coded
    serial = data["certificate_serial"].to_numpy(dtype=object)
    ids = data["id_number"].to_numpy(dtype=object)
    names = data["user_name"].to_numpy(dtype=object)
    years = data["birth_year"].to_numpy(dtype=object)
    land_use = data["land_use"].to_numpy(dtype=object)
    has_id = np.array([isinstance(v, str) and v.isdigit() and len(v) in (9, 12) for v in ids])
    in_register = ~twice
    listed = in_register & has_id                      # holders the export lists
    certs, plots_rows, parties, rights, assets = [], [], [], [], []
    truth: list[tuple[int, str]] = []
    people = _People(rng, [v for v in ids if isinstance(v, str)])
    counter = {"book": 0, "series": 0}

    def book() -> str:
        counter["book"] += 1
        return f"CS{counter['book']:05d}"

    taken_series = {v for v in serial if isinstance(v, str)}

    def new_series(prefix) -> str:      # prefixes the plot file's serials do not use, so never one of them
        while True:
            counter["series"] += 1
            series = f"{prefix} {900_000 + counter['series']:06d}"
            if series not in taken_series:
                return series

    def year_of(i) -> int:
        return int(1995 + (i * 7919) % 30)

    # certificates of the plot file's serials
    cert_of = {}
    for i in np.flatnonzero(in_register & pd.notna(serial)):
        y = year_of(i)
        issued = f"{1 + i % 28:02d}/{1 + i % 12:02d}/{y}"
        certs.append([serial[i], book(), issued, str(rng.choice(_AUTHORITIES)), _form(y), "Còn hiệu lực", None])
        cert_of[i] = len(certs) - 1
        plots_rows.append([serial[i], mx[i], data.at[i, "legal_area"], land_use[i]])
    # parties: one per ID number, the first plot's name (as the registry keeps a person once)
    ref_of_id = {}
    first_row = {}                                 # the person as the plot import stored it: its first row
    for i in range(n):
        if isinstance(ids[i], str) and ids[i] and ids[i] not in first_row:
            first_row[ids[i]] = i
    for i in np.flatnonzero(listed):
        if ids[i] not in ref_of_id:
            ref_of_id[ids[i]] = f"P{len(ref_of_id) + 1}"
            f = first_row[ids[i]]
            gender = ("Nữ" if int(ids[i][3]) % 2 else "Nam") if len(ids[i]) == 12 else None
            parties.append([ref_of_id[ids[i]], "Cá nhân", names[f], ids[i], years[f], gender, None, None, None])
    right_of = {}
    for i in np.flatnonzero(listed):
        rights.append([ref_of_id[ids[i]], mx[i], None, "Sử dụng", None, land_use[i], "Lâu dài",
                       _ORIGINS[i % len(_ORIGINS)], serial[i] if pd.notna(serial[i]) else None])
        right_of[i] = len(rights) - 1

    clean = listed & (defects == "") & pd.notna(serial)
    order = rng.permutation(np.flatnonzero(clean))
    used: set[int] = set()

    def take(share: float, pool=None) -> list[int]:
        pool = order if pool is None else pool
        k = max(1, round(share * n)) if n >= 200 else 0
        out = list(itertools.islice((int(i) for i in pool if i not in used), k))
        used.update(out)
        return out

    # couples: the spouse as co-user, half each; some spouses without an ID number; some shares that are wrong
    couples = take(SHARES["couple"])
    wrong_share = set(couples[:max(1, round(DEFECTS["share_sum"] * n))]) if couples else set()
    no_id = set(couples[len(wrong_share):len(wrong_share) + max(1, round(DEFECTS["spouse_without_id"] * len(couples)))])
    for i in couples:
        name, number, year, gender = people.person()
        ref = f"S{i + 1}"
        parties.append([ref, "Cá nhân", name, None if i in no_id else number, year, gender, None, None, None])
        rights[right_of[i]][3], rights[right_of[i]][4] = "Sử dụng chung", "1/2"
        rights.append([ref, mx[i], None, "Sử dụng chung", "1/3" if i in wrong_share else "1/2", land_use[i],
                       "Lâu dài", rights[right_of[i]][7], serial[i]])
        if i in wrong_share:
            truth.append((i + 1, "share_sum"))
        if i in no_id:
            truth.append((i + 1, "unidentified_holder"))
    # certificates replaced by the current one, and cancelled ones, on the same plot
    for i in take(SHARES["replaced"]):
        old = new_series("AB")
        certs.append([old, book(), f"05/06/{year_of(i) - 8}", "UBND huyện", "1993", "Đã cấp đổi", serial[i]])
        plots_rows.append([old, mx[i], data.at[i, "legal_area"], land_use[i]])
    for i in take(SHARES["cancelled"]):
        old = new_series("AC")
        certs.append([old, book(), f"07/08/{year_of(i) - 5}", "UBND huyện", "2009", "Đã hủy", None])
        plots_rows.append([old, mx[i], data.at[i, "legal_area"], land_use[i]])
    # defects on certificates
    for i in take(DEFECTS["certificate_format"]):
        certs[cert_of[i]][1] = f"so {i} cu"
        truth.append((i + 1, "certificate_format"))
    pairs = take(DEFECTS["certificate_duplicate"] * 2)
    for a, b in zip(pairs[0::2], pairs[1::2], strict=False):
        certs[cert_of[b]][1] = certs[cert_of[a]][1]
        truth += [(a + 1, "certificate_duplicate"), (b + 1, "certificate_duplicate")]
    spare = (int(j) for j in order if j not in used)
    for i in take(DEFECTS["dangling_right"]):
        other = next(spare)
        used.add(other)
        rights.append([ref_of_id[ids[i]], mx[i], None, "Sử dụng", None, land_use[i], "Lâu dài", None, serial[other]])
        truth.append((i + 1, "dangling_right"))
    # one number written with another name on another of the person's plots (a second row for the same person)
    by_person = pd.Series(np.flatnonzero(listed)).groupby(ids[listed]).agg(list)
    wanted = max(1, round(DEFECTS["party_conflict"] * n))
    for number, plots in by_person.items():
        if wanted == 0:
            break
        if len(plots) < 2 or any(p in used for p in plots) or any(defects[p] for p in plots):
            continue
        wanted -= 1
        ref = f"A{plots[1] + 1}"
        parties.append([ref, "Cá nhân", f"{names[plots[0]]} Khác", number, years[plots[0]], None, None, None, None])
        rights[right_of[plots[1]]][0] = ref
        used.update(plots)
        truth += [(p + 1, "party_conflict") for p in plots]
    # multi-plot certificates: a person's plots the file gives no serial; one of them across two communes
    blank = listed & pd.isna(serial) & (defects == "")
    groups = pd.Series(np.flatnonzero(blank)).groupby([ids[blank], data["commune_code"].to_numpy()[blank]]).agg(list)
    multi = [g[:4] for g in groups if len(g) >= 2][:max(1, round(SHARES["multi_plot_person"] * n / 3))]
    for group in multi:
        series = new_series("EC")
        certs.append([series, book(), "20/10/2021", "Sở Tài nguyên và Môi trường", "2014", "Còn hiệu lực", None])
        for i in group:
            plots_rows.append([series, mx[i], data.at[i, "legal_area"], land_use[i]])
            rights[right_of[i]][8] = series
            used.add(i)
    spread = [int(i) for i in np.flatnonzero(blank) if i not in used]
    communes = data["commune_code"].to_numpy()
    by_commune = pd.Series(spread, dtype=np.int64).groupby(communes[spread]).agg(list) if spread else pd.Series()
    pools = [list(v) for v in by_commune.to_numpy()]                # plots of each commune, in order
    for k in range(max(1, round(DEFECTS["certificate_communes"] * n))):
        pools = [p for p in pools if p]
        if len(pools) < 2:
            break
        first, second = pools[k % len(pools)], pools[(k + 1) % len(pools)]
        a, b = first.pop(0), second.pop(0)
        series = new_series("EC")
        certs.append([series, book(), "11/11/2022", "Sở Tài nguyên và Môi trường", "2014", "Còn hiệu lực", None])
        for i in (a, b):
            plots_rows.append([series, mx[i], data.at[i, "legal_area"], land_use[i]])
            rights[right_of[i]][8] = series
            used.add(i)
        truth += [(a + 1, "certificate_communes"), (b + 1, "certificate_communes")]
    # houses: on residential plots, inside them; some owned by someone who is not the land user
    residential = np.array([isinstance(v, str) and any(r in v for r in RESIDENTIAL) for v in land_use])
    homes = [i for i in rng.permutation(np.flatnonzero(clean & residential)) if i not in used]
    homes = homes[:round(SHARES["house"] * len(homes))]
    footprints: list = []
    asset_no = 0

    def house(i, shape, kind="Nhà ở riêng lẻ", owner=None):
        nonlocal asset_no
        asset_no += 1
        ref = f"TS{asset_no}"
        assets.append([ref, kind, mx[i], None, round(shape.area * 1.6, 1) if shape is not None else None,
                       int(1 + asset_no % 3), int(1990 + asset_no % 34), "Bê tông cốt thép",
                       shape.wkt if shape is not None else None])
        if shape is not None:
            footprints.append(shape)
        rights.append([owner or ref_of_id[ids[i]], None, ref, "Sở hữu", None, None, None, None,
                       serial[i] if owner is None else None])
        return ref

    outside = set(homes[:max(1, round(DEFECTS["house_outside_plot"] * n))])
    overlap = set(homes[len(outside):len(outside) + max(1, round(DEFECTS["house_overlap"] * n))])
    homes = homes[len(outside):] + homes[:len(outside)]     # the houses over an edge last, clear of the others
    tree = edge = None
    for k, i in enumerate(homes):
        shape = _inside(geoms[i], 8.0, rng)
        if shape is None or shape.area < 12:
            continue
        if i in outside:
            ring = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(geoms[i])[0]))
            x, y = ring[0]
            shape = shapely.box(x - 3, y - 3, x + 3, y + 3)
            if tree is None:                        # the other houses, placed already: an index over them
                tree, edge = shapely.STRtree(footprints), []
            if shapely.area(shapely.difference(shape, geoms[i])) <= 1.5 or len(tree.query(shape)) or any(
                    shapely.intersects(shape, f) for f in edge):
                continue
            edge.append(shape)
            truth.append((i + 1, "house_outside_plot"))
        owner = None
        if k % round(1 / SHARES["house_other_owner"]) == 0:
            name, number, year, gender = people.person()
            owner = f"O{i + 1}"
            parties.append([owner, "Cá nhân", name, number, year, gender, None, None, None])
        house(i, shape, owner=owner)
        if i in overlap:
            second = shapely.intersection(shapely.affinity.translate(shape, 2.0, 2.0), shapely.buffer(geoms[i], -0.3))
            if second.geom_type == "Polygon" and shapely.intersection(second, shape).area > 1.5:
                house(i, second, kind="Công trình xây dựng")
                truth.append((i + 1, "house_overlap"))
        used.add(i)
    # houses where the land use allows none
    farmland = [i for i in rng.permutation(np.flatnonzero(clean & ~residential & pd.notna(land_use)))
                if i not in used][:max(1, round(DEFECTS["house_not_allowed"] * n))]
    for i in farmland:
        shape = _inside(geoms[i], 6.0, rng)
        if shape is None or shape.area < 8:
            continue
        house(i, shape)
        used.add(i)
        truth.append((i + 1, "house_not_allowed"))
    # an apartment building on one residential plot: apartments owned by their buyers
    tower = next((int(i) for i in np.flatnonzero(clean & residential) if i not in used), None)
    if tower is not None:
        for k in range(6):
            name, number, year, gender = people.person()
            owner = f"CH{k + 1}"
            parties.append([owner, "Cá nhân", name, number, year, gender, None, None, None])
            asset_no += 1
            assets.append([f"TS{asset_no}", "Căn hộ chung cư", mx[tower], "Nhà A", 68.5 + k, 1, 2019,
                           "Bê tông cốt thép", None])
            rights.append([owner, None, f"TS{asset_no}", "Sở hữu", None, None, None, "Mua nhà", None])
        used.add(tower)
    # organisations: constructions on others' plots; one with a wrong check digit
    orgs = [f"T{k + 1}" for k in range(max(3, n // 5000))]
    bad_org = "T0"
    for k, ref in enumerate(orgs):
        parties.append([ref, "Tổ chức", f"Công ty TNHH Nông sản Sơn La số {k + 1}", None, None, None,
                        _tax_code(rng), None, None])
    parties.append([bad_org, "Tổ chức", "Hợp tác xã Chè Tà Xùa", None, None, None, _tax_code(rng, valid=False), None,
                    None])
    sites = [i for i in rng.permutation(np.flatnonzero(clean)) if i not in used]
    n_bad = max(1, round(DEFECTS["tax_code_invalid"] * n))
    for k, i in enumerate(sites[:n_bad + max(1, round(SHARES["construction"] * n))]):
        owner = bad_org if k < n_bad else orgs[k % len(orgs)]
        asset_no += 1
        assets.append([f"TS{asset_no}", "Công trình xây dựng", mx[i], None, 25.0, 1, 2018, "Khung thép", None])
        rights.append([owner, None, f"TS{asset_no}", "Sở hữu", None, None, None, "Thuê đất", None])
        used.add(i)
        if owner == bad_org:
            truth.append((i + 1, "tax_code_invalid"))
    # plots on paper only: households, organisations (several on one certificate) and persons
    codes = sorted({c for c in communes if isinstance(c, str)})
    n_paper = max(1, round(SHARES["paper_plot"] * n)) if codes else 0
    org_series = None
    for k in range(n_paper):
        commune = codes[k % len(codes)]
        ref_plot = f"{commune}.{900 + k // 50}.{1 + k % 50}"
        kind = ("household", "organisation", "individual")[k % 3] if k % 3 != 1 or k % 2 else "household"
        if kind == "organisation" and org_series is not None and k % 6 == 1:
            series = org_series                      # the organisation's second plot on its certificate
        else:
            series = new_series("ED")
            certs.append([series, book(), "15/08/2025", "Văn phòng đăng ký đất đai", "2024", "Còn hiệu lực", None])
        plots_rows.append([series, ref_plot, float(300 + k), "LUC" if kind != "organisation" else "SKC"])
        if kind == "household":
            head = people.person(female=False)
            wife = people.person(female=True)
            hh = f"H{k + 1}"
            parties += [[hh, "Hộ gia đình", f"Hộ ông {head[0]}", None, None, None, None, None, None],
                        [f"HM{k + 1}a", "Cá nhân", head[0], head[1], head[2], head[3], None, hh, "Chủ hộ"],
                        [f"HM{k + 1}b", "Cá nhân", wife[0], wife[1], wife[2], wife[3], None, hh, "Vợ"]]
            rights.append([hh, ref_plot, None, "Sử dụng", None, "LUC", "2043", "Nhà nước giao đất", series])
        elif kind == "organisation":
            rights.append([orgs[k % len(orgs)], ref_plot, None, "Sử dụng", None, "SKC", "31/12/2065",
                           "Nhà nước cho thuê đất", series])
            org_series = series
        else:
            p = people.person()
            parties.append([f"I{k + 1}", "Cá nhân", p[0], p[1], p[2], p[3], None, None, None])
            rights.append([f"I{k + 1}", ref_plot, None, "Sử dụng", None, "LUC", "2043", "Nhận chuyển nhượng", series])
    # what the plot file alone makes the register checks find
    truth += _file_truth(data, defects, serial, ids, names, years, plots_rows, certs, rights, mx)
    sheets = {"Giấy chứng nhận": pd.DataFrame(certs, columns=CERT_COLUMNS),
              "Thửa đất": pd.DataFrame(plots_rows, columns=PLOT_COLUMNS),
              "Chủ sử dụng": pd.DataFrame(parties, columns=PARTY_COLUMNS),
              "Tài sản": pd.DataFrame(assets, columns=ASSET_COLUMNS),
              "Quyền": pd.DataFrame(rights, columns=RIGHT_COLUMNS)}
    paper, paper_truth = _paper_register(rng, data, mx, twice, serial, names, ids, n, certs, plots_rows)
    return SyntheticRegister(sheets, pd.DataFrame(sorted(set(truth)), columns=["row", "type"]), paper, paper_truth)


def _file_truth(data, defects, serial, ids, names, years, plots_rows, certs, rights, mx) -> list[tuple[int, str]]:
    """Register findings the plot file's own holders cause, after the export is imported."""
    n = len(data)
    out = []
    present = np.array([any((isinstance(v, str) and v) or (v is not None and not pd.isna(v)) for v in (a, b, c))
                        for a, b, c in zip(names, ids, years, strict=True)])
    no_id = np.array([not (isinstance(v, str) and v) for v in ids])
    out += [(i + 1, "unidentified_holder") for i in np.flatnonzero(present & no_id)]
    # one number, other names or birth years (the plot import keeps each other spelling for its plot)
    canon: dict[str, int] = {}
    conflicted: set[str] = set()
    for i in range(n):
        number = ids[i]
        if not (isinstance(number, str) and number) or not present[i]:
            continue
        if number not in canon:
            canon[number] = i
            continue
        c = canon[number]
        same = (names[i] == names[c] or (pd.isna(names[i]) and pd.isna(names[c]))) and \
               (years[i] == years[c] or (pd.isna(years[i]) and pd.isna(years[c])))
        if same:
            continue
        fold_i = fold(names[i]) if isinstance(names[i], str) else None
        fold_c = fold(names[c]) if isinstance(names[c], str) else None
        if fold_i != fold_c or (not pd.isna(years[i]) and not pd.isna(years[c]) and years[i] != years[c]):
            conflicted.add(number)
    out += [(i + 1, "party_conflict") for i in range(n) if ids[i] in conflicted and present[i]]
    # holders, and no valid certificate: no serial in the file and none from the register
    valid = {r[0] for r in certs if r[5] == "Còn hiệu lực"}
    certified = {p for s, p, *_ in plots_rows if s in valid}
    out += [(i + 1, "rights_without_certificate") for i in np.flatnonzero(present)
            if pd.isna(serial[i]) and mx[i] not in certified]
    return out


def _paper_register(rng, data, mx, twice, serial, names, ids, n, certs, plots_rows):
    """The digitised paper register: every valid certificate as the book records it, with known discrepancies.

    The plot file's certified plots carry their area, purpose and holder; the export's other certificates
    (several plots on one, plots on paper only) their area and purpose. Discrepancies are injected on the plot
    file's rows: an area, a purpose, a holder's name or ID number changed, a certificate left out; and rows for
    certificates the database does not have.
    """
    rows, truth = [], []
    certified = np.flatnonzero(pd.notna(serial) & pd.notna(mx))
    order = rng.permutation(certified[~twice[certified]])
    k = {name: max(1, round(share * n)) for name, share in PAPER_DISCREPANCIES.items()}
    picks, start = {}, 0
    for name in ("area", "purpose", "holder_name", "holder_id", "missing_in_register"):
        picks[name] = set(order[start:start + k[name]].tolist())
        start += k[name]
    for i in certified:
        if i in picks["missing_in_register"]:
            truth.append((serial[i], mx[i], "missing_in_register"))
            continue
        area, use = data.at[i, "legal_area"], data.at[i, "land_use"]
        name, number = names[i], ids[i]
        if i in picks["area"] and pd.notna(area):
            area = round(float(area) * 1.1 + 5, 1)
            truth.append((serial[i], mx[i], "area"))
        if i in picks["purpose"] and isinstance(use, str):
            use = "CLN" if use != "CLN" else "LUC"
            truth.append((serial[i], mx[i], "purpose"))
        if i in picks["holder_name"] and isinstance(name, str):
            name = name + " Văn"
            truth.append((serial[i], mx[i], "holder_name"))
        if i in picks["holder_id"] and isinstance(number, str) and len(number) == 12:
            number = number[:-4] + f"{(int(number[-4:]) + 1111) % 10_000:04d}"
            truth.append((serial[i], mx[i], "holder_id"))
        rows.append([serial[i], mx[i], area, use, name, number])
    layer_series = set(serial[np.flatnonzero(pd.notna(serial))])
    valid = {c[0] for c in certs if c[5] == "Còn hiệu lực"}
    for series, plot, area, use in plots_rows:
        if series in valid and series not in layer_series:
            rows.append([series, plot, area, use, None, None])
    communes = sorted({c for c in data["commune_code"] if isinstance(c, str)})
    for j in range(k["missing_in_database"] if communes else 0):
        series, plot = f"DE {800_000 + j:06d}", f"{communes[j % len(communes)]}.800.{j + 1}"
        rows.append([series, plot, 500.0, "LUC", None, None])
        truth.append((series, plot, "missing_in_database"))
    return (pd.DataFrame(rows, columns=PAPER_COLUMNS),
            pd.DataFrame(sorted(truth), columns=["series", "plot", "field"]))


def write_register(register: SyntheticRegister, out: Path, *, as_csv: bool | None = None) -> dict:
    """Write the export and the paper register (XLSX, or CSV above :data:`XLSX_MAX_PLOTS`) and the truths."""
    out = Path(out)
    n_rows = max(len(f) for f in register.sheets.values())
    as_csv = n_rows > XLSX_MAX_PLOTS if as_csv is None else as_csv
    paths = {}
    if as_csv:
        folder = out.parent / (out.name + ".register")
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in register.sheets.items():
            frame.to_csv(folder / f"{name}.csv", index=False)
        paths["register"] = str(folder)
    else:
        paths["register"] = str(_xlsx(register.sheets, out.parent / (out.name + ".register.xlsx")))
    if as_csv:
        paths["paper_register"] = str(out.parent / (out.name + ".paper-register.csv"))
        register.paper.to_csv(paths["paper_register"], index=False)
    else:
        paths["paper_register"] = str(_xlsx({"Sổ địa chính": register.paper},
                                            out.parent / (out.name + ".paper-register.xlsx")))
    register.truth.to_csv(out.parent / (out.name + ".register-truth.csv"), index=False)
    register.paper_truth.to_csv(out.parent / (out.name + ".paper-register-truth.csv"), index=False)
    paths["register_truth"] = str(out.parent / (out.name + ".register-truth.csv"))
    paths["paper_register_truth"] = str(out.parent / (out.name + ".paper-register-truth.csv"))
    return paths


def _xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    for name, frame in sheets.items():
        ws = book.create_sheet(name)
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False, name=None):
            ws.append([None if (v is None or (isinstance(v, float) and np.isnan(v))) else
                       v.item() if isinstance(v, np.generic) else v for v in row])
    book.save(path)
    return path
