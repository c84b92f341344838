"""What the running service shows to people and tools: HTTP endpoints, Prometheus metrics, badges, charts."""
