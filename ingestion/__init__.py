"""ingestion package."""

import search  # noqa: F401  (turns Haystack's usage data off before ingestion imports Haystack)
