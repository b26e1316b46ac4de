"""Settings of the insights service (environment variables `INSIGHTS_*`)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class InsightsSettings(msgspec.Struct, frozen=True, kw_only=True):
    # The longest period one request may ask figures for (days, both ends included).
    max_period_days: Annotated[int, msgspec.Meta(ge=1, le=3700)] = 732
