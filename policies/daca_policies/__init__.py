"""DACA Ascent policy pack.

``SPECS`` (pure, importable anywhere) lists every policy; ``POLICIES`` is the same list as
CrossGuard policy objects and needs ``pulumi_policy`` (the pack's own environment).
"""

from __future__ import annotations

from typing import Any

from . import aca, azure_global, dapr, images, k8s, kafka, karmada, llm, monitoring, oci
from .spec import PolicySpec

PACK_NAME = "daca-ascent"
SPECS: list[PolicySpec] = [
    *k8s.POLICIES,
    *dapr.POLICIES,
    *aca.POLICIES,
    *azure_global.POLICIES,
    *oci.POLICIES,
    *karmada.POLICIES,
    *kafka.POLICIES,
    *llm.POLICIES,
    *monitoring.POLICIES,
    *images.POLICIES,
]


def __getattr__(name: str) -> Any:
    # Lazy, so the pure specs import in environments without pulumi_policy.
    if name == "POLICIES":
        from .pack import POLICIES

        return POLICIES
    raise AttributeError(name)


__all__ = ["PACK_NAME", "POLICIES", "SPECS", "PolicySpec"]
