"""The contributor conversation: consent, an optional profile, a testimony or a proposal, erasure.

One small async function per step, in a module per part of the conversation:

- ``flow``: the states (named constants), the flow-data keys and the helpers every step uses;
- ``consent``: ``/start``, the consent buttons, text sent before the choice;
- ``profile``: the optional profile questions (also ``/profile``);
- ``story``: ``/share`` (story, why, drivers, proposal), ``/propose``, text sent outside a flow, ``/cancel``;
- ``erasure``: ``/delete`` and ``/delete ID``;
- ``enrolment``: who is a contributor (found by pseudonym, created on consent), the daily limit;
- ``storage``: a finished draft stored through the evidence base;
- ``conversation``: the wiring, one ``ConversationHandler`` to be read top to bottom.

A person's flow data lives in ``user_data`` (kept in the database by
``bot.persistence`` once they consent):

- ``lang``: the language they chose;
- ``draft``: the contribution being told (``kind``, ``story``, ``why``,
  ``drivers``, ``proposal`` and the message ids they came from);
- ``pending``: text sent outside a flow, waiting for "record it?";
- ``profile``: profile answers being collected;
- ``saved``: ids of recent messages already stored, to answer later edits;
- ``trail``, ``trail_aged``: ids of this chat's messages that ``/clear`` can
  still delete, kept 48 hours (``bot.trail``);
- ``org``: the organisation of the deep link, before consent (memory only).

A contribution is committed to the database before the thank-you is sent;
embedding and indexing run in the background (``BackgroundIndexer``).
"""
