"""OCPP 1.6J central system core: plain Python, no Home Assistant imports."""

from .central_system import CentralSystem, StateStore
from .model import CHARGE_POINT_CONNECTOR_ID, ChargePoint, Connector, Transaction
from .server import OcppServer

__all__ = [
    "CHARGE_POINT_CONNECTOR_ID",
    "CentralSystem",
    "ChargePoint",
    "Connector",
    "OcppServer",
    "StateStore",
    "Transaction",
]
