"""The pure core: features → scoring → segments → tag plan.

Plain data in, plain data out: no I/O, no clock reads, no logging. ``now``
is always an argument. This is the part marketers change most (rules and
fields), so it is tested table by table without mocks.
"""
