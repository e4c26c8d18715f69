"""Benchmarks of the after-sale service (``make bench``; see BENCHMARKS.md).

Every section measures the product's real code paths against a baseline taken in the same
run (an empty RPC on the same server, a bare python-statemachine machine, arq on the same
Redis), and reports medians with their spread. ``python -m bench.run`` runs them all and
writes ``bench/results/latest.json``.
"""
