"""Small procedure dumps in the shape of the real crawl (``dvcqg-procedures.jsonl.gz``).

Every procedure here is invented: codes in the unused "1.9xxxxx" range, made-up names and
agencies, no personal data. Each has its own topic words so that a lexical query finds it and
no other.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Each invented procedure: (code, name, field, a topic phrase used in its conditions).
PROCEDURES: list[tuple[str, str, str, str]] = [
    ("1.900001", "Cấp giấy phép nuôi chim bồ câu đưa thư", "Chăn nuôi", "chuồng bồ câu"),
    ("1.900002", "Đăng ký bay khinh khí cầu du lịch", "Hàng không", "khinh khí cầu"),
    ("1.900003", "Cấp chứng nhận vườn sâm núi", "Trồng trọt", "vườn sâm"),
    ("1.900004", "Thẩm định thiết kế cầu tre nông thôn", "Giao thông", "cầu tre"),
    ("1.900005", "Cấp phép biểu diễn múa rối nước", "Văn hóa", "múa rối nước"),
]


def procedure_record(
    code: str,
    name: str,
    *,
    field: str = "Thử nghiệm",
    topic: str = "",
    **changes: Any,
) -> dict[str, Any]:
    """One dump line as a dict, with every key the crawl writes, in the crawl's flattened form.

    Args:
        code: ``ma_thu_tuc``; a provincial one ends in ".H<digits>".
        name: ``ten_thu_tuc``.
        field: ``linh_vuc``.
        topic: Words put in the conditions, so that a query can find this procedure's chunk.
        **changes: Keys to override or add (``None`` removes the key).
    """
    slug = code.replace(".", "-")
    record: dict[str, Any] = {
        "ma_thu_tuc": code,
        "detail_url": f"https://dichvucong.gov.vn/thu-tuc-hanh-chinh/test-{slug}",
        "formality_id": "",
        "ten_thu_tuc": name,
        "so_quyet_dinh": "1/QĐ-TEST",
        "cap_thuc_hien": "Cấp tỉnh",
        "loai_thu_tuc": "TTHC được giao luật quy định chi tiết",
        "linh_vuc": field,
        "doi_tuong_thuc_hien": "Công dân Việt Nam, Tổ chức (không bao gồm doanh nghiệp, HTX)",
        "co_quan_co_tham_quyen": "Sở Thử nghiệm",
        "dia_chi_tiep_nhan": "",
        "co_quan_duoc_uy_quyen": "",
        "co_quan_phoi_hop": "",
        "thu_tuc_lien_quan": "Không có thông tin",
        "trinh_tu_thuc_hien": "Bước 1: Nộp hồ sơ tại Bộ phận Một cửa.\nBước 2: Nhận kết quả.",
        "cach_thuc_thuc_hien": "Hình thức nộpThời gianPhí, lệ phíMô tả"
        "Trực tiếp10 Ngày làm việcKhông có thông tinNộp tại Bộ phận Một cửa.",
        "thanh_phan_ho_so": "--Tên giấy tờMẫu đơn, tờ khaiSố lượngĐơn đề nghị1 bản chính",
        "can_cu_phap_ly": "Tên văn bản pháp lýMã văn bảnThông tư thử nghiệm01/2026/TT-BTN",
        "co_quan_thuc_hien": "Phòng Thử nghiệm",
        "yeu_cau_dieu_kien": f"Có hồ sơ hợp lệ về {topic or name}.",
        "ket_qua_xu_ly": "Giấy chứng nhậnMã: KQ.G99.000001Từ khóaKhông có thông tinMô tả",
        "_source_file": f"scripts/crawler/data/raw/thu-nghiem/{code}.json",
    }
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def standard_records() -> list[dict[str, Any]]:
    """The five invented national procedures of ``PROCEDURES``."""
    return [
        procedure_record(code, name, field=field, topic=topic)
        for code, name, field, topic in PROCEDURES
    ]


def write_dump(
    path: Path, lines: Sequence[dict[str, Any] | str], *, compress: bool = False
) -> Path:
    """Write a dump: dicts become JSON lines, strings are written as they are (bad lines).

    Args:
        path: ``.jsonl`` or ``.jsonl.gz`` file to (over)write.
        lines: The lines in order.
        compress: Gzip the file (name it ``.jsonl.gz``).
    """
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
        for line in lines
    )
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path
