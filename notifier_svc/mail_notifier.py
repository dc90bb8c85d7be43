"""E-mail: one message to all of the service's addresses.

multipart/alternative with a text part and an HTML part; the HTML part sits
in multipart/related with the PNG inline (referenced by `cid:`), and both
parts carry the public image link as well. The snapshot's one-line data
summary, when it has one, is in the text part (the picture in words) and is
the inline image's alt text."""

from __future__ import annotations

import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from html import escape

from notifier_svc import snapshot_text
from notifier_svc.delivery import Delivery
from notifier_svc.notifier import Attempt, Notifier, PermanentDeliveryError
from notifier_svc.smtp_sender import SmtpSender

# Deliberately loose: the Services API validates addresses; this only catches
# what no SMTP server could take.
ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,.]+$")


def parse_addresses(value: str) -> list[str]:
    """The comma-separated `addresses` setting as bare addresses ("Name
    <addr>" is accepted too); a bad one is a permanent error: the service is
    misconfigured, not the network."""
    found = []
    for piece in value.split(","):
        if not piece.strip():
            continue
        addr = parseaddr(piece.strip())[1]
        if not ADDRESS.match(addr):
            raise PermanentDeliveryError(f"mail: {piece.strip()!r} is not an e-mail address")
        found.append(addr)
    if not found:
        raise PermanentDeliveryError("mail: the service has no addresses")
    return list(dict.fromkeys(found))


def mail_html(d: Delivery, cid: str) -> str:
    link = d.chart_url or d.image_url
    img = (f'<img src="cid:{escape(cid)}" alt="{escape(snapshot_text.image_alt(d))}"'
           + (f' width="{d.width}" height="{d.height}"' if d.width and d.height else "") + ">")
    paras = [f"<p><strong>{escape(d.sender)}</strong> shared a snapshot of {snapshot_text.chart_link_html(d)}</p>"]
    if d.summary_line:
        paras.append(f"<p>{escape(d.summary_line)}</p>")
    if d.window:
        paras.append(f'<p style="color:#666">Showing the {escape(d.window)}</p>')
    if d.message.strip():
        paras.append(f"<p>{snapshot_text.message_html(d.message)}</p>")
    paras.append(f'<p><a href="{escape(link)}">{img}</a></p>' if link else f"<p>{img}</p>")
    if d.image_url:
        paras.append(f'<p><a href="{escape(d.image_url)}">Open the image</a></p>')
    return ("<!DOCTYPE html>\n<html><body style=\"font-family:Helvetica,Arial,sans-serif\">\n"
            + "\n".join(paras) + "\n</body></html>\n")


def mail_message(d: Delivery, png: bytes, sender: str, recipients: list[str]) -> EmailMessage:
    domain = sender.rpartition("@")[2].rstrip(">") or "chartsnap.local"
    # Derived from the delivery id: a receiving server that sees the same
    # delivery twice can tell it is the same message.
    digest = hashlib.sha256(d.delivery_id.encode()).hexdigest()[:24]
    cid = f"chart-{digest}@{domain}"

    msg = EmailMessage()
    msg["Subject"] = snapshot_text.subject(d)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    reply_to = d.sender_email.strip()
    if ADDRESS.match(reply_to):
        try:
            msg["Reply-To"] = Address(display_name=snapshot_text.header_safe(d.sender_name), addr_spec=reply_to)
        except (ValueError, IndexError, TypeError):
            pass   # an address the email package cannot write: the mail goes without Reply-To
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = f"<snapshot-{digest}@{domain}>"
    msg.set_content(snapshot_text.plain_text(d))
    msg.add_alternative(mail_html(d, cid), subtype="html")
    html_part = msg.get_payload()[1]
    # add_related turns the HTML part into multipart/related [html, png].
    html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>",
                          filename="chart.png", disposition="inline")
    return msg


class MailNotifier(Notifier):
    type = "mail"
    needs_png = True

    def __init__(self, smtp: SmtpSender) -> None:
        self.smtp = smtp

    async def send(self, delivery: Delivery, attempt: Attempt) -> str:
        recipients = parse_addresses(delivery.setting("addresses"))
        if attempt.png is None:
            raise PermanentDeliveryError("mail: the image is missing")
        message = mail_message(delivery, attempt.png, self.smtp.server.sender, recipients)
        refused = await self.smtp.send(message, recipients, deadline=attempt.deadline)
        if refused:
            return "refused: " + "; ".join(f"{addr}: {words}" for addr, words in refused.items())
        return ""

    async def close(self) -> None:
        self.smtp.close()
