"""What only the prototype stage has: the local kind cluster and its image registry."""
