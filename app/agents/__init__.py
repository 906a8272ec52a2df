"""The service's agents (one module each) and the models that can back them."""
