"""Builds the channels' parts from settings: one place that knows which class goes where.

The API process needs the store and the inbox (to take webhooks); the Celery worker also needs
the provider clients, the answer service and the ticket intake (to process). Both come from the
same ``ChannelSettings``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from answer_service.channels.mail import EmailSender, ImapMailbox, SmtpMailer
from answer_service.channels.messenger import GraphClient
from answer_service.channels.processor import Answerer, ChannelSender, MessageProcessor
from answer_service.channels.senders import ChatSender, SmsSender, WebChatSender
from answer_service.channels.settings import ChannelSettings
from answer_service.channels.sms.gateways import EsmsGateway, SmsGateway, SpeedSmsGateway
from answer_service.channels.sms.onestop import HttpDossierLookup
from answer_service.channels.store import ConversationStore
from answer_service.channels.zalo import ZaloClient, ZaloTokenStore
from tickets.intake import Channel, TicketIntake

if TYPE_CHECKING:
    from answer_service.channels.inbox import Dispatcher, Inbox

logger = logging.getLogger(__name__)


@dataclass
class ChannelRuntime:
    """The store, the HTTP client and the provider clients built from one settings object."""

    settings: ChannelSettings
    store: ConversationStore
    http: httpx.Client = field(repr=False)

    @classmethod
    def open(cls, settings: ChannelSettings) -> ChannelRuntime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            store=ConversationStore(settings.store_url),
            http=httpx.Client(timeout=settings.http_timeout_s),
        )

    def close(self) -> None:
        self.http.close()
        self.store.close()

    def inbox(self, dispatcher: Dispatcher) -> Inbox:
        from answer_service.channels.inbox import Inbox

        s = self.settings
        return Inbox(
            store=self.store,
            dispatcher=dispatcher,
            max_inbound_chars=s.max_inbound_chars,
            sms_rate_limit=s.sms_rate_limit,
            sms_rate_window_s=s.sms_rate_window_s,
            webchat_rate_limit=s.webchat_rate_limit,
            webchat_rate_window_s=s.webchat_rate_window_s,
        )

    def zalo_client(self) -> ZaloClient:
        s = self.settings
        return ZaloClient(
            self.http,
            api_base=s.zalo_api_base,
            oauth_base=s.zalo_oauth_base,
            app_id=s.zalo_app_id,
            app_secret=s.zalo_app_secret.get_secret_value(),
            tokens=ZaloTokenStore(s.zalo_token_path),
        )

    def sms_gateway(self) -> SmsGateway:
        s = self.settings
        if s.sms_provider == "speedsms":
            return SpeedSmsGateway(
                self.http,
                base_url=s.speedsms_api_base,
                access_token=s.speedsms_access_token.get_secret_value(),
                sender=s.speedsms_sender,
            )
        return EsmsGateway(
            self.http,
            base_url=s.esms_api_base,
            api_key=s.esms_api_key,
            secret_key=s.esms_secret_key.get_secret_value(),
            brandname=s.esms_brandname,
        )

    def mailer(self) -> SmtpMailer:
        s = self.settings
        return SmtpMailer(
            host=s.smtp_host,
            port=s.smtp_port,
            from_address=s.mail_address,
            starttls=s.smtp_starttls,
            user=s.smtp_user,
            password=s.smtp_password.get_secret_value(),
        )

    def mailbox(self) -> ImapMailbox | None:
        s = self.settings
        if not s.imap_host:
            return None
        return ImapMailbox(
            host=s.imap_host,
            port=s.imap_port,
            user=s.imap_user,
            password=s.imap_password.get_secret_value(),
            mailbox=s.imap_mailbox,
            use_ssl=s.imap_ssl,
        )

    def senders(self) -> dict[str, ChannelSender]:
        s = self.settings
        return {
            Channel.ZALO.value: ChatSender(self.zalo_client(), max_chars=s.zalo_max_chars),
            Channel.FACEBOOK.value: ChatSender(
                GraphClient(
                    self.http,
                    graph_base=s.messenger_graph_base,
                    page_token=s.messenger_page_token.get_secret_value(),
                ),
                max_chars=s.messenger_max_chars,
            ),
            Channel.EMAIL.value: EmailSender(self.mailer()),
            Channel.WEB_CHAT.value: WebChatSender(),
            Channel.SMS.value: SmsSender(
                self.sms_gateway(), max_segments=s.sms_max_segments, unicode=s.sms_unicode
            ),
        }

    def processor(self, answerer: Answerer, intake: TicketIntake) -> MessageProcessor:
        s = self.settings
        dossiers = None
        if s.onestop_base_url:
            dossiers = HttpDossierLookup(
                self.http,
                base_url=s.onestop_base_url,
                api_key=s.onestop_api_key.get_secret_value(),
            )
        return MessageProcessor(
            store=self.store,
            answerer=answerer,
            intake=intake,
            senders=self.senders(),
            ack_text=s.ack_text,
            link_base=s.public_base_url,
            dossiers=dossiers,
            max_chars={
                Channel.ZALO.value: s.zalo_max_chars,
                Channel.FACEBOOK.value: s.messenger_max_chars,
                Channel.EMAIL.value: 20_000,
                Channel.WEB_CHAT.value: 4000,
            },
        )
