"""A fast SMTP sink for the reach benchmark, in the spirit of Postfix's smtp-sink: it speaks
enough ESMTP (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; PIPELINING) to accept every message
and count it, and keeps nothing but the count and the recipients. aiosmtpd, the test suite's
real server, tops out near 1,400 messages/s on this machine, below what is being measured.

    python -m benchmarks.smtp_sink PORT      # prints "ready", then counts on SIGTERM
"""

from __future__ import annotations

import asyncio
import signal
import sys


class Counts:
    def __init__(self) -> None:
        self.messages = 0
        self.recipients: set[bytes] = set()
        self.repeated = 0  # messages to a recipient already seen


class SinkProtocol(asyncio.Protocol):
    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = b""
        self.in_data = False
        self.rcpts: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(b"220 sink ESMTP\r\n")  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies: list[bytes] = []
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    # Keep only what could hold the start of the terminator.
                    if len(self.buffer) > 8:
                        self.buffer = self.buffer[-8:]
                    break
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                self.counts.messages += 1
                for rcpt in self.rcpts:
                    if rcpt in self.counts.recipients:
                        self.counts.repeated += 1
                    else:
                        self.counts.recipients.add(rcpt)
                self.rcpts = []
                replies.append(b"250 2.0.0 queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
            verb = line[:4].upper()
            if verb == b"EHLO":
                replies.append(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"HELO":
                replies.append(b"250 sink\r\n")
            elif verb == b"RCPT":
                self.rcpts.append(line[8:].strip().lower())
                replies.append(b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                replies.append(b"221 bye\r\n")
                self.transport.write(b"".join(replies))  # type: ignore[attr-defined]
                self.transport.close()
                return
            elif verb == b"RSET":
                self.rcpts = []
                replies.append(b"250 ok\r\n")
            else:  # MAIL, NOOP and anything else
                replies.append(b"250 ok\r\n")
        if replies:
            self.transport.write(b"".join(replies))  # type: ignore[attr-defined]


async def serve(port: int) -> Counts:
    counts = Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(counts), "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()
    return counts


def main() -> None:
    counts = asyncio.run(serve(int(sys.argv[1])))
    print(f"{counts.messages} {len(counts.recipients)} {counts.repeated}", flush=True)


if __name__ == "__main__":
    main()
