"""Unit grid, components, gazetteer and geocoding (CJ/T 213/214/215).

`domain/` is pure; `tables`, `repository`, `service`, `formats`, `crs` and `cli` are the adapters.
"""
