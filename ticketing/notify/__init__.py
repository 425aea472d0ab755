"""Closing the loop: deadline sweeps and 督办, citizen SMS (outbox), department webhooks, callbacks (回访)."""
