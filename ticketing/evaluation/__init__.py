"""综合评价: indicators of regions, departments and posts (CJ/T 292) computed from the case history, and scores.

`domain/` is pure (periods, the indicator catalog, scoring profiles); `sql.py` aggregates in the database,
over the summary rows `facts.py` derives from the history (tables.py, kept by the case repository);
`service.py` ties them together for the API.
"""
