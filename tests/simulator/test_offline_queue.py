"""The simulator's queue of messages kept while offline."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v16 import call


async def test_overlapping_deliveries_send_each_queued_message_once(connect: Any) -> None:
    charge_point = await connect("CP001")
    await charge_point.disconnect()
    for number in range(3):
        charge_point.offline_queue.append(
            call.DataTransfer(vendor_id="com.example", message_id=str(number))
        )
    await charge_point.connect(charge_point.url, boot=False)

    # A boot the central system triggers may overlap the charger's own boot.
    sent = await asyncio.gather(
        charge_point.flush_offline_queue(), charge_point.flush_offline_queue()
    )

    assert sum(sent) == 3
    assert not charge_point.offline_queue
