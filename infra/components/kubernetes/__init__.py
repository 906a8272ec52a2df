"""The platform on any Kubernetes cluster: Dapr, namespace, data services, components, workload."""
