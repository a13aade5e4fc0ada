"""The SMTP transport: one session to one MTA on aiosmtplib, many messages
through it.

``SmtpSession(config, helo_name)``: ``await open()`` -> Outcome (connect, TLS,
EHLO, AUTH); ``await send(sender, recipient, data)`` -> Outcome (RSET between
messages handled inside; ``send`` on a closed session opens it first;
``send_many`` for several recipients; PIPELINING in ``ertui.smtp.pipeline``);
``await close()``. Nothing here raises for a network or SMTP failure: every
exception becomes an Outcome through ``ertui.smtp.classify``.

Security modes: ``ssl`` is implicit TLS (``use_tls=True``), ``starttls`` an
upgrade that must succeed, ``none`` no TLS at all (``start_tls=False``, never
aiosmtplib's silent auto-upgrade). Certificates are verified against the
default CA store (which honours ``SSL_CERT_FILE``/``SSL_CERT_DIR``) unless the
MTA has ``verify_tls`` off.

Deadlines: the MTA's timeout is one deadline for the whole of ``open`` —
connect, greeting (and the probe for a TLS port), TLS, EHLO and AUTH
together — not a fresh timeout for each part: a silent port costs the
timeout, not a multiple of it (with a timeout of 3 s or less, too short to
probe for TLS while waiting, a silent port is probed after it for at most
1 s more). Cancelling ``open`` (a worker that stops) ends the attempt at once.

Connections: the early probe for TLS is a second connection. A session made
with ``one_connection`` (the worker's: each holds one of the MTA's slots)
never opens it while its own is open; it probes only after the timeout.

Permanent vs temporary: an outcome is ``permanent`` for a 5xx reply to the
greeting, EHLO, MAIL, RCPT or DATA and for an address that cannot be sent at
all; everything else — 4xx, network, timeouts, TLS and authentication — is
temporary. A 421 reply to the greeting is ``greeting``; a 421 to any later
command ("service closing") is ``disconnected``: both are MTA failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Callable, Coroutine, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import aiosmtplib

from ertui.mta_rules import Security
from ertui.smtp import pipeline
from ertui.smtp.auth import login, oauth_token
from ertui.smtp.classify import classify, starttls_missing
from ertui.smtp.outcome import (
    ErrorKind,
    MtaConfig,
    Outcome,
    SmtpUtf8UnsupportedError,
    SpeaksTlsError,
)
from ertui.smtp.pipeline import Args, Exchange, Withdrawn
from ertui.smtp.tls_probe import answers_tls, diagnose_silence
from ertui.smtp.transcript import Redactor, TracedSMTP, Transcript, connecting, tls_notes

R = TypeVar("R")
# The message a caller sends next on the session: sender, recipient, content, guard.
Following = tuple[str, str, bytes, Callable[[], bool] | None]


@lru_cache(maxsize=8)
def _make_tls_context(verify: bool, cafile: str | None, capath: str | None) -> ssl.SSLContext:
    # cafile/capath are only cache keys: create_default_context() reads
    # SSL_CERT_FILE/SSL_CERT_DIR itself, and a change must give a new context.
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_context(verify: bool) -> ssl.SSLContext:
    """A client context: the default CA store (``SSL_CERT_FILE``/``SSL_CERT_DIR``
    honoured), host name and chain checked unless ``verify`` is False. Cached:
    loading the CA store for every connection would cost the worker dearly."""
    return _make_tls_context(verify, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


class SmtpSession:
    """One SMTP connection to one MTA; many messages can go through it.

    The send path without a transcript does no formatting or logging: the
    queue worker calls it for every message. Between messages the envelope is
    reset: after an accepted DATA the server has already reset it (RFC 5321
    4.1.1.4), so RSET is sent only after a transaction that failed midway —
    one round trip fewer per message. A failure of the MTA drops the
    connection; the next ``send`` opens a new one.
    """

    #: Seconds without a greeting (plain or STARTTLS) before the port is probed
    #: for TLS; only when the timeout is clearly longer.
    tls_probe_after: float = 2.0

    def __init__(
        self,
        config: MtaConfig,
        helo_name: str,
        *,
        transcript: Transcript | None = None,
        one_connection: bool = False,
    ) -> None:
        self.config = config
        self.helo_name = helo_name
        self.transcript = transcript
        self.one_connection = one_connection  # never a second socket (see the module doc)
        # The MTA's own secrets, redacted from every server text given back.
        self._redactor = Redactor.for_config(config)
        self._smtp: aiosmtplib.SMTP | None = None
        self._eightbit = False
        self._smtputf8 = False
        self._stage = "connect"  # how far ``open`` got
        # The next message's group, written after the last content, with its
        # replies: (sender, recipients), the content, the replies.
        self._ahead: tuple[tuple[str, tuple[str, ...]], bytes, Exchange] | None = None

    @property
    def ehlo_name(self) -> str:
        """The name given in EHLO: the MTA's own, else the session's default."""
        return self.config.ehlo_name or self.helo_name

    @property
    def is_open(self) -> bool:
        return self._smtp is not None and self._smtp.is_connected

    @property
    def _offers(self) -> tuple[bool, bool]:
        """What the server offers that the envelope depends on: 8BITMIME, SMTPUTF8."""
        return self._eightbit, self._smtputf8

    @property
    def pipelining(self) -> bool:
        """Whether the open session pipelines (a ``then`` is worth giving)."""
        smtp = self._smtp
        return smtp is not None and self.config.pipelining and smtp.supports_extension("pipelining")

    async def open(self) -> Outcome:
        """Connect, TLS, EHLO and AUTH. Never raises for a network or SMTP failure."""
        if self.is_open:
            return Outcome(ok=True, code=250, message="already open")
        self._drop()
        cfg = self.config
        t = self.transcript
        kwargs: dict[str, Any] = {
            "hostname": cfg.host,
            "port": cfg.port,
            "timeout": cfg.timeout,
            "use_tls": cfg.security == Security.SSL,
            "start_tls": False,
        }
        if cfg.security != Security.NONE:
            kwargs["tls_context"] = tls_context(cfg.verify_tls)
        stage = "connect"
        smtp: aiosmtplib.SMTP | None = None
        deadline = asyncio.get_running_loop().time() + cfg.timeout
        try:
            kwargs["local_hostname"] = self.ehlo_name
            smtp = TracedSMTP(t, **kwargs) if t is not None else aiosmtplib.SMTP(**kwargs)
            if t is not None:
                t.note(connecting(cfg))
            self._stage = stage
            return await _within(deadline, self._open(smtp, t), smtp, lambda: self._stage)
        except Exception as exc:
            if smtp is not None:
                smtp.close()
            stage = self._stage
            outcome = self._redactor.outcome(classify(exc, stage, cfg))
            if t is not None:
                t.note(f"failed: {outcome.summary}")
            if outcome.kind == ErrorKind.TIMEOUT and stage == "connect" and not self._probes_early():
                # A short timeout left no time to probe for TLS while waiting:
                # a TLS port answers a handshake in a moment; give it no more.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(cfg.timeout, 1.0)):
                        outcome = await self._diagnose_silence(outcome)
            if outcome.kind == ErrorKind.TLS_CERTIFICATE and t is not None:
                await self._untrusted_certificate_notes(t)
            return outcome

    async def _open(self, smtp: aiosmtplib.SMTP, t: Transcript | None) -> Outcome:
        """The steps of ``open``; the stage reached is kept in ``_stage`` for the classifier."""
        cfg = self.config
        self._stage = "connect"
        greeting = await self._connect(smtp)
        if t is not None:
            if cfg.security == Security.SSL:
                tls_notes(smtp, t)
            t.server(greeting.code, greeting.message)
        self._stage = "ehlo"
        reply = await self._ehlo(smtp)
        if cfg.security == Security.STARTTLS:
            self._stage = "starttls"
            if not smtp.supports_extension("starttls"):
                smtp.close()
                return self._starttls_missing()
            if t is not None:
                t.client("STARTTLS")
            tls_reply = await smtp.starttls()
            if t is not None:
                t.server(tls_reply.code, tls_reply.message)
                tls_notes(smtp, t)
            self._stage = "ehlo"
            reply = await self._ehlo(smtp)
        if cfg.use_auth:
            self._stage = "oauth"  # a silent token endpoint is not the SMTP server's silence
            token = await oauth_token(smtp, cfg)
            self._stage = "auth"
            reply = await login(smtp, cfg, self._redactor, t, token)
        self._smtp = smtp
        self._eightbit = smtp.supports_extension("8bitmime")
        self._smtputf8 = smtp.supports_extension("smtputf8")
        return Outcome(ok=True, code=reply.code, message=self._redactor.scrub(reply.message))

    def _probes_early(self) -> bool:
        """Whether ``_connect`` probes a silent port for TLS while it waits (a second socket)."""
        cfg = self.config
        return not self.one_connection and cfg.security != Security.SSL and cfg.timeout > self.tls_probe_after * 1.5

    async def _connect(self, smtp: aiosmtplib.SMTP) -> aiosmtplib.SMTPResponse:
        """Connect and read the greeting. Without SSL, a port that has sent not
        a byte after ``tls_probe_after`` seconds is probed on a second
        connection: if it completes a TLS handshake it is an SSL port, and the
        operator hears so now rather than after the whole timeout."""
        wait = self.tls_probe_after
        if not self._probes_early():
            return await smtp.connect()
        task = asyncio.ensure_future(smtp.connect())
        try:
            done, _ = await asyncio.wait({task}, timeout=wait)
            silent = not done and _nothing_received(smtp)
            if silent and await answers_tls(self.config.host, self.config.port, wait) and not task.done():
                raise SpeaksTlsError(f"no greeting within {wait:g} s")
            return await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def _untrusted_certificate_notes(self, t: Transcript) -> None:
        """For the operator, the certificate that failed verification: fetched
        again on a second, unverified connection (transcripts only)."""
        cfg = self.config
        probe = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            timeout=cfg.timeout,
            local_hostname=self.ehlo_name,
            use_tls=cfg.security == Security.SSL,
            start_tls=False,
            tls_context=tls_context(False),
        )
        try:
            await probe.connect()
            if cfg.security == Security.STARTTLS:
                await probe.starttls()
            t.note("the certificate presented (fetched again without verification):")
            tls_notes(probe, t)
        except Exception:
            t.note("the certificate could not be fetched again without verification")
        finally:
            probe.close()

    async def _ehlo(self, smtp: aiosmtplib.SMTP) -> aiosmtplib.SMTPResponse:
        try:
            return await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not smtp.is_connected:
                raise
            return await smtp.helo()

    def _starttls_missing(self) -> Outcome:
        outcome = starttls_missing(self.config)
        if self.transcript is not None:
            self.transcript.note(f"failed: {outcome.summary}")
        return outcome

    async def _diagnose_silence(self, outcome: Outcome) -> Outcome:
        better = await diagnose_silence(self.config, outcome)
        if better is not outcome and self.transcript is not None:
            self.transcript.note(better.message)
        return better

    async def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        *,
        guard: Callable[[], bool] | None = None,
        then: Following | None = None,
    ) -> Outcome:
        """One message to one recipient (see ``send_many``). ``then``: the
        message this caller will send next on this session; pipelined, its
        MAIL, RCPT and DATA go out with this content (one write per message)."""
        return (await self.send_many(sender, [recipient], data, guard=guard, then=then))[0]

    async def send_many(
        self,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
        *,
        guard: Callable[[], bool] | None = None,
        then: Following | None = None,
    ) -> list[Outcome]:
        """One message to ``recipients`` in one transaction: an Outcome per
        recipient, in order (a refused RCPT fails only its recipient). Opens
        the session first if needed. Pipelined (``ertui.smtp.pipeline``) when
        the server offers PIPELINING and the MTA's ``pipelining`` is on.

        ``guard`` (the worker's lease check) is asked before MAIL and again
        before the content: when it says no, nothing more is sent, the
        connection is dropped, and the outcome is a ``disconnected`` failure."""
        if not recipients:
            raise ValueError("a message needs at least one recipient")
        ahead, self._ahead = self._ahead, None
        if ahead is not None and not (ahead[0] == (sender, tuple(recipients)) and ahead[1] is data):
            self._drop()  # the server waits for a message that is not coming
            ahead = None
        if guard is not None and not guard():
            return [self._withdrawn()] * len(recipients)
        smtp = self._smtp
        if smtp is None or not smtp.is_connected:
            opened = await self.open()
            if not opened.ok:
                return [opened] * len(recipients)
            smtp = self._smtp
            assert smtp is not None
        x = Exchange()
        try:
            if self._pipelines(smtp):
                group = [] if ahead else pipeline.group(*pipeline.envelope(sender, recipients, data, *self._offers))
                nxt = self._following(then)
                following = await pipeline.pipelined(
                    smtp, group, data, x, guard, self.transcript, ahead=ahead[2] if ahead else None, then=nxt
                )
                if following is not None and then is not None:
                    self._ahead = ((then[0], (then[1],)), then[2], following)
            else:
                mail, rcpts = pipeline.envelope(sender, recipients, data, *self._offers)
                await pipeline.one_by_one(smtp, mail, rcpts, data, x, guard, self.transcript)
        except Withdrawn:
            return [self._withdrawn()] * len(recipients)
        except Exception as exc:
            x.error = exc
        outcomes = [self._redactor.outcome(o) for o in pipeline.outcomes(x, sender, recipients, self.config)]
        await self._after(smtp, x, outcomes)
        return outcomes

    def _following(self, then: Following | None) -> list[Args]:
        """The next message's group, when it may go now (its guard says yes)."""
        if then is None or (then[3] is not None and not then[3]()):
            return []
        try:
            return pipeline.group(*pipeline.envelope(then[0], [then[1]], then[2], *self._offers))
        except SmtpUtf8UnsupportedError:
            return []  # it fails on its own turn

    def _pipelines(self, smtp: aiosmtplib.SMTP) -> bool:
        """PIPELINING only when the server offers it and the MTA allows it."""
        offered = smtp.supports_extension("pipelining")
        if offered and not self.config.pipelining and self.transcript is not None:
            self.transcript.note("PIPELINING: offered by the server, turned off for this MTA")
        return offered and self.config.pipelining

    async def _after(self, smtp: aiosmtplib.SMTP, x: Exchange, outcomes: list[Outcome]) -> None:
        """After a failure: drop the connection when the MTA failed, else reset a
        transaction left half built (RSET) so the next message starts clean."""
        for failed in outcomes:
            if not failed.ok:
                break
        else:
            return  # (the common case, without a generator per message)
        if self.transcript is not None:
            self.transcript.note(f"failed: {failed.summary}")
        if any(o.mta_failure for o in outcomes):
            self._drop()
        elif x.end is None and smtp.is_connected:
            try:
                await smtp.rset()
            except Exception:
                self._drop()

    def _withdrawn(self) -> Outcome:
        """The sender withdrew the message before DATA: drop the connection."""
        self._drop()
        return Outcome(ok=False, kind=ErrorKind.DISCONNECTED, message="withdrawn by the sender before DATA; not sent")

    async def close(self) -> None:
        """QUIT politely (briefly), then drop the connection. Never raises."""
        smtp = self._smtp
        self._smtp = None
        if smtp is None:
            return
        if smtp.is_connected and self._ahead is None:  # (else the server waits for a content: no QUIT)
            with contextlib.suppress(Exception):  # closing anyway
                await smtp.quit(timeout=min(self.config.timeout, 5.0))
        self._ahead = None
        smtp.close()

    def _drop(self) -> None:
        self._ahead = None
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def __aenter__(self) -> SmtpSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _within(when: float, step: Coroutine[Any, Any, R], smtp: aiosmtplib.SMTP, stage: Callable[[], str]) -> R:
    """Run a whole step under one deadline (``loop.time()``). When it passes, the
    TimeoutError says what aiosmtplib would have said, for the classifier: no
    greeting on a connection that is up, or no connection at all. Cancelling
    the caller cancels the step at once."""
    task = asyncio.ensure_future(step)
    try:
        done, _ = await asyncio.wait({task}, timeout=max(0.0, when - asyncio.get_running_loop().time()))
        if done:
            return task.result()
        up = smtp.protocol is not None and smtp.protocol.is_connected
        at = stage()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    if at != "connect":
        raise TimeoutError(f"Timed out waiting for a reply ({at})")
    if up:
        raise TimeoutError("Timed out waiting for server ready message")
    raise TimeoutError(f"Timed out connecting to {smtp.hostname} on port {smtp.port}")


def _nothing_received(smtp: aiosmtplib.SMTP) -> bool:
    """True while the TCP connection is up and the server has sent nothing."""
    protocol = smtp.protocol
    if protocol is None or not protocol.is_connected:
        return False
    return not getattr(protocol, "_buffer", b"")
