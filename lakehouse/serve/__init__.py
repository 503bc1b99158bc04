"""``lakehouse serve``: a warm Spark Connect (and optionally Thrift JDBC/ODBC) endpoint over
every table of the lake, read-only unless asked otherwise.

- :mod:`lakehouse.serve.settings`: the ``[serve]`` configuration section
- :mod:`lakehouse.serve.state`: the state file of a running server (pid, ports)
- :mod:`lakehouse.serve.guard`: which Spark Connect requests write (pure, on the protobufs)
- :mod:`lakehouse.serve.proxy`: the gRPC proxy in front of Spark's Connect server
- :mod:`lakehouse.serve.server`: the server process (session, tables, endpoints, shutdown)
- :mod:`lakehouse.serve.client`: ``lakehouse sql`` through a running server
"""
