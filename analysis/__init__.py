"""Embeddings, the vector index, themes, drivers, quotes, search and evaluation.

Uses ``corpus`` for everything that is stored; holds no SQL of its own.
"""
