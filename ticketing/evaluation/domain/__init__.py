"""Pure evaluation domain: periods, the indicator catalog and its expressions, scoring profiles."""
