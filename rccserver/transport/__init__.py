"""The Twisted edge for SIP: stream listeners (TCP, TLS, mutual TLS), the stations
line's UDP socket, the access list, connection limits, the outbound connection
pool, and the drivers that run the sans-IO endpoints.

    access.py      AccessList: default granted/denied plus CIDR exceptions
    limits.py      TransportLimits, per-source connection counting
    tls.py         server TLS context (mutual TLS, clientAuth EKU), client TLS options
    connection.py  one connection: framing, keep-alive pong, timers, the sink interface
    listener.py    SipListener service, admission before any byte is read
    outbound.py    ConnectionPool: connections we open towards a dialog's route
    udp.py         UdpListener: the stations line's one UDP socket
    stations_listeners.py  the stations line's UDP/TCP/TLS listeners from [stations_line]
    endpoint_driver.py     EndpointDriver: an endpoint's inputs in, its outputs out
    scheduler_timer.py     SchedulerTimer: the shared Scheduler's one reactor timer
"""
