"""Pure decisions of the notify package: thresholds, backoff, calling window, signatures, survey answers."""
