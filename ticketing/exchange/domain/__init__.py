"""Pure parts of the exchange: profiles, canonical messages, signatures, delivery lifecycle, decisions."""
