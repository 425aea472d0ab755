"""综合评价: indicators of regions, departments and posts (CJ/T 292) computed from the case history, and scores.

`domain/` is pure (periods, the indicator catalog, scoring profiles); `sql.py` aggregates in the database;
`service.py` ties them together for the API.
"""
