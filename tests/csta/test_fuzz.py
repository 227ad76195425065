"""Mutation fuzzing in the default run: >= 10,000 inputs, decode only returns or raises CstaDecodeError.

The long profile (1,000,000 inputs) is `python -m bench.fuzz_csta`.
"""
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.fuzz_csta import MUTATIONS, check, mutate, run, seed_corpus
from rccserver.csta import CstaDecodeError, decode
import random

CORPUS = seed_corpus()


def test_seeded_mutation_run():
    summary = run(count=10_000, seed=20_26)
    assert summary.failures == [], "\n".join(summary.lines())
    assert summary.inputs == 10_000
    # the mutator reaches both sides: bodies still accepted, and many distinct refusals
    assert summary.outcomes["accepted"] > 500
    assert summary.outcomes["operation/invalidFeature"] > 0
    assert len(summary.outcomes) >= 5


def test_every_seed_is_accepted():
    assert all(check(body) == "accepted" for body in CORPUS)


@settings(max_examples=1500, deadline=None)
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes(data):
    check(data)


@settings(max_examples=1500, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, len(CORPUS) - 1))
def test_hypothesis_driven_mutations(seed, which):
    check(mutate(CORPUS[which], random.Random(seed), CORPUS))


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(CORPUS) - 1), cut=st.integers(0, 5000))
def test_every_truncation_point(which, cut):
    body = CORPUS[which][:cut]
    try:
        decode(body)
    except CstaDecodeError:
        pass


def test_each_mutation_operator_changes_its_input():
    rng = random.Random(7)
    body = CORPUS[0]
    for operator in MUTATIONS:
        assert any(operator(body, rng) != body for _ in range(5)), operator
