"""Ports, one module per capability. Adapters implement them (mypy checks it where the container builds them);
use cases depend on these protocols only and never import adapters."""
