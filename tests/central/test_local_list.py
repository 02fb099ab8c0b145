"""Local authorization list synchronization against a charger that keeps its own list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
import logging
import random
from typing import Any

import pytest

from custom_components.csms.central.errors import (
    CallErrorResponse,
    NotConnectedError,
    RequestError,
    RequestTimeoutError,
)
from custom_components.csms.central.local_list import (
    LocalListState,
    LocalListSync,
    SyncOutcome,
    SyncResult,
    differences,
    limit_entries,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

ACCEPTED = {"status": "Accepted"}
BLOCKED = {"status": "Blocked"}
EXPIRED = {"status": "Expired"}


class FakeCharger:
    """A charger's local list as OCPP 1.6 section 5.15 describes it.

    ``get_version`` replaces the GetLocalListVersion answer: an int to
    report, or an exception to raise. ``answers`` are SendLocalList statuses
    given, in turn, instead of applying the update.
    """

    def __init__(self, *, max_entries: int | None = None, enabled: bool = True) -> None:
        self.version = 0
        self.entries: dict[str, dict[str, Any]] = {}
        self.max_entries = max_entries
        self.enabled = enabled
        self.get_version: int | Exception | None = None
        self.answers: list[str] = []
        self.fail_on: dict[str, Exception] = {}
        self.actions: list[str] = []
        self.sent: list[dict[str, Any]] = []

    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.actions.append(action)
        if action in self.fail_on:
            raise self.fail_on[action]
        if action == "GetLocalListVersion":
            return self._get_local_list_version()
        assert action == "SendLocalList"
        self.sent.append(payload)
        return {"status": self._send_local_list(payload)}

    def _get_local_list_version(self) -> dict[str, Any]:
        if isinstance(self.get_version, Exception):
            raise self.get_version
        if self.get_version is not None:
            return {"list_version": self.get_version}
        return {"list_version": self.version if self.entries else 0}

    def _send_local_list(self, payload: dict[str, Any]) -> str:
        if self.answers:
            return self.answers.pop(0)
        if not self.enabled:
            return "NotSupported"
        version = payload["list_version"]
        if payload["update_type"] == "Full":
            entries = {}
        elif version <= self.version:
            return "VersionMismatch"
        else:
            entries = dict(self.entries)
        for entry in payload["local_authorization_list"]:
            if "id_tag_info" in entry:
                entries[entry["id_tag"]] = entry["id_tag_info"]
            else:
                entries.pop(entry["id_tag"], None)
        if self.max_entries is not None and len(entries) > self.max_entries:
            return "Failed"
        self.version, self.entries = version, entries
        return "Accepted"

    def updates(self) -> list[tuple[str, int, int]]:
        """(update type, version, entries) of each SendLocalList."""
        return [
            (p["update_type"], p["list_version"], len(p["local_authorization_list"]))
            for p in self.sent
        ]

    def forget_messages(self) -> None:
        self.actions.clear()
        self.sent.clear()


async def _sync(
    charger: FakeCharger,
    state: LocalListState,
    wanted: dict[str, dict[str, Any]],
    *,
    max_per_message: int | None = None,
    now: datetime = NOW,
    **options: Any,
) -> SyncOutcome:
    sync = LocalListSync(charger.request, state, now=now, max_per_message=max_per_message)
    return await sync.run(wanted, **options)


async def _in_step(
    wanted: dict[str, dict[str, Any]], **charger_options: Any
) -> tuple[FakeCharger, LocalListState]:
    """A charger that accepted ``wanted`` as version 1."""
    charger = FakeCharger(**charger_options)
    state = LocalListState()
    outcome = await _sync(charger, state, wanted)
    assert outcome.result is SyncResult.ACCEPTED
    assert state.version == charger.version == 1
    charger.forget_messages()
    return charger, state


async def test_first_sync_is_full_and_starts_at_version_1() -> None:
    charger = FakeCharger()
    state = LocalListState()
    wanted = {"A": ACCEPTED, "B": {"status": "Accepted", "parent_id_tag": "FAMILY"}}
    outcome = await _sync(charger, state, wanted)
    assert outcome == SyncOutcome(
        result=SyncResult.ACCEPTED, list_version=1, update_type="Full", entries=2
    )
    assert charger.actions == ["GetLocalListVersion", "SendLocalList"]
    assert charger.sent == [
        {
            "list_version": 1,
            "update_type": "Full",
            "local_authorization_list": [
                {"id_tag": "A", "id_tag_info": ACCEPTED},
                {"id_tag": "B", "id_tag_info": {"status": "Accepted", "parent_id_tag": "FAMILY"}},
            ],
        }
    ]
    assert charger.entries == wanted
    assert state == LocalListState(
        version=1, entries=wanted, result=SyncResult.ACCEPTED, synced_at=NOW
    )


async def test_first_sync_of_an_empty_list_is_full() -> None:
    charger = FakeCharger()
    state = LocalListState()
    outcome = await _sync(charger, state, {})
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 1, "Full", 0)
    assert charger.updates() == [("Full", 1, 0)]
    assert state.entries == {}


async def test_a_change_is_sent_as_a_differential_update() -> None:
    charger, state = await _in_step({"A": ACCEPTED, "B": ACCEPTED, "C": ACCEPTED})
    wanted = {"A": BLOCKED, "C": ACCEPTED, "D": EXPIRED}
    outcome = await _sync(charger, state, wanted, now=NOW + timedelta(hours=1))
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 2, "Differential", 3)
    assert charger.sent == [
        {
            "list_version": 2,
            "update_type": "Differential",
            "local_authorization_list": [
                {"id_tag": "A", "id_tag_info": BLOCKED},
                {"id_tag": "D", "id_tag_info": EXPIRED},
                # A removal: an entry without idTagInfo.
                {"id_tag": "B"},
            ],
        }
    ]
    assert charger.entries == wanted
    assert state.version == 2
    assert state.entries == wanted
    assert state.synced_at == NOW + timedelta(hours=1)


async def test_only_the_one_change_is_sent() -> None:
    charger, state = await _in_step({"A": ACCEPTED, "B": ACCEPTED})
    await _sync(charger, state, {"A": ACCEPTED, "B": BLOCKED})
    assert charger.sent[0]["local_authorization_list"] == [{"id_tag": "B", "id_tag_info": BLOCKED}]
    charger.forget_messages()
    await _sync(charger, state, {"A": ACCEPTED})
    assert charger.sent[0]["local_authorization_list"] == [{"id_tag": "B"}]
    assert charger.sent[0]["list_version"] == 3
    assert charger.entries == {"A": ACCEPTED}


async def test_nothing_to_do_sends_nothing() -> None:
    wanted = {"A": ACCEPTED}
    charger, state = await _in_step(wanted)
    later = NOW + timedelta(days=1)
    outcome = await _sync(charger, state, dict(wanted), now=later)
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 1, None, 1)
    assert charger.actions == ["GetLocalListVersion"]
    assert state == LocalListState(
        version=1, entries=wanted, result=SyncResult.ACCEPTED, synced_at=later
    )


async def test_an_emptied_list_is_still_ours_when_the_charger_reports_0() -> None:
    # A charger reports 0 for an empty list whatever version it holds.
    charger, state = await _in_step({})
    assert charger.version == 1
    outcome = await _sync(charger, state, {})
    assert outcome.update_type is None
    assert charger.actions == ["GetLocalListVersion"]
    outcome = await _sync(charger, state, {"A": ACCEPTED})
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 2, "Differential", 1)
    assert charger.entries == {"A": ACCEPTED}


@pytest.mark.parametrize(
    ("charger_version", "charger_entries", "expected_version"),
    [
        (0, {}, 2),  # reset: the list is gone
        (0, {"X": ACCEPTED}, 2),  # reset, reporting 0 with entries
        (7, {"X": ACCEPTED}, 8),  # written by someone else
    ],
)
async def test_a_charger_reporting_another_version_gets_the_full_list(
    charger_version: int, charger_entries: dict[str, dict[str, Any]], expected_version: int
) -> None:
    charger, state = await _in_step({"A": ACCEPTED, "B": ACCEPTED})
    charger.version, charger.entries = charger_version, charger_entries
    wanted = {"A": ACCEPTED, "B": BLOCKED}
    outcome = await _sync(charger, state, wanted)
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, expected_version, "Full", 2)
    assert charger.updates() == [("Full", expected_version, 2)]
    assert charger.entries == wanted
    assert state.version == expected_version


async def test_the_same_list_is_resent_in_full_when_the_charger_lost_it() -> None:
    charger, state = await _in_step({"A": ACCEPTED})
    charger.version, charger.entries = 0, {}
    outcome = await _sync(charger, state, {"A": ACCEPTED})
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 2, "Full", 1)
    assert charger.entries == {"A": ACCEPTED}


async def test_version_mismatch_on_a_differential_update_recovers_in_full() -> None:
    charger, state = await _in_step({"A": ACCEPTED})
    # The charger holds a later version than it reports.
    charger.version, charger.entries = 5, {"X": ACCEPTED}
    charger.get_version = 1
    wanted = {"A": ACCEPTED, "B": ACCEPTED}
    outcome = await _sync(charger, state, wanted)
    assert charger.updates() == [("Differential", 2, 1), ("Full", 3, 2)]
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 3, "Full", 2)
    assert charger.entries == wanted
    assert state.entries == wanted
    assert state.result is SyncResult.ACCEPTED


async def test_version_mismatch_for_an_explicit_version() -> None:
    charger, state = await _in_step({"A": ACCEPTED})
    outcome = await _sync(charger, state, {"A": BLOCKED}, list_version=1)
    assert charger.updates() == [("Differential", 1, 1), ("Full", 2, 1)]
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 2, "Full", 1)
    assert charger.entries == {"A": BLOCKED}


async def test_failed_differential_update_falls_back_to_full() -> None:
    charger, state = await _in_step({"A": ACCEPTED})
    charger.answers = ["Failed"]
    outcome = await _sync(charger, state, {"A": ACCEPTED, "B": ACCEPTED})
    assert charger.updates() == [("Differential", 2, 1), ("Full", 3, 2)]
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 3, "Full", 2)
    assert charger.entries == {"A": ACCEPTED, "B": ACCEPTED}


async def test_a_list_the_charger_cannot_hold_fails() -> None:
    charger, state = await _in_step({"A": ACCEPTED, "B": ACCEPTED}, max_entries=2)
    wanted = {"A": ACCEPTED, "B": ACCEPTED, "C": ACCEPTED}
    outcome = await _sync(charger, state, wanted)
    assert charger.updates() == [("Differential", 2, 1), ("Full", 3, 3)]
    assert outcome == SyncOutcome(SyncResult.FAILED, 1, "Full", 3)
    assert state.entries is None
    assert state.result is SyncResult.FAILED
    assert charger.entries == {"A": ACCEPTED, "B": ACCEPTED}
    # Unknown now, so even the list the charger holds is sent in full.
    charger.forget_messages()
    outcome = await _sync(charger, state, {"A": ACCEPTED, "B": ACCEPTED})
    assert charger.updates() == [("Full", 2, 2)]
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 2, "Full", 2)


async def test_an_unknown_status_counts_as_failed() -> None:
    charger = FakeCharger()
    charger.answers = ["Rejected"]
    state = LocalListState()
    outcome = await _sync(charger, state, {"A": ACCEPTED})
    assert outcome.result is SyncResult.FAILED
    assert state.entries is None


async def test_send_local_list_not_supported() -> None:
    charger = FakeCharger(enabled=False)
    state = LocalListState()
    outcome = await _sync(charger, state, {"A": ACCEPTED})
    assert outcome == SyncOutcome(SyncResult.NOT_SUPPORTED, 0, "Full", 1)
    assert charger.updates() == [("Full", 1, 1)]
    assert state.result is SyncResult.NOT_SUPPORTED
    assert state.entries is None
    assert state.version == 0


async def test_differential_update_not_supported_is_not_retried_in_full() -> None:
    charger, state = await _in_step({"A": ACCEPTED})
    charger.answers = ["NotSupported"]
    outcome = await _sync(charger, state, {"A": BLOCKED})
    assert charger.updates() == [("Differential", 2, 1)]
    assert outcome == SyncOutcome(SyncResult.NOT_SUPPORTED, 1, "Differential", 1)
    assert state.entries is None


@pytest.mark.parametrize(
    "answer",
    [
        -1,
        CallErrorResponse("GetLocalListVersion", "NotImplemented", "No local list"),
        CallErrorResponse("GetLocalListVersion", "NotSupported", ""),
    ],
)
async def test_charger_without_a_local_list(answer: int | Exception) -> None:
    charger = FakeCharger()
    charger.get_version = answer
    state = LocalListState()
    outcome = await _sync(charger, state, {"A": ACCEPTED, "B": ACCEPTED})
    assert outcome == SyncOutcome(SyncResult.NOT_SUPPORTED, 0, None, 2)
    assert charger.actions == ["GetLocalListVersion"]
    assert state == LocalListState(
        version=0, entries=None, result=SyncResult.NOT_SUPPORTED, synced_at=NOW
    )


async def test_a_full_list_in_several_messages() -> None:
    charger = FakeCharger()
    state = LocalListState()
    wanted = dict.fromkeys("ABCDE", ACCEPTED)
    outcome = await _sync(charger, state, wanted, max_per_message=2)
    assert charger.updates() == [("Full", 1, 2), ("Differential", 2, 2), ("Differential", 3, 1)]
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 3, "Full", 5)
    assert charger.entries == wanted
    assert state.version == 3
    # A large differential update is split the same way, versions going on.
    charger.forget_messages()
    wanted = dict.fromkeys("ABC", BLOCKED)
    outcome = await _sync(charger, state, wanted, max_per_message=2)
    assert charger.updates() == [
        ("Differential", 4, 2),
        ("Differential", 5, 2),
        ("Differential", 6, 1),
    ]
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 6, "Differential", 3)
    assert charger.entries == wanted


async def test_an_empty_full_list_is_one_message_whatever_the_chunk() -> None:
    charger = FakeCharger()
    state = LocalListState()
    await _sync(charger, state, {}, max_per_message=2)
    assert charger.updates() == [("Full", 1, 0)]


async def test_a_part_that_fails_leaves_the_list_unknown() -> None:
    charger = FakeCharger(max_entries=3)
    state = LocalListState()
    wanted = dict.fromkeys("ABCDE", ACCEPTED)
    outcome = await _sync(charger, state, wanted, max_per_message=2)
    assert charger.updates() == [("Full", 1, 2), ("Differential", 2, 2)]
    # The charger holds version 1: the part it accepted.
    assert outcome == SyncOutcome(SyncResult.FAILED, 1, "Full", 5)
    assert state.entries is None
    charger.forget_messages()
    outcome = await _sync(charger, state, {"A": ACCEPTED}, max_per_message=2)
    assert charger.updates() == [("Full", 2, 1)]
    assert outcome.result is SyncResult.ACCEPTED


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("GetLocalListVersion", NotConnectedError("CP1")),
        ("GetLocalListVersion", CallErrorResponse("GetLocalListVersion", "InternalError", "")),
        ("SendLocalList", RequestTimeoutError("SendLocalList", 30)),
        ("SendLocalList", NotConnectedError("CP1")),
    ],
)
async def test_a_failed_exchange_leaves_the_list_unknown_and_raises(
    action: str, error: RequestError
) -> None:
    charger, state = await _in_step({"A": ACCEPTED})
    charger.fail_on[action] = error
    later = NOW + timedelta(minutes=5)
    with pytest.raises(type(error)) as raised:
        await _sync(charger, state, {"A": BLOCKED}, now=later)
    assert raised.value is error
    assert state == LocalListState(
        version=1, entries=None, result=SyncResult.ERROR, synced_at=later
    )
    # Back online: the list is sent in full.
    del charger.fail_on[action]
    charger.forget_messages()
    outcome = await _sync(charger, state, {"A": BLOCKED})
    assert charger.updates() == [("Full", 2, 1)]
    assert outcome.result is SyncResult.ACCEPTED


async def test_versions_stay_positive_and_increase_over_many_syncs() -> None:
    rng = random.Random(1611)
    charger = FakeCharger(max_entries=12)
    state = LocalListState()
    tags = [f"TAG{i}" for i in range(15)]
    statuses = [ACCEPTED, ACCEPTED, BLOCKED, EXPIRED]
    accepted_versions: list[int] = []
    results: set[SyncResult] = set()
    update_types: set[str | None] = set()
    for _ in range(200):
        event = rng.random()
        if event < 0.05:
            charger.version, charger.entries = 0, {}
        elif event < 0.08:
            charger.version = charger.version + rng.randint(1, 5)
            charger.entries = {"FOREIGN": ACCEPTED}
        elif event < 0.12:
            charger.answers = [rng.choice(["Failed", "VersionMismatch"])]
        wanted = {tag: rng.choice(statuses) for tag in rng.sample(tags, rng.randint(0, 13))}
        charger.forget_messages()
        outcome = await _sync(charger, state, wanted, max_per_message=rng.choice([None, 3, 5]))
        results.add(outcome.result)
        update_types.add(outcome.update_type)
        assert all(p["list_version"] >= 1 for p in charger.sent)
        assert state.version >= 0
        if outcome.result is SyncResult.ACCEPTED:
            assert charger.entries == wanted
            assert state.entries == wanted
            assert outcome.list_version == state.version
            if outcome.update_type is not None:
                assert state.version == charger.version
                accepted_versions.append(state.version)
    assert {SyncResult.ACCEPTED, SyncResult.FAILED} <= results
    assert update_types == {"Full", "Differential", None}
    assert len(accepted_versions) > 100
    assert accepted_versions == sorted(set(accepted_versions))
    assert min(accepted_versions) >= 1


async def test_forced_full_update_of_an_unchanged_list() -> None:
    charger, state = await _in_step({"A": ACCEPTED})
    outcome = await _sync(charger, state, {"A": ACCEPTED}, update_type="Full")
    assert charger.updates() == [("Full", 2, 1)]
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 2, "Full", 1)


async def test_forced_differential_update_is_sent_even_without_changes() -> None:
    charger, state = await _in_step({"A": ACCEPTED})
    outcome = await _sync(charger, state, {"A": ACCEPTED}, update_type="Differential")
    assert charger.updates() == [("Differential", 2, 0)]
    assert outcome == SyncOutcome(SyncResult.ACCEPTED, 2, "Differential", 1)


async def test_forced_differential_update_of_an_unknown_list_is_full() -> None:
    charger = FakeCharger()
    state = LocalListState()
    outcome = await _sync(charger, state, {"A": ACCEPTED}, update_type="Differential")
    assert charger.updates() == [("Full", 1, 1)]
    assert outcome.update_type == "Full"


async def test_explicit_list_version() -> None:
    charger = FakeCharger()
    state = LocalListState()
    outcome = await _sync(charger, state, {"A": ACCEPTED}, list_version=10)
    assert charger.updates() == [("Full", 10, 1)]
    assert outcome.list_version == state.version == charger.version == 10
    charger.forget_messages()
    await _sync(charger, state, {"A": BLOCKED})
    assert charger.updates() == [("Differential", 11, 1)]
    charger.forget_messages()
    await _sync(charger, state, {"A": ACCEPTED}, update_type="Full", list_version=20)
    assert charger.updates() == [("Full", 20, 1)]
    assert state.version == 20


def test_differences() -> None:
    held = {"A": ACCEPTED, "B": ACCEPTED, "C": BLOCKED}
    wanted = {"A": ACCEPTED, "B": BLOCKED, "D": ACCEPTED}
    assert differences(held, wanted) == [
        {"id_tag": "B", "id_tag_info": BLOCKED},
        {"id_tag": "D", "id_tag_info": ACCEPTED},
        {"id_tag": "C"},
    ]
    assert differences(wanted, wanted) == []
    assert differences({}, {}) == []


def test_limit_entries_keeps_accepted_tags_first(caplog: pytest.LogCaptureFixture) -> None:
    wanted = {
        "B1": BLOCKED,
        "A1": ACCEPTED,
        "E1": EXPIRED,
        "A2": {"status": "Accepted", "expiry_date": "2027-01-01T00:00:00.000Z"},
        "A3": ACCEPTED,
        "B2": BLOCKED,
    }
    assert list(limit_entries(wanted, 2)) == ["A1", "A2"]
    assert list(limit_entries(wanted, 4)) == ["A1", "A2", "A3", "B1"]
    assert list(limit_entries(wanted, 5)) == ["A1", "A2", "A3", "B1", "E1"]
    assert limit_entries(wanted, 4)["A2"] == wanted["A2"]
    assert "the charger holds 4" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for max_length in (None, 6, 100):
            kept = limit_entries(wanted, max_length)
            assert kept == wanted
            assert list(kept) == list(wanted)
            assert kept is not wanted
    assert caplog.text == ""


@pytest.mark.parametrize(
    "state",
    [
        LocalListState(),
        LocalListState(
            version=7,
            entries={"A": ACCEPTED, "B": {"status": "Accepted", "parent_id_tag": "F"}},
            result=SyncResult.ACCEPTED,
            synced_at=NOW,
        ),
        LocalListState(version=3, entries=None, result=SyncResult.ERROR, synced_at=NOW),
        LocalListState(version=2, entries={}, result=SyncResult.VERSION_MISMATCH),
    ],
)
def test_state_round_trip(state: LocalListState) -> None:
    stored = json.loads(json.dumps(state.to_dict()))
    restored = LocalListState.from_dict(stored)
    assert restored == state
    assert restored.result is state.result


def test_state_from_old_storage() -> None:
    assert LocalListState.from_dict({}) == LocalListState()
    assert LocalListState.from_dict({"version": "4"}).version == 4
