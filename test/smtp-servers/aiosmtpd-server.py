"""An aiosmtpd server for the tests in test/smtp-servers/ (run with /usr/bin/python3).

Usage: aiosmtpd-server.py DIRECTORY

Listens on 127.0.0.1 on a free port and prints "READY <port>" on stdout once it accepts
connections. Each message it accepts is saved before the 250 reply goes out, as two files in
DIRECTORY: NNNNNN.eml (the message data exactly as aiosmtpd stores it: dot-stuffing undone, the
final "." line removed) and NNNNNN.json (the envelope: mail_from, rcpt_tos, mail_options,
rcpt_options, helo). Recipients whose local part starts with "reject-" get a 550 and those
starting with "busy-" a 451, so partial acceptance can be tested; a transaction takes at most one
recipient starting with "many-" (the others get 452: too many recipients). aiosmtpd advertises SIZE,
8BITMIME and SMTPUTF8 but not PIPELINING.

It exits when its standard input closes, so it never outlives the test process that started it.
"""

import asyncio
import json
import os
import sys
import threading

from aiosmtpd.smtp import SMTP


class Saver:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("reject-"):
            return "550 5.1.1 No such user"
        if local.startswith("busy-"):
            return "451 4.3.0 Try again later"
        # At most one many-* recipient per transaction: the others get 452 (RFC 5321 4.5.3.1.10).
        if local.startswith("many-") and any(r.startswith("many-") for r in envelope.rcpt_tos):
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, "%06d" % self.count)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "helo": session.host_name,
        }
        # Written under temporary names and renamed, so a reader never sees half a message.
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 OK saved %06d" % self.count


def exit_when_stdin_closes():
    sys.stdin.buffer.read()
    os._exit(0)


async def main(directory):
    loop = asyncio.get_running_loop()
    handler = Saver(directory)
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="aiosmtpd.test",
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=60,
        ),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: aiosmtpd-server.py DIRECTORY")
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    asyncio.run(main(sys.argv[1]))
