"""``python -m telephony_bridge``: run the bridge with settings from the environment."""

from telephony_bridge.bridge import serve

if __name__ == "__main__":
    serve()
