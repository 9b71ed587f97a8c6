#!/usr/bin/env python3
"""A real SMTP server for sink/email's tests (Debian's python3-aiosmtpd).

It listens on 127.0.0.1 on a free port, prints that port on stdout once it
answers, and runs until its standard input closes. Each mail it accepts is
written to --outdir as NNNN.eml (the raw content) and then NNNN.json (the
envelope: mail_from, rcpt_tos, tls, login, mechanism), so a reader that sees
the .json sees the whole mail.

Recipients whose local part starts with "tempfail" get 451, "reject" 550.
"""

import argparse
import json
import os
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, outdir, implicit_tls):
        self.outdir = outdir
        self.implicit_tls = implicit_tls
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("tempfail"):
            return "451 4.3.0 Mailbox busy, try again later"
        if local.startswith("reject"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.outdir, "%04d" % self.count)
        login = session.login_data.decode() if session.login_data else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": self.implicit_tls or session.ssl is not None,
            "login": login,
            "mechanism": getattr(session, "mechanism", None),
        }
        write(base + ".eml", envelope.original_content)
        write(base + ".json", json.dumps(meta).encode())
        return "250 2.0.0 Message accepted"


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class FreePortController(Controller):
    """A Controller on a socket bound to port 0: the kernel picks the port,
    so parallel tests never race for one."""

    def __init__(self, handler, **kwargs):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        super().__init__(handler, hostname="127.0.0.1", port=port, **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.sock, ssl=self.ssl_context)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--outdir", required=True)
    p.add_argument("--tls", choices=["starttls", "implicit", "none"], default="starttls")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--exclude-auth", action="append", default=[])
    a = p.parse_args()

    kwargs = {"server_hostname": "smtpd.test", "ready_timeout": 30}
    if a.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        if a.tls == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        else:
            kwargs.update(ssl_context=ctx)
    if a.user:
        user, password = a.user.encode(), a.password.encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
            if ok:
                session.mechanism = mechanism
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        # aiosmtpd counts only STARTTLS as TLS (not an implicit TLS
        # listener), so AUTH is held back only until STARTTLS.
        kwargs.update(auth_required=True, authenticator=authenticator, auth_require_tls=a.tls == "starttls",
                      auth_exclude_mechanism=a.exclude_auth)

    controller = FreePortController(Recorder(a.outdir, a.tls == "implicit"), **kwargs)
    controller.start()
    print(controller.port, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
