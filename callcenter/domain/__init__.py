"""Pure call-centre lifecycles (no I/O, no clock reads): the call and the agent session's restore rules.

The ACD core (agents, queue, strategies, statistics) is the sibling package `callcenter.acd`.
"""
