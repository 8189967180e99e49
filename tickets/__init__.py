"""The ticket system: every contact recorded, classified, routed and tracked to its answer.

``open_intake()`` gives channels and the telephony bridge the ``TicketIntake`` they need;
``open_service()`` gives the HTTP layer the whole ``TicketService``. Both migrate the configured
database to the newest schema first.
"""

from tickets.db import migrate, open_intake, open_service

__all__ = ["migrate", "open_intake", "open_service"]
