"""The words geoland shows to people, in Vietnamese and English, in one place.

Every finding type is one :class:`FindingType` record (code, group, severity, Vietnamese and English
label); the reasons a check stores as a finding's value (``not_12_digits`` …) and the other words of the
pages, the maps, the report and the CLI are ``key: (vi, en)`` pairs. Vietnamese is the default language;
anything else asked for falls back to it.

Examples
--------
>>> FINDING_TYPES["invalid_cccd"].label("en")
'Invalid CCCD'
>>> describe_value("not_12_digits", "vi")
'không đủ 12 chữ số'
>>> words("page", "en")["resolved"]
'Resolved'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LANGUAGES = ("vi", "en")


def language_or_default(language: str | None) -> str:
    """``language`` when geoland speaks it, else Vietnamese."""
    return language if language in LANGUAGES else "vi"


@dataclass(frozen=True)
class FindingType:
    """One kind of finding of the data-quality checks.

    Attributes
    ----------
    code : str
        Stable identifier stored in the database (``finding.type``).
    group : str
        ``missing`` (a field to supplement) or ``conflict`` (data that contradicts itself or a register).
    severity : str
        ``error``, ``warning`` or ``info``.
    vi, en : str
        The label shown to users.
    """

    code: str
    group: str
    severity: str
    vi: str
    en: str

    def label(self, language: str = "vi") -> str:
        """The label in ``language`` (Vietnamese unless ``"en"``)."""
        return self.en if language == "en" else self.vi


def _types(*rows) -> dict[str, FindingType]:
    return {r[0]: FindingType(*r) for r in rows}


FINDING_TYPES: dict[str, FindingType] = _types(
    ("missing_certificate", "missing", "warning", "Thiếu số phát hành GCN", "No certificate serial"),
    ("missing_user_name", "missing", "warning", "Thiếu tên người sử dụng đất", "No land-user name"),
    ("missing_id_number", "missing", "warning", "Thiếu số CCCD/CMND", "No CCCD/ID number"),
    ("missing_land_use", "missing", "warning", "Thiếu loại đất", "No land-use type"),
    ("missing_legal_area", "missing", "warning", "Thiếu diện tích pháp lý", "No legal area"),
    ("missing_code", "missing", "warning", "Chưa có mã định danh", "No identification code"),
    ("missing_commune", "missing", "warning", "Chưa gán xã mới", "No new commune"),
    ("invalid_cccd", "conflict", "error", "Sai CCCD", "Invalid CCCD"),
    ("legacy_cmnd", "conflict", "info", "CMND 9 số (cũ)", "Legacy 9-digit CMND"),
    ("cccd_conflict", "conflict", "error", "Một CCCD, nhiều người", "One CCCD, several people"),
    ("verification_incorrect", "conflict", "error", "Thông tin sai (CSDL dân cư)", "Incorrect per population DB"),
    ("verification_unverifiable", "conflict", "warning", "Không xác thực được", "Unverifiable per population DB"),
    ("unknown_land_use", "conflict", "error", "Loại đất không có trong danh mục", "Unknown land-use code"),
    ("legacy_land_use", "conflict", "info", "Loại đất mã cũ / ghép", "Legacy or combined land-use code"),
    ("area_mismatch", "conflict", "error", "Sai lệch diện tích", "Legal vs computed area"),
    ("invalid_geometry", "conflict", "error", "Hình thửa không hợp lệ", "Invalid geometry"),
    ("overlap", "conflict", "error", "Chồng lấn thửa", "Overlapping plots"),
    ("duplicate_mx", "conflict", "error", "Trùng mã thửa MX.SB.ST", "Duplicate MX.SB.ST"),
    ("duplicate_code", "conflict", "error", "Trùng mã định danh", "Duplicate identification code"),
    ("cell_outside_plot", "conflict", "error", "Mã định danh nằm ngoài thửa", "Code cell outside plot"),
    ("straddling", "conflict", "warning", "Nằm vắt ranh giới xã", "Straddles a commune boundary"),
    ("outside", "conflict", "error", "Nằm ngoài các xã", "Outside every commune"),
    ("legal_mismatch", "conflict", "error", "Trái bảng chuyển đổi", "Against the conversion table"),
    ("damaged_text", "conflict", "warning", "Chữ hỏng do chuyển mã cũ (vd. “ĐOàN”)",
     "Text damaged by an earlier conversion (e.g. “ĐOàN”)"),
    # the land register's (geoland.pipeline.register_checks)
    ("unidentified_holder", "missing", "warning", "Người sử dụng/chủ sở hữu chưa có giấy tờ định danh",
     "A holder without ID number or tax code"),
    ("certificate_format", "conflict", "warning", "Số phát hành / số vào sổ GCN sai định dạng",
     "Certificate series or book number malformed"),
    ("certificate_duplicate", "conflict", "error", "Trùng GCN (nhiều GCN hiệu lực / trùng số vào sổ)",
     "Several valid certificates, or a book number used twice"),
    ("certificate_communes", "conflict", "warning", "Một GCN gồm thửa của nhiều xã",
     "One certificate covers plots of several communes"),
    ("share_sum", "conflict", "error", "Tổng phần quyền của đồng sở hữu khác 1", "Co-holders' shares do not sum to 1"),
    ("party_conflict", "conflict", "error", "Một CCCD, khác tên/năm sinh trong sổ",
     "One ID number, other names in the register"),
    ("tax_code_invalid", "conflict", "error", "Mã số thuế tổ chức không hợp lệ", "Invalid organisation tax code"),
    ("rights_without_certificate", "conflict", "warning", "Có người sử dụng nhưng không có GCN hiệu lực",
     "Holders but no valid certificate"),
    ("dangling_right", "conflict", "error", "Quyền ghi trên GCN không gồm thửa này",
     "A right on a certificate that does not cover the plot"),
    ("house_outside_plot", "conflict", "error", "Nhà nằm ngoài thửa đất", "House footprint outside its plot"),
    ("house_overlap", "conflict", "error", "Chồng lấn nhà", "Overlapping houses"),
    ("house_not_allowed", "conflict", "warning", "Nhà ở trên đất không phải đất ở", "House on non-residential land"),
)
GROUPS = ("missing", "conflict")

# Reasons a check stores as a finding's value (identifiers.cccd's codes), shown in words.
REASONS: dict[str, tuple[str, str]] = {
    "not_12_digits": ("không đủ 12 chữ số", "not 12 digits"),
    "unknown_birth_province": ("mã tỉnh nơi đăng ký khai sinh không tồn tại", "unknown birth-province code"),
    "century_mismatch": ("mã thế kỷ – giới tính không khớp năm sinh",
                         "century/gender digit does not match the birth year"),
    "birth_year_mismatch": ("hai số cuối năm sinh không khớp", "birth-year digits do not match the birth year"),
    "legacy_cmnd": ("CMND 9 số, cần đổi sang CCCD", "9-digit CMND, to be replaced by a CCCD"),
    # Why a value typed into a form or a commune workbook is refused, or accepted with a warning.
    "too_long": ("quá dài", "too long"),
    "unknown_land_use": ("không phải mã loại đất hiện hành hay cũ", "not a current or legacy land-use code"),
    "legacy_land_use": ("mã loại đất cũ, nên đổi sang mã hiện hành", "a legacy land-use code: use the current one"),
    "not_a_number": ("không phải số (ví dụ 152,4)", "not a number (e.g. 152.4)"),
    "not_positive": ("phải lớn hơn 0", "must be more than 0"),
    "not_a_whole_number": ("phải là số nguyên", "must be a whole number"),
    "year_out_of_range": ("năm sinh không hợp lệ", "not a possible birth year"),
    "damaged_text": ("chữ bị lỗi phông (TCVN3/VNI chuyển đổi sai)", "text damaged by a broken font conversion"),
    "not_a_date": ("ngày không hợp lệ (năm-tháng-ngày)", "not a date (year-month-day)"),
    "in_the_future": ("ngày trong tương lai", "a date in the future"),
    "id_number_taken": ("số này đã thuộc về một chủ khác trong sổ địa chính", "this number belongs to another holder "
                        "in the register"),
    "no_holder": ("thửa chưa có người sử dụng: nhập họ tên trước", "the plot has no holder yet: type a name first"),
    "series_format": ("số phát hành GCN gồm 1–2 chữ cái in hoa và 6–8 chữ số (ví dụ CS 123456)",
                      "a certificate series is 1–2 capital letters and 6–8 digits (e.g. CS 123456)"),
    "series_taken": ("số phát hành này là của một GCN khác trong sổ: liên kết thửa qua sổ địa chính",
                     "this series is another certificate's: link the plot to it through the registry"),
    "book_format": ("số vào sổ gồm chữ cái in hoa (nếu có) và chữ số, ví dụ CH00123 hoặc CS-01234",
                    "a registry-book number is capital letters (if any) and digits, e.g. CH00123 or CS-01234"),
    "unknown_form": ("không phải mẫu GCN đã ban hành (1993, 1994, 2006, 2009, 2014, 2024)",
                     "not a certificate form in use (1993, 1994, 2006, 2009, 2014, 2024)"),
    "no_certificate": ("thửa chưa có GCN: nhập số phát hành trước",
                       "the plot has no certificate: type its series first"),
    "built_out_of_range": ("năm xây dựng từ 1800 đến nay", "a year built from 1800 to this year"),
    "share_format": ("tỷ lệ viết dạng 1/2, 0,5 hoặc 50%, lớn hơn 0 và không quá 1",
                     "a share is written 1/2, 0.5 or 50%, more than 0 and at most 1"),
    "shares_sum": ("tổng tỷ lệ của các đồng sử dụng trên một GCN phải bằng 1",
                   "the co-holders' shares on one certificate must add up to 1"),
    "cannot_empty": ("không xóa được GCN từ biểu mẫu: hủy GCN trong sổ địa chính",
                     "a certificate is not removed from the form: cancel it in the register"),
    # A commune workbook's row that cannot be applied.
    "key_changed": ("ô khóa (mã thửa, phiên bản) đã bị sửa hoặc xóa", "a key cell (plot id, version) was changed"),
    "unknown_plot": ("không có thửa này trong CSDL", "no such plot in the database"),
    "duplicate_row": ("thửa này đã có ở một dòng trên", "the same plot is on an earlier row"),
    "not_your_commune": ("thửa không thuộc xã của bạn", "the plot is not in one of your communes"),
    "masked_value_changed": ("ô đã che (***) bị sửa: nhập đầy đủ giá trị mới hoặc để nguyên",
                             "a masked cell (***) was edited: type the whole new value or leave it"),
    "changed_since": ("thửa đã được sửa sau khi lập sổ: giá trị hiện tại khác", "the plot changed after the workbook "
                      "was written: the value now stored differs"),
}


def label(finding_type: str, language: str = "vi") -> str:
    """The label of a finding type; an unknown type is shown as its code.

    Parameters
    ----------
    finding_type : str
        A finding type code.
    language : {"vi", "en"}

    Returns
    -------
    str
    """
    found = FINDING_TYPES.get(finding_type)
    return found.label(language) if found else finding_type


def labels(language: str = "vi") -> dict[str, str]:
    """Every finding type's label in ``language``."""
    return {code: t.label(language) for code, t in FINDING_TYPES.items()}


def reason_words(language: str = "vi") -> dict[str, str]:
    """Every reason code in words, in ``language`` (for a whole column at once)."""
    return {code: pair[language == "en"] for code, pair in REASONS.items()}


# GEOS's reasons for an invalid geometry (shapely.is_valid_reason), as a land officer reads them.
GEOMETRY_REASONS: dict[str, tuple[str, str]] = {
    "self-intersection": ("Ranh thửa tự cắt chính nó", "The plot's boundary crosses itself"),
    "ring self-intersection": ("Một vòng ranh thửa tự chạm vào chính nó", "A ring of the boundary touches itself"),
    "too few points": ("Ranh thửa có quá ít đỉnh", "The boundary has too few vertices"),
    "too few points in geometry component": ("Ranh thửa có quá ít đỉnh", "The boundary has too few vertices"),
    "hole lies outside shell": ("Phần lỗ (đất không thuộc thửa) nằm ngoài thửa", "A hole lies outside the plot"),
    "nested holes": ("Các phần lỗ lồng vào nhau", "Holes inside holes"),
    "nested shells": ("Các phần thửa lồng vào nhau", "Parts of the plot inside each other"),
    "interior is disconnected": ("Phần trong thửa bị chia cắt", "The plot's inside is cut in two"),
    "duplicate rings": ("Ranh thửa bị lặp", "A ring repeated"),
    "ring is not closed": ("Ranh thửa không khép kín", "A ring is not closed"),
    "invalid coordinate": ("Tọa độ không hợp lệ", "An invalid coordinate"),
    "repaired on import": ("Hình thửa đã được tự sửa khi nhập", "The shape was repaired on import"),
}
_GEOS = re.compile(r"^(make_valid: )?([A-Za-z][A-Za-z -]*?)\s*(?:\[([-0-9.eE+]+) ([-0-9.eE+]+)\])?$")


def geometry_problem(value) -> dict | None:
    """A GEOS reason (``make_valid: Self-intersection[444897.6 2312663.1]``) read, or None when it is not one.

    Its kind, whether the import repaired it, and where (the plot's own coordinates, VN-2000 metres).
    """
    match = _GEOS.match(value.strip()) if isinstance(value, str) else None
    if not match or match.group(2).strip().lower() not in GEOMETRY_REASONS:
        return None
    where = (float(match.group(3)), float(match.group(4))) if match.group(3) else None
    return {"kind": match.group(2).strip().lower(), "repaired": bool(match.group(1)), "at": where}


def describe_value(value, language: str = "vi"):
    """A finding's stored value as shown to a user: a reason code in words, anything else unchanged.

    Parameters
    ----------
    value : object
        The stored value.
    language : {"vi", "en"}

    Returns
    -------
    object
    """
    pair = REASONS.get(value) if isinstance(value, str) else None
    if pair:
        return pair[language == "en"]
    problem = geometry_problem(value)
    if problem is None:
        return value
    en = language == "en"
    text = GEOMETRY_REASONS[problem["kind"]][en]
    if problem["repaired"]:
        text += " (already repaired on import)" if en else " (đã tự sửa khi nhập)"
    if problem["at"]:
        x, y = problem["at"]
        vi = lambda v: f"{v:,.1f}".replace(",", " ").replace(".", ",")     # noqa: E731 (1 234,5 as written in VN)
        text += f" at X {x:,.1f} m, Y {y:,.1f} m (VN-2000)" if en else f" tại X {vi(x)} m, Y {vi(y)} m (VN-2000)"
    return text


_COMMON = {
    "progress": ("Tiến độ chiến dịch", "Campaign progress"),
    "progress_chart": ("Tỷ lệ thửa đủ thông tin, thiếu thông tin và xung đột qua các lần kiểm tra",
                       "Share of plots with full data, missing data and in conflict, check by check"),
    "corrections_per_day": ("Chỉnh lý theo ngày, cán bộ và nguồn", "Corrections per day, officer and source"),
    "full_data": ("Đủ thông tin", "Full data"), "missing_1_plus": ("Thiếu ≥ 1 trường", "Missing ≥ 1 field"),
    "day": ("Ngày", "Day"), "officer": ("Cán bộ", "Officer"), "check_run": ("Lần kiểm tra", "Check"),
    "no_progress": ("Chưa có lần kiểm tra nào được ghi nhận.", "No check recorded yet."),
    "disputed_plots": ("Thửa đang tranh chấp (danh sách: disputed.csv)", "Plots in dispute (listed in disputed.csv)"),
    "missing": ("Thiếu thông tin", "Missing data"),
    "conflict": ("Xung đột", "Conflict"),
    "clean": ("Không có lỗi", "No finding"),
    "commune": ("Xã/phường", "Commune"),
    "plots": ("Số thửa", "Plots"),
    "area": ("Diện tích", "Area"),
    "land_use": ("Loại đất", "Land use"),
    "land_user": ("Người sử dụng đất", "Land user"),
    # Assignment statuses and review states.
    "inside": ("Nằm trong xã", "Inside"),
    "straddling": ("Vắt ranh giới xã", "Straddling"),
    "outside": ("Ngoài các xã", "Outside"),
    "open": ("Chưa xử lý", "Open"),
    "assigned": ("Đã giao", "Assigned"),
    "resolved": ("Đã xử lý", "Resolved"),
    "not_a_problem": ("Không phải lỗi", "Not a problem"),
    # The land register.
    "certificates": ("Giấy chứng nhận", "Certificates"), "holders": ("Người sử dụng / chủ sở hữu", "Holders"),
    "assets": ("Tài sản gắn liền với đất", "Assets attached to land"), "series": ("Số phát hành", "Series"),
    "book_number": ("Số vào sổ", "Book number"), "issued_on": ("Ngày cấp", "Issued"),
    "form": ("Mẫu", "Form"), "role": ("Vai trò", "Role"), "share": ("Tỷ lệ", "Share"),
    "purpose": ("Mục đích", "Purpose"), "term": ("Thời hạn", "Term"), "long_term": ("Lâu dài", "Long-term"),
    "origin": ("Nguồn gốc", "Origin"), "kind": ("Loại", "Kind"), "floor_area": ("Diện tích sàn", "Floor area"),
    "floors": ("Số tầng", "Floors"), "year_built": ("Năm xây", "Built"), "on_asset": ("trên tài sản", "on asset"),
    "valid": ("Còn hiệu lực", "Valid"), "cancelled": ("Đã hủy", "Cancelled"), "replaced": ("Đã cấp đổi", "Replaced"),
    "user": ("Sử dụng", "User"), "owner": ("Sở hữu", "Owner"), "co_user": ("Sử dụng chung", "Co-user"),
    "co_owner": ("Sở hữu chung", "Co-owner"), "individual": ("Cá nhân", "Individual"),
    "household": ("Hộ gia đình", "Household"), "organisation": ("Tổ chức", "Organisation"),
    "community": ("Cộng đồng dân cư", "Community"), "foreign": ("Người nước ngoài", "Foreign person"),
    "house": ("Nhà ở riêng lẻ", "House"), "apartment": ("Căn hộ", "Apartment"),
    "construction": ("Công trình xây dựng", "Construction"), "production_forest": ("Rừng sản xuất", "Planted forest"),
    "perennial_trees": ("Cây lâu năm", "Perennial trees"),
}

_SURFACES: dict[str, dict[str, tuple[str, str]]] = {
    "page": {
        "overview": ("Tổng quan tỉnh", "Province overview"),
        "login": ("Đăng nhập", "Log in"), "logout": ("Đăng xuất", "Log out"),
        "user": ("Tên đăng nhập", "User name"), "password": ("Mật khẩu", "Password"),
        "findings": ("Lỗi", "Findings"), "type": ("Loại lỗi", "Type"), "value": ("Giá trị", "Value"),
        "state": ("Trạng thái", "State"), "all": ("Tất cả", "All"), "filter": ("Lọc", "Filter"),
        "assign": ("Giao cho", "Assign to"), "comment": ("Ghi chú", "Comment"), "resolve": ("Đã xử lý", "Resolved"),
        "not_problem": ("Không phải lỗi", "Not a problem"), "reopen": ("Mở lại", "Reopen"),
        "plot": ("Thửa đất", "Plot"), "codes": ("Mã", "Codes"), "history": ("Lịch sử", "History"),
        "show_people": ("Xem thông tin cá nhân (ghi nhật ký)", "Show personal data (audited)"),
        "map": ("Bản đồ", "Map"), "category": ("Nhóm", "Category"), "review": ("Xử lý", "Review"),
        "audit": ("Nhật ký truy cập và thay đổi", "Audit trail"), "since": ("Từ ngày", "Since"),
        "actor": ("Người thực hiện", "User"), "action": ("Hành động", "Action"), "when": ("Thời điểm", "When"),
        "object": ("Đối tượng", "Object"), "detail": ("Chi tiết", "Detail"), "older": ("Cũ hơn →", "Older →"),
        "newest": ("← Mới nhất", "← Newest"), "no_events": ("Không có sự kiện nào.", "No events."),
        "audit_note": ("Số định danh trong nhật ký luôn được che.", "ID numbers in the trail are always masked."),
        # Editing a plot (issue 17)
        "edit": ("Bổ sung, chỉnh lý thông tin", "Supplement or correct"), "save": ("Lưu", "Save"),
        "holder_name": ("Họ tên người sử dụng đất", "Land user's name"), "id_number": ("Số CCCD/CMND", "ID number"),
        "birth_year": ("Năm sinh", "Birth year"), "legal_area_m2": ("Diện tích pháp lý (m²)", "Legal area (m²)"),
        "sheet": ("Số tờ bản đồ", "Map sheet"), "plot_number": ("Số thửa", "Plot number"),
        "certificate_series": ("Số phát hành GCN", "Certificate series"),
        "certificate_book": ("Số vào sổ cấp GCN", "Registry-book number"),
        "certificate_issued_on": ("Ngày cấp GCN", "Certificate issued on"),
        "certificate_authority": ("Cơ quan cấp GCN", "Issuing authority"),
        "certificate_form": ("Mẫu GCN", "Certificate form"),
        "shares": ("Tỷ lệ của các đồng sử dụng, đồng sở hữu", "Co-holders' shares"),
        "asset_values": ("Tài sản gắn liền với đất", "Assets attached to the land"),
        "floor_area": ("Diện tích sàn (m²)", "Floor area (m²)"), "floors": ("Số tầng", "Floors"),
        "year_built": ("Năm xây dựng", "Year built"), "structure": ("Kết cấu", "Structure"),
        "disputed": ("Đang tranh chấp", "In dispute"), "disputed_since": ("Tranh chấp từ ngày", "Disputed since"),
        "dispute_note": ("Ghi chú tranh chấp", "Dispute note"),
        "changes": ("Lịch sử chỉnh lý", "Changes"), "old_value": ("Giá trị cũ", "Old value"),
        "new_value": ("Giá trị mới", "New value"), "source": ("Nguồn", "Source"), "revert": ("Hoàn tác", "Revert"),
        "reverted": ("đã hoàn tác", "reverted"), "saved": ("Đã lưu", "Saved"),
        "nothing_changed": ("Không có gì thay đổi.", "Nothing changed."),
        "rechecked": ("Đã kiểm tra lại thửa và các thửa liền kề", "The plot and its neighbours were checked again"),
        "form_errors": ("Chưa lưu: sửa các ô được đánh dấu.", "Not saved: correct the marked fields."),
        "conflict_title": ("Thửa đất đã được người khác sửa", "Someone else changed this plot"),
        "conflict_note": ("Biểu mẫu của bạn được mở từ phiên bản {yours}; thửa đất nay ở phiên bản {now}. Không lưu "
                          "gì cả. So sánh rồi nhập lại:", "Your form was opened at version {yours}; the plot is now "
                          "at version {now}. Nothing was saved. Compare, then enter again:"),
        "your_value": ("Giá trị bạn nhập", "Your value"), "current_value": ("Giá trị hiện tại", "Current value"),
        "reload": ("Mở lại biểu mẫu với dữ liệu mới nhất", "Open the form again with the latest data"),
        "form": ("biểu mẫu", "form"), "workbook": ("sổ tay xã (Excel)", "commune workbook"),
        "command": ("lệnh", "command"), "version": ("Phiên bản", "Version"),
        "workbook_title": ("Sổ bổ sung thông tin của xã (Excel)", "Commune workbook (Excel)"),
        "workbook_download": ("Tải sổ mẫu các thửa cần bổ sung", "Download the template of the plots to supplement"),
        "workbook_upload": ("Tải lên sổ đã điền", "Upload the filled workbook"),
        "dry_run": ("Chỉ kiểm tra, không lưu", "Check only, save nothing"), "apply": ("Áp dụng", "Apply"),
        "workbook_applied": ("Đã áp dụng sổ bổ sung; các thửa đã được kiểm tra lại.",
                             "The workbook was applied; its plots were checked again."),
        "dry_run_done": ("Đã kiểm tra sổ: không có lỗi, chưa lưu gì.", "Workbook checked: no problem, nothing saved."),
        "workbook_refused": ("Không áp dụng: sửa các ô dưới đây rồi tải lên lại. Chưa có gì được lưu.",
                             "Not applied: correct the cells below and upload again. Nothing was saved."),
        "rows_read": ("Số dòng đã đọc", "Rows read"), "plots_changed": ("Số thửa đã sửa", "Plots changed"),
        "values": ("Giá trị", "Values"), "rows_unchanged": ("Dòng không thay đổi", "Rows unchanged"),
        "closed_findings": ("lỗi đã đóng", "findings closed"), "opened_findings": ("lỗi mới", "findings opened"),
        "sheet_name": ("Trang tính", "Sheet"), "row": ("Dòng", "Row"), "column": ("Cột", "Column"),
        "field": ("Trường", "Field"), "reason": ("Lý do", "Reason"),
        "plot_id": ("Mã thửa trong CSDL", "Plot id"),
        # The reviewer's day (issue 18)
        "page_of": ("Trang {page}/{pages}", "Page {page} of {pages}"),
        "shown": ("lỗi {first}–{last} trong {total}", "findings {first}–{last} of {total}"),
        "first_page": ("« Đầu", "« First"), "prev_page": ("‹ Trước", "‹ Previous"),
        "next_page": ("Sau ›", "Next ›"), "last_page": ("Cuối »", "Last »"), "per_page": ("Mỗi trang", "Per page"),
        "sort_by": ("Sắp xếp theo", "Sort by"), "severity": ("Mức độ", "Severity"),
        "assigned_to": ("Người được giao", "Assigned to"), "reviewed": ("Ngày xử lý", "Reviewed"),
        "select_all": ("Chọn tất cả lỗi trên trang", "Select every finding on the page"),
        "select": ("Chọn lỗi", "Select finding"),
        "bulk": ("Xử lý các lỗi đã chọn", "Review the selected findings"), "selected": ("đã chọn", "selected"),
        "search": ("Tìm kiếm", "Search"),
        "search_hint": ("Mã định danh, số tờ.số thửa, số GCN, tên xã…", "Code, MX.SB.ST, certificate, commune…"),
        "search_results": ("Kết quả tìm kiếm", "Search results"), "no_results": ("Không tìm thấy.", "Nothing found."),
        "search_people": ("Tìm theo người sử dụng đất (ghi nhật ký)", "Search land users (audited)"),
        "search_people_refused": ("Tìm theo tên hoặc số CCCD chỉ dành cho quản trị viên và cán bộ xã.",
                                  "Only administrators and commune officers may search land users."),
        "latest_report": ("Báo cáo mới nhất", "Latest report"), "colour_by": ("Tô màu theo", "Colour by"),
        "share_missing": ("Tỷ lệ thửa thiếu thông tin", "Share of plots missing data"),
        "share_conflict": ("Tỷ lệ thửa xung đột", "Share of plots in conflict"),
        "download_geojson": ("Tải thửa đất (GeoJSON)", "Download the plot (GeoJSON)"),
        "neighbours": ("Thửa liền kề", "Neighbouring plots"), "code_point": ("Điểm sinh mã định danh",
                                                                              "Point of the identification code"),
        "new_commune": ("Xã mới", "New commune"), "old_commune": ("Xã cũ", "Old commune"),
        "problem_here": ("Vị trí lỗi hình học", "Where the geometry is broken"),
        "basemap_none": ("Không có nền", "No background"), "total": ("Toàn tỉnh", "Province total"),
        "commune_name": ("Tên xã/phường", "Name"), "role_user": ("Sử dụng", "User"),
        "descending": ("giảm dần", "descending"),
        "authenticated": ("Đã xác thực", "Authenticated"), "incorrect": ("Sai thông tin", "Incorrect"),
        "unverifiable": ("Không xác thực được", "Unverifiable"),
        "as_of_check": ("Theo lần kiểm tra {when}", "As of the check of {when}"),
    },
    "map": {
        "boundary": ("Ranh giới xã mới", "New commune boundary"),
        "old": ("Xã cũ (trước 01/7/2025)", "Old communes (before 1 Jul 2025)"),
        "code": ("Mã định danh", "Identification code"), "mx": ("Mã thửa mới", "New MX.SB.ST"),
        "legacy": ("Mã thửa cũ", "Legacy MX.SB.ST"),
        "area": ("Diện tích (pháp lý / tính toán)", "Area (legal / computed)"),
        "use": ("Loại đất", "Land use"), "user": ("Người sử dụng đất", "Land user"), "cccd": ("CCCD", "CCCD"),
        "certificate": ("GCN hiệu lực", "Valid certificate"),
        "findings": ("Lỗi", "Findings"), "none": ("không có", "none"), "plot": ("Thửa", "Plot"),
        "legend": ("Chú giải", "Legend"), "type": ("Theo loại lỗi", "By finding type"),
        "basemap_none": ("Không có nền", "No background"),
    },
    "report": {
        "full_data": ("Đủ thông tin", "Full data"), "authenticated": ("Đã xác thực", "Authenticated"),
        "incorrect": ("Sai thông tin", "Incorrect"), "unverifiable": ("Không xác thực được", "Unverifiable"),
        "not_checked": ("Chưa xác thực", "Not yet checked"),
        "missing_1_plus": ("Thiếu ≥ 1 trường", "Missing ≥ 1 field"),
        "title": ("Báo cáo chất lượng dữ liệu đất đai", "Land data quality report"), "province": ("Tỉnh", "Province"),
        "check": ("Kiểm tra", "Check"), "findings": ("Số thửa theo loại lỗi", "Plots per finding type"),
        "per_commune": ("Theo xã/phường", "Per commune"), "category_missing": ("Thiếu thông tin", "Missing data"),
        "category_conflict": ("Xung đột", "Conflict"), "type": ("Loại", "Type"),
        "unassigned": ("chưa gán xã", "no commune"), "total": ("Tổng", "Total"),
        "chart": ("Thửa đất theo xã/phường (đủ / thiếu thông tin)", "Plots per commune (full / missing data)"),
        "note": ("Số liệu theo tiêu chí chiến dịch “đúng – đủ – sạch – sống”. Thông tin cá nhân đã được che.",
                 "Counted the way the campaign counts. Personal data is masked."),
        "register": ("Sổ địa chính", "Land register"),
        "valid_certificates": ("GCN còn hiệu lực", "Valid certificates"),
        "replaced_certificates": ("GCN đã cấp đổi", "Replaced certificates"),
        "cancelled_certificates": ("GCN đã hủy", "Cancelled certificates"),
        "houses": ("Nhà ở riêng lẻ", "Houses"), "apartments": ("Căn hộ", "Apartments"),
        "other_assets": ("Tài sản khác", "Other assets"),
        "paper_plots": ("Thửa có GCN chưa có trong CSDL (cần đo đạc)", "Plots on paper only (to survey)"),
        "paper_plots_attached": ("Thửa trên giấy đã bổ sung bản đồ", "Paper plots since mapped"),
    },
    "cli": {
        "name": ("tên", "name"),
    },
}


def words(surface: str, language: str = "vi") -> dict[str, str]:
    """The words of one surface (``page``, ``map``, ``report``, ``cli``) in ``language``, with the common ones.

    Parameters
    ----------
    surface : str
        Which user interface the words are for.
    language : str
        ``"vi"`` (default) or ``"en"``.

    Returns
    -------
    dict
        ``key → text``; the surface's own words win over the common ones of the same key.
    """
    i = 1 if language == "en" else 0
    return {k: v[i] for k, v in (_COMMON | _SURFACES[surface]).items()}
