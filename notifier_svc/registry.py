"""Which Notifier handles which service type."""

from __future__ import annotations

from typing import Iterable, Mapping

from notifier_svc.campfire_notifier import CampfireNotifier
from notifier_svc.flowdock_notifier import FlowdockNotifier
from notifier_svc.hipchat_notifier import HipChatNotifier
from notifier_svc.mail_notifier import MailNotifier
from notifier_svc.notifier import Notifier
from notifier_svc.slack_notifier import SlackNotifier
from notifier_svc.smtp_sender import SmtpSender
from notifier_svc.vendor_http import VendorHttp


def registry_of(notifiers: Iterable[Notifier]) -> Mapping[str, Notifier]:
    return {n.type: n for n in notifiers}


def standard_notifiers(http: VendorHttp, smtp: SmtpSender) -> Mapping[str, Notifier]:
    return registry_of([
        MailNotifier(smtp),
        SlackNotifier(http),
        HipChatNotifier(http),
        FlowdockNotifier(http),
        CampfireNotifier(http),
    ])
