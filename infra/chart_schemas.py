"""Focused JSON schemas for the values this project gives charts whose own
`values.schema.json` is strict: Helm refuses the install on an unknown key there.

Written from traefik/traefik-helm-chart at tag v41.3.0 (traefik/values.schema.json) for
the keys `infra.components.kubernetes.traefik` writes, with the chart schema's closed
levels closed here too: a misspelt `providers.kubernetesIngres` fails `helm install`
(the chart's schema), and here it fails `make test` first.
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
