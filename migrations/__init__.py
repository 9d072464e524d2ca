"""Alembic migrations of the corpus schema (run with ``lnob db upgrade``)."""
