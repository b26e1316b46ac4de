"""NATS operations `insights.v1.*`: thin adapters from request structs to the use cases.

`CONTRACT` is what each operation takes and replies; `operations()` binds the use cases to it,
checking their annotations at start-up (shared/operations.py)."""

from __future__ import annotations

from typing import Any

from services.insights.service import Insights
from shared.contracts import insights as c
from shared.messaging import Operation
from shared.operations import ServiceContract

CONTRACT = ServiceContract(
    "insights",
    {
        "figures": (c.FiguresRequest, c.Figures),
        "figures_csv": (c.FiguresCsvRequest, c.CsvText),
    },
)


def operations(insights: Insights) -> list[Operation[Any]]:
    return CONTRACT.bind(
        {"figures": insights.figures, "figures_csv": insights.figures_csv},
        reads=("figures", "figures_csv"),
    )
