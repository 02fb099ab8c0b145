"""The server's handshake check: back-off, credentials, password hashing off the event loop.

Glue between the websocket server, the host application's
:class:`CredentialStore`, the pure rules in handshake.py and the login
back-off. Nothing secret is ever logged: neither the Authorization header,
nor a password, nor a hash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import functools
from http import HTTPStatus
import logging
import time
from typing import Any

from .backoff import LoginBackoff
from .credentials import Credentials, CredentialStore
from .handshake import Admission, PasswordCheck, decide
from .passwords import verify_password
from .tls import certificate_identity

_LOGGER = logging.getLogger(__name__)

# While one attempt's password is being checked, another one for the same
# charge point from the same address waits this long: parallel guesses would
# otherwise slip past the back-off.
CHECK_IN_PROGRESS_RETRY = 1

REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the handshake check knows of one upgrade request."""

    charge_point_id: str
    address: str
    # The Authorization header values sent (normally none or one).
    authorization: tuple[str, ...] = ()
    tls: bool = False
    # getpeercert() of the TLS connection: a verified client certificate.
    peer_certificate: Mapping[str, Any] | None = None


class Gatekeeper:
    """Admits or refuses upgrade requests against a credential store."""

    def __init__(
        self,
        credentials: CredentialStore,
        *,
        failed_logins_before_backoff: int = 5,
        now: Callable[[], float] = time.monotonic,
        verify: PasswordCheck = verify_password,
    ) -> None:
        """Check logins against ``credentials``; ``now`` and ``verify`` are for tests."""
        self.credentials = credentials
        self.backoff = LoginBackoff(failed_logins_before_backoff, now=now)
        self._verify = verify
        self._checking: set[tuple[str, str]] = set()

    async def check(self, attempt: Attempt) -> Admission:
        """Decide on one attempt and record its outcome (back-off, store)."""
        key = (attempt.address, attempt.charge_point_id)
        retry_after = self.backoff.retry_after(*key)
        if retry_after:
            admission = Admission.refuse(
                HTTPStatus.TOO_MANY_REQUESTS,
                "Too many failed logins",
                retry_after=retry_after,
            )
        elif key in self._checking:
            admission = Admission.refuse(
                HTTPStatus.TOO_MANY_REQUESTS,
                "A login is being checked",
                retry_after=CHECK_IN_PROGRESS_RETRY,
            )
        else:
            credentials = self.credentials.credentials(attempt.charge_point_id)
            self._checking.add(key)
            try:
                admission = await self._decide(attempt, credentials)
            finally:
                self._checking.discard(key)
            self._record(attempt, admission, known=credentials is not None)
        if not admission.admitted:
            _LOGGER.info(
                "%s: refused connection from %s: HTTP %s (%s)",
                attempt.charge_point_id,
                attempt.address,
                int(admission.refusal or 0),
                admission.reason,
            )
        return admission

    async def _decide(self, attempt: Attempt, credentials: Credentials | None) -> Admission:
        admits_unknown = credentials is None and self.credentials.admits_unknown()
        # Two headers are as malformed as a broken one.
        header = None
        if attempt.authorization:
            header = attempt.authorization[0] if len(attempt.authorization) == 1 else ""
        decision = functools.partial(
            decide,
            attempt.charge_point_id,
            header,
            tls=attempt.tls,
            client_certificate_id=certificate_identity(attempt.peer_certificate),
            credentials=credentials,
            admits_unknown=admits_unknown,
            verify=self._verify,
        )
        if header is not None and credentials is not None and credentials.password_hashes:
            # PBKDF2 takes milliseconds per hash: not on the event loop.
            return await asyncio.get_running_loop().run_in_executor(None, decision)
        return decision()

    def _record(self, attempt: Attempt, admission: Admission, *, known: bool) -> None:
        if admission.refusal is HTTPStatus.UNAUTHORIZED:
            self.backoff.failed(attempt.address, attempt.charge_point_id)
            return
        if not admission.admitted:
            return
        self.backoff.succeeded(attempt.address, attempt.charge_point_id)
        # An unknown charger has nothing on record yet: the host learns of
        # it through the central system when it boots.
        if known:
            self.credentials.logged_in(
                attempt.charge_point_id, admission.profile, admission.password_index
            )


class AuthorizationHeaderFilter(logging.Filter):
    """Keeps the Authorization header out of the websockets package's debug log.

    With debug logging on, websockets logs every request header; a Basic
    header is the password in base64.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the value of a logged Authorization header."""
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 2  # "< %s: %s": name and value
            and isinstance(args[0], str)
            and args[0].lower() == "authorization"
        ):
            record.args = (args[0], REDACTED)
        return True


AUTHORIZATION_HEADER_FILTER = AuthorizationHeaderFilter()


def hide_authorization_headers(logger: logging.Logger) -> None:
    """Install the Authorization header filter on ``logger`` (once)."""
    if AUTHORIZATION_HEADER_FILTER not in logger.filters:
        logger.addFilter(AUTHORIZATION_HEADER_FILTER)
