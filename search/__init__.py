"""search package.

Haystack sends usage data to a third party unless told not to; a public hotline's servers
must not, so it is off unless the operator sets ``HAYSTACK_TELEMETRY_ENABLED`` otherwise.
Set here, before any module of the package imports Haystack.
"""

import os

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
