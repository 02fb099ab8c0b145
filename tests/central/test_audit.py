"""The per-charger message log: bounded, decoded on reading, answers matched to calls."""

from __future__ import annotations

from custom_components.csms.central.audit import MessageLog


def test_answers_carry_the_action_of_their_call() -> None:
    log = MessageLog()
    log.record("received", '[2,"a1","Heartbeat",{}]')
    log.record("sent", '[3,"a1",{"currentTime":"2026-11-21T10:00:00Z"}]')
    log.record("sent", b'[2,"b1","Reset",{"type":"Soft"}]')
    log.record("received", '[4,"b1","NotSupported","",{}]')
    entries = log.entries()
    assert [(e["direction"], e["message_type"], e["action"]) for e in entries] == [
        ("received", "CALL", "Heartbeat"),
        ("sent", "CALLRESULT", "Heartbeat"),
        ("sent", "CALL", "Reset"),
        ("received", "CALLERROR", "Reset"),
    ]
    assert entries[1]["payload"] == {"currentTime": "2026-11-21T10:00:00Z"}
    assert entries[3]["payload"] == ["NotSupported", "", {}]
    assert entries[0]["time"].endswith("Z")


def test_malformed_frames_are_kept_as_they_came() -> None:
    log = MessageLog()
    log.record("received", "not json")
    log.record("received", '{"not": "a frame"}')
    log.record("received", '[3,"nobody",{}]')
    assert [(e["message_type"], e["payload"]) for e in log.entries()] == [
        ("MALFORMED", "not json"),
        ("MALFORMED", {"not": "a frame"}),
        ("CALLRESULT", {}),
    ]
    assert log.entries()[2]["action"] is None


def test_oldest_frames_go_first_when_full() -> None:
    log = MessageLog(max_bytes=100)
    for number in range(10):
        log.record("received", f'[2,"{number}","Heartbeat",{{}}]')
    unique_ids = [entry["unique_id"] for entry in log.entries()]
    assert unique_ids == ["6", "7", "8", "9"]
    assert len(log) == 4
    # A single frame larger than the budget is still kept.
    log.record("sent", '[2,"big","DataTransfer",{"data":"' + "x" * 500 + '"}]')
    assert [entry["unique_id"] for entry in log.entries()] == ["big"]
