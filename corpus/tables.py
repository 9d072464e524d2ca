"""Imports every module that defines tables, so ``SQLModel.metadata`` is complete.

Alembic's environment and the drift test import this; a later issue that adds
tables adds its module here.
"""

from corpus import models  # noqa: F401
from corpus import themes  # noqa: F401
from corpus import curation  # noqa: F401
from corpus import chatstate  # noqa: F401
from corpus import exports  # noqa: F401
from corpus import staff  # noqa: F401
from corpus import lexicon  # noqa: F401
