"""The words that mark sibling procedures apart (``search.text.variants``) and their use when the
head of the ranking is ordered by name (``search.name_match``).

Names and questions are written the way the catalogue and citizens write them; the bundled word
list is the one the retriever uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.errors import ConfigurationError
from search.name_match import order_siblings, rerank_by_name
from search.retrieval import DocumentHit
from search.text.variants import DEFAULT_VARIANTS_PATH, VariantMarkers
from tests.unit.search.test_name_match_rerank import BIRTH, BIRTH_FOREIGN, hits_of, titles

REISSUE = "Cấp lại chứng chỉ hành nghề hoạt động xây dựng"
NEW = "Cấp mới chứng chỉ hành nghề hoạt động xây dựng"
CONVERT = "Cấp chuyển đổi chứng chỉ hành nghề hoạt động xây dựng"
ONLINE = "Khai báo tạm trú cho người nước ngoài tại Việt Nam qua Trang thông tin điện tử"
ON_PAPER = "Khai báo tạm trú cho người nước ngoài tại Việt Nam bằng Phiếu khai báo tạm trú"
RECORD_HERE = (
    "Cấp Phiếu Lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam, "
    "người Việt Nam đang cư trú ở nước ngoài"
)
RECORD_LEFT = (
    "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam mà không xác định được nơi thường trú hoặc "
    "nơi tạm trú; người nước ngoài đã cư trú tại Việt Nam"
)
BIRTH_HELD = "Thủ tục đăng ký khai sinh cho người đã có hồ sơ, giấy tờ cá nhân"
REPAIR_SMALL = (
    "Cấp giấy phép xây dựng sửa chữa, cải tạo đối với công trình cấp III, cấp IV (công trình Không "
    "theo tuyến/Theo tuyến trong đô thị)"
)
REPAIR_LARGE = (
    "Cấp giấy phép xây dựng sửa chữa, cải tạo đối với công trình cấp đặc biệt, cấp I, cấp II "
    "(công trình Không theo tuyến/Theo tuyến trong đô thị)"
)
RECORD_FOR_COURT = (
    "Cấp Phiếu lý lịch tư pháp theo yêu cầu của cơ quan tiến hành tố tụng (đối tượng là công dân "
    "Việt Nam, người nước ngoài đang cư trú tại Việt Nam)"
)
ADOPT_HERE = "Đăng ký việc nuôi con nuôi trong nước"
ADOPT_FOREIGN_CHILD = (
    "Cấp giấy xác nhận công dân Việt Nam ở trong nước đủ điều kiện nhận trẻ em nước ngoài làm con "
    "nuôi"
)
PAUSE_COMPANY = (
    "Thông báo tạm ngừng kinh doanh, tiếp tục kinh doanh trước thời hạn đã thông báo (doanh "
    "nghiệp, chi nhánh, văn phòng đại diện, địa điểm kinh doanh)"
)
PAUSE_HOUSEHOLD = (
    "Tạm ngừng kinh doanh, tiếp tục kinh doanh trước thời hạn đã thông báo của hộ kinh doanh"
)
LICENCE = "Đổi giấy phép lái xe"
LICENCE_MILITARY = "Đổi giấy phép lái xe quân sự do Bộ Quốc phòng cấp"
SIGNATURE = "Chứng thực chữ ký trong các giấy tờ, văn bản"
SIGNATURE_TRANSLATOR = (
    "Chứng thực chữ ký người dịch mà người dịch không phải là cộng tác viên dịch thuật của Ủy ban "
    "nhân dân cấp xã"
)
LOST_CASE = (
    "Cấp lại chứng chỉ hành nghề môi giới bất động sản (trong trường hợp chứng chỉ bị cháy, bị "
    "mất, bị rách, bị hủy hoại do thiên tai hoặc lý do bất khả kháng khác)"
)
EXPIRED_CASE = (
    "Cấp lại chứng chỉ hành nghề môi giới bất động sản (trong trường hợp chứng chỉ cũ đã hết hạn "
    "hoặc gần hết hạn)"
)


@pytest.fixture(scope="module")
def variants() -> VariantMarkers:
    return VariantMarkers.load()


def rerank(hits: list[DocumentHit], query: str, variants: VariantMarkers | None) -> list[str]:
    return titles(rerank_by_name(hits, [query], weight=2.0, depth=10, rrf_k=10, variants=variants))


def first_by_family(order: list[str], texts: list[str], variants: VariantMarkers) -> str:
    """The first title once the hits in ``order`` are ranked by name, siblings by fit, as the
    retriever ranks them."""
    reranked = rerank_by_name(
        hits_of(order),
        texts,
        weight=2.0,
        depth=10,
        rrf_k=10,
        variants=variants,
        siblings_by_variant=True,
    )
    return titles(reranked)[0]


class TestNames:
    @pytest.mark.parametrize(
        ("name", "markers"),
        [
            (REISSUE, {"lại"}),
            (NEW, set()),
            (CONVERT, {"chuyển đổi"}),  # "đổi" inside it is the same word
            ("Đổi giấy phép lái xe", {"đổi"}),  # "lái" is not "lại"
            (
                "Cấp giấy phép xây dựng sửa chữa, cải tạo đối với công trình cấp III, cấp IV",
                {"sửa chữa", "cải tạo"},
            ),
        ],
    )
    def test_actions_at_the_head_are_found(
        self, variants: VariantMarkers, name: str, markers: set[str]
    ) -> None:
        assert variants.of_name(name).markers == markers

    def test_actions_past_the_head_or_in_parentheses_are_not(
        self, variants: VariantMarkers
    ) -> None:
        purpose = (
            "Đăng ký mua, thuê mua nhà ở xã hội, vay vốn để hộ gia đình tự xây dựng hoặc "
            "cải tạo, sửa chữa nhà ở"
        )
        assert variants.of_name(purpose).markers == set()
        kinds = "Cấp lại giấy phép xây dựng (Nhà ở riêng lẻ/Sửa chữa, cải tạo/Di dời công trình)"
        assert variants.of_name(kinds).markers == {"lại"}

    def test_qualifiers_are_found_anywhere(self, variants: VariantMarkers) -> None:
        name = "Thủ tục đăng ký kết hôn có yếu tố nước ngoài tại khu vực biên giới"
        assert variants.of_name(name).markers == {"yếu tố nước ngoài", "khu vực biên giới"}

    def test_a_fully_online_procedure_is_marked_however_the_catalogue_words_it(
        self, variants: VariantMarkers
    ) -> None:
        for name in (
            "Cấp lại chứng nhận đăng ký xe, biển số xe thực hiện bằng dịch vụ công trực tuyến "
            "toàn trình",
            "Thu hồi chứng nhận đăng ký xe, biển số xe thực hiện bằng dịch vụ công toàn trình",
        ):
            assert "toàn trình" in variants.of_name(name).markers, name
        direct = (
            "Thu hồi giấy chứng nhận đăng ký, biển số xe thực hiện bằng dịch vụ công trực tuyến "
            "một phần hoặc trực tiếp"
        )
        assert variants.of_name(direct).markers == {"thu hồi"}

    def test_a_procedure_without_permission_is_a_variant_the_question_must_say(
        self, variants: VariantMarkers
    ) -> None:
        name = (
            "Đăng ký biến động chuyển mục đích sử dụng đất không phải xin phép cơ quan nhà nước "
            "có thẩm quyền"
        )
        assert variants.of_name(name).markers == {"không phải xin phép"}
        garden = variants.in_query(["muốn chuyển đất vườn sang đất ở để xây nhà"])
        assert variants.unsaid(name, garden) == 1
        said = variants.in_query(
            ["trồng cây lâu năm trên đất lúa thì không cần xin phép đúng không"]
        )
        assert variants.unsaid(name, said) == 0

    @pytest.mark.parametrize(
        "name",
        [
            "Cấp Phiếu Lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại "
            "Việt Nam, người Việt Nam đang cư trú ở nước ngoài",
            "Đăng ký đất đai lần đầu đối với hộ gia đình, cá nhân, cộng đồng dân cư, người gốc "
            "Việt Nam định cư ở nước ngoài",
        ],
    )
    def test_a_qualifier_of_one_applicant_among_people_at_home_is_no_variant(
        self, variants: VariantMarkers, name: str
    ) -> None:
        assert variants.of_name(name).markers == set()

    @pytest.mark.parametrize(
        ("name", "markers"),
        [
            # The applicant at home and the qualifier are one item: citizens abroad.
            ("Cấp Giấy xác nhận nhân sự của công dân Việt Nam ở nước ngoài", {"ở nước ngoài"}),
            # "cá nhân" here is personal papers, not an applicant.
            (
                "Thủ tục đăng ký khai sinh có yếu tố nước ngoài cho người đã có hồ sơ, giấy tờ "
                "cá nhân",
                {"yếu tố nước ngoài", "người đã có hồ sơ"},
            ),
            ("Thủ tục đăng ký nhận cha, mẹ, con có yếu tố nước ngoài", {"yếu tố nước ngoài"}),
        ],
    )
    def test_a_qualifier_of_the_whole_procedure_stays_a_variant(
        self, variants: VariantMarkers, name: str, markers: set[str]
    ) -> None:
        assert variants.of_name(name).markers == markers

    @pytest.mark.parametrize(
        ("name", "markers"),
        [
            ("Cấp lại thẻ căn cước", {"lại"}),
            ("Đăng ký lại khai tử", {"lại"}),
            (
                "Xác định lại diện tích đất ở của hộ gia đình, cá nhân đã được cấp Giấy chứng nhận",
                set(),
            ),
            ("Trả lại giấy phép nhận chìm", set()),
            ("Bổ nhiệm lại Thừa phát lại", {"lại"}),
            ("Công nhận tương đương đào tạo nghề Thừa phát lại ở nước ngoài", {"ở nước ngoài"}),
        ],
    )
    def test_again_is_a_reissue_only_after_a_verb_of_issuing(
        self, variants: VariantMarkers, name: str, markers: set[str]
    ) -> None:
        assert variants.of_name(name).markers == markers

    def test_a_marker_inside_a_longer_one_is_not_counted_again(
        self, variants: VariantMarkers
    ) -> None:
        name = "Chuyển đổi cơ cấu cây trồng, vật nuôi trên đất trồng lúa"
        assert variants.of_name(name).markers == {"chuyển đổi"}
        # Said apart from the longer one, it is a marker of its own.
        assert variants.of_name("Cấp đổi, chuyển đổi giấy phép").markers == {"đổi", "chuyển đổi"}
        # A question says it the same way.
        said = variants.in_query(["muốn chuyển đổi chứng chỉ"])
        assert said.surely == {"chuyển đổi"}
        assert variants.in_query(["muon chuyen doi chung chi"]).maybe == {"chuyển đổi"}

    def test_a_name_that_lists_its_base_action_is_not_a_variant(
        self, variants: VariantMarkers
    ) -> None:
        listing = variants.of_name("Cấp, cấp lại giấy phép kinh doanh karaoke")
        assert listing.lists_base and listing.markers == {"lại"}
        assert (
            variants.unsaid(
                "Cấp, cấp lại giấy phép kinh doanh karaoke",
                variants.in_query(["xin giấy phép karaoke"]),
            )
            == 0
        )


class TestQueries:
    def test_a_situation_implies_its_marker(self, variants: VariantMarkers) -> None:
        said = variants.in_query(["tôi bị mất chứng chỉ hành nghề"])
        assert said.surely == {"lại"}
        assert variants.in_query(["con sinh ra tại Nhật Bản"]).surely >= {"yếu tố nước ngoài"}

    def test_at_home_is_where_something_happened_not_a_visit(
        self, variants: VariantMarkers
    ) -> None:
        # The official comes "tận nhà" for a mobile registration; "tại nhà" is where a death, a
        # birth or a shop is, which the plain procedure covers.
        assert variants.in_query(["cán bộ đến tận nhà đăng ký khai tử"]).surely == {"lưu động"}
        assert variants.in_query(["mẹ tôi qua đời tại nhà riêng"]).surely == set()

    def test_handing_something_back_asks_for_no_reissue(self, variants: VariantMarkers) -> None:
        assert "lại" not in variants.in_query(["xe bán phế liệu, tôi muốn trả lại biển số"]).surely
        assert "lại" in variants.in_query(["mất sổ đỏ, xin cấp lại"]).surely

    @pytest.mark.parametrize(
        "question",
        [
            "thẻ bhyt của e bị sai ngày sinh, muốn sửa lại thì nộp cho ai",
            "sổ đỏ vẫn ghi số chứng minh cũ, có phải cập nhật lại không",
            "bố tôi mất, để lại một căn nhà",
            "quán đóng cửa mấy tháng rồi mở lại",
        ],
    )
    def test_correcting_or_leaving_something_asks_for_no_reissue(
        self, variants: VariantMarkers, question: str
    ) -> None:
        assert "lại" not in variants.in_query([question]).surely

    @pytest.mark.parametrize(
        "question",
        [
            "chồng e quốc tịch Hàn, bé mới sinh ở bệnh viện Từ Dũ",
            "sắp kết hôn với vị hôn phu quốc tịch Pháp",
            "công ty bảo lãnh một chuyên gia quốc tịch Đức",
            "bạn trai tôi người Philippines",
            "vợ tôi là người Ấn Độ",
        ],
    )
    def test_a_person_named_by_a_foreign_nationality_is_a_foreigner(
        self, variants: VariantMarkers, question: str
    ) -> None:
        assert variants.in_query([question]).surely >= {"yếu tố nước ngoài", "người nước ngoài"}

    @pytest.mark.parametrize(
        "question",
        [
            "người anh trai tôi muốn làm khai sinh cho con",  # an elder brother
            "tôi là người Thái ở Sơn La",  # a people of Viet Nam
            "chồng Đức của tôi đi làm xa",  # a husband called Đức
            "tôi là người Đức Thọ",  # a district of Hà Tĩnh
            "chồng Nhật của tôi",
            "quốc tịch anh ấy là gì",  # his nationality
            "tôi mang quốc tịch Việt Nam",
        ],
    )
    def test_a_people_that_is_also_a_word_needs_a_word_that_names_a_nationality(
        self, variants: VariantMarkers, question: str
    ) -> None:
        assert not variants.in_query([question]).surely & {"yếu tố nước ngoài", "người nước ngoài"}

    def test_text_without_diacritics_only_may_say_a_marker(self, variants: VariantMarkers) -> None:
        said = variants.in_query(["bang lai xe"])  # "lái" or "lại": it cannot tell
        assert said.surely == set()
        assert said.maybe == {"lại"}
        # The restored reading is believed.
        assert variants.in_query(["cap lai bang", "cấp lại bằng"]).surely == {"lại"}

    def test_situations_are_not_read_without_diacritics(self, variants: VariantMarkers) -> None:
        # "bi mat" may be "bí mật" (a secret): a folded trigger would say too much. A loose
        # one may be read: it only spares a name the cost of leaving its marker unsaid.
        said = variants.in_query(["bi mat so ho khau"])
        assert said.surely == set()
        assert said.maybe == {"trình báo"}

    def test_a_loss_may_be_reported_or_replaced(self, variants: VariantMarkers) -> None:
        report = "Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp xã)"
        issue = "Cấp hộ chiếu phổ thông ở trong nước (thực hiện tại cấp tỉnh)"
        among = variants.of_name(report).markers
        assert among == {"trình báo"}
        first = variants.in_query(["làm hộ chiếu lần đầu cho con"])
        assert variants.penalty(report, first, among) == (1, 0)
        for lost in (["bị mất hộ chiếu ở quê"], ["toi lam mat ho chieu"]):
            said = variants.in_query(lost)
            assert "trình báo" not in said.surely
            assert variants.penalty(report, said, among) == (0, 0), lost
            assert variants.penalty(issue, said, among) == (0, 0), lost

    def test_unsaid_and_missing_are_counted(self, variants: VariantMarkers) -> None:
        plain = variants.in_query(["được cấp chứng chỉ hành nghề"])
        assert variants.unsaid(REISSUE, plain) == 1
        assert variants.unsaid(NEW, plain) == 0
        lost = variants.in_query(["bị mất chứng chỉ hành nghề"])
        among = variants.of_name(REISSUE).markers
        assert variants.missing(NEW, lost, among) == 1
        assert variants.missing(REISSUE, lost, among) == 0


class TestRerank:
    def test_a_question_that_names_no_variant_gets_the_base(self, variants: VariantMarkers) -> None:
        hits = hits_of([REISSUE, CONVERT, NEW])
        query = "kỹ sư muốn được cấp chứng chỉ hành nghề hoạt động xây dựng hạng III"
        assert rerank(hits, query, None)[0] == REISSUE
        assert rerank(hits, query, variants)[0] == NEW

    def test_a_situation_that_implies_the_variant_gets_it(self, variants: VariantMarkers) -> None:
        hits = hits_of([NEW, REISSUE])
        query = "bị mất chứng chỉ hành nghề hoạt động xây dựng thì làm sao"
        assert rerank(hits, query, variants) == [REISSUE, NEW]

    @pytest.mark.parametrize(
        ("situation", "sibling"),
        [
            ("giấy phép sắp hết hiệu lực mà chưa khởi công, xin kéo dài", "Gia hạn"),
            ("giấy phép bị ố vàng, không đọc được", "Cấp đổi"),
            ("muốn thay đổi thiết kế từ ba tầng lên bốn tầng", "Điều chỉnh"),
            ("được cấp từ năm ngoái mà chưa khởi công", "Gia hạn"),
        ],
    )
    def test_a_situation_implies_the_action_its_sibling_names(
        self, variants: VariantMarkers, situation: str, sibling: str
    ) -> None:
        base = "giấy phép xây dựng đối với công trình cấp III"
        names = [f"Cấp {base}", f"{sibling} {base}"]
        assert rerank(hits_of(names), f"{situation}, giấy phép xây dựng", variants)[0] == names[1]

    def test_a_foreign_element_gets_the_foreign_sibling(self, variants: VariantMarkers) -> None:
        hits = hits_of([BIRTH, BIRTH_FOREIGN])
        query = "con tôi sinh ở Hàn Quốc, giờ về Việt Nam đăng ký khai sinh ở đâu"
        assert rerank(hits, query, None) == [BIRTH, BIRTH_FOREIGN]
        assert rerank(hits, query, variants) == [BIRTH_FOREIGN, BIRTH]
        assert rerank(hits, "đăng ký khai sinh cho con", variants) == [BIRTH, BIRTH_FOREIGN]

    def test_a_procedure_for_foreigners_goes_behind_its_sibling_unless_they_are_said(
        self, variants: VariantMarkers
    ) -> None:
        foreign = "Đổi giấy phép lái xe hoặc bằng lái xe của người nước ngoài"
        hits = hits_of([foreign, "Đổi giấy phép lái xe"])
        assert rerank(hits, "đổi bằng lái xe", variants) == ["Đổi giấy phép lái xe", foreign]
        said = "người nước ngoài muốn đổi bằng lái xe"
        assert rerank(hits, said, variants) == [foreign, "Đổi giấy phép lái xe"]
        korean = "chồng tôi người Hàn Quốc muốn đổi bằng lái xe"
        assert rerank(hits, korean, variants)[0] == foreign

    def test_negative_weights_raise(self, variants: VariantMarkers) -> None:
        with pytest.raises(ValueError, match="unsaid"):
            rerank_by_name(
                hits_of([NEW, REISSUE]),
                [NEW],
                weight=1.0,
                depth=10,
                rrf_k=10,
                variants=variants,
                unsaid=-1.0,
            )


class TestLoad:
    def test_the_bundled_list_loads(self, variants: VariantMarkers) -> None:
        assert variants.of_name(REISSUE).markers == {"lại"}

    def test_a_missing_file_is_a_configuration_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="do not exist"):
            VariantMarkers.load(tmp_path / "none.json")

    @pytest.mark.parametrize(
        "content",
        [
            "not json",
            json.dumps({"actions": ["lại"]}),
            json.dumps(
                {
                    "actions": ["lại"],
                    "qualifiers": [],
                    "head_ends": [],
                    "implied_by": {"bị mất": ["gia hạn"]},
                }
            ),
            json.dumps(
                {
                    "actions": [],
                    "qualifiers": ["người nước ngoài"],
                    "head_ends": [],
                    "implied_by": {},
                    "nationals": {
                        "implies": ["người nước ngoài"],
                        "after": ["người"],
                        "peoples": ["hàn"],
                        "only_after": {"anh": ["quốc tịch"]},
                    },
                }
            ),
            json.dumps(
                {
                    "actions": [],
                    "qualifiers": [],
                    "head_ends": [],
                    "implied_by": {},
                    "nationals": {"implies": ["người nước ngoài"], "after": [], "peoples": []},
                }
            ),
            json.dumps(
                {
                    "actions": ["lại"],
                    "qualifiers": [],
                    "head_ends": [],
                    "implied_by": {},
                    "loosely_implied_by": {"mất": ["trình báo"]},
                }
            ),
        ],
    )
    def test_a_bad_file_is_a_configuration_error(self, tmp_path: Path, content: str) -> None:
        path = tmp_path / "variants.json"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ConfigurationError, match="not valid"):
            VariantMarkers.load(path)


class TestSiblings:
    @pytest.mark.parametrize(
        ("name", "sibling"),
        [
            ("Cấp lại thẻ căn cước (thực hiện tại cấp tỉnh)", "Cấp đổi thẻ căn cước"),
            (BIRTH, BIRTH_FOREIGN),
            ("Thủ tục đăng ký khai tử", "Đăng ký lại khai tử"),
            (
                "Cấp giấy phép xây dựng mới đối với công trình cấp III",
                "Gia hạn giấy phép xây dựng đối với công trình cấp III",
            ),
            ("Thôi quốc tịch Việt Nam ở trong nước", "Thôi quốc tịch Việt Nam ở nước ngoài"),
        ],
    )
    def test_siblings_share_a_base(self, variants: VariantMarkers, name: str, sibling: str) -> None:
        assert variants.of_name(name).base == variants.of_name(sibling).base

    @pytest.mark.parametrize(
        ("question", "first"),
        [
            ("nhà có khách nước ngoài thuê, khai báo tạm trú qua mạng được không", ONLINE),
            ("khai bao tam tru cho khach tay online o dau", ONLINE),
            ("khai báo tạm trú cho người nước ngoài ở đâu", ON_PAPER),
        ],
    )
    def test_saying_online_means_the_online_sibling(
        self, variants: VariantMarkers, question: str, first: str
    ) -> None:
        analyzed = [question]
        if question.isascii():  # as the retriever reads it: restored too
            analyzed.append("khai báo tạm trú cho khách tây online ở đâu")
        for order in ([ONLINE, ON_PAPER], [ON_PAPER, ONLINE]):
            assert first_by_family(order, analyzed, variants) == first, order

    @pytest.mark.parametrize(
        ("question", "first"),
        [
            ("tôi cần phiếu lý lịch tư pháp số 1 để nộp hồ sơ xin việc", RECORD_HERE),
            (
                "tôi là người nước ngoài, từng làm việc tại Việt Nam ba năm, đã về nước, cần phiếu "
                "lý lịch tư pháp",
                RECORD_LEFT,
            ),
        ],
    )
    def test_a_record_for_those_without_a_known_residence_is_asked_for_by_them(
        self, variants: VariantMarkers, question: str, first: str
    ) -> None:
        for order in ([RECORD_HERE, RECORD_LEFT], [RECORD_LEFT, RECORD_HERE]):
            assert first_by_family(order, [question], variants) == first, order

    @pytest.mark.parametrize(
        ("question", "first", "sibling"),
        [
            ("xin phiếu lý lịch tư pháp để nộp hồ sơ xin việc", RECORD_HERE, RECORD_FOR_COURT),
            (
                "viện kiểm sát đề nghị cấp phiếu lý lịch tư pháp của bị can",
                RECORD_FOR_COURT,
                RECORD_HERE,
            ),
            (
                "vợ chồng tôi muốn nhận cháu họ trong nước làm con nuôi",
                ADOPT_HERE,
                ADOPT_FOREIGN_CHILD,
            ),
            ("công ty TNHH muốn tạm dừng hoạt động một năm", PAUSE_COMPANY, PAUSE_HOUSEHOLD),
            ("bằng lái B2 sắp hết hạn, đổi ở đâu", LICENCE, LICENCE_MILITARY),
            ("tôi là quân nhân, muốn đổi bằng lái xe do quân đội cấp", LICENCE_MILITARY, LICENCE),
            ("quán phở nhà tôi muốn nghỉ bán ba tháng", PAUSE_HOUSEHOLD, PAUSE_COMPANY),
            (
                "vợ chồng tôi ở Việt Nam muốn nhận một bé người nước ngoài làm con nuôi",
                ADOPT_FOREIGN_CHILD,
                ADOPT_HERE,
            ),
            (
                "sửa nhà, đập tường làm lại mặt tiền có phải xin giấy phép xây dựng",
                REPAIR_SMALL,
                REPAIR_LARGE,
            ),
            (
                "cải tạo tòa nhà văn phòng 20 tầng thì xin giấy phép xây dựng ở đâu",
                REPAIR_LARGE,
                REPAIR_SMALL,
            ),
            ("chứng thực chữ ký trên giấy ủy quyền ở đâu", SIGNATURE, SIGNATURE_TRANSLATOR),
            (
                "chứng thực chữ ký trên bản dịch hộ chiếu sang tiếng Anh",
                SIGNATURE_TRANSLATOR,
                SIGNATURE,
            ),
            ("vợ tôi mới sinh, làm giấy khai sinh cho con ở đâu", BIRTH, BIRTH_HELD),
            ("tôi 40 tuổi, đã có căn cước nhưng chưa từng đăng ký khai sinh", BIRTH_HELD, BIRTH),
            ("đăng ký khai sinh muộn cho người lớn tuổi", BIRTH_HELD, BIRTH),
        ],
    )
    def test_a_variant_comes_first_only_when_the_question_says_or_implies_it(
        self, variants: VariantMarkers, question: str, first: str, sibling: str
    ) -> None:
        for order in ([first, sibling], [sibling, first]):
            assert first_by_family(order, [question], variants) == first, order

    def test_a_birth_for_someone_who_already_holds_papers_is_a_variant(
        self, variants: VariantMarkers
    ) -> None:
        assert variants.of_name(BIRTH_HELD).markers == {"người đã có hồ sơ"}

    def test_a_name_states_its_case_in_parentheses_too(self, variants: VariantMarkers) -> None:
        assert variants.situations_of(LOST_CASE) == {"mất", "hỏng"}
        assert variants.situations_of(EXPIRED_CASE) == {"hết hạn"}
        assert variants.situations_of("Cấp lại Giấy chứng nhận do bị mất") == {"mất"}
        assert variants.situations_of(REISSUE) == frozenset()

    @pytest.mark.parametrize(
        ("question", "first"),
        [
            ("em lỡ làm mất chứng chỉ môi giới bđs rồi, xin cấp lại thế nào", LOST_CASE),
            ("chứng chỉ môi giới bất động sản của tôi sắp hết hạn, xin lại ở đâu", EXPIRED_CASE),
        ],
    )
    def test_the_sibling_stating_the_question_case_goes_first(
        self, variants: VariantMarkers, question: str, first: str
    ) -> None:
        for order in ([LOST_CASE, EXPIRED_CASE], [EXPIRED_CASE, LOST_CASE]):
            assert first_by_family([*order, "Chứng thực bản sao"], [question], variants) == first

    def test_a_question_stating_no_case_is_ranked_as_without_cases(
        self, variants: VariantMarkers
    ) -> None:
        data = json.loads(DEFAULT_VARIANTS_PATH.read_text(encoding="utf-8"))
        del data["situations"]
        without_cases = VariantMarkers(**{k: v for k, v in data.items() if k != "description"})
        question = "xin cấp lại chứng chỉ môi giới bất động sản"
        for order in ([LOST_CASE, EXPIRED_CASE], [EXPIRED_CASE, LOST_CASE]):
            with_cases = first_by_family(order, [question], variants)
            assert with_cases == first_by_family(order, [question], without_cases), order

    def test_different_procedures_do_not(self, variants: VariantMarkers) -> None:
        assert variants.of_name(BIRTH).base != variants.of_name("Thủ tục đăng ký kết hôn").base
        assert (
            variants.of_name("Thôi quốc tịch Việt Nam ở nước ngoài").base
            != variants.of_name("Nhập quốc tịch Việt Nam ở nước ngoài").base
        )

    def test_the_sibling_the_question_implies_takes_the_best_place_of_its_family(
        self, variants: VariantMarkers
    ) -> None:
        # The plain procedure is first on every list; the question says a foreign husband.
        order = [BIRTH.replace("khai sinh", "khai tử"), "Đăng ký lại khai tử", "Chứng thực bản sao"]
        order.append(BIRTH_FOREIGN.replace("khai sinh", "khai tử"))
        hits = hits_of(order)
        query = ["chồng tôi là người Đài Loan mất ở Việt Nam, làm giấy khai tử ở đâu"]

        reranked = rerank_by_name(
            hits,
            query,
            weight=2.0,
            depth=10,
            rrf_k=10,
            variants=variants,
            siblings_by_variant=True,
        )
        ranked = titles(reranked)
        plain_hits = rerank_by_name(hits, query, weight=2.0, depth=10, rrf_k=10, variants=variants)
        plain = titles(plain_hits)

        assert ranked[0] == "Thủ tục đăng ký khai tử có yếu tố nước ngoài"
        assert plain[0] == "Thủ tục đăng ký khai tử"
        # Another procedure keeps its place among them.
        assert ranked.index("Chứng thực bản sao") == plain.index("Chứng thực bản sao")
        # Each place keeps its score, so the scores still fall in rank order.
        assert [h.score for h in reranked] == [h.score for h in plain_hits]


def in_places_of(hits: list[DocumentHit], order: list[str]) -> list[DocumentHit]:
    """``hits`` in the order of the titles ``order``, as a later stage moves them: each place
    keeps its score."""
    moved = sorted(hits, key=lambda h: order.index(h.title))
    return [h.model_copy(update={"score": p.score}) for h, p in zip(moved, hits, strict=True)]


class TestSiblingsAfterALaterStage:
    QUERY = (
        "Chồng tôi mang quốc tịch Hàn Quốc, con chúng tôi sinh ở Việt Nam: làm giấy khai sinh",
    )

    def named(self, order: list[str], variants: VariantMarkers, depth: int) -> list[DocumentHit]:
        return rerank_by_name(
            hits_of(order),
            self.QUERY,
            weight=2.0,
            depth=depth,
            rrf_k=10,
            variants=variants,
            siblings_by_variant=True,
        )

    def test_the_sibling_the_question_implies_takes_back_its_place(
        self, variants: VariantMarkers
    ) -> None:
        named = self.named([BIRTH, SIGNATURE, BIRTH_FOREIGN], variants, depth=10)
        assert titles(named)[0] == BIRTH_FOREIGN
        # A later stage puts the plain name first; the places keep their scores.
        moved = in_places_of(named, [BIRTH, SIGNATURE, BIRTH_FOREIGN])

        restored = order_siblings(moved, self.QUERY, variants)

        assert titles(restored)[0] == BIRTH_FOREIGN
        assert titles(restored).index(SIGNATURE) == titles(moved).index(SIGNATURE)
        assert [h.score for h in restored] == [h.score for h in moved]

    def test_hits_beyond_the_name_match_keep_their_places(self, variants: VariantMarkers) -> None:
        # The variant is past the name match's depth: it has no fit to be ordered by.
        named = self.named([SIGNATURE, BIRTH, BIRTH_FOREIGN], variants, depth=2)
        assert titles(order_siblings(named, self.QUERY, variants)) == titles(named)

    def test_siblings_the_question_weighs_alike_keep_the_later_order(
        self, variants: VariantMarkers
    ) -> None:
        mobile = "Thủ tục đăng ký khai sinh lưu động"
        again = "Thủ tục đăng ký lại khai sinh"
        named = self.named([mobile, again, BIRTH_FOREIGN], variants, depth=10)
        by_title = {h.title: h.list_scores for h in named}
        # Each says a marker the question does not; "lại" covers a little more of the question.
        assert by_title[mobile]["variant_penalty"] == by_title[again]["variant_penalty"]
        assert by_title[again]["name_match"] > by_title[mobile]["name_match"]
        # A later stage puts the foreign variant last and "lưu động" before "lại".
        later = in_places_of(named, [mobile, again, BIRTH_FOREIGN])

        # The variant the question implies takes the first place; the two it weighs alike
        # keep the later stage's order, whatever their coverage.
        restored = order_siblings(later, self.QUERY, variants)
        assert titles(restored) == [BIRTH_FOREIGN, mobile, again]
