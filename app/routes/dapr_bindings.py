"""Dapr input bindings: the cron binding ``sweep`` posts here on every replica, on its
schedule. Only the sidecar reaches these routes (the access gate and ``require_sidecar``)."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import SweeperDep
from app.sweep import SweepResult

router = APIRouter(tags=["dapr"])

#: the route the ``sweep`` component's ``route`` metadata names (infra/dapr/spec.py)
SWEEP_ROUTE = "/dapr/bindings/sweep"


@router.post(SWEEP_ROUTE, response_model=SweepResult)
async def sweep(sweeper: SweeperDep) -> SweepResult:
    """Run the housekeeping sweep, once per period across replicas."""
    return await sweeper.sweep()


@router.options(SWEEP_ROUTE, status_code=200)
async def sweep_probe() -> None:
    """daprd asks with OPTIONS, at startup, whether the app takes the binding's events."""
    return
