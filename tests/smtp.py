"""A real SMTP server for tests, built on aiosmtpd, that can also refuse or fail on purpose."""

import asyncio
import email
import email.policy
import threading

from aiosmtpd.controller import Controller


class RecordingHandler:
    def __init__(self):
        self.messages = []
        # Replies to give, one per DATA command, before accepting normally ("451 …", "550 …");
        # None in the list accepts that message.
        self.replies = []
        # Seconds to wait before answering each DATA: a slow server, or a client killed mid-send.
        self.delay = 0
        self.data_started = threading.Event()
        # Replies to RCPT TO for some addresses ("550 5.1.1 no such user"); others are accepted.
        self.recipient_replies = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.recipient_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_started.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            reply = self.replies.pop(0) if self.replies else None
            if reply:
                return reply
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                  "message": message, "peer": session.peer})
        return "250 Message accepted for delivery"


class SMTPServer:
    """start() and stop() may be called again: a server that goes down and comes back."""

    def __init__(self, port):
        self.port = port
        self.handler = RecordingHandler()
        self.controller = None

    def start(self):
        # aiosmtpd closes a controller's event loop on stop, so each start needs a new one.
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.handler.messages

    def fail_next(self, *replies):
        self.handler.replies.extend(replies)

    def refuse_recipient(self, address, reply):
        self.handler.recipient_replies[address] = reply

    def slow_down(self, seconds):
        """Wait `seconds` before answering each DATA command (0: answer at once)."""
        self.handler.delay = seconds
