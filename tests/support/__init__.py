"""Test support shared by the tests and the benchmarks (``bench/``), never imported by the product.

- ``fake_bot_api``: a fake Telegram Bot API server and scripted users, and
  the steps of the contributor bot's conversation;
- ``corpora``: testimony drafts and the analysed demo corpus (built once per
  session by ``tests/conftest.py``'s ``demo_corpus`` fixture), its consent
  variants and copies;
- ``disaster_response``: where the labelled messages in ``../shared/data``
  lie and the subsets the quality floors and benchmarks take from them;
- ``command_line``: ``lnob`` in-process, and ``lnob demo`` in a subprocess
  (run once per session by the ``demo_run`` fixture);
- ``loopback``: a free port for the servers the tests start;
- ``workers``: a set-up built once per run and shared by pytest-xdist's workers.
"""
