"""The smallest useful OCPP 1.6J central system, on the `ocpp` package alone.

It answers what the benchmark's chargers send with fixed, valid answers and
keeps nothing but a transaction counter: the floor that csms is compared with.

    python -m bench.minimal_csms --port 9100 --lag-file /tmp/lag.jsonl
"""

import argparse
import asyncio
from datetime import UTC, datetime
import itertools
import logging
from pathlib import Path
import signal
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    DataTransferStatus,
    RegistrationStatus,
)
from websockets.asyncio.server import ServerConnection, serve

from .loop_monitor import LoopMonitor

ACCEPTED_TAG = {"status": AuthorizationStatus.accepted}
_transaction_ids = itertools.count(1)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class MinimalChargePoint(ChargePoint):  # type: ignore[misc]
    """Answers every charger-initiated 1.6 message."""

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=_now(), interval=300, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=ACCEPTED_TAG)

    @on(Action.start_transaction)
    def on_start(self, **_: Any) -> call_result.StartTransaction:
        return call_result.StartTransaction(
            transaction_id=next(_transaction_ids), id_tag_info=ACCEPTED_TAG
        )

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()


async def _serve_charger(connection: ServerConnection) -> None:
    charge_point_id = (connection.request.path if connection.request else "/").rstrip("/")
    charge_point = MinimalChargePoint(charge_point_id.rsplit("/", 1)[-1], connection)
    await charge_point.start()


def minimal_server(host: str, port: int) -> Any:
    """The websocket server (an async context manager) with a charger per connection."""
    return serve(
        _serve_charger,
        host,
        port,
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        compression=None,
        max_size=1 << 20,
    )


async def serve_until_stopped(host: str, port: int, lag_file: Path | None) -> None:
    """Serve on host:port until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    monitor = LoopMonitor(lag_file) if lag_file else None
    if monitor:
        monitor.start()
    async with minimal_server(host, port):
        await stop.wait()
    if monitor:
        await monitor.stop()


def main() -> None:
    """Entry point of `python -m bench.minimal_csms`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lag-file", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve_until_stopped(args.host, args.port, args.lag_file))


if __name__ == "__main__":
    main()
