"""What tests and benchmarks share to drive rccserver from the outside.

* `messages`: SIP and CSTA messages as Lync and pidgin-sipe send them.
* `dialog`: the client side of one RCC dialog (the request builder every client uses).
* `lyncclient`: the Lync front end on one blocking socket (end-to-end tests, soak, fuzzing).
* `loadclient`: the Lync front end multiplexing thousands of dialogs on a selector (benchmarks).
* `serverproc`, `serverconfig`, `testbed`, `deployment`: a real rccserver process on
  loopback with a generated configuration (the 9-user e2e testbed, or N generated users).
* `mutator`, `wirefuzz`: the wire fuzzer's inputs and its invariant checks.
* `baresip`: baresip as a real SIP desk phone (dial, accept, hold, transfer, hang up,
  and which tone it hears), for the SIP-station tests.

Nothing here imports `tests` or `bench` (tests/test_testkit_boundaries.py checks it), so
`python -m bench ...` works from a checkout without the test tree on its path.
"""
