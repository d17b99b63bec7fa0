"""Running the app: readiness and metrics for the operators' tools."""
