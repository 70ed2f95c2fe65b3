"""SES mailer: one raw MIME message per email, so both the text and the HTML part always travel, with the email's
attachments (an invoice's PDF) after them."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.mail import MailDeliveryFailed, RenderedEmail


def subject_header(subject: str) -> str:
    """One line (no header injection through customer values), and no RFC 2047 encoded-word opener: Python writes an
    ASCII subject as it is, so a customer value holding `=?utf-8?b?...?=` would be decoded by the recipient's mail
    client into characters intake refuses (a right-to-left override). `= ?` is shown as typed and decodes to nothing."""
    return " ".join(subject.split()).replace("=?", "= ?")


class SesMailer:
    def __init__(self, client: Any, sender: str, sender_name: str, configuration_set: str | None = None) -> None:
        self._client = client
        self._sender = sender
        self._sender_name = sender_name
        self._configuration_set = configuration_set

    def build(self, email: RenderedEmail) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject_header(email.subject)
        message["From"] = formataddr((self._sender_name, self._sender))
        message["To"] = email.to
        message["Message-ID"] = make_msgid(domain=self._sender.split("@")[-1])
        message.set_content(email.text, charset="utf-8")
        message.add_alternative(email.html, subtype="html", charset="utf-8")
        for attachment in email.attachments:  # the text/HTML alternative becomes the first part of a multipart/mixed
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
        return message

    def send(self, email: RenderedEmail) -> str:
        kwargs: dict[str, Any] = {
            "Source": self._sender,
            "Destinations": [email.to],
            "RawMessage": {"Data": self.build(email).as_bytes()},
        }
        if self._configuration_set:
            kwargs["ConfigurationSetName"] = self._configuration_set
        if email.tags:
            kwargs["Tags"] = [{"Name": name, "Value": value} for name, value in email.tags]
        try:
            return str(self._client.send_raw_email(**kwargs)["MessageId"])
        except (ClientError, BotoCoreError) as error:
            raise MailDeliveryFailed(str(error)) from error
