"""Staff in chat: the partner organisations' staff use the same bot as contributors.

A staff command or button is matched only when its sender is active staff
(looked up by pseudonym in ``corpus.staff`` on every update, so a revocation
takes effect at once, from the bot or the CLI); for anyone else the handler
does not match and the update goes on to the contributor handlers, which
answer exactly as they answer any unknown command. Roles nest: ``writer``
(read and export) < ``analyst`` (also curate and re-analyse) < ``admin``
(also manage staff and read the audit log). Every command writes an audit
entry.

- ``base``: ``StaffServices`` (the staff store, one searcher, the curator, the command table),
  the staff member behind an update (``context.staff``), the audit;
- ``guards``: ``StaffCommand`` and ``StaffButton``, which match only for active staff and check the role;
- ``menu``: each staff chat's command menu, set and taken away;
- ``wiring``: registering a command table's handlers, the start and stop hooks;
- ``commands``: the table (name, handler, least role, in the menu), handed to the wiring by ``bot.app``;
- the commands by area: ``admin``, ``explore``, ``search``, ``curate``, ``files``;
  ``views`` writes their replies.
"""
