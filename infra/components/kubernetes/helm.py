"""How every official chart is installed: pinned, in its own namespace, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class PinnedChart:
    """An official chart at an exact version."""

    #: the Helm release name (and the chart's, unless `chart` says otherwise)
    release: str
    #: the chart repository URL
    repo: str
    #: the exact chart version
    version: str
    #: the namespace it runs in (created with the release)
    namespace: str
    #: chart values
    values: pulumi.Input[dict[str, Any]] = field(default_factory=dict)
    #: the chart's name in the repository; None: the release name
    chart: str | None = None
    #: seconds Helm waits for the release to be ready
    timeout: int = 600
    #: leave the chart's CRDs out (their owner installs them)
    skip_crds: bool = False


def pinned_release(
    name: str, chart: PinnedChart, opts: pulumi.ResourceOptions
) -> k8s.helm.v3.Release:
    """A Helm release that is atomic (a failed install or upgrade is rolled back and
    cleaned up), so a half-installed chart never stays behind."""
    return k8s.helm.v3.Release(
        name,
        name=chart.release,
        chart=chart.chart or chart.release,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        namespace=chart.namespace,
        create_namespace=True,
        skip_crds=chart.skip_crds or None,
        atomic=True,
        cleanup_on_fail=True,
        timeout=chart.timeout,
        values=chart.values,
        opts=opts,
    )
