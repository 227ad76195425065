"""The fuzzer's own pieces: seeds are valid Lync messages, mutations are reproducible and do what they say."""
from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from rccserver import csta
from rccserver.sip import FramedMessage, Request, StreamFramer, parse_message
from testkit.messages import csta_requests
from testkit.mutator import (
    MUTATIONS, DialogIds, Mutator, content_length_mismatch, delete_header, duplicate_header, seeds,
    split_everywhere, truncate,
)

IDS = DialogIds(user="sip:alice@example.com", line="tel:+1001", call_id="abc@lync", from_tag="ft", to_tag="tt",
                host="127.0.0.1", port=5070)
SEEDS = seeds(IDS)


def test_every_seed_is_a_valid_sip_request_with_a_decodable_csta_body():
    for name, data in SEEDS.items():
        framed = StreamFramer().feed(data)
        assert len(framed) == 1 and isinstance(framed[0], FramedMessage), name
        message = parse_message(framed[0].data)
        assert isinstance(message, Request) and message.method == name.split()[0].replace("re-", ""), name
        if message.body:
            csta.decode(message.body)  # raises on a bad seed


def test_seeds_cover_every_csta_service_of_the_spec():
    services = {name.split()[1] for name in SEEDS if name.startswith("INFO ")}
    assert set(csta_requests("tel:+1")) <= services
    assert {"INVITE", "re-INVITE", "UPDATE", "BYE", "OPTIONS", "ACK"} <= set(SEEDS)


def test_in_dialog_seeds_carry_the_dialog_ids():
    info = parse_message(SEEDS["INFO MakeCall"])
    assert info.call_id == IDS.call_id and info.to.tag == IDS.to_tag and info.from_.tag == IDS.from_tag
    invite = parse_message(SEEDS["INVITE"])
    assert invite.call_id != IDS.call_id and invite.to.tag is None


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), index=st.integers(0, 10**7))
def test_inputs_are_reproducible_from_seed_and_index(seed, index):
    first, again = Mutator(SEEDS, seed).input(index), Mutator(SEEDS, seed).input(index)
    assert first == again
    assert first.seed_name in SEEDS and first.mutations and set(first.mutations) <= set(MUTATIONS)
    assert isinstance(first.data, bytes)


def test_different_indices_give_different_inputs():
    mutator = Mutator(SEEDS, 1)
    assert len({mutator.input(i).data for i in range(200)}) > 150


@settings(max_examples=100, deadline=None)
@given(rng_seed=st.integers(0, 2**32), name=st.sampled_from(sorted(SEEDS)))
def test_header_deletion_and_duplication_change_the_header_count_by_one(rng_seed, name):
    message = SEEDS[name]
    count = message.split(b"\r\n\r\n")[0].count(b"\r\n")
    assert delete_header(random.Random(rng_seed), message).split(b"\r\n\r\n")[0].count(b"\r\n") == count - 1
    assert duplicate_header(random.Random(rng_seed), message).split(b"\r\n\r\n")[0].count(b"\r\n") == count + 1


@settings(max_examples=100, deadline=None)
@given(rng_seed=st.integers(0, 2**32), name=st.sampled_from(sorted(SEEDS)))
def test_truncation_is_a_proper_prefix(rng_seed, name):
    cut = truncate(random.Random(rng_seed), SEEDS[name])
    assert SEEDS[name].startswith(cut) and len(cut) < len(SEEDS[name])


@settings(max_examples=100, deadline=None)
@given(rng_seed=st.integers(0, 2**32))
def test_content_length_mutation_keeps_the_body_and_touches_only_the_length(rng_seed):
    message = SEEDS["INFO MakeCall"]
    mutated = content_length_mismatch(random.Random(rng_seed), message)
    assert mutated.split(b"\r\n\r\n", 1)[1] == message.split(b"\r\n\r\n", 1)[1]
    assert b"Content-Length: " in mutated or b"l: " in mutated


@given(stream=st.binary(min_size=2, max_size=200))
def test_split_everywhere_covers_every_offset_and_rebuilds_the_stream(stream):
    parts = list(split_everywhere(stream))
    assert [len(head) for head, _ in parts] == list(range(1, len(stream)))
    assert all(head + tail == stream for head, tail in parts)
