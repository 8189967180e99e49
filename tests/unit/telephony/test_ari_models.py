"""Reading ARI events and objects as Asterisk writes them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from telephony_bridge.ari_client import backoff_delays
from telephony_bridge.ari_models import format_ari_time, parse_event
from telephony_bridge.errors import AriEventError
from tests.unit.telephony.ari_fakes import channel, event


class TestParseEvent:
    def test_stasis_start_keeps_the_channel_fields(self) -> None:
        parsed = parse_event(event("StasisStart", channel=channel(), args=[]))
        assert parsed.known and parsed.type == "StasisStart"
        assert parsed.channel is not None
        assert parsed.channel.caller.number == "0900000101"
        assert parsed.channel.dialplan.app_data == "hotline1022"
        assert parsed.channel.creationtime.utcoffset().total_seconds() == 7 * 3600
        assert parsed.asterisk_id == "02:42:0a:00:00:10"
        assert parsed.timestamp == datetime(2026, 12, 4, 3, 0, 1, tzinfo=UTC)

    def test_dtmf_hangup_and_destroyed_fields(self) -> None:
        dtmf = parse_event(
            event("ChannelDtmfReceived", digit="9", duration_ms=100, channel=channel())
        )
        assert dtmf.digit == "9" and dtmf.duration_ms == 100
        gone = parse_event(
            event("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=channel())
        )
        assert gone.cause == 16 and gone.channel_id == "1700000000.1"

    def test_recording_finished_names_its_channel(self) -> None:
        recording = {
            "name": "call-1",
            "format": "wav",
            "state": "done",
            "target_uri": "channel:1700000000.1",
            "duration": 42,
        }
        parsed = parse_event(event("RecordingFinished", recording=recording))
        assert parsed.channel_id == "1700000000.1"
        assert parsed.recording is not None and parsed.recording.duration == 42

    def test_bridge_recording_has_no_channel(self) -> None:
        recording = {"name": "b", "format": "wav", "state": "done", "target_uri": "bridge:b-1"}
        assert parse_event(event("RecordingFinished", recording=recording)).channel_id is None

    def test_unknown_type_parses_but_is_not_known(self) -> None:
        parsed = parse_event(event("BridgeVideoSourceChanged", bridge={"id": "x"}))
        assert not parsed.known

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("not json", "not JSON"),
            ("[1, 2]", "no string 'type'"),
            ('{"type": 5}', "no string 'type'"),
            (event("StasisStart"), "lacks channel"),
            (event("ChannelDtmfReceived", channel=channel()), "lacks digit"),
            (event("StasisStart", channel={"id": "x"}), "bad fields"),
            (b"\xff\xfe", "not JSON"),
        ],
    )
    def test_bad_messages_raise(self, raw: str, message: str) -> None:
        with pytest.raises(AriEventError, match=message):
            parse_event(raw)

    def test_time_is_written_back_in_ari_form(self) -> None:
        moment = datetime(2026, 12, 4, 10, 0, 1, 123000, tzinfo=UTC)
        assert format_ari_time(moment) == "2026-12-04T10:00:01.123+0000"


class TestBackoff:
    def test_delays_grow_to_the_cap_with_jitter(self) -> None:
        low = list(itertools.islice(backoff_delays(0.5, 4.0, rng=lambda: 0.0), 6))
        high = list(itertools.islice(backoff_delays(0.5, 4.0, rng=lambda: 1.0), 6))
        assert low == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
        assert high == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]

    def test_random_delays_stay_between_half_and_full_step(self) -> None:
        for delay, step in zip(backoff_delays(1.0, 8.0), [1, 2, 4, 8, 8], strict=False):
            assert step / 2 <= delay <= step
