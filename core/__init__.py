"""The kernel: event bus, database plumbing, clock, errors, identity, accounts and audit. Imports nothing of ours."""
