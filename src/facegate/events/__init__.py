"""Events to other systems: the outbox written with each write, webhooks, MQTT, and the worker
that delivers them (docs/events.md)."""
