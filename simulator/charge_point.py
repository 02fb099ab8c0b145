"""Simulated OCPP 1.6J charge point: the answers to the central system's calls.

Every call is answered at once, like a real charger does; what the call sets
in motion (starting a transaction, rebooting, uploading diagnostics) runs in
a background task that starts only after the answer has been sent.
"""

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
import functools
import logging
from typing import Any

from . import configuration as config, smart_charging
from ._ocpp import (
    ProtocolError,
    TypeConstraintViolationError,
    after,
    call,
    call_result,
    datatypes,
    enums,
    on,
)
from .configuration import ConfigurationKey
from .core import (
    ACCEPTED,
    AVAILABLE,
    PREPARING,
    RESERVED,
    Reservation,
)
from .firmware import FirmwareManagement
from .security import SecurityExtension

_LOGGER = logging.getLogger(__name__)

_TRIGGERABLE = frozenset(
    {
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    }
)


def _parse_time(value: str) -> datetime:
    """Parse an OCPP timestamp; a malformed one counts as now."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class SimulatedChargePoint(FirmwareManagement, SecurityExtension):
    """An OCPP 1.6J charge point with `connectors` simulated connectors."""

    def _can_start(self, connector_id: int, id_tag: str) -> bool:
        state = self.connectors[connector_id]
        reservation = state.reservation
        return (
            state.operative
            and self.connectors[0].operative
            and not state.starting
            and connector_id not in self.transactions
            and state.status in (AVAILABLE, PREPARING, RESERVED)
            and (reservation is None or reservation.id_tag == id_tag)
        )

    def _composite_schedule(
        self, connector_id: int, duration: int, unit: str | None
    ) -> dict[str, Any]:
        """The composite schedule of a connector (0: the charge point) from now on."""
        if unit is None:
            unit = smart_charging.preferred_unit(self._allowed_units())
        return smart_charging.composite_schedule(
            self.charging_profiles,
            connector_id,
            self._charging_contexts(),
            datetime.now(UTC),
            duration=duration,
            unit=unit,
        )

    def _allowed_units(self) -> frozenset[str]:
        return smart_charging.allowed_units(
            config.as_set(self.configuration, smart_charging.ALLOWED_UNITS_KEY)
        )

    # ------------------------------------------------------------------
    # Calls initiated by the central system
    # ------------------------------------------------------------------

    @on(enums.Action.remote_start_transaction)
    def _on_remote_start_transaction(
        self,
        id_tag: str,
        call_unique_id: str,
        connector_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        if connector_id is None:
            connector_id = next((c for c in self.meters if self._can_start(c, id_tag)), None)
        if (
            connector_id is None
            or not self._exists(connector_id)
            or not self._can_start(connector_id, id_tag)
            or (
                charging_profile is not None
                and charging_profile.get("charging_profile_purpose") != smart_charging.TX_PROFILE
            )
        ):
            return call_result.RemoteStartTransaction(status=enums.RemoteStartStopStatus.rejected)
        # Claim the connector now so a second request cannot take it too.
        self.connectors[connector_id].starting = True
        self._defer(
            call_unique_id,
            "remote start",
            functools.partial(self._remote_start, connector_id, id_tag, charging_profile),
        )
        return call_result.RemoteStartTransaction(status=enums.RemoteStartStopStatus.accepted)

    @after(enums.Action.remote_start_transaction)
    def _after_remote_start_transaction(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _remote_start(
        self, connector_id: int, id_tag: str, profile: dict[str, Any] | None
    ) -> None:
        state = self.connectors[connector_id]
        was_plugged = state.plugged
        try:
            await self.plug_in(connector_id)
            if config.as_bool(self.configuration, "AuthorizeRemoteTxRequests"):
                info = await self.authorize(id_tag)
                if info.get("status") != ACCEPTED:
                    _LOGGER.info("%s: remote start for %s not authorized", self.id, id_tag)
                    state.plugged = was_plugged
                    await self.status(connector_id, self._idle_status(connector_id))
                    return
            transaction_id = await self.start_transaction(connector_id, id_tag)
        finally:
            state.starting = False
        if profile is not None:
            smart_charging.install(
                self.charging_profiles,
                connector_id,
                {**profile, "transaction_id": transaction_id},
            )
            self._apply_charging_limits()

    @on(enums.Action.remote_stop_transaction)
    def _on_remote_stop_transaction(
        self, transaction_id: int, call_unique_id: str, **_: Any
    ) -> Any:
        connector_id = next(
            (c for c, tx in self.transactions.items() if tx == transaction_id), None
        )
        if connector_id is None:
            return call_result.RemoteStopTransaction(status=enums.RemoteStartStopStatus.rejected)
        self._defer(
            call_unique_id,
            "remote stop",
            functools.partial(self._stop_if_running, connector_id, transaction_id, "Remote"),
        )
        return call_result.RemoteStopTransaction(status=enums.RemoteStartStopStatus.accepted)

    @after(enums.Action.remote_stop_transaction)
    def _after_remote_stop_transaction(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _stop_if_running(self, connector_id: int, transaction_id: int, reason: str) -> None:
        if self.transactions.get(connector_id) == transaction_id:
            await self.stop_transaction(connector_id, reason=reason)

    @on(enums.Action.reset)
    def _on_reset(self, call_unique_id: str, **request: Any) -> Any:
        self._defer(call_unique_id, "reset", functools.partial(self._reset, str(request["type"])))
        return call_result.Reset(status=enums.ResetStatus.accepted)

    @after(enums.Action.reset)
    def _after_reset(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _reset(self, kind: str) -> None:
        reason = "HardReset" if kind == "Hard" else "SoftReset"
        for connector_id, transaction_id in sorted(self.transactions.items()):
            await self._stop_if_running(connector_id, transaction_id, reason)
        _LOGGER.info("%s: %s reset, rebooting", self.id, kind.lower())
        await self._close_connection()
        # After the reboot the vehicles are gone and the connectors are idle.
        for connector_id, state in self.connectors.items():
            state.plugged = False
            state.status = self._idle_status(connector_id)
            state.error_code = "NoError"
        await asyncio.sleep(self.action_delay)
        await self.connect(
            self._url,
            boot=True,
            heartbeats=self._heartbeats,
            reconnect=self._auto_reconnect,
        )

    @on(enums.Action.unlock_connector)
    def _on_unlock_connector(self, connector_id: int, call_unique_id: str, **_: Any) -> Any:
        if not self._exists(connector_id):
            return call_result.UnlockConnector(status=enums.UnlockStatus.not_supported)
        transaction_id = self.transactions.get(connector_id)
        if transaction_id is not None:
            self._defer(
                call_unique_id,
                "unlock",
                functools.partial(
                    self._stop_if_running, connector_id, transaction_id, "UnlockCommand"
                ),
            )
        return call_result.UnlockConnector(status=enums.UnlockStatus.unlocked)

    @after(enums.Action.unlock_connector)
    def _after_unlock_connector(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    @on(enums.Action.change_availability)
    def _on_change_availability(
        self, connector_id: int, call_unique_id: str, **request: Any
    ) -> Any:
        if not self._exists(connector_id, allow_zero=True):
            return call_result.ChangeAvailability(status=enums.AvailabilityStatus.rejected)
        operative = request["type"] == enums.AvailabilityType.operative
        targets = list(self.connectors) if connector_id == 0 else [connector_id]
        busy = bool(set(targets) & set(self.transactions))
        applied = []
        for target in targets:
            state = self.connectors[target]
            # The charge point as a whole waits for every transaction to end.
            if target in self.transactions or (target == 0 and busy):
                state.scheduled_operative = operative
            else:
                state.operative = operative
                state.scheduled_operative = None
                applied.append(target)
        self._defer(
            call_unique_id,
            "change availability",
            functools.partial(self._report_statuses, applied),
        )
        status = enums.AvailabilityStatus.scheduled if busy else enums.AvailabilityStatus.accepted
        return call_result.ChangeAvailability(status=status)

    @after(enums.Action.change_availability)
    def _after_change_availability(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _report_statuses(self, connector_ids: Iterable[int]) -> None:
        for connector_id in connector_ids:
            await self.status(connector_id, self._idle_status(connector_id))

    @on(enums.Action.change_configuration)
    def _on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        name = config.find_key(self.configuration, key)
        if name in ("AuthorizationKey", "SecurityProfile"):
            return call_result.ChangeConfiguration(
                status=self._change_security_key(name, value.strip())
            )
        if name is None:
            status = enums.ConfigurationStatus.not_supported
        elif (
            self.configuration[name].readonly
            or (normalized := config.normalized_value(name, value)) is None
        ):
            status = enums.ConfigurationStatus.rejected
        else:
            self.configuration[name] = ConfigurationKey(normalized, False)
            status = enums.ConfigurationStatus.accepted
            if name == "HeartbeatInterval" and self._registered:
                self._start_heartbeats()
            elif name == "MeterValueSampleInterval":
                for connector_id in list(self.transactions):
                    self._start_sampler(connector_id)
        return call_result.ChangeConfiguration(status=status)

    def _change_security_key(self, name: str, value: str) -> Any:
        """AuthorizationKey and SecurityProfile (Security Whitepaper edition 2, section 2)."""
        if name == "AuthorizationKey":
            password = config.password_from_authorization_key(value)
            if password is None:
                return enums.ConfigurationStatus.rejected
            # Used from the next connection on; the key is write-only, so
            # the configuration table never holds it.
            self.password = password
            return enums.ConfigurationStatus.accepted
        if not config.accepts_security_profile(
            config.as_int(self.configuration, "SecurityProfile"),
            value,
            has_password=self.password is not None,
            has_tls=self.ssl_context is not None or self.url.startswith("wss://"),
        ):
            return enums.ConfigurationStatus.rejected
        self.configuration["SecurityProfile"] = ConfigurationKey(value, False)
        return enums.ConfigurationStatus.accepted

    @on(enums.Action.get_configuration)
    def _on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        names: list[str] = list(self.configuration) if not key else []
        unknown: list[str] = []
        for requested in key or []:
            name = config.find_key(self.configuration, requested)
            if name is None:
                unknown.append(requested)
            else:
                names.append(name)
        return call_result.GetConfiguration(
            configuration_key=[
                datatypes.KeyValue(
                    key=name,
                    readonly=self.configuration[name].readonly,
                    value=self.configuration[name].value,
                )
                for name in names
            ],
            unknown_key=unknown or None,
        )

    @on(enums.Action.clear_cache)
    def _on_clear_cache(self, **_: Any) -> Any:
        self.auth_cache.clear()
        return call_result.ClearCache(status=enums.ClearCacheStatus.accepted)

    @on(enums.Action.data_transfer)
    def _on_data_transfer(self, vendor_id: str, data: str | None = None, **_: Any) -> Any:
        if vendor_id != self.vendor:
            return call_result.DataTransfer(status=enums.DataTransferStatus.unknown_vendor_id)
        return call_result.DataTransfer(status=enums.DataTransferStatus.accepted, data=data)

    # The schema admits only the messages OCPP 1.6 can trigger; checking the
    # request here lets other messages get the NotImplemented answer.
    @on(enums.Action.trigger_message, skip_schema_validation=True)
    def _on_trigger_message(self, call_unique_id: str, **request: Any) -> Any:
        requested_message = request.get("requested_message")
        connector_id = request.get("connector_id")
        if requested_message is None:
            raise ProtocolError(details={"cause": "requestedMessage is required"})
        if not isinstance(requested_message, str) or not (
            connector_id is None or type(connector_id) is int
        ):
            raise TypeConstraintViolationError(
                details={"cause": "requestedMessage must be a string, connectorId an integer"}
            )
        if connector_id is not None and not self._exists(connector_id, allow_zero=True):
            return call_result.TriggerMessage(status=enums.TriggerMessageStatus.rejected)
        if requested_message not in _TRIGGERABLE:
            return call_result.TriggerMessage(status=enums.TriggerMessageStatus.not_implemented)
        self._defer(
            call_unique_id,
            f"triggered {requested_message}",
            functools.partial(self._send_triggered, requested_message, connector_id),
        )
        return call_result.TriggerMessage(status=enums.TriggerMessageStatus.accepted)

    @after(enums.Action.trigger_message)
    def _after_trigger_message(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _send_triggered(self, message: str, connector_id: int | None) -> None:
        if message == "BootNotification":
            await self._boot_sequence()
        elif message == "Heartbeat":
            await self.heartbeat()
        elif message == "StatusNotification":
            targets = list(self.connectors) if connector_id is None else [connector_id]
            for target in targets:
                await self._notify_status(target)
        elif message == "MeterValues":
            targets = list(self.meters) if not connector_id else [connector_id]
            for target in targets:
                await self.send_meter_values(target, seconds=0.0, context="Trigger")
        elif message == "DiagnosticsStatusNotification":
            await self.call(
                call.DiagnosticsStatusNotification(status=self.diagnostics_status),
                suppress=False,
            )
        elif message == "FirmwareStatusNotification":
            await self.call(
                call.FirmwareStatusNotification(status=self.firmware_status),
                suppress=False,
            )

    @on(enums.Action.set_charging_profile)
    def _on_set_charging_profile(
        self,
        connector_id: int,
        cs_charging_profiles: dict[str, Any],
        call_unique_id: str,
        **_: Any,
    ) -> Any:
        profile = cs_charging_profiles
        running = self.transactions.get(connector_id)
        reason = smart_charging.rejection(
            profile,
            connector_id,
            connector_count=self.connector_count,
            running_transaction_id=running,
            max_stack_level=config.as_int(self.configuration, smart_charging.MAX_STACK_LEVEL_KEY),
            units=self._allowed_units(),
            max_periods=config.as_int(self.configuration, smart_charging.MAX_PERIODS_KEY),
        )
        if reason is not None:
            _LOGGER.info("%s: charging profile rejected: %s", self.id, reason)
            return call_result.SetChargingProfile(status=enums.ChargingProfileStatus.rejected)
        if profile.get("charging_profile_purpose") == smart_charging.TX_PROFILE:
            profile = {**profile, "transaction_id": running}
        smart_charging.install(self.charging_profiles, connector_id, profile)
        # The meters follow at once; status changes go out after the answer.
        self._apply_charging_limits(report=False)
        self._defer(call_unique_id, "charging limits", self._report_charging_states)
        return call_result.SetChargingProfile(status=enums.ChargingProfileStatus.accepted)

    @after(enums.Action.set_charging_profile)
    def _after_set_charging_profile(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    @on(enums.Action.clear_charging_profile)
    def _on_clear_charging_profile(self, call_unique_id: str, **request: Any) -> Any:
        removed = smart_charging.clear(
            self.charging_profiles,
            profile_id=request.get("id"),
            connector_id=request.get("connector_id"),
            purpose=request.get("charging_profile_purpose"),
            stack_level=request.get("stack_level"),
        )
        if not removed:
            return call_result.ClearChargingProfile(status=enums.ClearChargingProfileStatus.unknown)
        self._apply_charging_limits(report=False)
        self._defer(call_unique_id, "charging limits", self._report_charging_states)
        return call_result.ClearChargingProfile(status=enums.ClearChargingProfileStatus.accepted)

    @after(enums.Action.clear_charging_profile)
    def _after_clear_charging_profile(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    @on(enums.Action.get_composite_schedule)
    def _on_get_composite_schedule(
        self,
        connector_id: int,
        duration: int,
        charging_rate_unit: str | None = None,
        **_: Any,
    ) -> Any:
        if not self._exists(connector_id, allow_zero=True):
            return call_result.GetCompositeSchedule(
                status=enums.GetCompositeScheduleStatus.rejected
            )
        schedule = self._composite_schedule(connector_id, duration, charging_rate_unit)
        return call_result.GetCompositeSchedule(
            status=enums.GetCompositeScheduleStatus.accepted,
            connector_id=connector_id,
            schedule_start=schedule["start_schedule"],
            charging_schedule=schedule,
        )

    @on(enums.Action.reserve_now)
    def _on_reserve_now(
        self,
        *,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        call_unique_id: str,
        parent_id_tag: str | None = None,
        **_: Any,
    ) -> Any:
        # Section 5.13: a charger that takes no reservations (or none on
        # connector 0, which it does not support) rejects them.
        profiles = config.as_set(self.configuration, "SupportedFeatureProfiles")
        if not self._exists(connector_id) or "Reservation" not in profiles:
            return call_result.ReserveNow(status=enums.ReservationStatus.rejected)
        state = self.connectors[connector_id]
        current = state.reservation
        if not state.operative or not self.connectors[0].operative:
            status = enums.ReservationStatus.unavailable
        elif state.status == "Faulted":
            status = enums.ReservationStatus.faulted
        elif (
            connector_id in self.transactions
            or state.starting
            or (state.status not in (AVAILABLE, RESERVED))
        ) or (current is not None and current.reservation_id != reservation_id):
            status = enums.ReservationStatus.occupied
        else:
            status = enums.ReservationStatus.accepted
        if status != enums.ReservationStatus.accepted:
            return call_result.ReserveNow(status=status)
        # The same reservation id on another connector is replaced by this one.
        released = [
            other_id
            for other_id, other in self.connectors.items()
            if other_id != connector_id
            and other.reservation is not None
            and other.reservation.reservation_id == reservation_id
        ]
        for other_id in released:
            self._drop_reservation(other_id)
        self._drop_reservation(connector_id)
        reservation = Reservation(reservation_id, id_tag, _parse_time(expiry_date), parent_id_tag)
        state.reservation = reservation
        self._defer(
            call_unique_id,
            "reservation",
            functools.partial(self._start_reservation, connector_id, reservation, released),
        )
        return call_result.ReserveNow(status=status)

    @after(enums.Action.reserve_now)
    def _after_reserve_now(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _start_reservation(
        self, connector_id: int, reservation: Reservation, released: Iterable[int] = ()
    ) -> None:
        await self._report_statuses(released)
        if self.connectors[connector_id].reservation is not reservation:
            return
        await self.status(connector_id, RESERVED)
        # The expiry timer is not an action: wait_background() ignores it.
        timer = asyncio.create_task(
            self._guarded(
                "reservation expiry",
                functools.partial(self._expire_reservation, connector_id, reservation),
            ),
            name=f"{self.id} reservation {reservation.reservation_id}",
        )
        reservation.expiry_task = timer
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _expire_reservation(self, connector_id: int, reservation: Reservation) -> None:
        remaining = (reservation.expiry - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(max(remaining, 0.0))
        if self.connectors[connector_id].reservation is reservation:
            _LOGGER.info("%s: reservation %s expired", self.id, reservation.reservation_id)
            self.connectors[connector_id].reservation = None
            await self.status(connector_id, self._idle_status(connector_id))

    @on(enums.Action.cancel_reservation)
    def _on_cancel_reservation(self, reservation_id: int, call_unique_id: str, **_: Any) -> Any:
        connector_id = next(
            (
                c
                for c, state in self.connectors.items()
                if state.reservation is not None
                and state.reservation.reservation_id == reservation_id
            ),
            None,
        )
        if connector_id is None:
            return call_result.CancelReservation(status=enums.CancelReservationStatus.rejected)
        self._drop_reservation(connector_id)
        self._defer(
            call_unique_id,
            "cancel reservation",
            functools.partial(self._report_statuses, [connector_id]),
        )
        return call_result.CancelReservation(status=enums.CancelReservationStatus.accepted)

    @after(enums.Action.cancel_reservation)
    def _after_cancel_reservation(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    @on(enums.Action.send_local_list)
    def _on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        entries = local_authorization_list or []
        if len(entries) > config.as_int(self.configuration, "SendLocalListMaxLength"):
            return call_result.SendLocalList(status=enums.UpdateStatus.failed)
        if update_type == enums.UpdateType.full:
            self.local_list = {}
        elif list_version <= self.local_list_version:
            return call_result.SendLocalList(status=enums.UpdateStatus.version_mismatch)
        for entry in entries:
            info = entry.get("id_tag_info")
            if info is None:
                self.local_list.pop(entry["id_tag"], None)
            else:
                self.local_list[entry["id_tag"]] = info
        self.local_list_version = list_version
        return call_result.SendLocalList(status=enums.UpdateStatus.accepted)

    @on(enums.Action.get_local_list_version)
    def _on_get_local_list_version(self, **_: Any) -> Any:
        version = self.local_list_version if self.local_list else 0
        return call_result.GetLocalListVersion(list_version=version)
