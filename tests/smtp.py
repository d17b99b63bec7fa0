"""A real SMTP server for tests, built on aiosmtpd, that can also refuse or fail on purpose."""

import email
import email.policy
import threading

from aiosmtpd.controller import Controller


class RecordingHandler:
    def __init__(self):
        self.messages = []
        # Replies to give, one per DATA command, before accepting normally ("451 …", "550 …").
        self.replies = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                  "message": message})
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, port):
        self.port = port
        self.handler = RecordingHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    def start(self):
        self.controller.start()

    def stop(self):
        self.controller.stop()

    @property
    def messages(self):
        return self.handler.messages

    def fail_next(self, *replies):
        self.handler.replies.extend(replies)
