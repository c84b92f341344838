"""Alerts: `[alerts.NAME]` rules on the collected metrics, evaluated after each collect and sent to webhooks.

spec.py (the config tables), rules.py (what fires; no I/O), messages.py (payloads), webhook.py (delivery),
evaluate.py (the store, the rules and delivery together). Nothing is imported here: config.py imports
spec.py, and the package must stay cheap and cycle-free to import.
"""
