"""Kafka plumbing: producer/admin helpers, transactional outbox + relay, idempotent inbox consumer."""
