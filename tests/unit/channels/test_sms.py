"""SMS: the keyword grammar, GSM-7/UCS-2 segments, gateway signatures and adapters, campaigns."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx
import pytest

from answer_service.channels.errors import (
    ForgedWebhook,
    MalformedWebhook,
    ProviderError,
    UnsignedWebhook,
)
from answer_service.channels.sms.campaigns import run_campaign
from answer_service.channels.sms.encoding import (
    fit_sms,
    is_gsm7,
    split_segments,
    strip_diacritics,
    to_gsm7,
)
from answer_service.channels.sms.gateways import (
    EsmsGateway,
    SpeedSmsGateway,
    canonical_query,
    normalize_phone,
    parse_esms_query,
    parse_neutral_body,
    parse_speedsms_body,
)
from answer_service.channels.sms.grammar import SmsCommand, parse_sms
from answer_service.channels.store import ConversationStore, utcnow

SECRET = "sms-secret"


class TestGrammar:
    @pytest.mark.parametrize(
        ("text", "command", "argument"),
        [
            ("TTHC khai sinh", SmsCommand.LOOKUP, "khai sinh"),
            ("  tthc    Khai   sinh ", SmsCommand.LOOKUP, "Khai sinh"),
            ("Tthc: đăng ký kết hôn", SmsCommand.LOOKUP, "đăng ký kết hôn"),
            ("MA 1.001193", SmsCommand.CODE, "1.001193"),
            ("ma1.001193", SmsCommand.CODE, "1.001193"),
            ("Mã: 1.001193", SmsCommand.CODE, "1.001193"),
            ("hs 000.00.12.H99-260101-0001", SmsCommand.DOSSIER, "000.00.12.H99-260101-0001"),
            ("HELP", SmsCommand.HELP, ""),
            ("trợ giúp", SmsCommand.HELP, ""),
            ("TROGIUP", SmsCommand.HELP, ""),
            ("TUCHOI", SmsCommand.OPT_OUT, ""),
            ("Từ  chối", SmsCommand.OPT_OUT, ""),
            ("stop", SmsCommand.OPT_OUT, ""),
            ("DANGKY", SmsCommand.OPT_IN, ""),
            ("đăng ký", SmsCommand.OPT_IN, ""),
            ("TTHC", SmsCommand.HELP, ""),
            ("Đăng ký khai sinh ở đâu?", SmsCommand.QUESTION, "Đăng ký khai sinh ở đâu?"),
            ("Mã số thuế cá nhân là gì", SmsCommand.QUESTION, "Mã số thuế cá nhân là gì"),
            ("Mat giay to thi lam sao", SmsCommand.QUESTION, "Mat giay to thi lam sao"),
        ],
    )
    def test_run_parse(self, text: str, command: SmsCommand, argument: str) -> None:
        parsed = parse_sms(text)

        assert (parsed.command, parsed.argument) == (command, argument)

    def test_from_str_unknown_lists_allowed(self) -> None:
        with pytest.raises(ValueError, match="allowed: lookup"):
            SmsCommand.from_str("bogus")


class TestEncoding:
    def test_strip_diacritics(self) -> None:
        assert strip_diacritics("Đăng ký khai sinh ở Ủy ban") == "Dang ky khai sinh o Uy ban"

    def test_gsm7_single_is_160_and_concatenated_153(self) -> None:
        assert len(split_segments("a" * 160, unicode=False)) == 1
        parts = split_segments("a" * 161, unicode=False)
        assert [len(p) for p in parts] == [153, 8]

    def test_extension_characters_count_twice_and_are_not_split(self) -> None:
        assert len(split_segments("{" * 80, unicode=False)) == 1
        parts = split_segments("a" * 152 + "€" + "b" * 10, unicode=False)
        assert parts[0] == "a" * 152 and parts[1].startswith("€")

    def test_ucs2_70_and_67_without_splitting_a_surrogate_pair(self) -> None:
        assert len(split_segments("ệ" * 70, unicode=True)) == 1
        parts = split_segments("ệ" * 66 + "😀" + "ệ" * 5, unicode=True)
        assert parts[0] == "ệ" * 66 and parts[1].startswith("😀")

    def test_run_fit_sms_gsm7_within_segments_keeps_link(self) -> None:
        body = "Thủ tục đăng ký khai sinh cần tờ khai và giấy chứng sinh. " * 10
        link = "https://dvc.example/tthc?ma=1.001193"

        sms = fit_sms(body, link=link, max_segments=2)

        assert is_gsm7(sms.text) and sms.segments <= 2 and not sms.unicode
        assert sms.text.endswith(" " + link) and "..." in sms.text
        assert "Thu tuc dang ky khai sinh" in sms.text
        assert len(sms.text) <= 2 * 153

    def test_run_fit_sms_short_text_is_one_segment(self) -> None:
        sms = fit_sms("Xin cảm ơn", max_segments=1)

        assert (sms.text, sms.segments) == ("Xin cam on", 1)

    def test_run_fit_sms_unicode_keeps_diacritics(self) -> None:
        sms = fit_sms(
            "Đăng ký khai sinh " * 20, link="https://x.example/1", max_segments=2, unicode=True
        )

        assert sms.unicode and "Đăng ký" in sms.text and sms.segments <= 2

    def test_to_gsm7_replaces_other_characters(self) -> None:
        assert to_gsm7("Giá: 10.000₫ — “miễn phí”") == 'Gia: 10.000? - "mien phi"'


def esms_params(now: float, **changes: str) -> dict[str, str]:
    params = {
        "Phone": "84900000001",
        "Content": "TTHC khai sinh",
        "RequestId": "r1",
        "Time": str(int(now)),
    }
    params["Signature"] = hmac.new(
        SECRET.encode(), canonical_query(params), hashlib.sha256
    ).hexdigest()
    return params | changes


class TestInboundSignatures:
    def test_run_esms_query(self) -> None:
        now = time.time()

        sms = parse_esms_query(esms_params(now), secret=SECRET, max_age_s=60, now=now)

        assert (sms.sender, sms.text, sms.message_id) == ("0900000001", "TTHC khai sinh", "r1")

    @pytest.mark.parametrize(
        ("changes", "error"),
        [
            ({"Content": "TTHC ket hon"}, ForgedWebhook),
            ({"Signature": ""}, UnsignedWebhook),
            ({"Signature": "00" * 32}, ForgedWebhook),
        ],
    )
    def test_esms_bad_signature_raises(self, changes: dict[str, str], error: type) -> None:
        now = time.time()

        with pytest.raises(error):
            parse_esms_query(esms_params(now, **changes), secret=SECRET, max_age_s=60, now=now)

    def test_esms_replayed_query_raises(self) -> None:
        old = time.time() - 3600

        with pytest.raises(ForgedWebhook, match="too old"):
            parse_esms_query(esms_params(old), secret=SECRET, max_age_s=600)

    def test_run_speedsms_with_vietnamese_and_wrong_secret(self) -> None:
        body = json.dumps(
            {
                "type": "sms",
                "phone": "0900000002",
                "content": "Trợ giúp",
                "id": 7,
                "timestamp": int(time.time()),
            },
            ensure_ascii=False,
        ).encode()
        good = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        wrong = hmac.new(b"other", body, hashlib.sha256).hexdigest()

        assert parse_speedsms_body(body, good, secret=SECRET, max_age_s=60).text == "Trợ giúp"
        with pytest.raises(ForgedWebhook):
            parse_speedsms_body(body, wrong, secret=SECRET, max_age_s=60)

    def test_neutral_without_secret_configured_raises(self) -> None:
        body = b'{"sender": "0900000003", "text": "x", "message_id": "1"}'

        with pytest.raises(ForgedWebhook, match="not configured"):
            parse_neutral_body(body, "sha256=00", secret="", max_age_s=60)

    @pytest.mark.parametrize("raw", ["abc", "12", "09OO000001"])
    def test_bad_phone_raises(self, raw: str) -> None:
        with pytest.raises(MalformedWebhook):
            normalize_phone(raw)


class TestOutboundGateways:
    def test_run_esms_send_builds_query(self) -> None:
        seen: list[httpx.Request] = []

        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"CodeResult": "100", "SMSID": "s-1"})

        gateway = EsmsGateway(
            httpx.Client(transport=httpx.MockTransport(handle)),
            base_url="http://esms.test",
            api_key="k",
            secret_key="s",
            brandname="HOTLINE",
        )

        assert gateway.send("0900000004", "Xin chao", unicode=False) == "s-1"
        params = seen[0].url.params
        assert (params["Phone"], params["Content"], params["IsUnicode"]) == (
            "0900000004",
            "Xin chao",
            "0",
        )

    def test_esms_refusal_raises_with_code(self) -> None:
        transport = httpx.MockTransport(
            lambda _: httpx.Response(
                200, json={"CodeResult": "101", "ErrorMessage": "Authorize Failed"}
            )
        )
        gateway = EsmsGateway(
            httpx.Client(transport=transport),
            base_url="http://e.test",
            api_key="k",
            secret_key="bad",
            brandname="",
        )

        with pytest.raises(ProviderError) as caught:
            gateway.send("0900000004", "x", unicode=False)
        assert caught.value.provider_code == "101"

    def test_run_speedsms_send_uses_basic_auth(self) -> None:
        seen: list[httpx.Request] = []

        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(
                200, json={"status": "success", "code": "00", "data": {"tranId": 9}}
            )

        gateway = SpeedSmsGateway(
            httpx.Client(transport=httpx.MockTransport(handle)),
            base_url="http://speed.test",
            access_token="tok",
            sender="",
        )

        assert gateway.send("0900000005", "Xin chao", unicode=False) == "9"
        assert seen[0].headers["authorization"].startswith("Basic ")
        assert json.loads(seen[0].content)["to"] == ["0900000005"]


class RecordingGateway:
    def __init__(self, store: ConversationStore, opt_out_after: int | None = None) -> None:
        self.sent: list[str] = []
        self.store = store
        self.opt_out_after = opt_out_after

    def send(self, phone: str, text: str, *, unicode: bool) -> str:
        if phone == "0900000099":
            raise ProviderError("gateway refused")
        self.sent.append(phone)
        if self.opt_out_after is not None and len(self.sent) == self.opt_out_after:
            self.store.set_opt_in("0900000005", False)  # a citizen texts TUCHOI mid-campaign
        return "ok"


class TestCampaigns:
    def numbers(self, store: ConversationStore) -> None:
        for i in range(1, 7):
            store.set_opt_in(f"090000000{i}", True)
        store.set_opt_in("0900000003", False)
        store.set_opt_in("0900000099", True)

    def test_run_sends_to_opted_in_only_at_the_configured_rate(
        self, store: ConversationStore
    ) -> None:
        self.numbers(store)
        gateway = RecordingGateway(store, opt_out_after=2)
        now = [0.0]
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            now[0] += seconds

        campaign_id = store.create_campaign("Thông báo lịch nghỉ Tết", utcnow())

        report = run_campaign(
            store,
            gateway,
            campaign_id,
            per_second=2.0,
            max_segments=1,
            sleep=sleep,
            clock=lambda: now[0],
        )

        assert gateway.sent == ["0900000001", "0900000002", "0900000004", "0900000006"]
        assert (report.sent, report.failed, report.status) == (4, 1, "finished")
        assert now[0] == pytest.approx(2.0)  # five sends at 2/s: 0, .5, 1, 1.5, 2
        assert store.deliveries(campaign_id)["0900000099"] == "failed"

    def test_run_again_resumes_without_texting_twice(self, store: ConversationStore) -> None:
        self.numbers(store)
        campaign_id = store.create_campaign("Thông báo", utcnow())
        store.record_delivery(campaign_id, "0900000001", "sent")
        gateway = RecordingGateway(store)

        run_campaign(store, gateway, campaign_id, per_second=1000, max_segments=1)
        again = run_campaign(store, gateway, campaign_id, per_second=1000, max_segments=1)

        assert "0900000001" not in gateway.sent
        assert gateway.sent.count("0900000002") == 1
        assert again.status == "finished" and again.sent == 0

    def test_run_before_its_time_does_nothing(self, store: ConversationStore) -> None:
        self.numbers(store)
        campaign_id = store.create_campaign("Sau", utcnow() + timedelta(hours=1))
        gateway = RecordingGateway(store)

        report = run_campaign(store, gateway, campaign_id, per_second=10, max_segments=1)

        assert report.status == "not_due" and gateway.sent == []

    def test_unknown_campaign_raises(self, store: ConversationStore) -> None:
        with pytest.raises(ProviderError, match="no campaign"):
            run_campaign(store, RecordingGateway(store), 404, per_second=1, max_segments=1)

    def test_campaign_text_is_gsm7(self, store: ConversationStore) -> None:
        store.set_opt_in("0900000001", True)
        texts: list[str] = []

        class Capture:
            def send(self, phone: str, text: str, *, unicode: bool) -> str:
                texts.append(text)
                return "1"

        run_campaign(
            store,
            Capture(),
            store.create_campaign("Lịch nghỉ Tết", utcnow()),
            per_second=100,
            max_segments=1,
        )

        assert texts == ["Lich nghi Tet"]


class TestSmsSender:
    @pytest.mark.parametrize("unicode", [False, True])
    def test_run_reply_is_fitted_to_the_configured_encoding(self, unicode: bool) -> None:
        from answer_service.channels.senders import SmsSender
        from answer_service.channels.store import Conversation

        sent: list[tuple[str, str, bool]] = []

        class Gateway:
            def send(self, phone: str, text: str, *, unicode: bool) -> str:
                sent.append((phone, text, unicode))
                return "id-1"

        conversation = Conversation(1, "sms", "0900000001", "bot", None, None, None, None, None)
        sender = SmsSender(Gateway(), max_segments=1, unicode=unicode)

        meta = sender.send(conversation, "Đăng ký khai sinh " * 10, link="https://x.example/1")

        [(phone, text, flag)] = sent
        assert phone == "0900000001" and flag is unicode and meta["segments"] == 1
        assert text.endswith("https://x.example/1")
        assert ("Đăng ký" in text) is unicode and is_gsm7(text) is not unicode
