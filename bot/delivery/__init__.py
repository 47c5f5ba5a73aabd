"""Delivery: the outbox, from engine effects to rows to the relay and the ports; never
imports the services."""
