"""Work-order exchange with other platforms: the city's 12345 hotline (orders in, answers back) and exports up.

A link to another platform is a *profile as data* (`profiles/*.yaml`: field names, code tables, endpoints,
signing); the code knows only canonical messages. See docs/exchange-12345.md.
"""
