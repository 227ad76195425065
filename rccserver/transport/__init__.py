"""The Twisted edge for SIP streams: listeners (TCP, TLS, mutual TLS), the access
list, connection limits, and the outbound connection pool.

    access.py      AccessList: default granted/denied plus CIDR exceptions
    limits.py      TransportLimits, per-source connection counting
    tls.py         server TLS context (mutual TLS, clientAuth EKU), client TLS options
    connection.py  one connection: framing, keep-alive pong, timers, the sink interface
    listener.py    SipListener service, admission before any byte is read
    outbound.py    ConnectionPool: connections we open towards a dialog's route
"""
