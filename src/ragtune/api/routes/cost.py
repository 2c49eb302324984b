"""``GET /v1/cost``: what each option costs at this home's volume (admin keys: the estimate reveals query volumes
and usage across every key). The web UI's Cost view draws its plot from this."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Query, Request

from ragtune.api.auth import admin_key
from ragtune.api.state import server_state
from ragtune.errors import InputError
from ragtune.keys import ApiKey

router = APIRouter()


@router.get("/v1/cost", tags=["cost"])
def cost(request: Request, volume: Optional[float] = Query(None, ge=0, description="queries a day"),
         low: Optional[float] = Query(None, ge=0, description="sweep start, queries a day"),
         high: Optional[float] = Query(None, gt=0, description="sweep end, queries a day"),
         key: ApiKey = Depends(admin_key)) -> dict:
    """The same estimate as ``ragtune cost --json`` with the home's price sheet (``RAGTUNE_HOME/prices.yaml``)."""
    if (low is None) != (high is None):
        raise InputError("low and high: give both ends of the sweep, or neither")
    if low is not None and high is not None and high <= low:
        raise InputError(f"high={high:g}: must be above low={low:g}")
    economics = server_state(request).workspace.economics
    sweep = (low, high) if low is not None and high is not None else None
    return economics.estimate(None, volume=volume, sweep=sweep).to_json()
