"""Telephony bridge: Asterisk ARI calls to tickets, and live assist for operators.

The bridge process (``serve``) follows calls on Asterisk's REST interface and files them as
tickets; the answer service serves the live side to operator consoles (``LiveCalls``).
"""

from telephony_bridge.bridge import TelephonyBridge, serve
from telephony_bridge.calls import CallController
from telephony_bridge.hub import CallHub, InProcessHub, RedisHub, open_hub
from telephony_bridge.recognizer import (
    Recognizer,
    RecognizerSession,
    ScriptedTestRecognizer,
    TranscriptSegment,
)
from telephony_bridge.settings import BridgeSettings

__all__ = [
    "BridgeSettings",
    "CallController",
    "CallHub",
    "InProcessHub",
    "Recognizer",
    "RecognizerSession",
    "RedisHub",
    "ScriptedTestRecognizer",
    "TelephonyBridge",
    "TranscriptSegment",
    "open_hub",
    "serve",
]
