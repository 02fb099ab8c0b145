"""Who may charge where: id tag records and the OCPP 1.6 authorization decisions.

Plain rules over plain data. The host keeps the records (in Home Assistant:
its tags, enriched with what OCPP needs) and tells the authorizer what it
cannot know itself: the unknown-tag policy of a server, the id tag a charge
point uses for remote starts, and the transactions running anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum, auto
from typing import Any

from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import AuthorizationStatus

from .timestamps import format_timestamp

# The statuses a user gives a tag; Invalid and ConcurrentTx are decisions.
TAG_STATUSES: tuple[str, ...] = (
    AuthorizationStatus.accepted,
    AuthorizationStatus.blocked,
    AuthorizationStatus.expired,
)
# IdToken is CiString20Type (OCPP 1.6 section 7.17).
MAX_ID_TAG_LENGTH = 20


@dataclass(frozen=True, slots=True)
class IdTagRecord:
    """What the central system knows of an id tag (an RFID card, an app token).

    ``charge_points`` None: the tag may charge at every charge point.
    ``group_limit``: for a tag named as parent (a family, a company), how many
    transactions its group (it and the tags naming it) may run at once.
    """

    id_tag: str
    status: str = AuthorizationStatus.accepted
    expiry_date: datetime | None = None
    parent_id_tag: str | None = None
    tenant: str | None = None
    charge_points: frozenset[str] | None = None
    group_limit: int | None = None

    def allows(self, charge_point_id: str) -> bool:
        """Whether the tag may charge at a charge point."""
        return self.charge_points is None or charge_point_id in self.charge_points

    def to_dict(self) -> dict[str, Any]:
        """Serialize for storage."""
        return {
            "id_tag": self.id_tag,
            "status": str(self.status),
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "parent_id_tag": self.parent_id_tag,
            "tenant": self.tenant,
            "charge_points": sorted(self.charge_points) if self.charge_points is not None else None,
            "group_limit": self.group_limit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdTagRecord:
        """Restore from storage."""
        expiry = data.get("expiry_date")
        charge_points = data.get("charge_points")
        return cls(
            id_tag=data["id_tag"],
            status=AuthorizationStatus(data.get("status", AuthorizationStatus.accepted)),
            expiry_date=datetime.fromisoformat(expiry) if expiry else None,
            parent_id_tag=data.get("parent_id_tag"),
            tenant=data.get("tenant"),
            charge_points=frozenset(charge_points) if charge_points is not None else None,
            group_limit=data.get("group_limit"),
        )

    def updated(self, **changes: Any) -> IdTagRecord:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ActiveTransaction:
    """A transaction that is charging now somewhere."""

    charge_point_id: str
    transaction_id: int
    id_tag: str


class Purpose(Enum):
    """Which message asks, as the rules for concurrent use differ."""

    # Authorize: the card may be meant to stop this charger's own
    # transaction, so only transactions at other charge points count.
    AUTHORIZE = auto()
    # StartTransaction: every other running transaction counts.
    START_TRANSACTION = auto()
    # StopTransaction: never refused; the tag's status is for information.
    STOP_TRANSACTION = auto()


def _no_tag(_: str) -> str | None:
    return None


def _never() -> bool:
    return False


def _nothing_running() -> Iterable[ActiveTransaction]:
    return ()


class TagAuthorizer:
    """Answers idTagInfo for a server's charge points from shared id tag records."""

    def __init__(
        self,
        tags: Mapping[str, IdTagRecord],
        *,
        accept_unknown: Callable[[], bool] = _never,
        remote_start_id_tag: Callable[[str], str | None] = _no_tag,
        active_transactions: Callable[[], Iterable[ActiveTransaction]] = _nothing_running,
    ) -> None:
        """``tags`` is read live: changes to it apply to the next decision."""
        self._tags = tags
        self._accept_unknown = accept_unknown
        self._remote_start_id_tag = remote_start_id_tag
        self.active_transactions = active_transactions

    def tenant(self, id_tag: str) -> str | None:
        """Who is billed for what a tag charges."""
        record = self._tags.get(id_tag)
        return record.tenant if record is not None else None

    def id_tag_info(
        self,
        charge_point_id: str,
        id_tag: str,
        *,
        now: datetime,
        purpose: Purpose,
        transaction_id: int | None = None,
    ) -> IdTagInfo:
        """The answer for an id tag presented at a charge point.

        ``transaction_id`` is the transaction a StartTransaction just opened,
        which does not count against its own tag.
        """
        record = self._tags.get(id_tag)
        if record is None:
            # The charge point's own remote-start tag, and with a lenient
            # server any tag, may charge; neither is limited to one session.
            if self._accept_unknown() or id_tag == self._remote_start_id_tag(charge_point_id):
                return IdTagInfo(status=AuthorizationStatus.accepted)
            return IdTagInfo(status=AuthorizationStatus.invalid)
        info = self._record_info(record, now)
        if info.status != AuthorizationStatus.accepted:
            return info
        if not record.allows(charge_point_id):
            return IdTagInfo(status=AuthorizationStatus.invalid)
        if purpose is not Purpose.STOP_TRANSACTION and self._over_limit(
            record, charge_point_id, purpose, transaction_id
        ):
            return replace(info, status=AuthorizationStatus.concurrent_tx)
        return info

    def _record_info(self, record: IdTagRecord, now: datetime) -> IdTagInfo:
        """A tag's own standing, with its group's: a blocked group blocks its tags."""
        parent = self._tags.get(record.parent_id_tag) if record.parent_id_tag else None
        status = _standing(record, now)
        if parent is not None and status == AuthorizationStatus.accepted:
            status = _standing(parent, now)
        expiry_dates = [r.expiry_date for r in (record, parent) if r and r.expiry_date]
        return IdTagInfo(
            status=status,
            parent_id_tag=record.parent_id_tag,
            expiry_date=format_timestamp(min(expiry_dates)) if expiry_dates else None,
        )

    def _over_limit(
        self,
        record: IdTagRecord,
        charge_point_id: str,
        purpose: Purpose,
        transaction_id: int | None,
    ) -> bool:
        """ConcurrentTx: the tag charges elsewhere already, or its group is at its limit."""
        others = [
            active
            for active in self.active_transactions()
            if active.charge_point_id != charge_point_id
            or (purpose is not Purpose.AUTHORIZE and active.transaction_id != transaction_id)
        ]
        if any(active.id_tag == record.id_tag for active in others):
            return True
        for group_id in {record.id_tag, record.parent_id_tag}:
            group = self._tags.get(group_id) if group_id else None
            if group is None or group.group_limit is None:
                continue
            members = sum(1 for active in others if self._in_group(active.id_tag, group_id))
            if members >= group.group_limit:
                return True
        return False

    def _in_group(self, id_tag: str, group_id: str | None) -> bool:
        if id_tag == group_id:
            return True
        record = self._tags.get(id_tag)
        return record is not None and record.parent_id_tag == group_id

    def local_list(self, charge_point_id: str, now: datetime) -> dict[str, dict[str, Any]]:
        """The local authorization list for a charge point: id tag -> idTagInfo.

        It holds the tags that may charge there, so they work while the
        charger is offline, and the blocked and expired ones, so that an
        entry in the charger's authorization cache cannot let them in (the
        local list takes precedence over the cache, OCPP 1.6 section 3.5.3).
        """
        entries: dict[str, dict[str, Any]] = {}
        remote_start_id_tag = self._remote_start_id_tag(charge_point_id)
        if remote_start_id_tag and remote_start_id_tag not in self._tags:
            entries[remote_start_id_tag] = {"status": str(AuthorizationStatus.accepted)}
        for id_tag, record in sorted(self._tags.items()):
            if not record.allows(charge_point_id):
                continue
            info = self._record_info(record, now)
            entries[id_tag] = {
                key: str(value)
                for key, value in (
                    ("status", info.status),
                    ("expiry_date", info.expiry_date),
                    ("parent_id_tag", info.parent_id_tag),
                )
                if value is not None
            }
        return entries


def _standing(record: IdTagRecord, now: datetime) -> AuthorizationStatus:
    """Blocked beats Expired beats Accepted; a passed expiry date expires the tag."""
    if record.status == AuthorizationStatus.blocked:
        return AuthorizationStatus.blocked
    if record.status == AuthorizationStatus.expired or (
        record.expiry_date is not None and record.expiry_date <= now
    ):
        return AuthorizationStatus.expired
    return AuthorizationStatus.accepted


class AcceptAll:
    """The authorizer of a private garage: every id tag may charge."""

    def tenant(self, id_tag: str) -> str | None:
        """Nobody is billed."""
        return None

    def id_tag_info(
        self,
        charge_point_id: str,
        id_tag: str,
        *,
        now: datetime,
        purpose: Purpose,
        transaction_id: int | None = None,
    ) -> IdTagInfo:
        """Accepted."""
        return IdTagInfo(status=AuthorizationStatus.accepted)

    def local_list(self, charge_point_id: str, now: datetime) -> dict[str, dict[str, Any]]:
        """No list to keep."""
        return {}
