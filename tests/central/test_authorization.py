"""Id tag decisions: standing, groups, restrictions, concurrent use and the local list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
import json

from ocpp.v16.enums import AuthorizationStatus
import pytest

from custom_components.csms.central.authorization import (
    AcceptAll,
    ActiveTransaction,
    IdTagRecord,
    Purpose,
    TagAuthorizer,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
NEXT_YEAR = datetime(2027, 11, 21, 12, 0, tzinfo=UTC)
NEXT_MONTH = datetime(2026, 12, 21, 8, 30, tzinfo=UTC)


def _authorizer(
    *records: IdTagRecord,
    accept_unknown: bool = False,
    remote_start: dict[str, str] | None = None,
    active: Iterable[ActiveTransaction] = (),
) -> TagAuthorizer:
    running = list(active)
    starts = remote_start or {}
    return TagAuthorizer(
        {record.id_tag: record for record in records},
        accept_unknown=lambda: accept_unknown,
        remote_start_id_tag=starts.get,
        active_transactions=lambda: running,
    )


def _status(
    authorizer: TagAuthorizer,
    charge_point_id: str,
    id_tag: str,
    purpose: Purpose = Purpose.AUTHORIZE,
    transaction_id: int | None = None,
) -> str:
    info = authorizer.id_tag_info(
        charge_point_id, id_tag, now=NOW, purpose=purpose, transaction_id=transaction_id
    )
    return str(info.status)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_unknown_tag_is_invalid(purpose: Purpose) -> None:
    authorizer = _authorizer(IdTagRecord("KNOWN"))
    assert _status(authorizer, "CP1", "STRANGER", purpose) == AuthorizationStatus.invalid


def test_unknown_tag_accepted_by_a_lenient_server() -> None:
    authorizer = _authorizer(accept_unknown=True)
    info = authorizer.id_tag_info("CP1", "STRANGER", now=NOW, purpose=Purpose.AUTHORIZE)
    assert info.status == AuthorizationStatus.accepted
    assert info.expiry_date is None
    assert info.parent_id_tag is None
    assert authorizer.tenant("STRANGER") is None


def test_remote_start_tag_only_at_its_own_charge_point() -> None:
    authorizer = _authorizer(remote_start={"CP1": "REMOTE-CP1"})
    assert _status(authorizer, "CP1", "REMOTE-CP1") == AuthorizationStatus.accepted
    assert (
        _status(authorizer, "CP1", "REMOTE-CP1", Purpose.START_TRANSACTION, 7)
        == AuthorizationStatus.accepted
    )
    assert _status(authorizer, "CP2", "REMOTE-CP1") == AuthorizationStatus.invalid


def test_remote_start_tag_is_not_limited_to_one_session() -> None:
    running = [ActiveTransaction("CP2", 1, "REMOTE")]
    authorizer = _authorizer(remote_start={"CP1": "REMOTE", "CP2": "REMOTE"}, active=running)
    assert _status(authorizer, "CP1", "REMOTE") == AuthorizationStatus.accepted


def test_accepted_tag_carries_its_expiry_date_in_ocpp_format() -> None:
    authorizer = _authorizer(IdTagRecord("CARD", expiry_date=NEXT_MONTH, tenant="ACME"))
    info = authorizer.id_tag_info("CP1", "CARD", now=NOW, purpose=Purpose.AUTHORIZE)
    assert info.status == AuthorizationStatus.accepted
    assert info.expiry_date == "2026-12-21T08:30:00.000Z"
    assert info.parent_id_tag is None
    assert authorizer.tenant("CARD") == "ACME"


def test_expiry_date_in_another_zone_is_answered_in_utc() -> None:
    cet = datetime(2026, 12, 21, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    authorizer = _authorizer(IdTagRecord("CARD", expiry_date=cet))
    info = authorizer.id_tag_info("CP1", "CARD", now=NOW, purpose=Purpose.AUTHORIZE)
    assert info.expiry_date == "2026-12-21T09:30:00.000Z"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (IdTagRecord("CARD", expiry_date=NOW - timedelta(seconds=1)), AuthorizationStatus.expired),
        (IdTagRecord("CARD", expiry_date=NOW), AuthorizationStatus.expired),
        (IdTagRecord("CARD", expiry_date=NOW + timedelta(seconds=1)), AuthorizationStatus.accepted),
        (IdTagRecord("CARD", status=AuthorizationStatus.blocked), AuthorizationStatus.blocked),
        (IdTagRecord("CARD", status=AuthorizationStatus.expired), AuthorizationStatus.expired),
        (
            IdTagRecord("CARD", status=AuthorizationStatus.blocked, expiry_date=NOW),
            AuthorizationStatus.blocked,
        ),
    ],
)
@pytest.mark.parametrize("purpose", list(Purpose))
def test_standing_of_a_tag(record: IdTagRecord, expected: str, purpose: Purpose) -> None:
    assert _status(_authorizer(record), "CP1", "CARD", purpose, 1) == expected


@pytest.mark.parametrize(
    ("parent", "expected"),
    [
        (IdTagRecord("FAMILY", status=AuthorizationStatus.blocked), AuthorizationStatus.blocked),
        (IdTagRecord("FAMILY", status=AuthorizationStatus.expired), AuthorizationStatus.expired),
        (IdTagRecord("FAMILY", expiry_date=NOW), AuthorizationStatus.expired),
        (IdTagRecord("FAMILY"), AuthorizationStatus.accepted),
    ],
)
def test_the_group_decides_for_its_tags(parent: IdTagRecord, expected: str) -> None:
    authorizer = _authorizer(parent, IdTagRecord("CHILD", parent_id_tag="FAMILY"))
    info = authorizer.id_tag_info("CP1", "CHILD", now=NOW, purpose=Purpose.AUTHORIZE)
    assert info.status == expected
    assert info.parent_id_tag == "FAMILY"


def test_own_standing_beats_the_groups() -> None:
    authorizer = _authorizer(
        IdTagRecord("FAMILY", status=AuthorizationStatus.expired),
        IdTagRecord("CHILD", status=AuthorizationStatus.blocked, parent_id_tag="FAMILY"),
    )
    assert _status(authorizer, "CP1", "CHILD") == AuthorizationStatus.blocked


@pytest.mark.parametrize(
    ("child_expiry", "parent_expiry", "expected"),
    [
        (NEXT_YEAR, NEXT_MONTH, "2026-12-21T08:30:00.000Z"),
        (NEXT_MONTH, NEXT_YEAR, "2026-12-21T08:30:00.000Z"),
        (None, NEXT_MONTH, "2026-12-21T08:30:00.000Z"),
        (NEXT_YEAR, None, "2027-11-21T12:00:00.000Z"),
        (None, None, None),
    ],
)
def test_the_earlier_expiry_of_tag_and_group_is_answered(
    child_expiry: datetime | None, parent_expiry: datetime | None, expected: str | None
) -> None:
    authorizer = _authorizer(
        IdTagRecord("FAMILY", expiry_date=parent_expiry),
        IdTagRecord("CHILD", expiry_date=child_expiry, parent_id_tag="FAMILY"),
    )
    info = authorizer.id_tag_info("CP1", "CHILD", now=NOW, purpose=Purpose.AUTHORIZE)
    assert info.status == AuthorizationStatus.accepted
    assert info.expiry_date == expected
    assert info.parent_id_tag == "FAMILY"


def test_parent_tag_that_is_not_registered_is_still_named() -> None:
    authorizer = _authorizer(IdTagRecord("CHILD", parent_id_tag="NOBODY"))
    info = authorizer.id_tag_info("CP1", "CHILD", now=NOW, purpose=Purpose.AUTHORIZE)
    assert info.status == AuthorizationStatus.accepted
    assert info.parent_id_tag == "NOBODY"


@pytest.mark.parametrize("purpose", list(Purpose))
def test_tag_restricted_to_charge_points(purpose: Purpose) -> None:
    authorizer = _authorizer(IdTagRecord("CARD", charge_points=frozenset({"CP1", "CP2"})))
    assert _status(authorizer, "CP1", "CARD", purpose, 1) == AuthorizationStatus.accepted
    assert _status(authorizer, "CP2", "CARD", purpose, 1) == AuthorizationStatus.accepted
    assert _status(authorizer, "CP3", "CARD", purpose, 1) == AuthorizationStatus.invalid


def test_restricted_tag_that_is_blocked_says_blocked_everywhere() -> None:
    record = IdTagRecord(
        "CARD", status=AuthorizationStatus.blocked, charge_points=frozenset({"CP1"})
    )
    assert _status(_authorizer(record), "CP3", "CARD") == AuthorizationStatus.blocked


@pytest.mark.parametrize(
    ("charge_point_id", "purpose", "transaction_id", "expected"),
    [
        # Another charge point: the card is in use there.
        ("CP2", Purpose.AUTHORIZE, None, AuthorizationStatus.concurrent_tx),
        ("CP2", Purpose.START_TRANSACTION, 9, AuthorizationStatus.concurrent_tx),
        ("CP2", Purpose.STOP_TRANSACTION, 9, AuthorizationStatus.accepted),
        # The same charge point: Authorize may be the card stopping its transaction.
        ("CP1", Purpose.AUTHORIZE, None, AuthorizationStatus.accepted),
        # The transaction the StartTransaction opened does not count against it.
        ("CP1", Purpose.START_TRANSACTION, 1, AuthorizationStatus.accepted),
        # A second transaction on another connector of the same charge point does.
        ("CP1", Purpose.START_TRANSACTION, 2, AuthorizationStatus.concurrent_tx),
        ("CP1", Purpose.START_TRANSACTION, None, AuthorizationStatus.concurrent_tx),
        ("CP1", Purpose.STOP_TRANSACTION, 1, AuthorizationStatus.accepted),
        ("CP1", Purpose.STOP_TRANSACTION, 2, AuthorizationStatus.accepted),
    ],
)
def test_concurrent_use_of_one_tag(
    charge_point_id: str, purpose: Purpose, transaction_id: int | None, expected: str
) -> None:
    authorizer = _authorizer(
        IdTagRecord("CARD", expiry_date=NEXT_MONTH),
        active=[ActiveTransaction("CP1", 1, "CARD")],
    )
    info = authorizer.id_tag_info(
        charge_point_id, "CARD", now=NOW, purpose=purpose, transaction_id=transaction_id
    )
    assert info.status == expected
    # ConcurrentTx keeps the rest of what is known of the tag.
    assert info.expiry_date == "2026-12-21T08:30:00.000Z"


def test_start_transaction_excludes_its_own_transaction_only_at_its_charge_point() -> None:
    # Transaction ids are per server, but the rule must not match another
    # charge point's transaction that happens to have the same id.
    authorizer = _authorizer(IdTagRecord("CARD"), active=[ActiveTransaction("CP2", 1, "CARD")])
    assert (
        _status(authorizer, "CP1", "CARD", Purpose.START_TRANSACTION, 1)
        == AuthorizationStatus.concurrent_tx
    )


def test_other_tags_running_do_not_count_without_a_group_limit() -> None:
    authorizer = _authorizer(
        IdTagRecord("FAMILY"),
        IdTagRecord("A", parent_id_tag="FAMILY"),
        IdTagRecord("B", parent_id_tag="FAMILY"),
        active=[ActiveTransaction("CP2", 1, "A"), ActiveTransaction("CP3", 2, "FAMILY")],
    )
    assert _status(authorizer, "CP1", "B") == AuthorizationStatus.accepted


def test_the_live_tag_mapping_and_transactions_are_read_on_each_decision() -> None:
    tags: dict[str, IdTagRecord] = {}
    running: list[ActiveTransaction] = []
    authorizer = TagAuthorizer(tags, active_transactions=lambda: running)
    assert _status(authorizer, "CP1", "CARD") == AuthorizationStatus.invalid
    tags["CARD"] = IdTagRecord("CARD")
    assert _status(authorizer, "CP1", "CARD") == AuthorizationStatus.accepted
    running.append(ActiveTransaction("CP2", 1, "CARD"))
    assert _status(authorizer, "CP1", "CARD") == AuthorizationStatus.concurrent_tx
    tags["CARD"] = IdTagRecord("CARD", status=AuthorizationStatus.blocked)
    assert _status(authorizer, "CP1", "CARD") == AuthorizationStatus.blocked


def _family(limit: int, *running: ActiveTransaction) -> TagAuthorizer:
    return _authorizer(
        IdTagRecord("FAMILY", group_limit=limit),
        IdTagRecord("A", parent_id_tag="FAMILY"),
        IdTagRecord("B", parent_id_tag="FAMILY"),
        IdTagRecord("C", parent_id_tag="FAMILY"),
        IdTagRecord("OUTSIDER"),
        IdTagRecord("NEIGHBOUR"),
        active=running,
    )


@pytest.mark.parametrize(
    ("running", "expected"),
    [
        ((), AuthorizationStatus.accepted),
        ((ActiveTransaction("CP2", 1, "A"),), AuthorizationStatus.accepted),
        (
            (ActiveTransaction("CP2", 1, "A"), ActiveTransaction("CP3", 2, "OUTSIDER")),
            AuthorizationStatus.accepted,
        ),
        (
            (ActiveTransaction("CP2", 1, "A"), ActiveTransaction("CP3", 2, "B")),
            AuthorizationStatus.concurrent_tx,
        ),
        # The parent tag itself charging is a member too.
        (
            (ActiveTransaction("CP2", 1, "A"), ActiveTransaction("CP3", 2, "FAMILY")),
            AuthorizationStatus.concurrent_tx,
        ),
    ],
)
def test_group_limit_counts_the_members_transactions(
    running: tuple[ActiveTransaction, ...], expected: str
) -> None:
    authorizer = _family(2, *running)
    assert _status(authorizer, "CP1", "C") == expected
    assert _status(authorizer, "CP1", "C", Purpose.START_TRANSACTION, 3) == expected
    assert _status(authorizer, "CP1", "C", Purpose.STOP_TRANSACTION, 3) == (
        AuthorizationStatus.accepted
    )
    # The limit holds for the parent tag as well, and never for outsiders.
    assert _status(authorizer, "CP1", "FAMILY") == expected
    assert _status(authorizer, "CP1", "NEIGHBOUR") == AuthorizationStatus.accepted


def test_group_limit_and_the_transaction_a_start_opened() -> None:
    # C's own new transaction is already running when StartTransaction is
    # decided: it fills the group's second place, but does not count.
    authorizer = _family(2, ActiveTransaction("CP2", 1, "A"), ActiveTransaction("CP1", 2, "C"))
    assert (
        _status(authorizer, "CP1", "C", Purpose.START_TRANSACTION, 2)
        == AuthorizationStatus.accepted
    )
    assert (
        _status(authorizer, "CP1", "B", Purpose.START_TRANSACTION, 3)
        == AuthorizationStatus.concurrent_tx
    )


def test_group_limit_for_authorize_ignores_the_same_charge_points_transactions() -> None:
    authorizer = _family(1, ActiveTransaction("CP1", 1, "A"))
    assert _status(authorizer, "CP1", "B") == AuthorizationStatus.accepted
    assert _status(authorizer, "CP2", "B") == AuthorizationStatus.concurrent_tx


@pytest.mark.parametrize(
    "record",
    [
        IdTagRecord("CARD"),
        IdTagRecord(
            "CARD",
            status=AuthorizationStatus.blocked,
            expiry_date=NEXT_MONTH,
            parent_id_tag="FAMILY",
            tenant="ACME",
            charge_points=frozenset({"CP2", "CP1"}),
            group_limit=3,
        ),
        IdTagRecord("CARD", status=AuthorizationStatus.expired, charge_points=frozenset()),
    ],
)
def test_record_round_trip(record: IdTagRecord) -> None:
    stored = json.loads(json.dumps(record.to_dict()))
    assert IdTagRecord.from_dict(stored) == record
    assert isinstance(IdTagRecord.from_dict(stored).status, AuthorizationStatus)


def test_record_storage_format() -> None:
    record = IdTagRecord(
        "CARD",
        expiry_date=NEXT_MONTH,
        charge_points=frozenset({"CP2", "CP1"}),
        group_limit=2,
    )
    assert record.to_dict() == {
        "id_tag": "CARD",
        "status": "Accepted",
        "expiry_date": "2026-12-21T08:30:00+00:00",
        "parent_id_tag": None,
        "tenant": None,
        "charge_points": ["CP1", "CP2"],
        "group_limit": 2,
    }
    assert IdTagRecord.from_dict({"id_tag": "OLD"}) == IdTagRecord("OLD")
    assert record.updated(status=AuthorizationStatus.blocked).status == "Blocked"
    assert record.status == AuthorizationStatus.accepted


def test_local_list_content() -> None:
    authorizer = _authorizer(
        IdTagRecord("ACCEPTED"),
        IdTagRecord("BLOCKED", status=AuthorizationStatus.blocked),
        IdTagRecord("EXPIRED", status=AuthorizationStatus.expired),
        IdTagRecord("PAST", expiry_date=NOW - timedelta(days=1)),
        IdTagRecord("FAMILY", expiry_date=NEXT_MONTH, group_limit=1),
        IdTagRecord("CHILD", expiry_date=NEXT_YEAR, parent_id_tag="FAMILY"),
        IdTagRecord("ONLY-CP1", charge_points=frozenset({"CP1"})),
        remote_start={"CP1": "REMOTE-CP1", "CP2": "REMOTE-CP2"},
        # Concurrent use is not for the list: the charger decides offline.
        active=[ActiveTransaction("CP2", 1, "ACCEPTED")],
    )
    common = {
        "ACCEPTED": {"status": "Accepted"},
        "BLOCKED": {"status": "Blocked"},
        "EXPIRED": {"status": "Expired"},
        "PAST": {"status": "Expired", "expiry_date": "2026-11-20T12:00:00.000Z"},
        "FAMILY": {"status": "Accepted", "expiry_date": "2026-12-21T08:30:00.000Z"},
        "CHILD": {
            "status": "Accepted",
            "expiry_date": "2026-12-21T08:30:00.000Z",
            "parent_id_tag": "FAMILY",
        },
    }
    assert authorizer.local_list("CP1", NOW) == {
        "REMOTE-CP1": {"status": "Accepted"},
        **common,
        "ONLY-CP1": {"status": "Accepted"},
    }
    assert authorizer.local_list("CP2", NOW) == {"REMOTE-CP2": {"status": "Accepted"}, **common}
    assert authorizer.local_list("CP3", NOW) == common
    # Plain strings: the list is stored and sent as JSON.
    for info in authorizer.local_list("CP1", NOW).values():
        assert all(type(value) is str for value in info.values())


def test_local_list_keeps_a_registered_remote_start_tag_as_registered() -> None:
    authorizer = _authorizer(
        IdTagRecord("REMOTE", status=AuthorizationStatus.blocked),
        remote_start={"CP1": "REMOTE"},
    )
    assert authorizer.local_list("CP1", NOW) == {"REMOTE": {"status": "Blocked"}}


def test_local_list_with_nothing_to_hold() -> None:
    assert _authorizer().local_list("CP1", NOW) == {}
    assert _authorizer(accept_unknown=True).local_list("CP1", NOW) == {}


@pytest.mark.parametrize("purpose", list(Purpose))
def test_accept_all(purpose: Purpose) -> None:
    authorizer = AcceptAll()
    info = authorizer.id_tag_info("CP1", "ANYONE", now=NOW, purpose=purpose, transaction_id=1)
    assert info.status == AuthorizationStatus.accepted
    assert info.expiry_date is None
    assert info.parent_id_tag is None
    assert authorizer.tenant("ANYONE") is None
    assert authorizer.local_list("CP1", NOW) == {}
