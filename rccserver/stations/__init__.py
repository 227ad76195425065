"""SIP stations: real desk phones that register with rccserver (SPEC section 9), sans-IO.

Registration:
- `registrar.py`: REGISTER in, response and events out (RFC 3261 section 10), with
  digest authentication (`rccserver.sip.digest`) and the query API the server uses;
- `binding.py`: one binding (AOR -> contact) and its life cycle as a table;
- `auth_limiter.py`: the cool-down for sources that keep failing authentication;
- `registrar_events.py`: what the registrar reports for the server to log and count.

Calls (the B2BUA between the phones and everyone else) start from `legs.py`.

Nothing here does I/O or reads a clock: the listener for phones hands in parsed
requests, source addresses and `now`, and carries out what comes back.
"""
