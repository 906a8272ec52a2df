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


_RESOURCES = {"type": "object"}  # a Kubernetes type: tests/infra/test_helm_values.py checks it
_SIZES = strict({"resources": _RESOURCES})

#: Grafana's data source provisioning fields (administration/provisioning, "Data sources")
GRAFANA_DATASOURCE = strict(
    {
        "name": {"type": "string", "minLength": 1},
        "type": {"type": "string", "minLength": 1},
        "uid": {"type": "string"},
        "url": {"type": "string", "pattern": "^https?://"},
        "access": {"enum": ["proxy", "direct"]},
        "isDefault": {"type": "boolean"},
        "editable": {"type": "boolean"},
        "orgId": {"type": "integer"},
        "jsonData": {"type": "object"},
    },
    required=["name", "type", "url", "access"],
)

#: the values passed to the kube-prometheus-stack 88.5.3 release
KUBE_PROMETHEUS_STACK_VALUES = strict(
    {
        "fullnameOverride": {"type": "string"},
        "crds": strict({"enabled": {"type": "boolean"}}),
        "prometheusOperator": _SIZES,
        "prometheus": strict(
            {
                "prometheusSpec": strict(
                    {
                        "podMonitorSelectorNilUsesHelmValues": {"type": "boolean"},
                        "serviceMonitorSelectorNilUsesHelmValues": {"type": "boolean"},
                        "ruleSelectorNilUsesHelmValues": {"type": "boolean"},
                        "probeSelectorNilUsesHelmValues": {"type": "boolean"},
                        "scrapeInterval": {"type": "string"},
                        "retention": {"type": "string"},
                        "retentionSize": {"type": "string"},
                        "resources": _RESOURCES,
                        "storageSpec": strict({"volumeClaimTemplate": {"type": "object"}}),
                        "externalLabels": STRING_MAP,
                        "secrets": {"type": "array", "items": {"type": "string"}},
                        # the Prometheus CRD's ThanosSpec (crd_schemas_monitoring checks it)
                        "thanos": {"type": "object"},
                    }
                ),
                "thanosService": strict({"enabled": {"type": "boolean"}}),
            }
        ),
        "alertmanager": strict({"enabled": {"type": "boolean"}, "alertmanagerSpec": _SIZES}),
        "grafana": strict(
            {
                "enabled": {"type": "boolean"},
                "admin": strict(
                    {
                        "existingSecret": {"type": "string"},
                        "userKey": {"type": "string"},
                        "passwordKey": {"type": "string"},
                    }
                ),
                "resources": _RESOURCES,
                "additionalDataSources": {"type": "array", "items": GRAFANA_DATASOURCE},
                "sidecar": strict(
                    {
                        "dashboards": strict(
                            {
                                "enabled": {"type": "boolean"},
                                "label": {"type": "string"},
                                "labelValue": {"type": "string"},
                                "searchNamespace": {"type": "string"},
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
