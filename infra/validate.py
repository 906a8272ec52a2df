"""Validate rendered manifests: Kubernetes kinds against the real (strict) schemas of
the stage's Kubernetes version and the API server's own rules the schemas leave out
(`infra.api_rules`), Dapr kinds against `infra.dapr.schemas`, other custom resources
against `infra.crd_schemas` and the per-project `infra.crd_schemas_*`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv  # type: ignore[import-untyped]
import yaml

from infra.api_rules import api_problems
from infra.crd_schemas import SCHEMAS as BASE_CRD_SCHEMAS
from infra.crd_schemas_keda import SCHEMAS as KEDA_SCHEMAS
from infra.crd_schemas_monitoring import SCHEMAS as MONITORING_SCHEMAS
from infra.crd_schemas_monitoring import promql_problem
from infra.crd_schemas_strimzi import SCHEMAS as STRIMZI_SCHEMAS
from infra.dapr.schemas import SCHEMAS as DAPR_SCHEMAS

DAPR_API = "dapr.io/v1alpha1"
CRD_SCHEMAS = {**BASE_CRD_SCHEMAS, **KEDA_SCHEMAS, **MONITORING_SCHEMAS, **STRIMZI_SCHEMAS}


def validate_object(obj: dict[str, Any], k8s_version: str) -> str | None:
    """The first problem with `obj`, or None when it is valid."""
    kind = obj.get("kind")
    name = (obj.get("metadata") or {}).get("name", "?")
    where = f"{kind}/{name}"
    key = (str(obj.get("apiVersion")), str(kind))
    custom = CRD_SCHEMAS.get(key) or STRIMZI_SCHEMAS.get(key)
    if obj.get("apiVersion") == DAPR_API or custom is not None:
        schema = custom or DAPR_SCHEMAS.get(str(kind))
        if schema is None:
            return f"{where}: no schema for Dapr kind {kind!r}"
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(schema).iter_errors(obj)
        )
        if error is None:
            labels = api_problems({"kind": kind, "metadata": obj.get("metadata") or {}})
            return labels[0] if labels else _promql_problem(obj, where)
        path = ".".join(str(p) for p in error.absolute_path) or "(root)"
        return f"{where}: {path}: {error.message}"
    try:
        kv.validate(obj, k8s_version, strict=True)
    except kv.SchemaNotFoundError:
        return f"{where}: no Kubernetes {k8s_version} schema for {obj.get('apiVersion')} {kind}"
    except kv.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "(root)"
        return f"{where}: {path}: {exc.message}"
    problems = api_problems(obj)
    return problems[0] if problems else None


def _promql_problem(obj: dict[str, Any], where: str) -> str | None:
    """A PrometheusRule's expressions must parse as PromQL (Prometheus refuses the rule
    group otherwise, and the operator's admission webhook the whole PrometheusRule)."""
    if obj.get("kind") != "PrometheusRule":
        return None
    for group in (obj.get("spec") or {}).get("groups") or []:
        for rule in group.get("rules") or []:
            problem = promql_problem(str(rule["expr"]))
            if problem:
                name = rule.get("alert") or rule.get("record")
                return f"{where}: {group['name']}/{name}: expr: {problem}"
    return None


def validate_manifests(directory: Path, k8s_version: str) -> list[str]:
    """Every problem in every `*.yaml` under `directory`, as `file: kind/name: problem`."""
    problems: list[str] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        return [f"{directory}: no manifests to validate"]
    for file in files:
        for obj in yaml.safe_load_all(file.read_text()):
            if obj is None:
                continue
            problem = validate_object(obj, k8s_version)
            if problem:
                problems.append(f"{file.name}: {problem}")
    return problems
