"""JSON schemas for the monitoring.coreos.com custom resources this project writes.

Written from prometheus-operator v0.93.1's CRDs as kube-prometheus-stack 88.5.3 ships them
(prometheus-community/helm-charts, charts/kube-prometheus-stack/charts/crds/crds/
crd-podmonitors.yaml and crd-prometheusrules.yaml), for the fields we use; strict
(unknown keys rejected) where a typo would silently change what is scraped or alerted on.
PromQL is checked further by `promql_problem`: a tokenizer for clear messages, then the
promql-parser package (a port of Prometheus' own parser), which knows PromQL's grammar and
its function names (it also takes a few experimental functions that Prometheus 3 enables
only behind a feature flag; we use none).
"""

from __future__ import annotations

import re
from typing import Any

import promql_parser

from infra.crd_schemas import NAME, NAMESPACED_METADATA, STRING_MAP, strict

API = "monitoring.coreos.com/v1"
#: the CRDs' `monitoringv1.Duration` pattern
_DURATION: dict[str, Any] = {
    "type": "string",
    "pattern": (
        r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
        r"(([0-9]+)ms)?)$"
    ),
}


_LABEL_SELECTOR = strict(
    {
        "matchLabels": STRING_MAP,
        "matchExpressions": {
            "type": "array",
            "items": strict(
                {
                    "key": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
                ["key", "operator"],
            ),
        },
    },
    [],
)
_POD_METRICS_ENDPOINT = strict(
    {
        # a Pod port *name*: a name the pod lacks yields no target at all
        "port": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 15},
        "path": {"type": "string", "pattern": r"^/"},
        "interval": _DURATION,
        "scrapeTimeout": _DURATION,
        "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
        "honorLabels": {"type": "boolean"},
    },
    ["port"],
)
POD_MONITOR = strict(
    {
        "apiVersion": {"const": API},
        "kind": {"const": "PodMonitor"},
        "metadata": NAMESPACED_METADATA,
        "spec": strict(
            {
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": strict(
                    {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": NAME},
                    },
                    [],
                ),
                "podMetricsEndpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": _POD_METRICS_ENDPOINT,
                },
                "jobLabel": {"type": "string"},
            },
            ["selector"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)
_RULE = strict(
    {
        "alert": {"type": "string", "minLength": 1},
        "record": {"type": "string", "pattern": r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "expr": {"type": "string", "minLength": 1},
        "for": _DURATION,
        "keep_firing_for": {**_DURATION, "minLength": 1},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
    ["expr"],
)
PROMETHEUS_RULE = strict(
    {
        "apiVersion": {"const": API},
        "kind": {"const": "PrometheusRule"},
        "metadata": NAMESPACED_METADATA,
        "spec": strict(
            {
                "groups": {
                    "type": "array",
                    "items": strict(
                        {
                            "name": {"type": "string", "minLength": 1},
                            "interval": _DURATION,
                            "rules": {
                                "type": "array",
                                "items": {
                                    **_RULE,
                                    # the CRD: exactly one of `record` and `alert`
                                    "oneOf": [
                                        {"required": ["alert"]},
                                        {"required": ["record"]},
                                    ],
                                },
                            },
                        },
                        ["name"],
                    ),
                }
            },
            [],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

# Traefik's `IngressRouteTCP` (traefik.io/v1alpha1), from the CRD Traefik's chart 41.3.0
# ships (traefik/traefik-helm-chart v41.3.0, traefik/crds/traefik.io_ingressroutetcps.yaml):
# the Thanos sidecar's SNI passthrough route (infra/components/kubernetes/thanos.py)
INGRESS_ROUTE_TCP = strict(
    {
        "apiVersion": {"const": "traefik.io/v1alpha1"},
        "kind": {"const": "IngressRouteTCP"},
        "metadata": NAMESPACED_METADATA,
        "spec": strict(
            {
                "entryPoints": {"type": "array", "items": {"type": "string"}},
                "routes": {
                    "type": "array",
                    "minItems": 1,
                    "items": strict(
                        {
                            "match": {"type": "string", "pattern": r"^HostSNI\(`[^`]+`\)$"},
                            "services": {
                                "type": "array",
                                "items": strict(
                                    {
                                        "name": NAME,
                                        "namespace": NAME,
                                        "port": {"type": ["integer", "string"]},
                                        "weight": {"type": "integer"},
                                    },
                                    ["name", "port"],
                                ),
                            },
                        },
                        ["match"],
                    ),
                },
                "tls": strict(
                    {
                        "passthrough": {"type": "boolean"},
                        "secretName": {"type": "string"},
                        "certResolver": {"type": "string"},
                    },
                    [],
                ),
            },
            ["routes"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

#: (apiVersion, kind) -> schema
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    (API, "PodMonitor"): POD_MONITOR,
    (API, "PrometheusRule"): PROMETHEUS_RULE,
    ("traefik.io/v1alpha1", "IngressRouteTCP"): INGRESS_ROUTE_TCP,
}

# --- PromQL, tokenized -----------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<duration>\[[0-9]+(?:ms|[smhdwy])(?::[0-9]+(?:ms|[smhdwy]))?\])
    | (?P<number>[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)
    | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
    | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=,(){}])
    )""",
    re.VERBOSE,
)
#: PromQL's functions, aggregations and keywords we use (so they are not metric names)
KEYWORDS = frozenset(
    {
        "sum", "max", "min", "avg", "count", "by", "without", "rate", "irate", "increase",
        "histogram_quantile", "absent", "and", "or", "unless", "on", "ignoring", "bool",
        "group_left", "group_right", "clamp_min", "clamp_max",
    }
)  # fmt: skip
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})


def promql_tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) tokens; raises ValueError on a character PromQL does not have."""
    tokens: list[tuple[str, str]] = []
    position = 0
    expr = expr.rstrip()
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None or match.end() == position:
            raise ValueError(f"unexpected {expr[position : position + 10]!r} at {position}")
        kind = str(match.lastgroup)
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def promql_problem(expr: str) -> str | None:
    """What is wrong with `expr`: first as a tokenizer sees it (unknown characters,
    unbalanced (), {} or [] (ranges), a selector's label matchers not `name op "string"`),
    then as Prometheus' grammar does (an unknown function, an operator out of place)."""
    try:
        tokens = promql_tokens(expr)
    except ValueError as exc:
        return str(exc)
    depth = {"(": 0, "{": 0}
    closing = {")": "(", "}": "{"}
    for i, (kind, text) in enumerate(tokens):
        if text in depth:
            depth[text] += 1
        elif text in closing:
            depth[closing[text]] -= 1
            if depth[closing[text]] < 0:
                return f"unbalanced {text!r}"
        if kind == "op" and text in ("=~", "!~", "!=", "=") and depth["{"] > 0:
            before, after = tokens[i - 1], tokens[i + 1] if i + 1 < len(tokens) else ("", "")
            if before[0] != "name" or after[0] != "string":
                return f'label matcher {before[1]}{text}{after[1]} is not name op "value"'
    if any(depth.values()):
        return "unbalanced brackets"
    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        return f"not PromQL: {exc}"
    return None


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects: names outside braces and outside grouping lists
    (`by (...)`, `on (...)`), that are no keyword and not a function call."""
    tokens = promql_tokens(expr)
    names: set[str] = set()
    braces = 0
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text in _GROUPING and following == "(":
            i = next(j for j in range(i, len(tokens)) if tokens[j][1] == ")")
        elif text == "{":
            braces += 1
        elif text == "}":
            braces -= 1
        elif kind == "name" and braces == 0 and text not in KEYWORDS and following != "(":
            names.add(text)
        i += 1
    return names
