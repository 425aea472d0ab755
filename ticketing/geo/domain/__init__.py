"""Pure geo decisions: codes, geometry, spatial indexes, address parsing and geocoding."""
