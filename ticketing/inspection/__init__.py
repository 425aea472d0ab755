"""The inspectors' work (城管通): patrol reports and on-site answers sent exactly once, duty and positions."""
