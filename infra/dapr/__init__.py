"""The stage-neutral Dapr model: one typed spec, one renderer per platform."""
