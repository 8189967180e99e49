"""Citizen channels: Zalo OA, Facebook Messenger, e-mail, web chat and SMS.

Every channel turns what a provider delivers into one ``InboundMessage`` on the same
conversation model (``store.ConversationStore``), answers the provider at once, and leaves the
work (acknowledgement, automatic answer or hand-over to an operator with a ticket) to a Celery
task that runs ``processor.MessageProcessor``.
"""
