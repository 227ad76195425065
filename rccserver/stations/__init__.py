"""SIP stations: real desk phones that register with rccserver (SPEC section 9), sans-IO.

Registration:
- `registrar.py`: REGISTER in, response and events out (RFC 3261 section 10), with
  digest authentication (`rccserver.sip.digest`) and the query API the server uses;
- `binding.py`: one binding (AOR -> contact) and its life cycle as a table;
- `credentials.py`: the stations' secrets and the digest algorithms offered, shared by
  the registrar and the phone line;
- `auth_limiter.py`: the cool-down for sources that keep failing authentication;
- `registrar_events.py`: what the registrar reports for the server to log and count.

Calls, the B2BUA between the phones and everyone else:
- `legs.py`: the contract between the two halves below;
- the phone line, SIP towards the phones: `endpoint.py` (the stations line's user agent),
  `leg.py` and `leg_table.py` (a call leg and its life as one table), `phone_dialog.py`,
  `forking.py`, `flows.py`, `refer.py`, `phone_auth.py`, `line_events.py`, `outputs.py`;
- the call layer, the switch's calls carried by phones: `terminal.py`, with `sdp.py`.

Nothing here does I/O or reads a clock: the listener for phones hands in bytes, source
addresses and the shared scheduler's time, and carries out what comes back.
"""
