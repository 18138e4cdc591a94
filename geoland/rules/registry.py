"""The vocabulary of registry exports: sheets, columns and coded values of a land-register workbook.

A registry export (``geoland register import``) is a workbook, or a folder of CSV files, with one sheet per
kind of record; sheets and columns are recognised by their Vietnamese names (with or without diacritics,
any case, spaces or underscores: ``Số phát hành``, ``SO_PHAT_HANH`` and ``sophathanh`` are one name) or
their English ones. The sheets and what links them:

===============  ============================  ===================================================================
sheet            Vietnamese names              one row per
===============  ============================  ===================================================================
``certificates`` Giấy chứng nhận, GCN          certificate: series (số phát hành), book number, date, authority,
                                               form, status, the series that replaced it
``plots``        Thửa đất, Thửa                plot a certificate covers: series, plot (MX.SB.ST of any date or
                                               identification code; or commune, sheet, number), area, purpose
``parties``      Chủ sử dụng, Người sử dụng    person, household, organisation, community or foreign person, by
                                               the registry's own key (mã chủ); household members name their hộ
``rights``       Quyền                         right of a party (its key) on a plot or an asset: role, share,
                                               purpose, term, origin, since, certificate series
``assets``       Tài sản                       house, apartment, construction, forest or trees, by the registry's
                                               key (mã tài sản), on a plot, with its footprint as WKT
===============  ============================  ===================================================================

Coded values (kinds, roles, statuses, forms, genders, terms) are read the same way: ``Hộ gia đình``,
``HO GIA DINH`` and ``household`` are one value. Nothing here reads a file.
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

from boundaries.conversion import fold_vietnamese

SHEETS: dict[str, tuple[str, ...]] = {
    "certificates": ("Giấy chứng nhận", "GCN", "Giấy chứng nhận QSDĐ", "Chứng nhận", "certificates", "certificate"),
    "plots": ("Thửa đất", "Thửa", "Thửa đất cấp GCN", "plots", "plot", "parcels"),
    "parties": ("Chủ sử dụng", "Người sử dụng đất", "Người sử dụng", "Chủ", "Chủ sở hữu", "parties", "party",
                "holders"),
    "rights": ("Quyền", "Quyền sử dụng", "Quyền sở hữu", "rights", "right"),
    "assets": ("Tài sản", "Tài sản gắn liền với đất", "Nhà ở", "assets", "asset"),
}
SHEET_LABELS = {"certificates": "Giấy chứng nhận", "plots": "Thửa đất", "parties": "Chủ sử dụng",
                "rights": "Quyền", "assets": "Tài sản"}

# Per sheet, attribute → the names it is known by (the first is the one geoland writes).
_PLOT_REF = ("Thửa đất", "Mã thửa", "Thửa", "MX.SB.ST", "Mã định danh", "Mã định danh thửa đất", "plot")
_SERIES = ("Số phát hành", "Số seri", "Seri", "Số phát hành GCN", "Số GCN", "SOPHATHANH", "series", "certificate")
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "certificates": {
        "series": _SERIES,
        "book_number": ("Số vào sổ", "Số vào sổ cấp GCN", "Số vào sổ GCN", "SOVAOSO", "book_number"),
        "issued_on": ("Ngày cấp", "Ngày ký", "NGAYCAP", "issued_on", "issued"),
        "authority": ("Cơ quan cấp", "Nơi cấp", "CQCAP", "authority"),
        "form": ("Mẫu", "Mẫu GCN", "Loại GCN", "Mẫu giấy chứng nhận", "form"),
        "status": ("Trạng thái", "Tình trạng", "status"),
        "replaced_by": ("Thay thế bởi", "Cấp đổi thành", "Số phát hành mới", "GCN thay thế", "replaced_by"),
    },
    "plots": {
        "series": _SERIES,
        "plot": _PLOT_REF,
        "commune": ("Mã xã", "MAXA", "commune"),
        "sheet": ("Số tờ", "Tờ bản đồ", "Số tờ bản đồ", "SHBANDO", "SOTO", "sheet"),
        "number": ("Số thửa", "SHTHUA", "SOTHUA", "number", "plot_number"),
        "legal_area": ("Diện tích", "Diện tích pháp lý", "DIENTICH", "area", "legal_area"),
        "land_use": ("Mục đích sử dụng", "Loại đất", "Mục đích", "KHLOAIDAT", "land_use", "purpose"),
    },
    "parties": {
        "ref": ("Mã chủ", "Mã chủ sử dụng", "Mã người sử dụng", "Mã", "STT", "ref", "party"),
        "kind": ("Loại chủ", "Loại đối tượng", "Đối tượng", "Loại", "kind"),
        "name": ("Họ tên", "Họ và tên", "Tên chủ", "Tên", "Tên tổ chức", "TENCHU", "name"),
        "id_number": ("Số CCCD", "Số định danh", "Số giấy tờ", "CCCD", "CMND", "Số CMND", "Hộ chiếu",
                      "SOGIAYTO", "id_number"),
        "id_kind": ("Loại giấy tờ", "Loại giấy tờ tùy thân", "id_kind"),
        "birth_date": ("Ngày sinh", "birth_date"),
        "birth_year": ("Năm sinh", "NAMSINH", "birth_year"),
        "gender": ("Giới tính", "gender", "sex"),
        "address": ("Địa chỉ", "Địa chỉ thường trú", "DIACHI", "address"),
        "tax_code": ("Mã số thuế", "MST", "tax_code"),
        "household": ("Thuộc hộ", "Mã hộ", "Hộ gia đình", "household"),
        "relation": ("Quan hệ với chủ hộ", "Quan hệ", "relation"),
    },
    "rights": {
        "party": ("Mã chủ", "Mã chủ sử dụng", "Mã người sử dụng", "Chủ", "party"),
        "plot": _PLOT_REF,
        "asset": ("Mã tài sản", "Tài sản", "asset"),
        "role": ("Vai trò", "Hình thức", "Hình thức sử dụng", "Loại quyền", "role"),
        "share": ("Tỷ lệ", "Phần", "Tỷ lệ sở hữu", "Phần quyền", "share"),
        "purpose": ("Mục đích sử dụng", "Mục đích", "Loại đất", "purpose", "land_use"),
        "term": ("Thời hạn", "Thời hạn sử dụng", "term"),
        "origin": ("Nguồn gốc sử dụng", "Nguồn gốc", "origin"),
        "since": ("Từ ngày", "Thời điểm bắt đầu", "Ngày bắt đầu", "since"),
        "series": _SERIES,
    },
    "assets": {
        "ref": ("Mã tài sản", "Mã", "ref", "asset"),
        "kind": ("Loại tài sản", "Loại", "kind"),
        "plot": _PLOT_REF,
        "building": ("Tòa nhà", "Tên tòa nhà", "Nhà chung cư", "building"),
        "floor_area": ("Diện tích sàn", "Diện tích xây dựng", "floor_area"),
        "floors": ("Số tầng", "floors"),
        "year_built": ("Năm xây dựng", "Năm hoàn thành", "year_built"),
        "structure": ("Kết cấu", "Cấp nhà", "structure"),
        "footprint": ("Hình thể", "WKT", "footprint", "geometry"),
    },
}
# The digitised paper register (sổ địa chính / sổ cấp GCN) that ``geoland register reconcile`` compares.
COLUMNS["paper"] = {
    "series": _SERIES,
    "plot": _PLOT_REF,
    "legal_area": ("Diện tích", "Diện tích pháp lý", "DIENTICH", "area", "legal_area"),
    "land_use": ("Mục đích sử dụng", "Loại đất", "Mục đích", "KHLOAIDAT", "land_use", "purpose"),
    "name": ("Họ tên", "Họ và tên", "Tên chủ", "Tên người sử dụng", "Chủ sử dụng", "TENCHU", "name"),
    "id_number": ("Số CCCD", "Số định danh", "Số giấy tờ", "CCCD", "CMND", "SOGIAYTO", "id_number"),
}
PERSONAL_COLUMNS = {"parties": ("name", "id_number", "birth_date", "birth_year", "address"),
                    "paper": ("name", "id_number")}

# How the certificate forms write a series (số phát hành) and a registry-book number (số vào sổ): a format rule
# only (no check digit is published). Read by the register's checks and by the edit form.
SERIES_FORMAT = r"^[A-ZĐ]{1,2} ?[0-9]{6,8}$"
BOOK_FORMAT = r"^([A-ZĐ]{1,4}[ -]?)?[0-9]{1,8}(/[0-9A-ZĐ-]+)?$"

REQUIRED = {"certificates": ("series",), "plots": ("series",), "parties": ("ref",), "rights": ("party",),
            "assets": ("ref", "kind"), "paper": ("series", "plot")}

# Coded values: canonical value → the words it is written with.
KINDS = {"individual": ("Cá nhân", "Ông", "Bà", "Ông/Bà", "individual", "person"),
         "household": ("Hộ gia đình", "Hộ", "HGĐ", "household"),
         "organisation": ("Tổ chức", "Doanh nghiệp", "Công ty", "organisation", "organization"),
         "community": ("Cộng đồng dân cư", "Cộng đồng", "community"),
         "foreign": ("Người nước ngoài", "Người Việt Nam định cư ở nước ngoài", "Việt kiều", "foreign")}
ROLES = {"user": ("Sử dụng", "Người sử dụng", "Sử dụng riêng", "user"),
         "owner": ("Sở hữu", "Chủ sở hữu", "Sở hữu riêng", "owner"),
         "co_user": ("Sử dụng chung", "Đồng sử dụng", "co_user", "co-user"),
         "co_owner": ("Sở hữu chung", "Đồng sở hữu", "co_owner", "co-owner")}
STATUSES = {"valid": ("Còn hiệu lực", "Hiệu lực", "Đang sử dụng", "valid"),
            "cancelled": ("Đã hủy", "Hủy", "Thu hồi", "Đã thu hồi", "cancelled", "canceled"),
            "replaced": ("Đã cấp đổi", "Cấp đổi", "Đã thay thế", "Cấp lại", "replaced")}
# The certificate forms in use since 1993, oldest first (the form that took effect, the document behind it).
FORMS = {
    "gcn_qsdd_1993": ("Giấy chứng nhận quyền sử dụng đất (mẫu 1993, Tổng cục Địa chính)", "Sổ đỏ", "1993",
                      "GCN QSDĐ", "gcn_qsdd_1993"),
    "gcn_nho_1994": ("Giấy chứng nhận quyền sở hữu nhà ở và quyền sử dụng đất ở (Nghị định 60/CP, 1994)",
                     "Sổ hồng", "1994", "gcn_nho_1994"),
    "gcn_nha_2006": ("Giấy chứng nhận quyền sở hữu nhà ở (Nghị định 90/2006/NĐ-CP)", "2006", "gcn_nha_2006"),
    "gcn_2009": ("Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất "
                 "(Thông tư 17/2009/TT-BTNMT)", "2009", "gcn_2009"),
    "gcn_2014": ("Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất "
                 "(Thông tư 23/2014/TT-BTNMT)", "2014", "gcn_2014"),
    "gcn_2024": ("Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất "
                 "(Thông tư 10/2024/TT-BTNMT)", "2024", "2025", "gcn_2024"),
}
ASSET_KINDS = {"house": ("Nhà ở riêng lẻ", "Nhà ở", "Nhà", "house"),
               "apartment": ("Căn hộ", "Căn hộ chung cư", "apartment"),
               "construction": ("Công trình xây dựng", "Công trình", "construction"),
               "production_forest": ("Rừng sản xuất là rừng trồng", "Rừng trồng", "Rừng sản xuất",
                                     "production_forest"),
               "perennial_trees": ("Cây lâu năm", "perennial_trees")}
GENDERS = {"nam": ("Nam", "male", "M"), "nữ": ("Nữ", "female", "F")}
ID_KINDS = {"cccd": ("CCCD", "Căn cước công dân", "Căn cước", "Thẻ căn cước", "cccd"),
            "cmnd": ("CMND", "Chứng minh nhân dân", "cmnd"),
            "passport": ("Hộ chiếu", "passport"),
            "other": ("Khác", "other")}
LONG_TERM = ("Lâu dài", "Ổn định lâu dài", "long-term", "long_term", "LD")
# Land on which no house may stand (rừng, nông nghiệp, mặt nước): a house there is a finding.
NO_HOUSE_PREFIXES = ("LU", "HN", "BH", "NH", "CL", "LN", "RS", "RP", "RD", "NT", "LM", "SON", "MNC")


def fold(text) -> str:
    """A name as compared: no diacritics (đ → d), lower case, letters and digits only.

    >>> fold("Số phát hành"), fold("SO_PHAT_HANH"), fold("Hộ gia đình")
    ('sophathanh', 'sophathanh', 'hogiadinh')
    """
    return "".join(c for c in fold_vietnamese(str(text)) if c.isalnum())


def _index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {fold(word): key for key, words in table.items() for word in words}


_SHEET_INDEX = _index(SHEETS)
_VOCABULARIES = {name: _index(table) for name, table in
                 (("kind", KINDS), ("role", ROLES), ("status", STATUSES), ("form", FORMS),
                  ("asset_kind", ASSET_KINDS), ("gender", GENDERS), ("id_kind", ID_KINDS))}


def sheet_kind(name: str) -> str | None:
    """Which sheet a sheet (or CSV file stem) name is, or None.

    >>> sheet_kind("Giấy chứng nhận"), sheet_kind("QUYEN"), sheet_kind("Sheet1")
    ('certificates', 'rights', None)
    """
    return _SHEET_INDEX.get(fold(name))


def column_map(sheet: str, header: list, override: dict[str, str] | None = None) -> tuple[dict[str, int], list[str]]:
    """Which column holds which attribute (``{attribute: index}``) and the header cells not recognised.

    An ``override`` (``{attribute: header}``, from ``--fields``) wins over the names known.
    """
    known = {fold(word): attribute for attribute, words in COLUMNS[sheet].items() for word in words}
    found: dict[str, int] = {}
    folded = [fold(h) if h is not None else "" for h in header]
    for attribute, name in (override or {}).items():
        if fold(name) in folded:
            found[attribute] = folded.index(fold(name))
    unknown = []
    for i, f in enumerate(folded):
        attribute = known.get(f)
        if i in found.values():
            continue
        if attribute is None or attribute in found:
            if f:
                unknown.append(str(header[i]))
            continue
        found[attribute] = i
    return found, unknown


def coded(vocabulary: str, value) -> str | None:
    """The canonical value of a coded cell, or None when the word is not known.

    >>> coded("kind", "HỘ GIA ĐÌNH"), coded("role", "đồng sở hữu"), coded("form", "Sổ đỏ"), coded("role", "x")
    ('household', 'co_owner', 'gcn_qsdd_1993', None)
    """
    return _VOCABULARIES[vocabulary].get(fold(value))


def accepted(vocabulary: str) -> str:
    """The words a coded column accepts, for an error message."""
    table = {"kind": KINDS, "role": ROLES, "status": STATUSES, "form": FORMS, "asset_kind": ASSET_KINDS,
             "gender": GENDERS, "id_kind": ID_KINDS}[vocabulary]
    return ", ".join(words[0] if len(words[0]) < 40 else words[-1] for words in table.values())


_SHARE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(%|/\s*(\d+))?\s*$")


def parse_share(value) -> Fraction:
    """A share as a fraction: ``1/2``, ``0,5``, ``50%``, ``1`` (blank: the whole).

    >>> parse_share("1/3"), parse_share("0,25"), parse_share("50 %"), parse_share(None), parse_share(0.5)
    (Fraction(1, 3), Fraction(1, 4), Fraction(1, 2), Fraction(1, 1), Fraction(1, 2))
    >>> parse_share("3/2")
    Traceback (most recent call last):
    ...
    ValueError: share 3/2 is more than the whole (1)
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return Fraction(1)
    if isinstance(value, int | float):
        share = Fraction(value).limit_denominator(10_000)
    else:
        m = _SHARE.match(str(value))
        if m is None:
            raise ValueError(f"share {value!r} is not a fraction (1/2), a decimal (0,5) or a percentage (50%)")
        number = Fraction(m.group(1).replace(",", ".")).limit_denominator(10_000)
        share = number / 100 if m.group(2) == "%" else number / int(m.group(3)) if m.group(3) else number
    if share <= 0:
        raise ValueError(f"share {value} is not more than 0")
    if share > 1:
        raise ValueError(f"share {value} is more than the whole (1)")
    return share


_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


def parse_date(value) -> dt.date | None:
    """A date from a workbook cell (a date, or text as 31/12/2024 or 2024-12-31); None for a blank.

    >>> parse_date("05/03/2012"), parse_date(dt.datetime(2012, 3, 5, 0, 0)), parse_date("")
    (datetime.date(2012, 3, 5), datetime.date(2012, 3, 5), None)
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (31/12/2024 or 2024-12-31)")


def parse_term(value) -> tuple[bool, dt.date | None]:
    """(long-term, end date) of a right's term: ``Lâu dài`` or blank → long-term; a date or a year → its end.

    >>> parse_term("Lâu dài"), parse_term("2064"), parse_term("31/12/2043")
    ((True, None), (False, datetime.date(2064, 12, 31)), (False, datetime.date(2043, 12, 31)))
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return True, None
    if fold(value) in {fold(w) for w in LONG_TERM}:
        return True, None
    text = str(value).strip()
    if re.fullmatch(r"\d{4}(\.0)?", text):
        return False, dt.date(int(float(text)), 12, 31)
    return False, parse_date(value)
