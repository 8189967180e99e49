"""telephony_bridge package."""
