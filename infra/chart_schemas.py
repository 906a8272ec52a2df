"""Focused JSON schemas for the values this project gives charts.

Traefik: written from traefik/traefik-helm-chart at tag v41.3.0 (traefik/values.schema.json)
for the keys `infra.components.kubernetes.traefik` writes, with the chart schema's closed
levels closed here too: a misspelt `providers.kubernetesIngres` fails `helm install`
(the chart's schema), and here it fails `make test` first.

kube-prometheus-stack ships no schema: Helm takes a misspelt key and the chart ignores
it, so the operator, Grafana or an exporter silently runs unbounded or unconfigured. Its
schema here lists the keys `infra.components.kubernetes.observability` writes, each read
at prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3 (its values.yaml,
and the subcharts it pins there: kube-state-metrics 8.4.0, prometheus-node-exporter
4.56.1, and grafana 12.11.1 from grafana-community/helm-charts), with every level we
write closed. `grafana.additionalDataSources` goes verbatim into Grafana's provisioning
file, whose fields are Grafana's (a data source without `name` or `type` stops Grafana's
provisioning).
"""

from __future__ import annotations

from infra.crd_schemas import STRING_MAP, strict

#: the values passed to the traefik 41.3.0 release
TRAEFIK_VALUES = strict(
    {
        "ingressClass": strict(
            {
                "enabled": {"type": "boolean"},
                "isDefaultClass": {"type": "boolean"},
                "name": {"type": "string"},
            }
        ),
        "providers": strict({"kubernetesIngress": strict({"enabled": {"type": "boolean"}})}),
        "service": {
            "type": "object",
            "properties": {
                "annotations": STRING_MAP,
                "spec": {
                    "type": "object",
                    "properties": {
                        "type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                        "externalTrafficPolicy": {"enum": ["Cluster", "Local"]},
                    },
                },
            },
        },
        "resources": {"type": "object"},
    }
)


_BOOL = {"type": "boolean"}
_STR = {"type": "string"}
_RESOURCES = {"type": "object"}  # a Kubernetes type: tests/infra/test_helm_values.py checks it
_SIZES = strict({"resources": _RESOURCES})

#: Grafana's data source provisioning fields (administration/provisioning, "Data sources")
GRAFANA_DATASOURCE = strict(
    {
        "name": {"type": "string", "minLength": 1},
        "type": {"type": "string", "minLength": 1},
        "uid": _STR,
        "url": {"type": "string", "pattern": "^https?://"},
        "access": {"enum": ["proxy", "direct"]},
        "isDefault": _BOOL,
        "editable": _BOOL,
        "orgId": {"type": "integer"},
        "jsonData": {"type": "object"},
    },
    required=["name", "type", "url", "access"],
)

#: the values passed to the kube-prometheus-stack 88.5.3 release
KUBE_PROMETHEUS_STACK_VALUES = strict(
    {
        "fullnameOverride": _STR,
        "crds": strict({"enabled": _BOOL}),
        "prometheusOperator": _SIZES,
        "prometheus": strict(
            {
                "prometheusSpec": strict(
                    {
                        "podMonitorSelectorNilUsesHelmValues": _BOOL,
                        "serviceMonitorSelectorNilUsesHelmValues": _BOOL,
                        "ruleSelectorNilUsesHelmValues": _BOOL,
                        "probeSelectorNilUsesHelmValues": _BOOL,
                        "scrapeInterval": _STR,
                        "retention": _STR,
                        "retentionSize": _STR,
                        "resources": _RESOURCES,
                        "storageSpec": strict({"volumeClaimTemplate": {"type": "object"}}),
                        "externalLabels": STRING_MAP,
                        "secrets": {"type": "array", "items": _STR},
                        # the Prometheus CRD's ThanosSpec (crd_schemas_monitoring checks it)
                        "thanos": {"type": "object"},
                    }
                ),
                "thanosService": strict({"enabled": _BOOL}),
            }
        ),
        "alertmanager": strict({"enabled": _BOOL, "alertmanagerSpec": _SIZES}),
        "grafana": strict(
            {
                "enabled": _BOOL,
                "admin": strict(
                    {
                        "existingSecret": _STR,
                        "userKey": _STR,
                        "passwordKey": _STR,
                    }
                ),
                "resources": _RESOURCES,
                "additionalDataSources": {"type": "array", "items": GRAFANA_DATASOURCE},
                "sidecar": strict(
                    {
                        "dashboards": strict(
                            {
                                "enabled": _BOOL,
                                "label": _STR,
                                "labelValue": _STR,
                                "searchNamespace": _STR,
                            }
                        )
                    }
                ),
            }
        ),
        "kube-state-metrics": _SIZES,
        "prometheus-node-exporter": _SIZES,
    }
)
