"""Focused JSON schemas for the values this project gives charts: one per chart we
install (`CHART_VALUES`), each listing only the keys we set, read in the chart at the
version we pin. tests/infra/test_helm_values.py checks every release against its chart's.

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

from typing import Any

from infra.crd_schemas import STRING_MAP, strict
from infra.crd_schemas_llm import VLLM_STACK_VALUES

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
        # a plugin id: Grafana's provisioning fails on a type no installed plugin has.
        # These are core plugins of Grafana 12 (no plugin install needed)
        "type": {"enum": ["prometheus", "loki", "tempo", "alertmanager"]},
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

#: cert-manager's chart (v1.19.1) ships a closed `values.schema.json`: `helm install`
#: refuses a key it does not list, at every level we write. These are the keys
#: `infra.components.kubernetes.cert_manager` sets, read in that schema at the tag.
CERT_MANAGER_VALUES = strict(
    {
        "crds": strict({"enabled": _BOOL, "keep": _BOOL}),
        "resources": _RESOURCES,
        "webhook": _SIZES,
        "cainjector": _SIZES,
    }
)

#: Dapr's chart (dapr/dapr charts/dapr at v1.18.3) has no schema: a misspelt key is taken
#: and ignored, and the control plane runs on the chart's defaults. Its `global` block,
#: read in charts/dapr/values.yaml at the tag, is what the subcharts share.
DAPR_VALUES = strict(
    {
        "global": strict(
            {
                "mtls": strict(
                    {"enabled": _BOOL, "workloadCertTTL": _STR, "allowedClockSkew": _STR}
                ),
                "ha": strict({"enabled": _BOOL}),
                "logAsJson": _BOOL,
                "prometheus": strict({"enabled": _BOOL}),
            }
        )
    }
)

_PER_KEDA_PART = strict(
    {part: {"type": "object"} for part in ("operator", "metricServer", "webhooks")}
)

#: KEDA's chart (kedacore/charts keda/values.yaml at v2.20.2) has no schema. Per part
#: (operator, metrics server, admission webhooks) the Kubernetes types inside are checked
#: by tests/infra/test_helm_values.py.
KEDA_VALUES = strict(
    {
        "crds": strict({"install": _BOOL}),
        "webhooks": strict({"enabled": _BOOL}),
        "image": strict({"pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}}),
        "resources": _PER_KEDA_PART,
        "securityContext": _PER_KEDA_PART,
        "podSecurityContext": _PER_KEDA_PART,
    }
)

#: Strimzi's operator chart (packaging/helm-charts/helm3/strimzi-kafka-operator/values.yaml
#: at 1.2.0) has no schema.
STRIMZI_OPERATOR_VALUES = strict(
    {
        "watchNamespaces": {"type": "array", "items": _STR},
        "watchAnyNamespace": _BOOL,
        "generateNetworkPolicy": _BOOL,
        "generatePodDisruptionBudget": _BOOL,
        "resources": _RESOURCES,
    }
)

#: Karmada's chart (karmada-io/karmada charts/karmada/values.yaml and templates at
#: v1.18.1) has no schema.
KARMADA_VALUES = strict(
    {
        "installMode": {"enum": ["host", "agent", "component"]},
        "etcd": strict(
            {
                "internal": strict(
                    {
                        # templates/etcd.yaml mounts etcd-data for these two only
                        "storageType": {"enum": ["hostPath", "pvc"]},
                        "pvc": strict({"size": _STR, "storageClass": _STR}),
                    }
                )
            }
        ),
        "apiServer": strict(
            {
                "serviceType": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                "serviceAnnotations": STRING_MAP,
            }
        ),
        "controllerManager": strict({"featureGates": {"type": "object"}}),
    }
)

#: NVIDIA's device plugin chart (NVIDIA/k8s-device-plugin deployments/helm/
#: nvidia-device-plugin/values.yaml at v0.20.0) has no schema; both are Kubernetes types
NVIDIA_DEVICE_PLUGIN_VALUES = strict({"affinity": {"type": "object"}, "resources": _RESOURCES})

#: the schema of the values each chart we install takes, by chart name
CHART_VALUES: dict[str, dict[str, Any]] = {
    "traefik": TRAEFIK_VALUES,
    "kube-prometheus-stack": KUBE_PROMETHEUS_STACK_VALUES,
    "cert-manager": CERT_MANAGER_VALUES,
    "dapr": DAPR_VALUES,
    "keda": KEDA_VALUES,
    "strimzi-kafka-operator": STRIMZI_OPERATOR_VALUES,
    "karmada": KARMADA_VALUES,
    "vllm-stack": VLLM_STACK_VALUES,
    "nvidia-device-plugin": NVIDIA_DEVICE_PLUGIN_VALUES,
}
